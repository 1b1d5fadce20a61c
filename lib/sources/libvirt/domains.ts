// libvirt as an inventory source, in the spirit of community.libvirt's inventory plugin: every
// domain of each URI, registered or not, with its state, and its groups and variables from the
// <metadata> that ec2-provision launch writes, as registry records. Runs only on a refresh
// (lib/flow/request.ts merges them).
import { InventoryError } from '../../errors.js';
import { Virsh } from './virsh.js';
import { METADATA_NS, parseMetadata } from './xml.js';
import type { RegisteredHost } from '../../records/inventory.js';

const safe = (s: string) => s.replace(/[^A-Za-z0-9_]/g, '_');

/** `stop`: the refresh's deadline (refresh_timeout), which kills a virsh still running. */
export async function libvirtDomains(uri: string, stop?: AbortSignal): Promise<RegisteredHost[]> {
  const v = new Virsh(uri, 60_000, stop);
  try {
    const names = (await v.text(['list', '--all', '--name'])).split('\n').map((n) => n.trim()).filter(Boolean).sort();
    const hosts: RegisteredHost[] = [];
    for (const name of names) {
      // Domains with spaces cannot be inventory host names; they are left out rather than renamed.
      if (/\s/.test(name)) continue;
      const [state, uuid, md] = await Promise.all([
        v.text(['domstate', '--', name]).then((s) => s.trim()),
        v.text(['domuuid', '--', name]).then((s) => s.trim()),
        v.call(['metadata', '--domain', name, '--uri', METADATA_NS]).then((r) => parseMetadata(r.stdout), () => undefined),
      ]);
      const groups = [...new Set([...(md?.groups ?? []), 'libvirt', `libvirt_${safe(state)}`])].filter((g) => /^[A-Za-z0-9_-]+$/.test(g));
      hosts.push({
        name, groups, source: 'libvirt', registeredAt: 0,
        hostvars: {
          ...(md?.vars ?? {}),
          ...(md?.ansibleHost !== undefined ? { ansible_host: md.ansibleHost } : {}),
          ...(md?.ansiblePort !== undefined ? { ansible_port: md.ansiblePort } : {}),
          kvm_uri: uri, kvm_domain: name, kvm_uuid: uuid, kvm_state: state,
          ...(md ? { kvm_pool: md.pool, kvm_volume: md.volume } : {}),
        },
      });
    }
    return hosts;
  } catch (err) {
    throw new InventoryError(`libvirt_uris: cannot list the domains of ${uri}: ${(err as Error).message}`);
  }
}
