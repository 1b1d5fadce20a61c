import { execFile, spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { join } from 'node:path';
import { ProvisionError } from './errors.js';

// Which Debian package provides each tool we call, so a missing tool is reported with the fix.
export const toolPackages: Readonly<Record<string, string>> = {
  'mkfs.ext4': 'e2fsprogs',
  e2fsck: 'e2fsprogs',
  sfdisk: 'fdisk',
  'qemu-img': 'qemu-utils',
  fakeroot: 'fakeroot',
  tar: 'tar',
  'qemu-system-x86_64': 'qemu-system-x86',
  busybox: 'busybox-static',
  'apt-get': 'apt',
  'dpkg-deb': 'dpkg',
  virsh: 'libvirt-clients',
  mkfifo: 'coreutils',
  ssh: 'openssh-client',
  'grub-mkimage': 'grub-common',
  mmdebstrap: 'mmdebstrap',
  genisoimage: 'genisoimage',
  xorriso: 'xorriso',
  zstd: 'zstd',
  xz: 'xz-utils',
  bzip2: 'bzip2',
  mksquashfs: 'squashfs-tools',
};

export interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  input?: string | Buffer;
  /** Milliseconds; the tool is killed and the call fails after this. */
  timeoutMs?: number;
  /** Name used in failure messages, e.g. `tar` when the command is `fakeroot -- tar ...`. */
  label?: string;
  /** Kills the tool when aborted (a deadline of the caller's). */
  signal?: AbortSignal;
}

export interface RunResult {
  stdout: string;
  stderr: string;
}

function missingTool(tool: string): ProvisionError {
  const pkg = toolPackages[tool];
  return new ProvisionError(
    pkg ? `${tool} not found: apt-get install ${pkg}` : `${tool} not found in PATH`,
    'ETOOLMISSING',
  );
}

// A tool that ran out of room says so in its own words (tar: "Wrote only 3072 of 10240 bytes").
const noSpace = /No space left on device|Wrote only \d+ of \d+ bytes|Disk quota exceeded/i;

// The tool's own last words are the most useful part of a failure, so they go into the message,
// on one line: the message is what a user reads on stderr.
function toolFailed(tool: string, args: readonly string[], code: number | string | null, stderr: string): ProvisionError {
  const lines = stderr.trim().split('\n').map((l) => l.trim()).filter((l) => l !== '');
  const detail = lines.slice(-5).join('; ');
  if (noSpace.test(stderr)) {
    return new ProvisionError(`${tool} failed: no space left on the device (ENOSPC): ${detail}`, 'ENOSPC');
  }
  return new ProvisionError(`${tool} failed (${code === null ? 'killed' : `exit ${code}`}): ${detail || '(no message)'}`, 'ETOOLFAILED');
}

/** Runs a tool with an argument array (never through a shell) and returns its output. */
export function run(tool: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      tool,
      args,
      { cwd: opts.cwd, env: opts.env, maxBuffer: 64 * 1024 * 1024, timeout: opts.timeoutMs ?? 0, encoding: 'utf8', ...(opts.signal ? { signal: opts.signal, killSignal: 'SIGKILL' as const } : {}) },
      (err, stdout, stderr) => {
        if (!err) return resolve({ stdout, stderr });
        const e = err as NodeJS.ErrnoException & { code?: number | string; killed?: boolean };
        if (e.code === 'ENOENT' && e.path === tool) return reject(missingTool(tool));
        if (e.killed) return reject(new ProvisionError(`${opts.label ?? tool} timed out after ${Math.round((opts.timeoutMs ?? 0) / 1000)} s`, 'ETOOLTIMEOUT'));
        reject(toolFailed(opts.label ?? tool, args, e.code ?? null, stderr));
      },
    );
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}

/**
 * How long moving `bytes` to another machine may take: a minute to get going plus the time at
 * `bytesPerSecond` (1 MiB/s: a slow link, not a stalled one). A fixed limit is wrong both ways: too
 * short for a large image on a slow link, and hours too long for a small one whose peer went silent.
 */
export function transferLimitMs(bytes: number, bytesPerSecond = 1024 * 1024): number {
  return 60_000 + Math.ceil((bytes / bytesPerSecond) * 1000);
}

/**
 * Runs a tool that reads a stream on stdin (for example `tar -x -f -`), feeding it from `source`.
 * Resolves when the tool exits 0; killed, and failed, after `timeoutMs` when given.
 */
export function runWithStdin(
  tool: string,
  args: readonly string[],
  source: AsyncIterable<Buffer>,
  opts: Omit<RunOptions, 'input'> = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(tool, args, { cwd: opts.cwd, env: opts.env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let settled = false;
    const fail = (e: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(e);
    };
    const timer = opts.timeoutMs
      ? setTimeout(() => fail(new ProvisionError(`${opts.label ?? tool} timed out after ${Math.round((opts.timeoutMs as number) / 1000)} s`, 'ETOOLTIMEOUT')), opts.timeoutMs)
      : undefined;
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', (e: NodeJS.ErrnoException) => fail(e.code === 'ENOENT' ? missingTool(tool) : e));
    child.on('close', (code, signal) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (code === 0) resolve({ stdout, stderr });
      else reject(toolFailed(opts.label ?? tool, args, code ?? signal, stderr));
    });
    // EPIPE here means the tool died early; its exit status and stderr explain why, so wait for close.
    child.stdin.on('error', () => {});
    (async () => {
      for await (const chunk of source) {
        if (settled) return;
        if (!child.stdin.write(chunk)) {
          // Both listeners go once either fires: a 'close' listener left per wait piles up (and
          // Node warns on stderr) when a large stream waits on the pipe many times.
          await new Promise<void>((r) => {
            const done = () => {
              child.stdin.off('drain', done);
              child.off('close', done);
              r();
            };
            child.stdin.once('drain', done);
            child.once('close', done);
          });
        }
      }
      child.stdin.end();
    })().catch(fail);
  });
}

function onPath(tool: string, envPath: string): boolean {
  return envPath.split(':').some((dir) => {
    try {
      accessSync(join(dir || '.', tool), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/**
 * Fails before any work starts when a tool is missing. Tools started through fakeroot would
 * otherwise fail inside it with fakeroot's message instead of the package to install.
 */
export function requireTools(tools: readonly string[], envPath = process.env.PATH ?? ''): void {
  const missing = tools.filter((t) => !onPath(t, envPath));
  if (missing.length === 1) throw missingTool(missing[0]!);
  if (missing.length > 1) {
    const pkgs = [...new Set(missing.map((t) => toolPackages[t] ?? t))];
    throw new ProvisionError(`${missing.join(', ')} not found: apt-get install ${pkgs.join(' ')}`, 'ETOOLMISSING');
  }
}
