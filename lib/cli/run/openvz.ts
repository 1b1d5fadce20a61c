// push openvz and push proxmox: a template to an OpenVZ/Virtuozzo or Proxmox VE node over SSH;
// destroy openvz: that template removed again.
import type { Parsed } from '../declare.js';
import type { provisionCommands as C } from '../declarations.js';
import { pushTemplate, removeTemplate } from '../../provision/openvz/push.js';
import { emit, progress } from './output.js';

export async function pushOpenvzCommand({ options }: Parsed<typeof C.pushOpenvz>): Promise<void> {
  emit({ command: 'push openvz', ...(await pushTemplate({ ...options, log: progress })) });
}

export async function pushProxmoxCommand({ options }: Parsed<typeof C.pushProxmox>): Promise<void> {
  emit({ command: 'push proxmox', ...(await pushTemplate({ ...options, node: 'proxmox', log: progress })) });
}

export async function destroyOpenvzCommand({ options }: Parsed<typeof C.destroyOpenvz>): Promise<void> {
  emit({ command: 'destroy openvz', ...(await removeTemplate({ ...options, log: progress }, false)) });
}
