// push kvm, launch kvm, destroy kvm: a libvirt hypervisor, reached through virsh.
import type { Parsed } from '../declare.js';
import type { provisionCommands as C } from '../declarations.js';
import { pushKvm } from '../../provision/libvirt/push.js';
import { launchKvm, parseVars } from '../../provision/libvirt/launch.js';
import { destroyKvm } from '../../provision/libvirt/destroy.js';
import { emit, progress } from './output.js';
import { provisionSettings } from '../settings.js';

export async function pushKvmCommand({ options }: Parsed<typeof C.pushKvm>): Promise<void> {
  emit({ command: 'push kvm', ...(await pushKvm({ ...options, log: progress })) });
}

export async function launchKvmCommand({ options, own }: Parsed<typeof C.launchKvm>): Promise<void> {
  const r = await launchKvm({
    ...options,
    vars: parseVars(options.vars),
    log: progress,
    ...(own.register ? { registry: provisionSettings(own.ini) } : {}),
  });
  emit({ command: 'launch kvm', ...r });
}

export async function destroyKvmCommand({ options, own }: Parsed<typeof C.destroyKvm>): Promise<void> {
  emit({ command: 'destroy kvm', ...(await destroyKvm({ ...options, registry: provisionSettings(own.ini), log: progress })) });
}
