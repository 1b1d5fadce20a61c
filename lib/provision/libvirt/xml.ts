// libvirt's XML as provisioning writes it: domain, volume and pool XML built from values a user
// typed. Every value goes through xmlEscape (text and attributes alike), so a name such as
// a'b"&<c>$(x); is data for libvirt, never markup. The inventory source reads it back with
// lib/sources/libvirt/xml.ts.
import { METADATA_NS, type GuestMetadata } from '../../sources/libvirt/xml.js';

export function xmlEscape(value: string | number): string {
  return String(value).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!);
}

export type NetworkSpec = { kind: 'user' } | { kind: 'bridge'; name: string } | { kind: 'network'; name: string };

export interface Forward {
  /** Address the hypervisor listens on. */
  address: string;
  hostPort: number;
  guestPort: number;
}

export interface DomainSpec {
  name: string;
  uuid: string;
  type: 'kvm' | 'qemu';
  memoryKiB: number;
  vcpus: number;
  disk: string;
  kernel?: string;
  initrd?: string;
  cmdline?: string;
  /** Where libvirt logs the serial console; without it, only `virsh console` sees it. */
  serialLog?: string;
  network: NetworkSpec;
  /** For user networking: the guest's subnet (CIDR) and the gateway slirp answers as. */
  userNet?: { cidr: string; gateway: string };
  /** Guest address the forwards go to (user networking only). */
  guestIp?: string;
  forwards: Forward[];
  /** User networking that reaches nothing but the forwards (qemu's restrict=on). */
  restrict?: boolean;
  /** A cloud-init NoCloud seed image, attached read-only as a CD-ROM. */
  seed?: string;
  /** The NIC's MAC address (52:54:00:...), so a cloud-init network-config can match it. */
  mac?: string;
  /** A virtio channel for qemu-guest-agent, so `virsh domifaddr --source agent` can ask the guest. */
  guestAgent?: boolean;
  metadata: GuestMetadata;
}

/** What inventory needs to find the guest again; host variables (which may be secrets) stay out. */
export function metadataXml(m: GuestMetadata): string {
  const groups = m.groups.map((g) => `<group>${xmlEscape(g)}</group>`).join('');
  const host = m.ansibleHost === undefined ? '' : `<ansible_host>${xmlEscape(m.ansibleHost)}</ansible_host>`;
  const port = m.ansiblePort === undefined ? '' : `<ansible_port>${m.ansiblePort}</ansible_port>`;
  const user = m.ansibleUser === undefined ? '' : `<ansible_user>${xmlEscape(m.ansibleUser)}</ansible_user>`;
  const seed = m.seed === undefined ? '' : `<seed>${xmlEscape(m.seed)}</seed>`;
  return `<guest xmlns="${METADATA_NS}"><pool>${xmlEscape(m.pool)}</pool><volume>${xmlEscape(m.volume)}</volume><groups>${groups}</groups>${host}${port}${user}${seed}</guest>`;
}

function interfaceXml(n: NetworkSpec, mac: string | undefined): string {
  const m = mac !== undefined ? `<mac address="${xmlEscape(mac)}"/>` : '';
  if (n.kind === 'bridge') return `<interface type="bridge">${m}<source bridge="${xmlEscape(n.name)}"/><model type="virtio"/></interface>`;
  if (n.kind === 'network') return `<interface type="network">${m}<source network="${xmlEscape(n.name)}"/><model type="virtio"/></interface>`;
  return '';
}

// libvirt 9.0 has no native port forwarding for user networking (only with passt, not installed
// here), so the user netdev is passed to qemu directly, with its hostfwd rules.
function userNetdev(d: DomainSpec): string {
  const parts = ['user', 'id=ec2inv0', ...(d.restrict ? ['restrict=on'] : [])];
  if (d.userNet) parts.push(`net=${d.userNet.cidr}`, `host=${d.userNet.gateway}`);
  for (const f of d.forwards) parts.push(`hostfwd=tcp:${f.address}:${f.hostPort}-${d.guestIp ?? ''}:${f.guestPort}`);
  // An explicit slot: libvirt assigns its own devices from slot 2 up and does not know about this one.
  const args = ['-netdev', parts.join(','), '-device', `virtio-net-pci,netdev=ec2inv0,bus=pci.0,addr=0x1f${d.mac !== undefined ? `,mac=${d.mac}` : ''}`];
  return `<qemu:commandline>${args.map((a) => `<qemu:arg value="${xmlEscape(a)}"/>`).join('')}</qemu:commandline>`;
}

export function domainXml(d: DomainSpec): string {
  const os = d.kernel
    ? `<kernel>${xmlEscape(d.kernel)}</kernel>${d.initrd ? `<initrd>${xmlEscape(d.initrd)}</initrd>` : ''}<cmdline>${xmlEscape(d.cmdline ?? '')}</cmdline>`
    : '<boot dev="hd"/>';
  return [
    `<domain type="${d.type}" xmlns:qemu="http://libvirt.org/schemas/domain/qemu/1.0">`,
    `<name>${xmlEscape(d.name)}</name>`,
    `<uuid>${xmlEscape(d.uuid)}</uuid>`,
    `<metadata>${metadataXml(d.metadata)}</metadata>`,
    `<memory unit="KiB">${d.memoryKiB}</memory>`,
    `<vcpu>${d.vcpus}</vcpu>`,
    `<os><type arch="x86_64" machine="pc">hvm</type>${os}</os>`,
    '<features><acpi/></features>',
    d.type === 'kvm' ? '<cpu mode="host-passthrough"/>' : '',
    '<on_poweroff>destroy</on_poweroff><on_reboot>restart</on_reboot><on_crash>destroy</on_crash>',
    '<devices>',
    `<disk type="file" device="disk"><driver name="qemu" type="qcow2"/><source file="${xmlEscape(d.disk)}"/><target dev="vda" bus="virtio"/></disk>`,
    `<serial type="pty">${d.serialLog !== undefined ? `<log file="${xmlEscape(d.serialLog)}" append="off"/>` : ''}<target port="0"/></serial>`,
    '<console type="pty"><target type="serial" port="0"/></console>',
    // IDE: the pc machine type has no SATA controller, and every guest kernel reads an IDE CD-ROM.
    d.seed !== undefined ? `<disk type="file" device="cdrom"><driver name="qemu" type="raw"/><source file="${xmlEscape(d.seed)}"/><target dev="hdc" bus="ide"/><readonly/></disk>` : '',
    d.guestAgent ? '<channel type="unix"><target type="virtio" name="org.qemu.guest_agent.0"/></channel>' : '',
    interfaceXml(d.network, d.mac),
    '<memballoon model="none"/>',
    '</devices>',
    d.network.kind === 'user' ? userNetdev(d) : '',
    '</domain>',
  ].join('\n');
}

/** A volume (qcow2 overlay on a backing file, or a raw volume to upload into). */
export function volumeXml(v: { name: string; capacityBytes: number; format: 'raw' | 'qcow2'; backing?: { path: string; format: string } }): string {
  const backing = v.backing ? `<backingStore><path>${xmlEscape(v.backing.path)}</path><format type="${xmlEscape(v.backing.format)}"/></backingStore>` : '';
  return `<volume><name>${xmlEscape(v.name)}</name><capacity unit="bytes">${v.capacityBytes}</capacity><target><format type="${v.format}"/></target>${backing}</volume>`;
}

export function dirPoolXml(name: string, dir: string): string {
  return `<pool type="dir"><name>${xmlEscape(name)}</name><target><path>${xmlEscape(dir)}</path></target></pool>`;
}
