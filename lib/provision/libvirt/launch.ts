// Launch guests from a pushed image: a qcow2 overlay per guest (the pushed volume stays pristine),
// a domain from generated XML, started, waited for, registered. One Undo covers the whole launch,
// so a failure on the third guest also removes the first two.
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { buildSeedIso, readIdentity, seedFiles, type LaunchIdentity, type SeedFiles } from '../cloudinit.js';
import { checkInterrupted, pause } from '../interrupt.js';
import { ProvisionError } from '../../errors.js';
import { parseGroups } from '../hosts.js';
import { parseSize } from '../image/size.js';
import { kernelCmdlineParams } from '../template/placeholders.js';
import { keyValues } from '../../settings/keyValue.js';
import { Virsh, uriHost, type Log } from '../../sources/libvirt/virsh.js';
import { Undo } from '../undo.js';
import { METADATA_NS, hasHardwareVirt, parseMetadata, readDomain, readVolume, type GuestMetadata } from '../../sources/libvirt/xml.js';
import { domainXml, metadataXml, volumeXml, type Forward, type NetworkSpec } from './xml.js';
import { initrdVolume, kernelVolume } from './push.js';
import { waitReady, type ReadyCheck } from './ready.js';
import { openRegistry, type Registry, type RegistrySettings } from '../../store/registry.js';
import type { RegisteredHost } from '../../records/inventory.js';

export type Accel = 'auto' | 'kvm' | 'qemu';

export interface LaunchKvmOptions {
  uri: string;
  pool: string;
  /** The pushed image volume. */
  volume: string;
  /** Guest (domain and inventory host) name; with count > 1, NAME-1 ... NAME-N. */
  name: string;
  count?: number;
  /** e.g. 256M */
  memory?: string;
  vcpus?: number;
  /** user | bridge:BR | network:NAME */
  network?: string;
  /** First guest's address, ADDR/PREFIX; the next guests get the following addresses. */
  ip?: string;
  gateway?: string;
  /** [ADDR:]HOSTPORT:GUESTPORT (user networking); the host port grows by one per guest. */
  forwards?: string[];
  groups: string[];
  vars?: Record<string, string>;
  /** Seconds to wait for readiness; 0 starts the guests without waiting. */
  waitSeconds?: number;
  /** Text the guest prints on its serial console when ready (read from libvirt's log file: local hypervisors). */
  readyLine?: string;
  /** Port on ansible_host that answers when ready; the first forward's host port by default (unless readyLine is given). */
  readyPort?: number;
  /** Sent on the ready port before waiting for bytes, for services that wait for a request. */
  readySend?: string;
  accel?: Accel;
  /** Kernel command line before this guest's ec2inv.* values (what image build reports). */
  cmdline?: string;
  /** Where libvirt writes each guest's serial console log on the hypervisor. */
  logDir?: string;
  /** Take over a domain of that name that already exists (register it, start it if stopped) instead of refusing. */
  adopt?: boolean;
  /** Registry to record the guests in; none = not registered. */
  registry?: RegistrySettings;
  /**
   * cloud-init identity (images with cloud-init): a public key file for the login user, who gets
   * sudo. With it or `userData`, each guest gets a NoCloud seed volume, and with user networking a
   * free loopback port forwarded to 22 unless `forwards` say otherwise.
   */
  sshKey?: string;
  /** Login user (default `ansible`); registered as ansible_user. */
  user?: string;
  /** The user's own user-data file: a #cloud-config merged with ours, or a script run after it. */
  userData?: string;
  /** crypt(3) hash of the login user's console password (default: none, password locked). */
  passwordHash?: string;
  /**
   * How the guest's address is found on `network:`/`bridge:` without --ip: `virsh domifaddr
   * --source` lease, agent or arp; `auto` tries them in that order.
   */
  addressSource?: AddressSource;
  /** User networking that reaches nothing but the forwards (qemu restrict=on): test guests. */
  restrictNetwork?: boolean;
  log?: Log;
}

export type AddressSource = 'auto' | 'lease' | 'agent' | 'arp';
export const addressSources: readonly AddressSource[] = ['auto', 'lease', 'agent', 'arp'];

export interface LaunchedGuest {
  name: string;
  uuid: string;
  domainType: 'kvm' | 'qemu';
  volume: string;
  volumePath: string;
  ip?: string;
  ansibleHost: string;
  ansiblePort?: number;
  ansibleUser?: string;
  /** The cloud-init seed volume in the pool. */
  seedVolume?: string;
  /** How ansible_host was found when the launch did not choose it (a domifaddr source). */
  addressFrom?: 'lease' | 'agent' | 'arp';
  groups: string[];
  /** Serial console log on the hypervisor; local URIs only (nothing could remove it remotely). */
  serialLog?: string;
  readyMs?: number;
  registered: boolean;
  /** An existing domain taken over with --adopt (nothing was created for it). */
  adopted?: boolean;
  /** The pool of its overlay, when not the launch's own (adopted guests). */
  pool?: string;
  /** Its variables, when not only the launch's (adopted guests keep those in their metadata). */
  vars?: Record<string, string>;
}

export interface LaunchKvmResult {
  uri: string;
  pool: string;
  baseVolume: string;
  guests: LaunchedGuest[];
}

const varName = /^[A-Za-z_][A-Za-z0-9_]*$/;
const RESERVED_VARS = new Set(['ansible_host', 'ansible_port', 'ansible_user', 'kvm_uri', 'kvm_domain', 'kvm_uuid', 'kvm_pool', 'kvm_volume', 'kvm_seed_volume']);

/** The seed volume's name beside a guest's overlay. */
export function seedVolume(guest: string): string {
  return `${guest}-cidata.iso`;
}

/** Free TCP ports on 127.0.0.1, all held until all are found so no two are the same. */
export async function freeLoopbackPorts(n: number): Promise<number[]> {
  const servers: net.Server[] = [];
  try {
    for (let i = 0; i < n; i++) {
      const s = net.createServer();
      servers.push(s);
      await new Promise<void>((resolve, reject) => {
        s.once('error', reject);
        s.listen(0, '127.0.0.1', resolve);
      });
    }
    return servers.map((s) => (s.address() as net.AddressInfo).port);
  } finally {
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  }
}

/** The first IPv4 address in `virsh domifaddr` output that is not loopback. */
export function parseDomifaddr(out: string): string | undefined {
  for (const line of out.split('\n')) {
    const m = /\sipv4\s+(\d{1,3}(?:\.\d{1,3}){3})\/\d+/.exec(line);
    if (m && !m[1]!.startsWith('127.')) return m[1];
  }
  return undefined;
}

/**
 * Asks libvirt for the guest's address until one of the sources knows it: the DHCP lease of a
 * libvirt network, the guest agent, or the host's ARP table.
 */
export async function discoverAddress(v: Virsh, domain: string, source: AddressSource, timeoutMs: number): Promise<{ ip: string; from: 'lease' | 'agent' | 'arp' }> {
  const order: ('lease' | 'agent' | 'arp')[] = source === 'auto' ? ['lease', 'agent', 'arp'] : [source];
  const started = Date.now();
  for (;;) {
    checkInterrupted();
    for (const from of order) {
      // The agent answers only once the guest runs it; until then virsh fails, which means "not yet".
      const out = await v.call(['domifaddr', '--source', from, '--', domain]).then((r) => r.stdout, () => '');
      const ip = parseDomifaddr(out);
      if (ip !== undefined) return { ip, from };
    }
    const state = (await v.text(['domstate', '--', domain])).trim();
    if (state !== 'running') throw new ProvisionError(`guest '${domain}' is ${state} before it had an address`, 'ENOTREADY');
    if (Date.now() - started > timeoutMs) throw new ProvisionError(`guest '${domain}' has no address after ${Math.round(timeoutMs / 1000)} s (asked: ${order.join(', ')}; addressSource chooses)`, 'ETIMEDOUT', 'addressSource');
    await pause(1000);
  }
}

/** Why `key` cannot be a guest's variable, or undefined when it can. */
function varProblem(key: string): string | undefined {
  if (!varName.test(key)) return 'its key is not a variable name (letters, digits, _)';
  if (RESERVED_VARS.has(key)) return 'is set by the launch itself';
  return undefined;
}

/** `key=value` strings into a guest's variables; keys must be Ansible variable names. */
export function parseVars(items: readonly string[]): Record<string, string> {
  return keyValues(items, (why) => new ProvisionError(`vars: ${why}`, 'EUSAGE', 'vars'), varProblem);
}

export function parseNetwork(text: string): NetworkSpec {
  if (text === 'user') return { kind: 'user' };
  const m = /^(bridge|network):(.+)$/.exec(text);
  if (!m) throw new ProvisionError(`network '${text}': expected user, bridge:BRIDGE or network:NAME`, 'EUSAGE', 'network');
  return { kind: m[1] as 'bridge' | 'network', name: m[2]! };
}

/** `defaultAddress`: where the hypervisor listens when the text names no address. */
export function parseForward(text: string, defaultAddress = '127.0.0.1'): Forward {
  const m = /^(?:(\d{1,3}(?:\.\d{1,3}){3}|\*):)?(\d{1,5}):(\d{1,5})$/.exec(text);
  const port = (s: string) => {
    const n = Number(s);
    if (n < 1 || n > 65535) throw new ProvisionError(`forward '${text}': port ${s} out of range`, 'EUSAGE', 'forwards');
    return n;
  };
  if (!m) throw new ProvisionError(`forward '${text}': expected [ADDR:]HOSTPORT:GUESTPORT`, 'EUSAGE', 'forwards');
  return { address: m[1] === '*' ? '' : m[1] ?? defaultAddress, hostPort: port(m[2]!), guestPort: port(m[3]!) };
}

function ipToInt(ip: string): number {
  return ip.split('.').reduce((a, o) => a * 256 + Number(o), 0);
}
function intToIp(n: number): string {
  return [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.');
}

/** The i-th address after ADDR/PREFIX, refused when it leaves the subnet. */
function nthAddress(cidr: string, i: number): { ip: string; prefix: number; network: string } {
  const m = /^([\d.]+)\/(\d{1,2})$/.exec(cidr);
  if (!m) throw new ProvisionError(`address '${cidr}': expected ADDR/PREFIX, e.g. 10.0.2.21/24`, 'EUSAGE', 'ip');
  const prefix = Number(m[2]);
  const base = ipToInt(m[1]!);
  const size = 2 ** (32 - prefix);
  const network = Math.floor(base / size) * size;
  const n = base + i;
  if (n >= network + size - 1) throw new ProvisionError(`address ${cidr}: guest ${i + 1} would leave the subnet`, 'EUSAGE', 'ip');
  return { ip: intToIp(n), prefix, network: `${intToIp(network)}/${prefix}` };
}

/**
 * KVM only when libvirt offers it and the host CPU has vmx/svm: on nested machines /dev/kvm exists
 * but cannot run a guest (shared notes), and only plain qemu (TCG) works there.
 */
export async function detectDomainType(v: Virsh, accel: Accel = 'auto'): Promise<'kvm' | 'qemu'> {
  if (accel !== 'auto') return accel;
  try {
    await v.call(['domcapabilities', '--virttype', 'kvm', '--arch', 'x86_64']);
  } catch {
    return 'qemu';
  }
  return hasHardwareVirt(await v.text(['capabilities'])) ? 'kvm' : 'qemu';
}

function isLocal(uri: string): boolean {
  return /^[a-z0-9]+:\/\/\/|^[a-z0-9]+\+unix:/i.test(uri);
}

function tail(file: string, lines = 8): string {
  try {
    return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

/**
 * Launches the guests: every input is checked first (plan), then each guest is taken over (adopt)
 * or made (create), its address found where DHCP chose it (discover), waited for (wait) and
 * recorded (register). A failure or a signal at any step undoes what the launch made so far.
 */
export async function launchKvm(o: LaunchKvmOptions): Promise<LaunchKvmResult> {
  const plan = await planLaunch(o);
  const v = new Virsh(o.uri);
  const undo = new Undo('launch', plan.log);
  const registry = o.registry ? await openRegistry(o.registry) : undefined;
  try {
    return await undo.guard(async () => {
      const base = await findBase(v, plan, undo);
      const adopting = await checkNames(v, plan, registry, undo);
      const guests: LaunchedGuest[] = [];
      for (const g of plan.guests) guests.push(adopting.has(g.name) ? await adopt(v, plan, g, undo) : await create(v, plan, base, g, undo));
      await discover(v, plan, guests, undo);
      await wait(v, plan, guests, undo);
      if (registry) await register(registry, plan, guests, undo);
      return { uri: o.uri, pool: o.pool, baseVolume: o.volume, guests };
    });
  } finally {
    await registry?.close();
  }
}

/** The launch as checked before anything exists: its settings, and one GuestPlan per guest. */
interface LaunchPlan {
  o: LaunchKvmOptions;
  log: Log;
  local: boolean;
  memoryKiB: number;
  vcpus: number;
  network: NetworkSpec;
  groups: string[];
  vars: Record<string, string>;
  waitMs: number;
  addressSource: AddressSource;
  identity: LaunchIdentity | undefined;
  guests: GuestPlan[];
}

interface GuestPlan {
  name: string;
  addr: { ip: string; prefix: number; network: string } | undefined;
  cmdParams: string;
  fw: Forward[];
  ansibleHost: string;
  ansiblePort: number | undefined;
  /** Its address comes from DHCP (network/bridge without ip): asked for after start. */
  discover: boolean;
  seed: SeedFiles | undefined;
  mac: string;
  uuid: string;
  overlay: string;
}

/** Every value a caller gave, checked and read (files included), before anything is created. */
async function planLaunch(o: LaunchKvmOptions): Promise<LaunchPlan> {
  const count = o.count ?? 1;
  if (!Number.isInteger(count) || count < 1) throw new ProvisionError(`count ${count}: expected a whole number of at least 1`, 'EUSAGE', 'count');
  const vcpus = o.vcpus ?? 1;
  if (!Number.isInteger(vcpus) || vcpus < 1) throw new ProvisionError(`vcpus ${vcpus}: expected a whole number of at least 1`, 'EUSAGE', 'vcpus');
  const local = isLocal(o.uri);
  const network = parseNetwork(o.network ?? 'user');
  // A remote hypervisor's forwards listen on the address this client reaches it by (the URI's host).
  const forwards = (o.forwards ?? []).map((f) => parseForward(f, local ? '127.0.0.1' : uriHost(o.uri)));
  if (forwards.length > 0 && network.kind !== 'user') throw new ProvisionError('forwards need user networking (network: user)', 'EUSAGE', 'forwards');
  if ((o.ip === undefined) !== (o.gateway === undefined)) throw new ProvisionError('ip and gateway go together', 'EUSAGE', o.ip === undefined ? 'gateway' : 'ip');
  const vars = o.vars ?? {};
  for (const k of Object.keys(vars)) if (varProblem(k) !== undefined) throw new ProvisionError(`variable '${k}' is not allowed`, 'EUSAGE', 'vars');
  const addressSource = o.addressSource ?? 'auto';
  if (!addressSources.includes(addressSource)) throw new ProvisionError(`address source ${JSON.stringify(addressSource)}: use ${addressSources.join(', ')}`, 'EUSAGE', 'addressSource');
  const identity = readIdentity(o);
  // SSH is what Ansible needs: with user networking it gets a loopback port of its own per guest.
  const autoSsh = identity !== undefined && network.kind === 'user' && forwards.length === 0;
  if (autoSsh && !local) throw new ProvisionError('cloud-init on a remote hypervisor with user networking: give forwards ADDR:PORT:22 (a free port there cannot be chosen from here)', 'EUSAGE', 'forwards');
  const names = count === 1 ? [o.name] : Array.from({ length: count }, (_, i) => `${o.name}-${i + 1}`);
  const autoPorts = autoSsh ? await freeLoopbackPorts(names.length) : [];
  const fwOf = (i: number) => (autoSsh ? [{ address: '127.0.0.1', hostPort: autoPorts[i]!, guestPort: 22 }] : forwards.map((f) => ({ ...f, hostPort: f.hostPort + i })));
  return {
    o, log: o.log ?? (() => {}), local, memoryKiB: Math.ceil(parseSize(o.memory ?? '256M') / 1024), vcpus, network,
    groups: parseGroups(o.groups), vars, waitMs: (o.waitSeconds ?? 120) * 1000, addressSource, identity,
    guests: names.map((name, i) => planGuest(o, network, identity, name, i, fwOf(i))),
  };
}

function planGuest(o: LaunchKvmOptions, network: NetworkSpec, identity: LaunchIdentity | undefined, name: string, i: number, fw: Forward[]): GuestPlan {
  if (name === '' || /[/\s]/.test(name)) throw new ProvisionError(`guest name '${name}' may not be empty or hold '/' or spaces`, 'EUSAGE', 'name');
  const addr = o.ip === undefined ? undefined : nthAddress(o.ip, i);
  let cmdParams = '';
  if (addr) {
    try {
      cmdParams = kernelCmdlineParams({ ip: addr.ip, netmask: addr.prefix, gateway: o.gateway!, hostname: name });
    } catch (err) {
      throw new ProvisionError(`guest '${name}': ${(err as Error).message} (the guest name becomes its hostname when ip is given)`, 'EUSAGE', 'name');
    }
  }
  for (const f of fw) if (f.hostPort > 65535) throw new ProvisionError(`forwards: guest ${name} would need host port ${f.hostPort}`, 'EUSAGE', 'forwards');
  // A locally administered MAC of our own, so the seed's network-config can name the NIC.
  const mac = `52:54:00:${[...crypto.randomBytes(3)].map((b) => b.toString(16).padStart(2, '0')).join(':')}`;
  const seed = identity
    ? seedFiles({
        hostname: name,
        ...identity,
        // DHCP is cloud-init's own fallback (measured here); a network-config only for ip.
        ...(addr ? { network: { mac, address: `${addr.ip}/${addr.prefix}`, gateway: o.gateway! } } : {}),
      })
    : undefined;
  return {
    name, addr, cmdParams, fw, seed, mac, uuid: crypto.randomUUID(), overlay: `${name}.qcow2`,
    ansibleHost: fw.length > 0 ? (fw[0]!.address && fw[0]!.address !== '0.0.0.0' ? fw[0]!.address : uriHost(o.uri)) : addr?.ip ?? name,
    ansiblePort: fw.length > 0 ? fw[0]!.hostPort : undefined,
    discover: network.kind !== 'user' && addr === undefined,
  };
}

/** The pushed volume the overlays are backed by, its kernel and initrd, and the domain type. */
interface Base {
  path: string;
  format: string;
  capacity: number;
  kernel: string | undefined;
  initrd: string | undefined;
  type: 'kvm' | 'qemu';
}

async function findBase(v: Virsh, { o, identity, log }: LaunchPlan, undo: Undo): Promise<Base> {
  undo.step('check pool and volume');
  if (!(await v.poolExists(o.pool))) throw new ProvisionError(`storage pool '${o.pool}' does not exist on ${o.uri}`, 'ENOPOOL', 'pool');
  if (!(await v.volumeExists(o.pool, o.volume))) throw new ProvisionError(`volume '${o.volume}' not found in pool '${o.pool}' (push it first)`, 'ENOVOLUME', 'volume');
  const path = await v.volumePath(o.pool, o.volume);
  const format = readVolume(await v.text(['vol-dumpxml', '--pool', o.pool, '--', o.volume])).format ?? 'raw';
  const capacity = (await v.volumeInfo(o.pool, o.volume)).capacity;
  const kernel = (await v.volumeExists(o.pool, kernelVolume(o.volume))) ? await v.volumePath(o.pool, kernelVolume(o.volume)) : undefined;
  const initrd = kernel && (await v.volumeExists(o.pool, initrdVolume(o.volume))) ? await v.volumePath(o.pool, initrdVolume(o.volume)) : undefined;
  if (!kernel && o.ip !== undefined && !identity) throw new ProvisionError(`no kernel volume '${kernelVolume(o.volume)}' beside '${o.volume}': ip needs direct kernel boot to pass the address`, 'ENOKERNEL', 'ip');
  const type = await detectDomainType(v, o.accel);
  log(`domain type ${type} on ${o.uri}`);
  return { path, format, capacity, kernel, initrd, type };
}

/** The guests whose domains exist and are adopted; refuses any other name, volume or entry in use. */
async function checkNames(v: Virsh, { o, guests }: LaunchPlan, registry: Registry | undefined, undo: Undo): Promise<Set<string>> {
  undo.step('check names');
  const adopting = new Set<string>();
  for (const p of guests) {
    if (await v.domainExists(p.name)) {
      if (!o.adopt) throw new ProvisionError(`a domain named '${p.name}' already exists on ${o.uri} (adopt registers it instead)`, 'EEXIST', 'name');
      adopting.add(p.name);
      continue;
    }
    if (await v.volumeExists(o.pool, p.overlay)) throw new ProvisionError(`a volume named '${p.overlay}' already exists in pool '${o.pool}'`, 'EEXIST', 'name');
    if (p.seed && (await v.volumeExists(o.pool, seedVolume(p.name)))) throw new ProvisionError(`a volume named '${seedVolume(p.name)}' already exists in pool '${o.pool}'`, 'EEXIST', 'name');
    if (registry && (await registry.get(p.name))) throw new ProvisionError(`'${p.name}' is already registered (deregister ${p.name} if it is stale)`, 'EEXIST', 'name');
  }
  return adopting;
}

/**
 * Takes over an existing domain: it keeps its disk and definition, and only a start made here is
 * undone on failure. Where the launch names no address, the one in its metadata stands.
 */
async function adopt(v: Virsh, { o, groups, vars, local, log }: LaunchPlan, p: GuestPlan, undo: Undo): Promise<LaunchedGuest> {
  undo.step(`adopt ${p.name}`);
  const uuid = (await v.text(['domuuid', '--', p.name])).trim();
  const md = await v.call(['metadata', '--domain', p.name, '--uri', METADATA_NS]).then((r) => parseMetadata(r.stdout), () => undefined);
  const facts = readDomain(await v.text(['dumpxml', '--inactive', '--', p.name]));
  const disk = facts.diskFiles[0];
  if ((await v.text(['domstate', '--', p.name])).trim() !== 'running') {
    log(`${p.name}: adopting and starting the existing domain`);
    await v.call(['start', '--', p.name]);
    undo.add(`started guest ${p.name}`, () => v.call(['destroy', '--', p.name]));
  } else log(`${p.name}: adopting the running domain`);
  const ansibleHost = o.forwards?.length || o.ip ? p.ansibleHost : md?.ansibleHost ?? p.ansibleHost;
  const ansiblePort = o.forwards?.length ? p.ansiblePort : md?.ansiblePort ?? p.ansiblePort;
  return {
    name: p.name, uuid, domainType: facts.type === 'kvm' ? 'kvm' : 'qemu', volume: md?.volume ?? (disk ? path.basename(disk) : ''),
    volumePath: disk ?? '', ...(p.addr ? { ip: p.addr.ip } : {}), ansibleHost, ...(ansiblePort !== undefined ? { ansiblePort } : {}),
    groups, ...(facts.serialLog !== undefined && local ? { serialLog: facts.serialLog } : {}), registered: false, adopted: true,
    pool: md?.pool ?? o.pool, vars: { ...(md?.vars ?? {}), ...vars },
  };
}

/** Overlay volume, cloud-init seed, domain, start: each undone if a later step fails. */
async function create(v: Virsh, plan: LaunchPlan, base: Base, p: GuestPlan, undo: Undo): Promise<LaunchedGuest> {
  const { o, log } = plan;
  undo.step(`overlay volume for ${p.name}`);
  log(`${p.name}: overlay ${o.pool}/${p.overlay} on ${o.volume}`);
  await v.withXml(['vol-create', '--pool', o.pool, '--file'], volumeXml({ name: p.overlay, capacityBytes: base.capacity, format: 'qcow2', backing: { path: base.path, format: base.format } }));
  undo.add(`volume ${o.pool}/${p.overlay}`, () => v.call(['vol-delete', '--pool', o.pool, '--', p.overlay]));
  const seedPath = p.seed ? await uploadSeed(v, plan, p.name, p.seed, undo) : undefined;

  undo.step(`define ${p.name}`);
  const serialLog = plan.local ? `${o.logDir ?? '/var/log/libvirt/qemu'}/ec2inv-${p.uuid}.serial.log` : undefined;
  const guest: LaunchedGuest = {
    name: p.name, uuid: p.uuid, domainType: base.type, volume: p.overlay, volumePath: await v.volumePath(o.pool, p.overlay),
    ...(p.addr ? { ip: p.addr.ip } : {}), ansibleHost: p.ansibleHost, ...(p.ansiblePort !== undefined ? { ansiblePort: p.ansiblePort } : {}),
    groups: plan.groups, ...(serialLog !== undefined ? { serialLog } : {}), registered: false,
    ...(plan.identity?.ansibleUser !== undefined ? { ansibleUser: plan.identity.ansibleUser } : {}), ...(p.seed ? { seedVolume: seedVolume(p.name) } : {}),
  };
  await v.withXml(['define', '--file'], domainXml({
    name: p.name, uuid: p.uuid, type: base.type, memoryKiB: plan.memoryKiB, vcpus: plan.vcpus, disk: guest.volumePath,
    ...(base.kernel ? { kernel: base.kernel, cmdline: `${o.cmdline ?? 'root=/dev/vda1 rw console=ttyS0'} panic=-1 ${p.cmdParams}`.trim() } : {}),
    ...(base.initrd ? { initrd: base.initrd } : {}),
    ...(serialLog !== undefined ? { serialLog } : {}), network: plan.network, forwards: p.fw, metadata: guestMetadata(plan, guest, !p.discover),
    ...(seedPath !== undefined ? { seed: seedPath } : {}), mac: p.mac, guestAgent: true, ...(o.restrictNetwork ? { restrict: true } : {}),
    ...(p.addr ? { guestIp: p.addr.ip, userNet: { cidr: p.addr.network, gateway: o.gateway! } } : {}),
  }));
  undo.add(`domain ${p.name}`, () => v.call(['undefine', '--', p.name]));
  if (serialLog !== undefined) undo.add(`serial log ${serialLog}`, async () => fs.rmSync(serialLog, { force: true }));

  undo.step(`start ${p.name}`);
  await v.call(['start', '--', p.name]);
  undo.add(`running guest ${p.name}`, () => v.call(['destroy', '--', p.name]));
  return guest;
}

/** Writes the seed as an ISO and uploads it as a volume beside the overlay; its path in the pool. */
async function uploadSeed(v: Virsh, { o, log }: LaunchPlan, name: string, seed: SeedFiles, undo: Undo): Promise<string> {
  undo.step(`cloud-init seed for ${name}`);
  const seedName = seedVolume(name);
  const tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ec2inv-seed-'));
  try {
    const iso = path.join(tmpDir, 'seed.iso');
    await buildSeedIso(seed, iso);
    log(`${name}: cloud-init seed ${o.pool}/${seedName}`);
    await v.withXml(['vol-create', '--pool', o.pool, '--file'], volumeXml({ name: seedName, capacityBytes: fs.statSync(iso).size, format: 'raw' }));
    undo.add(`volume ${o.pool}/${seedName}`, () => v.call(['vol-delete', '--pool', o.pool, '--', seedName]));
    await v.call(['vol-upload', '--pool', o.pool, '--', seedName, iso], 120_000);
  } finally {
    fs.rmSync(tmpDir, { recursive: true, force: true });
  }
  return v.volumePath(o.pool, seedName);
}

/**
 * What the domain's metadata says of a guest, so that the libvirt inventory source and destroy
 * find it without a registry. The address only once known (`withHost`); host variables never
 * (any local user can read domain XML).
 */
function guestMetadata({ o }: LaunchPlan, g: LaunchedGuest, withHost: boolean): GuestMetadata {
  return {
    groups: g.groups, pool: g.pool ?? o.pool, volume: g.volume, vars: {},
    ...(withHost ? { ansibleHost: g.ansibleHost } : {}), ...(g.ansiblePort !== undefined ? { ansiblePort: g.ansiblePort } : {}),
    ...(g.ansibleUser !== undefined ? { ansibleUser: g.ansibleUser } : {}), ...(g.seedVolume !== undefined ? { seed: g.seedVolume } : {}),
  };
}

/** The addresses DHCP gave the guests that were not given one, into their records and metadata. */
async function discover(v: Virsh, plan: LaunchPlan, guests: LaunchedGuest[], undo: Undo): Promise<void> {
  const pending = new Set(plan.guests.filter((p) => p.discover).map((p) => p.name));
  for (const g of guests) {
    if (!pending.has(g.name) || g.adopted) continue;
    undo.step(`address of ${g.name}`);
    const found = await discoverAddress(v, g.name, plan.addressSource, Math.max(plan.waitMs, 60_000));
    g.ansibleHost = found.ip;
    g.addressFrom = found.from;
    // SSH on the guest's own address is what Ansible uses, so it is what readiness means.
    if (plan.identity) g.ansiblePort = 22;
    plan.log(`${g.name}: address ${found.ip} (from ${found.from})`);
    await v.call(['metadata', '--domain', g.name, '--uri', METADATA_NS, '--key', 'ec2inv', '--set', metadataXml(guestMetadata(plan, g, true)), '--live', '--config']);
  }
}

/** Waits until each guest answers on its port or prints its ready line (waitSeconds 0: not at all). */
async function wait(v: Virsh, { o, waitMs, log }: LaunchPlan, guests: LaunchedGuest[], undo: Undo): Promise<void> {
  if (waitMs <= 0) return;
  for (const g of guests) {
    undo.step(`wait for ${g.name}`);
    const check: ReadyCheck = {};
    // A ready line alone is enough; the forwarded port is the default check only without one.
    const port = o.readyPort ?? (o.readyLine === undefined ? g.ansiblePort : undefined);
    if (port !== undefined) check.port = { host: g.ansibleHost, port, ...(o.readySend !== undefined ? { send: o.readySend } : {}) };
    if (o.readyLine !== undefined) {
      if (g.serialLog === undefined) throw new ProvisionError('a ready line is read from the serial log on the hypervisor: only for local URIs; use a ready port', 'EUSAGE', 'readyLine');
      check.line = { text: o.readyLine, logFile: g.serialLog };
    }
    if (!check.port && !check.line) throw new ProvisionError('nothing to wait for: give forwards, a ready port or a ready line, or wait 0 seconds', 'EUSAGE', 'waitSeconds');
    try {
      g.readyMs = await waitReady(v, g.name, check, waitMs);
    } catch (err) {
      const t = g.serialLog !== undefined ? tail(g.serialLog) : '';
      throw new ProvisionError(`${(err as Error).message}${t ? `\nserial console tail:\n${t}` : ''}`, err instanceof ProvisionError ? err.code : 'ENOTREADY');
    }
    log(`${g.name}: ready after ${g.readyMs} ms`);
  }
}

/** The registry entry of a launched guest: its variables, where Ansible reaches it, what destroy removes. */
function registryEntry({ o, vars }: LaunchPlan, g: LaunchedGuest): RegisteredHost {
  return {
    name: g.name, groups: g.groups, source: 'kvm', registeredAt: Date.now(),
    hostvars: {
      ...(g.vars ?? vars), ansible_host: g.ansibleHost, ...(g.ansiblePort !== undefined ? { ansible_port: g.ansiblePort } : {}),
      ...(g.ansibleUser !== undefined ? { ansible_user: g.ansibleUser } : {}),
      kvm_uri: o.uri, kvm_domain: g.name, kvm_uuid: g.uuid, kvm_pool: g.pool ?? o.pool, kvm_volume: g.volume,
      ...(g.seedVolume !== undefined ? { kvm_seed_volume: g.seedVolume } : {}),
    },
  };
}

async function register(registry: Registry, plan: LaunchPlan, guests: LaunchedGuest[], undo: Undo): Promise<void> {
  for (const g of guests) {
    undo.step(`register ${g.name}`);
    const previous = await registry.get(g.name);
    await registry.register(registryEntry(plan, g));
    // An adopted guest may have been registered before: put that entry back, not nothing.
    undo.add(`registry entry ${g.name}`, () => (previous ? registry.register(previous) : registry.deregister(g.name)));
    g.registered = true;
  }
}
