// libvirt's XML as read: what virsh prints (dumpxml, vol-dumpxml, capabilities, metadata) goes
// through an XML parser, so attribute order, quoting, entities and namespace prefixes that libvirt
// chooses when it re-serialises do not matter. What provisioning writes is lib/provision/libvirt/xml.ts.
import { XMLParser } from 'fast-xml-parser';

/** Our namespace in <metadata>: destroy and the libvirt inventory source read it back. */
export const METADATA_NS = 'https://ec2-inventory.invalid/kvm/1';

export interface GuestMetadata {
  groups: string[];
  pool: string;
  volume: string;
  /**
   * Host variables. Only read back from domains defined before variables left the XML: any local
   * user can `virsh -r dumpxml`, so new domains carry none (the registry holds them).
   */
  vars: Record<string, string>;
  ansibleHost?: string;
  ansiblePort?: number;
  ansibleUser?: string;
  /** The cloud-init seed volume (in `pool`) that destroy removes with the overlay. */
  seed?: string;
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
  const user = text(guest['ansible_user']);
  const seed = text(guest['seed']);
  return {
    pool,
    volume,
    groups,
    vars,
    ...(host !== undefined ? { ansibleHost: host } : {}),
    ...(port !== undefined ? { ansiblePort: Number(port) } : {}),
    ...(user !== undefined ? { ansibleUser: user } : {}),
    ...(seed !== undefined ? { seed } : {}),
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
