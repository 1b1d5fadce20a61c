// libvirt's XML, both ways. Written: domain, volume and pool XML built from values a user typed;
// every value goes through xmlEscape (text and attributes alike), so a name such as  a'b"&<c>$(x);
// is data for libvirt, never markup. Read: what virsh prints (dumpxml, vol-dumpxml, capabilities,
// metadata) goes through an XML parser, so attribute order, quoting, entities and namespace
// prefixes that libvirt chooses when it re-serialises do not matter.
import { XMLParser } from 'fast-xml-parser';

export function xmlEscape(value: string | number): string {
  return String(value).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!);
}

/** Our namespace in <metadata>: destroy and the libvirt inventory source read it back. */
export const METADATA_NS = 'https://ec2-inventory.invalid/kvm/1';

export type NetworkSpec = { kind: 'user' } | { kind: 'bridge'; name: string } | { kind: 'network'; name: string };

export interface Forward {
  /** Address the hypervisor listens on. */
  address: string;
  hostPort: number;
  guestPort: number;
}

export interface GuestMetadata {
  groups: string[];
  pool: string;
  volume: string;
  vars: Record<string, string>;
  ansibleHost?: string;
  ansiblePort?: number;
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
  metadata: GuestMetadata;
}

export function metadataXml(m: GuestMetadata): string {
  const vars = Object.entries(m.vars).map(([k, v]) => `<var name="${xmlEscape(k)}">${xmlEscape(v)}</var>`).join('');
  const groups = m.groups.map((g) => `<group>${xmlEscape(g)}</group>`).join('');
  const host = m.ansibleHost === undefined ? '' : `<ansible_host>${xmlEscape(m.ansibleHost)}</ansible_host>`;
  const port = m.ansiblePort === undefined ? '' : `<ansible_port>${m.ansiblePort}</ansible_port>`;
  return `<guest xmlns="${METADATA_NS}"><pool>${xmlEscape(m.pool)}</pool><volume>${xmlEscape(m.volume)}</volume><groups>${groups}</groups><vars>${vars}</vars>${host}${port}</guest>`;
}

function interfaceXml(n: NetworkSpec): string {
  if (n.kind === 'bridge') return `<interface type="bridge"><source bridge="${xmlEscape(n.name)}"/><model type="virtio"/></interface>`;
  if (n.kind === 'network') return `<interface type="network"><source network="${xmlEscape(n.name)}"/><model type="virtio"/></interface>`;
  return '';
}

// libvirt 9.0 has no native port forwarding for user networking (only with passt, not installed
// here), so the user netdev is passed to qemu directly, with its hostfwd rules.
function userNetdev(d: DomainSpec): string {
  const parts = ['user', 'id=ec2inv0'];
  if (d.userNet) parts.push(`net=${d.userNet.cidr}`, `host=${d.userNet.gateway}`);
  for (const f of d.forwards) parts.push(`hostfwd=tcp:${f.address}:${f.hostPort}-${d.guestIp ?? ''}:${f.guestPort}`);
  // An explicit slot: libvirt assigns its own devices from slot 2 up and does not know about this one.
  const args = ['-netdev', parts.join(','), '-device', 'virtio-net-pci,netdev=ec2inv0,bus=pci.0,addr=0x1f'];
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
    interfaceXml(d.network),
    '<memballoon model="none"/>',
    '</devices>',
    d.network.kind === 'user' ? userNetdev(d) : '',
    '</domain>',
  ].join('\n');
}

type Node = { [key: string]: unknown };

// Elements that may repeat are always arrays; values stay text (a name such as "007" is not a number).
const repeated = new Set(['disk', 'group', 'var', 'feature', 'log', 'source']);
const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@',
  removeNSPrefix: true,
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: false,
  isArray: (name) => repeated.has(name),
});

function parseXml(xml: string, what: string): Node {
  try {
    return parser.parse(xml) as Node;
  } catch (err) {
    throw new Error(`${what} is not valid XML: ${(err as Error).message}`);
  }
}

const node = (v: unknown): Node => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Node) : {});
const nodes = (v: unknown): Node[] => (Array.isArray(v) ? v.map(node) : v === undefined ? [] : [node(v)]);
/** An element's text: a plain string when it has no attributes, else its #text. */
const text = (v: unknown): string | undefined => (typeof v === 'string' ? v : v && typeof v === 'object' && typeof (v as Node)['#text'] === 'string' ? ((v as Node)['#text'] as string) : v === '' ? '' : undefined);
const attr = (n: Node, name: string): string | undefined => (typeof n[`@${name}`] === 'string' ? (n[`@${name}`] as string) : undefined);

/** Reads back what metadataXml wrote (libvirt may re-serialise it with a prefix). */
export function parseMetadata(xml: string): GuestMetadata | undefined {
  let root: Node;
  try {
    root = parseXml(xml, 'metadata');
  } catch {
    return undefined;
  }
  // `virsh metadata` prints the element alone; dumpxml has it inside the domain's <metadata>.
  const guest = node(root['guest'] ?? node(node(root['domain'])['metadata'])['guest']);
  const pool = text(guest['pool']);
  const volume = text(guest['volume']);
  if (pool === undefined || volume === undefined) return undefined;
  const groups = nodes(node(guest['groups'])['group']).length
    ? (node(guest['groups'])['group'] as unknown[]).map((g) => text(g) ?? '')
    : [];
  const vars: Record<string, string> = {};
  for (const v of nodes(node(guest['vars'])['var'])) {
    const name = attr(v, 'name');
    if (name !== undefined) vars[name] = text(v) ?? '';
  }
  const host = text(guest['ansible_host']);
  const port = text(guest['ansible_port']);
  return {
    pool,
    volume,
    groups,
    vars,
    ...(host !== undefined ? { ansibleHost: host } : {}),
    ...(port !== undefined ? { ansiblePort: Number(port) } : {}),
  };
}

/** What provisioning reads from a domain's XML (virsh dumpxml). */
export interface DomainFacts {
  /** kvm or qemu (TCG). */
  type: string;
  /** The file of each disk whose device is 'disk' (not cdrom or floppy), in order. */
  diskFiles: string[];
  /** The file the serial console is logged to, if any. */
  serialLog: string | undefined;
}

export function readDomain(xml: string): DomainFacts {
  const domain = node(parseXml(xml, 'domain XML')['domain']);
  const devices = node(domain['devices']);
  const diskFiles = nodes(devices['disk'])
    .filter((d) => (attr(d, 'device') ?? 'disk') === 'disk')
    .map((d) => nodes(d['source']).map((s) => attr(s, 'file')).find((f) => f !== undefined))
    .filter((f): f is string => f !== undefined);
  const serialLog = [...nodes(devices['serial']), ...nodes(devices['console'])]
    .flatMap((s) => nodes(s['log']))
    .map((l) => attr(l, 'file'))
    .find((f) => f !== undefined);
  return { type: attr(domain, 'type') ?? '', diskFiles, serialLog };
}

/** What provisioning reads from a volume's XML (virsh vol-dumpxml). */
export interface VolumeFacts {
  path: string | undefined;
  /** raw, qcow2, ... */
  format: string | undefined;
  /** For an overlay: the file it is backed by. */
  backingPath: string | undefined;
}

export function readVolume(xml: string): VolumeFacts {
  const volume = node(parseXml(xml, 'volume XML')['volume']);
  const target = node(volume['target']);
  const backing = node(volume['backingStore']);
  return {
    path: text(target['path']),
    format: attr(node(target['format']), 'type'),
    backingPath: text(backing['path']),
  };
}

/** Whether the host CPU of `virsh capabilities` offers hardware virtualisation (vmx or svm). */
export function hasHardwareVirt(capabilitiesXml: string): boolean {
  const cpu = node(node(node(parseXml(capabilitiesXml, 'capabilities XML')['capabilities'])['host'])['cpu']);
  return nodes(cpu['feature']).some((f) => attr(f, 'name') === 'vmx' || attr(f, 'name') === 'svm');
}

/** A volume (qcow2 overlay on a backing file, or a raw volume to upload into). */
export function volumeXml(v: { name: string; capacityBytes: number; format: 'raw' | 'qcow2'; backing?: { path: string; format: string } }): string {
  const backing = v.backing ? `<backingStore><path>${xmlEscape(v.backing.path)}</path><format type="${xmlEscape(v.backing.format)}"/></backingStore>` : '';
  return `<volume><name>${xmlEscape(v.name)}</name><capacity unit="bytes">${v.capacityBytes}</capacity><target><format type="${v.format}"/></target>${backing}</volume>`;
}

export function dirPoolXml(name: string, dir: string): string {
  return `<pool type="dir"><name>${xmlEscape(name)}</name><target><path>${xmlEscape(dir)}</path></target></pool>`;
}
