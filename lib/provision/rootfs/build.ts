// The first stage of the pipeline: a Debian root filesystem built by mmdebstrap (Debian's own tool,
// which knows apt, keyrings, hooks and rootless builds far better than anything we could write),
// ready to be a cloud host: systemd, SSH, python3 for Ansible, sudo, a kernel and initramfs, and
// cloud-init restricted to the datasources this project uses.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ProvisionError, asProvisionError } from '../../errors.js';
import { Outputs } from '../outputs.js';
import { requireTools } from '../../run.js';
import { interruption, undoable } from '../interrupt.js';
import { scanTar } from './scan.js';

export type RootfsTarget = 'kvm' | 'ec2';
export const rootfsTargets: readonly RootfsTarget[] = ['kvm', 'ec2'];

/**
 * What makes a root a cloud host. `locales`: cloud-init's locale module runs update-locale, which
 * fails in a minbase root without it (shared notes). ifupdown + isc-dhcp-client + netbase: the
 * network renderer cloud-init picks on Debian, and DHCP when no address is given.
 */
export const DEFAULT_PACKAGES: readonly string[] = [
  'systemd-sysv',
  'openssh-server',
  'python3',
  'sudo',
  'cloud-init',
  'linux-image-cloud-amd64',
  'qemu-guest-agent',
  'ifupdown',
  'isc-dhcp-client',
  'netbase',
  'locales',
];

export interface RootfsBuildOptions {
  /** Debian suite or codename, e.g. `bookworm`. */
  suite: string;
  /** Default: the Debian mirror apt uses on this machine, else http://deb.debian.org/debian. */
  mirror?: string;
  /** Packages added to DEFAULT_PACKAGES. */
  include?: readonly string[];
  /** The tarball to write, e.g. `ROOT.tar` (`.tar.gz`, `.tar.zst`, ... compress it as mmdebstrap does). */
  out: string;
  /** `kvm` (default): cloud-init reads NoCloud only. `ec2`: the EC2 metadata service too. */
  for?: RootfsTarget;
  force?: boolean;
  /** Where apt's sources are read for the default mirror (tests). */
  aptDir?: string;
  /** Show mmdebstrap's progress on our stderr (the CLI sets it when stderr is a terminal). */
  progress?: boolean;
  /** mmdebstrap's own time limit; a network call that hangs must not hang the build forever. Default 30 min. */
  timeoutMs?: number;
  log?: (message: string) => void;
}

export interface RootfsBuildResult {
  out: string;
  suite: string;
  mirror: string;
  for: RootfsTarget;
  mode: 'root' | 'unshare';
  /** Installed packages (dpkg status "install ok installed"). */
  packages: number;
  bytes: number;
  sha256: string;
  /** Newest kernel in /boot, e.g. `6.1.0-37-cloud-amd64`; null when the root has none. */
  kernelVersion: string | null;
  initrd: boolean;
}

const suiteRe = /^[a-z][a-z0-9.-]*$/;
const packageRe = /^[a-z0-9][a-z0-9+.-]+(:[a-z0-9-]+)?$/;

/** The cloud-init datasource list: never probe a metadata address a test guest must not reach. */
export function datasourceConfig(target: RootfsTarget): string {
  const list = target === 'ec2' ? 'NoCloud, Ec2, None' : 'NoCloud, None';
  return `# Written by ec2-provision rootfs build: only these datasources are probed.\ndatasource_list: [ ${list} ]\n`;
}

interface AptSource {
  uri: string;
  suites: string[];
}

function oneLineSources(text: string): AptSource[] {
  const out: AptSource[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*/, '').trim();
    // deb [arch=amd64 signed-by=...] URI SUITE COMPONENTS
    const m = /^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)/.exec(line);
    if (m) out.push({ uri: m[1]!, suites: [m[2]!] });
  }
  return out;
}

function deb822Sources(text: string): AptSource[] {
  const out: AptSource[] = [];
  for (const stanza of text.split(/\n\s*\n/)) {
    const fields = new Map<string, string>();
    let last: string | undefined;
    for (const raw of stanza.split('\n')) {
      if (/^\s*#/.test(raw)) continue;
      if (/^\s/.test(raw) && last) {
        fields.set(last, `${fields.get(last)} ${raw.trim()}`);
        continue;
      }
      const m = /^([A-Za-z-]+):\s*(.*)$/.exec(raw);
      if (m) fields.set((last = m[1]!.toLowerCase()), m[2]!);
    }
    if (!/(^|\s)deb(\s|$)/.test(fields.get('types') ?? '')) continue;
    if (/^\s*no\s*$/i.test(fields.get('enabled') ?? '')) continue;
    const suites = (fields.get('suites') ?? '').split(/\s+/).filter(Boolean);
    for (const uri of (fields.get('uris') ?? '').split(/\s+/).filter(Boolean)) out.push({ uri, suites });
  }
  return out;
}

/**
 * The mirror apt uses here (sources.list, sources.list.d/*.list and deb822 *.sources), skipping
 * security and updates archives, which hold no full suite; undefined when apt names none.
 */
export function aptMirror(aptDir = '/etc/apt'): string | undefined {
  const read = (p: string) => {
    try {
      return fs.readFileSync(p, 'utf8');
    } catch {
      return '';
    }
  };
  const sources = [...oneLineSources(read(path.join(aptDir, 'sources.list')))];
  let names: string[] = [];
  try {
    names = fs.readdirSync(path.join(aptDir, 'sources.list.d')).sort();
  } catch {
    // no sources.list.d
  }
  for (const n of names) {
    const p = path.join(aptDir, 'sources.list.d', n);
    if (n.endsWith('.list')) sources.push(...oneLineSources(read(p)));
    else if (n.endsWith('.sources')) sources.push(...deb822Sources(read(p)));
  }
  const full = sources.find(
    (s) => /^(https?|file):/.test(s.uri) && !/security/.test(s.uri) && s.suites.some((x) => !/-(security|updates|backports)$/.test(x) && !x.includes('/')),
  );
  return full?.uri.replace(/\/+$/, '');
}

/** mmdebstrap's last error line (`E: ...`), else its last line: one line for the user. */
export function mmdebstrapError(stderr: string): string {
  const lines = stderr.split('\n').map((l) => l.trim()).filter(Boolean);
  const all = lines.filter((l) => l.startsWith('E: '));
  // mmdebstrap's own summary lines ("apt-get update ... failed", "mmdebstrap failed to run") say
  // less than apt's line before them, so they are the last resort.
  const specific = all.filter((l) => !/mmdebstrap failed to run|setup failed|^E: apt-get .* failed$/.test(l));
  const pick = specific.find((l) => /Release file|Unable to locate|no installation candidate|Failed to fetch|not found/i.test(l)) ?? specific[0] ?? all[0] ?? lines.at(-1);
  return (pick ?? 'no message').replace(/^E: /, '');
}

function runMmdebstrap(args: readonly string[], progress: boolean, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('mmdebstrap', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    const timer = setTimeout(() => {
      child.kill('SIGTERM');
      reject(new ProvisionError(`mmdebstrap did not finish within ${Math.round(timeoutMs / 1000)} s`, 'ETOOLTIMEOUT'));
    }, timeoutMs);
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      // Keep only the tail: a build prints thousands of lines.
      stderr = (stderr + d).slice(-64 * 1024);
      if (progress) process.stderr.write(d);
    });
    child.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(e.code === 'ENOENT' ? new ProvisionError('mmdebstrap not found: apt-get install mmdebstrap', 'ETOOLMISSING') : e);
    });
    // A signal to us stops mmdebstrap too (it cleans up its own chroot on TERM), then the build
    // fails through its usual path and removes the partial tarball: no orphan keeps writing.
    const onAbort = () => child.kill('SIGTERM');
    interruption.addEventListener('abort', onAbort, { once: true });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      interruption.removeEventListener('abort', onAbort);
      if (interruption.aborted) reject(interruption.reason as Error);
      else if (code === 0) resolve();
      else reject(new ProvisionError(`mmdebstrap failed (${code === null ? signal : `exit ${code}`}): ${mmdebstrapError(stderr)}`, 'EMMDEBSTRAP'));
    });
  });
}

/** Builds a Debian root filesystem tarball with mmdebstrap and reports what is in it. */
export async function buildRootfs(o: RootfsBuildOptions): Promise<RootfsBuildResult> {
  const log = o.log ?? (() => {});
  if (!suiteRe.test(o.suite)) throw new ProvisionError(`suite ${JSON.stringify(o.suite)}: expected a Debian suite or codename such as bookworm`, 'EUSAGE', 'suite');
  const target = o.for ?? 'kvm';
  if (!rootfsTargets.includes(target)) throw new ProvisionError(`target ${JSON.stringify(target)}: use ${rootfsTargets.join(' or ')}`, 'EUSAGE', 'for');
  const include = [...DEFAULT_PACKAGES];
  for (const p of o.include ?? []) {
    if (!packageRe.test(p)) throw new ProvisionError(`package ${JSON.stringify(p)}: not a Debian package name`, 'EUSAGE', 'include');
    if (!include.includes(p)) include.push(p);
  }
  const mirror = o.mirror ?? aptMirror(o.aptDir) ?? 'http://deb.debian.org/debian';
  if (!/^(https?|file|mirror\+https?):\/\/\S+$/.test(mirror)) throw new ProvisionError(`mirror ${JSON.stringify(mirror)}: expected an http(s):// or file:// URL`, 'EUSAGE', 'mirror');
  const out = path.resolve(o.out);
  if (!/\.tar(\.(gz|xz|zst|bz2))?$/.test(out)) throw new ProvisionError(`output ${o.out}: expected a file name ending in .tar, .tar.gz, .tar.xz or .tar.zst`, 'EUSAGE', 'out');
  requireTools(['mmdebstrap']);
  const mode = process.getuid?.() === 0 ? 'root' : 'unshare';
  const outputs = await Outputs.prepare([out], o.force ?? false);
  try {
    const scratchFiles: string[] = [];
    try {
      // mmdebstrap splits its special hooks at spaces, so the file goes where paths have none.
      const cfgDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ec2-provision-'));
      scratchFiles.push(cfgDir);
      const cfg = path.join(cfgDir, '90-datasource.cfg');
      if (/\s/.test(cfg)) throw new ProvisionError(`temporary folder ${cfgDir} has a space in its path: set TMPDIR to one without`, 'EUSAGE');
      fs.writeFileSync(cfg, datasourceConfig(target), { mode: 0o644 });
      // mmdebstrap picks the format from the name; a temporary name has none, so say it.
      const compression = /\.tar\.(gz|xz|zst|bz2)$/.exec(out)?.[1];
      const tmp = outputs.temp(out);
      const args = [
        `--mode=${mode}`,
        '--variant=minbase',
        '--format=tar',
        ...(compression ? [`--compress=${compression === 'gz' ? 'gzip' : compression === 'zst' ? 'zstd' : compression === 'xz' ? 'xz' : 'bzip2'}`] : []),
        `--include=${include.join(',')}`,
        // `upload` is mmdebstrap's own hook: a file copied in, no shell involved. The folder comes
        // with cloud-init; making it first keeps the hook working if a suite ships it elsewhere.
        '--customize-hook=mkdir -p "$1/etc/cloud/cloud.cfg.d"',
        `--customize-hook=upload ${cfg} /etc/cloud/cloud.cfg.d/90-datasource.cfg`,
        '--',
        o.suite,
        tmp,
        mirror,
      ];
      log(`mmdebstrap ${o.suite} from ${mirror} (${mode} mode, ${include.length} packages and their dependencies)`);
      await undoable(() => runMmdebstrap(args, o.progress ?? false, o.timeoutMs ?? 30 * 60_000));
      log('reading the result');
      const scan = await scanTar(tmp);
      await outputs.commit();
      return {
        out,
        suite: o.suite,
        mirror,
        for: target,
        mode,
        packages: scan.packages,
        bytes: scan.bytes,
        sha256: scan.sha256,
        kernelVersion: scan.kernelVersion,
        initrd: scan.initrd,
      };
    } finally {
      for (const d of scratchFiles) fs.rmSync(d, { recursive: true, force: true });
    }
  } catch (err) {
    await outputs.discard();
    throw asProvisionError(err);
  }
}

