// Launch guests from a pushed image: a qcow2 overlay per guest (the pushed volume stays pristine),
// a domain from generated XML, started, waited for, registered. One Undo covers the whole launch,
// so a failure on the third guest also removes the first two.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { ProvisionError } from '../../errors.js';
import { parseSize } from '../image/size.js';
import { kernelCmdlineParams } from '../template/placeholders.js';
import { Virsh, uriHost, type Log } from '../../sources/libvirt/virsh.js';
import { Undo } from '../undo.js';
import { METADATA_NS, domainXml, hasHardwareVirt, parseMetadata, readDomain, readVolume, volumeXml, type Forward, type GuestMetadata, type NetworkSpec } from '../../sources/libvirt/xml.js';
import { initrdVolume, kernelVolume } from './push.js';
import { waitReady, type ReadyCheck } from './ready.js';
import { openRegistry, validateHost, type RegistrySettings } from '../../store/registry.js';
import { type RegisteredHost } from '../../records/inventory.js';

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
  log?: Log;
}

export interface LaunchedGuest {
  name: string;
  uuid: string;
  domainType: 'kvm' | 'qemu';
  volume: string;
  volumePath: string;
  ip?: string;
  ansibleHost: string;
  ansiblePort?: number;
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
const RESERVED_VARS = new Set(['ansible_host', 'ansible_port', 'kvm_uri', 'kvm_domain', 'kvm_uuid', 'kvm_pool', 'kvm_volume']);

/** `key=value` strings from the command line into a map; keys must be Ansible variable names. */
export function parseVars(items: readonly string[]): Record<string, string> {
  const vars: Record<string, string> = {};
  for (const item of items) {
    const at = item.indexOf('=');
    const key = at === -1 ? item : item.slice(0, at);
    if (at === -1 || !varName.test(key)) throw new ProvisionError(`--var '${item}': expected key=value with key a variable name (letters, digits, _)`, 'EUSAGE');
    if (RESERVED_VARS.has(key)) throw new ProvisionError(`--var '${key}' is set by the launch itself`, 'EUSAGE');
    vars[key] = item.slice(at + 1);
  }
  return vars;
}

export function parseNetwork(text: string): NetworkSpec {
  if (text === 'user') return { kind: 'user' };
  const m = /^(bridge|network):(.+)$/.exec(text);
  if (!m) throw new ProvisionError(`--network '${text}': expected user, bridge:BRIDGE or network:NAME`, 'EUSAGE');
  return { kind: m[1] as 'bridge' | 'network', name: m[2]! };
}

/** `defaultAddress`: where the hypervisor listens when the text names no address. */
export function parseForward(text: string, defaultAddress = '127.0.0.1'): Forward {
  const m = /^(?:(\d{1,3}(?:\.\d{1,3}){3}|\*):)?(\d{1,5}):(\d{1,5})$/.exec(text);
  const port = (s: string) => {
    const n = Number(s);
    if (n < 1 || n > 65535) throw new ProvisionError(`--forward '${text}': port ${s} out of range`, 'EUSAGE');
    return n;
  };
  if (!m) throw new ProvisionError(`--forward '${text}': expected [ADDR:]HOSTPORT:GUESTPORT`, 'EUSAGE');
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
  if (!m) throw new ProvisionError(`--ip '${cidr}': expected ADDR/PREFIX, e.g. 10.0.2.21/24`, 'EUSAGE');
  const prefix = Number(m[2]);
  const base = ipToInt(m[1]!);
  const size = 2 ** (32 - prefix);
  const network = Math.floor(base / size) * size;
  const n = base + i;
  if (n >= network + size - 1) throw new ProvisionError(`--ip ${cidr}: guest ${i + 1} would leave the subnet`, 'EUSAGE');
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

export async function launchKvm(o: LaunchKvmOptions): Promise<LaunchKvmResult> {
  const log = o.log ?? (() => {});
  const v = new Virsh(o.uri);
  const count = o.count ?? 1;
  if (!Number.isInteger(count) || count < 1) throw new ProvisionError(`--count ${count}: expected a whole number of at least 1`, 'EUSAGE');
  const vcpus = o.vcpus ?? 1;
  if (!Number.isInteger(vcpus) || vcpus < 1) throw new ProvisionError(`--vcpus ${vcpus}: expected a whole number of at least 1`, 'EUSAGE');
  const memoryKiB = Math.ceil(parseSize(o.memory ?? '256M') / 1024);
  const network = parseNetwork(o.network ?? 'user');
  // A remote hypervisor's forwards listen on the address this client reaches it by (the URI's host).
  const forwards = (o.forwards ?? []).map((f) => parseForward(f, isLocal(o.uri) ? '127.0.0.1' : uriHost(o.uri)));
  if (forwards.length > 0 && network.kind !== 'user') throw new ProvisionError('--forward needs --network user', 'EUSAGE');
  if ((o.ip === undefined) !== (o.gateway === undefined)) throw new ProvisionError('--ip and --gateway go together', 'EUSAGE');
  const vars = o.vars ?? {};
  for (const k of Object.keys(vars)) if (!varName.test(k) || RESERVED_VARS.has(k)) throw new ProvisionError(`variable '${k}' is not allowed`, 'EUSAGE');
  const names = count === 1 ? [o.name] : Array.from({ length: count }, (_, i) => `${o.name}-${i + 1}`);
  const waitMs = (o.waitSeconds ?? 120) * 1000;
  const logDir = o.logDir ?? '/var/log/libvirt/qemu';

  // Everything a user typed is checked before anything is created.
  const plans = names.map((name, i) => {
    if (name === '' || /[/\s]/.test(name)) throw new ProvisionError(`guest name '${name}' may not be empty or hold '/' or spaces`, 'EUSAGE');
    const addr = o.ip === undefined ? undefined : nthAddress(o.ip, i);
    let cmdParams = '';
    if (addr) {
      try {
        cmdParams = kernelCmdlineParams({ ip: addr.ip, netmask: addr.prefix, gateway: o.gateway!, hostname: name });
      } catch (err) {
        throw new ProvisionError(`guest '${name}': ${(err as Error).message} (the guest name becomes its hostname when --ip is given)`, 'EUSAGE');
      }
    }
    const fw = forwards.map((f) => ({ ...f, hostPort: f.hostPort + i }));
    for (const f of fw) if (f.hostPort > 65535) throw new ProvisionError(`--forward: guest ${name} would need host port ${f.hostPort}`, 'EUSAGE');
    const ansibleHost = fw.length > 0 ? (fw[0]!.address && fw[0]!.address !== '0.0.0.0' ? fw[0]!.address : uriHost(o.uri)) : addr?.ip ?? name;
    const ansiblePort = fw.length > 0 ? fw[0]!.hostPort : undefined;
    const hostVars: Record<string, string> = { ...vars };
    const host: RegisteredHost = { name, groups: o.groups, source: 'kvm', registeredAt: 0, hostvars: hostVars };
    try {
      validateHost(host);
    } catch (err) {
      throw new ProvisionError((err as Error).message, 'EUSAGE');
    }
    return { name, addr, cmdParams, fw, ansibleHost, ansiblePort, uuid: crypto.randomUUID(), overlay: `${name}.qcow2` };
  });

  const undo = new Undo('launch', log);
  const guests: LaunchedGuest[] = [];
  const registry = o.registry ? await openRegistry(o.registry) : undefined;
  try {
    return await undo.guard(async () => {
      undo.step('check pool and volume');
      if (!(await v.poolExists(o.pool))) throw new ProvisionError(`storage pool '${o.pool}' does not exist on ${o.uri}`, 'ENOPOOL');
      if (!(await v.volumeExists(o.pool, o.volume))) throw new ProvisionError(`volume '${o.volume}' not found in pool '${o.pool}' (push it first)`, 'ENOVOLUME');
      const base = await v.volumePath(o.pool, o.volume);
      const baseFormat = readVolume(await v.text(['vol-dumpxml', '--pool', o.pool, '--', o.volume])).format ?? 'raw';
      const capacity = (await v.volumeInfo(o.pool, o.volume)).capacity;
      const kernel = (await v.volumeExists(o.pool, kernelVolume(o.volume))) ? await v.volumePath(o.pool, kernelVolume(o.volume)) : undefined;
      const initrd = kernel && (await v.volumeExists(o.pool, initrdVolume(o.volume))) ? await v.volumePath(o.pool, initrdVolume(o.volume)) : undefined;
      if (!kernel && o.ip !== undefined) throw new ProvisionError(`no kernel volume '${kernelVolume(o.volume)}' beside '${o.volume}': --ip needs direct kernel boot to pass the address`, 'ENOKERNEL');
      const type = await detectDomainType(v, o.accel);
      log(`domain type ${type} on ${o.uri}`);

      undo.step('check names');
      const adopted = new Set<string>();
      for (const p of plans) {
        if (await v.domainExists(p.name)) {
          if (!o.adopt) throw new ProvisionError(`a domain named '${p.name}' already exists on ${o.uri} (--adopt registers it instead)`, 'EEXIST');
          adopted.add(p.name);
          continue;
        }
        if (await v.volumeExists(o.pool, p.overlay)) throw new ProvisionError(`a volume named '${p.overlay}' already exists in pool '${o.pool}'`, 'EEXIST');
        if (registry && (await registry.get(p.name))) throw new ProvisionError(`'${p.name}' is already registered (provision deregister ${p.name} if it is stale)`, 'EEXIST');
      }

      for (const p of plans) {
        if (adopted.has(p.name)) {
          // Adopting creates nothing: the domain keeps its disk and definition. Only a start made
          // here is undone on failure.
          undo.step(`adopt ${p.name}`);
          const uuid = (await v.text(['domuuid', '--', p.name])).trim();
          const md = await v.call(['metadata', '--domain', p.name, '--uri', METADATA_NS]).then((r) => parseMetadata(r.stdout), () => undefined);
          const facts = readDomain(await v.text(['dumpxml', '--inactive', '--', p.name]));
          const disk = facts.diskFiles[0];
          const serialLog = facts.serialLog;
          if ((await v.text(['domstate', '--', p.name])).trim() !== 'running') {
            log(`${p.name}: adopting and starting the existing domain`);
            await v.call(['start', '--', p.name]);
            undo.add(`started guest ${p.name}`, () => v.call(['destroy', '--', p.name]));
          } else log(`${p.name}: adopting the running domain`);
          const ansibleHost = o.forwards?.length || o.ip ? p.ansibleHost : md?.ansibleHost ?? p.ansibleHost;
          const ansiblePort = o.forwards?.length ? p.ansiblePort : md?.ansiblePort ?? p.ansiblePort;
          guests.push({
            name: p.name, uuid, domainType: facts.type === 'kvm' ? 'kvm' : 'qemu', volume: md?.volume ?? (disk ? path.basename(disk) : ''),
            volumePath: disk ?? '', ...(p.addr ? { ip: p.addr.ip } : {}), ansibleHost, ...(ansiblePort !== undefined ? { ansiblePort } : {}),
            groups: o.groups, ...(serialLog !== undefined && isLocal(o.uri) ? { serialLog } : {}), registered: false, adopted: true,
            pool: md?.pool ?? o.pool, vars: { ...(md?.vars ?? {}), ...vars },
          });
          continue;
        }
        undo.step(`overlay volume for ${p.name}`);
        log(`${p.name}: overlay ${o.pool}/${p.overlay} on ${o.volume}`);
        await v.withXml(['vol-create', '--pool', o.pool, '--file'], volumeXml({ name: p.overlay, capacityBytes: capacity, format: 'qcow2', backing: { path: base, format: baseFormat } }));
        undo.add(`volume ${o.pool}/${p.overlay}`, () => v.call(['vol-delete', '--pool', o.pool, '--', p.overlay]));
        const disk = await v.volumePath(o.pool, p.overlay);

        undo.step(`define ${p.name}`);
        const serialLog = isLocal(o.uri) ? `${logDir}/ec2inv-${p.uuid}.serial.log` : undefined;
        const metadata: GuestMetadata = { groups: o.groups, pool: o.pool, volume: p.overlay, vars, ansibleHost: p.ansibleHost, ...(p.ansiblePort !== undefined ? { ansiblePort: p.ansiblePort } : {}) };
        const xml = domainXml({
          name: p.name, uuid: p.uuid, type, memoryKiB, vcpus, disk,
          ...(kernel ? { kernel, cmdline: `${o.cmdline ?? 'root=/dev/vda1 rw console=ttyS0'} panic=-1 ${p.cmdParams}`.trim() } : {}),
          ...(initrd ? { initrd } : {}),
          ...(serialLog !== undefined ? { serialLog } : {}), network, forwards: p.fw, metadata,
          ...(p.addr ? { guestIp: p.addr.ip, userNet: { cidr: p.addr.network, gateway: o.gateway! } } : {}),
        });
        await v.withXml(['define', '--file'], xml);
        undo.add(`domain ${p.name}`, () => v.call(['undefine', '--', p.name]));
        if (serialLog !== undefined) undo.add(`serial log ${serialLog}`, async () => fs.rmSync(serialLog, { force: true }));

        undo.step(`start ${p.name}`);
        await v.call(['start', '--', p.name]);
        undo.add(`running guest ${p.name}`, () => v.call(['destroy', '--', p.name]));
        guests.push({
          name: p.name, uuid: p.uuid, domainType: type, volume: p.overlay, volumePath: disk, ...(p.addr ? { ip: p.addr.ip } : {}),
          ansibleHost: p.ansibleHost, ...(p.ansiblePort !== undefined ? { ansiblePort: p.ansiblePort } : {}), groups: o.groups, ...(serialLog !== undefined ? { serialLog } : {}), registered: false,
        });
      }

      if (waitMs > 0) {
        for (const g of guests) {
          undo.step(`wait for ${g.name}`);
          const check: ReadyCheck = {};
          // A ready line alone is enough; the forwarded port is the default check only without one.
          const port = o.readyPort ?? (o.readyLine === undefined ? g.ansiblePort : undefined);
          if (port !== undefined) check.port = { host: g.ansibleHost, port, ...(o.readySend !== undefined ? { send: o.readySend } : {}) };
          if (o.readyLine !== undefined) {
            if (g.serialLog === undefined) throw new ProvisionError('--ready-line reads the serial log on the hypervisor: only for local URIs; use a port', 'EUSAGE');
            check.line = { text: o.readyLine, logFile: g.serialLog };
          }
          if (!check.port && !check.line) throw new ProvisionError('nothing to wait for: give --forward, --ready-port or --ready-line, or --wait 0', 'EUSAGE');
          try {
            g.readyMs = await waitReady(v, g.name, check, waitMs);
          } catch (err) {
            const t = g.serialLog !== undefined ? tail(g.serialLog) : '';
            throw new ProvisionError(`${(err as Error).message}${t ? `\nserial console tail:\n${t}` : ''}`, err instanceof ProvisionError ? err.code : 'ENOTREADY');
          }
          log(`${g.name}: ready after ${g.readyMs} ms`);
        }
      }

      if (registry) {
        for (const g of guests) {
          undo.step(`register ${g.name}`);
          const previous = await registry.get(g.name);
          await registry.register({
            name: g.name, groups: o.groups, source: 'kvm', registeredAt: Date.now(),
            hostvars: {
              ...(g.vars ?? vars), ansible_host: g.ansibleHost, ...(g.ansiblePort !== undefined ? { ansible_port: g.ansiblePort } : {}),
              kvm_uri: o.uri, kvm_domain: g.name, kvm_uuid: g.uuid, kvm_pool: g.pool ?? o.pool, kvm_volume: g.volume,
            },
          });
          // An adopted guest may have been registered before: put that entry back, not nothing.
          undo.add(`registry entry ${g.name}`, () => (previous ? registry.register(previous) : registry.deregister(g.name)));
          g.registered = true;
        }
      }
      return { uri: o.uri, pool: o.pool, baseVolume: o.volume, guests };
    });
  } finally {
    await registry?.close();
  }
}
