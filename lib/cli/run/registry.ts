// register, deregister, list hosts: the registry beside the inventory's cache.
import type { Parsed } from '../declare.js';
import type { provisionCommands as C } from '../declarations.js';
import { registeredHosts } from '../../store/registry.js';
import { deregister, parseHostVars, recordHost, registeredHost } from '../../provision/hosts.js';
import { emit } from './output.js';
import { provisionSettings } from '../settings.js';

export async function registerCommand({ options, own }: Parsed<typeof C.register>): Promise<void> {
  // register() in two steps: the entry is checked before the ec2.ini is read.
  const host = registeredHost({ ...options, hostvars: parseHostVars(options.hostvars) });
  emit({ command: 'register', host: await recordHost(provisionSettings(own.ini), host) });
}

export async function deregisterCommand({ options, own }: Parsed<typeof C.deregister>): Promise<void> {
  emit({ command: 'deregister', name: options.name, removed: await deregister(provisionSettings(own.ini), options.name) });
}

export async function listHostsCommand({ own }: Parsed<typeof C.listHosts>): Promise<void> {
  emit(await registeredHosts(provisionSettings(own.ini)));
}
