// register, deregister, list hosts: the registry beside the inventory's cache.
import type { Parsed } from '../declare.js';
import type { provisionCommands as C } from '../declarations.js';
import { ProvisionError } from '../../errors.js';
import { launchOwnedSources, launchOwnedVar, openRegistry, type Registry } from '../../store/registry.js';
import type { RegisteredValue } from '../../records/inventory.js';
import { emit, settingsFrom } from './output.js';

/** Numbers and true/false keep their type, as a YAML inventory would give them. */
function parseValue(text: string): RegisteredValue {
  return /^-?\d+$/.test(text) && String(Number(text)) === text ? Number(text) : text === 'true' ? true : text === 'false' ? false : text;
}

async function withRegistry<T>(ini: string | undefined, work: (r: Registry) => Promise<T>): Promise<T> {
  const registry = await openRegistry(settingsFrom(ini));
  try {
    return await work(registry);
  } finally {
    await registry.close();
  }
}

export async function registerCommand({ options, own }: Parsed<typeof C.register>): Promise<void> {
  const hostvars: Record<string, RegisteredValue> = {};
  for (const item of options.hostvars) {
    const at = item.indexOf('=');
    const key = item.slice(0, at);
    if (launchOwnedVar(key)) throw new ProvisionError(`'${key}': kvm_*, ec2_* and registry_source are written by launch and used by destroy; register cannot set them`, 'EUSAGE', 'hostvars');
    hostvars[key] = parseValue(item.slice(at + 1));
  }
  if (launchOwnedSources.includes(options.source)) throw new ProvisionError(`'${options.source}' is what launch ${options.source} records; register by hand with another source (default: manual)`, 'EUSAGE', 'source');
  const host = { ...options, hostvars, registeredAt: Date.now() };
  await withRegistry(own.ini, (r) => r.register(host));
  emit({ command: 'register', host });
}

export async function deregisterCommand({ options, own }: Parsed<typeof C.deregister>): Promise<void> {
  emit({ command: 'deregister', name: options.name, removed: await withRegistry(own.ini, (r) => r.deregister(options.name)) });
}

export async function listHostsCommand({ own }: Parsed<typeof C.listHosts>): Promise<void> {
  emit(await withRegistry(own.ini, (r) => r.list()));
}
