// register, deregister, list hosts: the registry beside the inventory's cache.
import type { Parsed } from '../declare.js';
import type { provisionCommands as C } from '../declarations.js';
import { ProvisionError } from '../../errors.js';
import { launchOwnedSources, launchOwnedVar, openRegistry, type Registry } from '../../store/registry.js';
import type { RegisteredHost, RegisteredValue } from '../../records/inventory.js';
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

/**
 * The entry register records, for the CLI and --json alike: what a launch writes and destroy
 * trusts (kvm_*, ec2_* variables, the kvm and ec2 sources) cannot be set by hand.
 */
export function registeredHost(o: Omit<RegisteredHost, 'registeredAt'>): RegisteredHost {
  for (const key of Object.keys(o.hostvars)) {
    if (launchOwnedVar(key)) throw new ProvisionError(`hostvars: '${key}': kvm_*, ec2_* and registry_source are written by launch and used by destroy; register cannot set them`, 'EUSAGE', 'hostvars');
  }
  if (launchOwnedSources.includes(o.source)) throw new ProvisionError(`source: '${o.source}' is what launch ${o.source} records; register by hand with another source (default: manual)`, 'EUSAGE', 'source');
  return { ...o, registeredAt: Date.now() };
}

export async function registerCommand({ options, own }: Parsed<typeof C.register>): Promise<void> {
  const hostvars: Record<string, RegisteredValue> = {};
  for (const item of options.hostvars) {
    const at = item.indexOf('=');
    hostvars[item.slice(0, at)] = parseValue(item.slice(at + 1));
  }
  const host = registeredHost({ ...options, hostvars });
  await withRegistry(own.ini, (r) => r.register(host));
  emit({ command: 'register', host });
}

export async function deregisterCommand({ options, own }: Parsed<typeof C.deregister>): Promise<void> {
  emit({ command: 'deregister', name: options.name, removed: await withRegistry(own.ini, (r) => r.deregister(options.name)) });
}

export async function listHostsCommand({ own }: Parsed<typeof C.listHosts>): Promise<void> {
  emit(await withRegistry(own.ini, (r) => r.list()));
}
