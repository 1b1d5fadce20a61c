import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ProvisionError } from '../../errors.js';
import { run, type RunResult } from '../../run.js';

/** Progress lines for a human (stderr in the CLI); the JSON summary is the caller's business. */
export type Log = (message: string) => void;

// Every call is `virsh -c URI ...args` with an argument array: names and values from the command
// line reach libvirt as single arguments, never through a shell.
export class Virsh {
  constructor(readonly uri: string, readonly timeoutMs = 120_000, readonly signal?: AbortSignal) {
    if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(uri)) throw new ProvisionError(`not a libvirt URI: '${uri}' (e.g. qemu:///system or qemu+ssh://user@host/system)`, 'EUSAGE');
  }

  call(args: readonly string[], timeoutMs = this.timeoutMs, input?: string): Promise<RunResult> {
    return run('virsh', ['-q', '-c', this.uri, ...args], { timeoutMs, label: `virsh ${args[0]}`, ...(input !== undefined ? { input } : {}), ...(this.signal ? { signal: this.signal } : {}) });
  }

  /**
   * Runs `virsh ...args FILE` with FILE holding `xml`. virsh reads it on the client side (so this
   * works over qemu+ssh too); it cannot read /dev/stdin when that is node's socket pair (ENXIO),
   * hence a private file, removed at once. Also how volumes and pools are created: vol-create-as
   * and pool-define-as paste their arguments into XML unescaped, so a name with & or < breaks them.
   */
  async withXml(args: readonly string[], xml: string): Promise<RunResult> {
    const dir = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'ec2inv-xml-'));
    try {
      const file = path.join(dir, 'object.xml');
      await fs.promises.writeFile(file, xml, { mode: 0o600 });
      return await this.call([...args, file]);
    } finally {
      await fs.promises.rm(dir, { recursive: true, force: true });
    }
  }

  async text(args: readonly string[]): Promise<string> {
    return (await this.call(args)).stdout;
  }

  /** True when the call fails with libvirt's "no such object" error; other failures are thrown. */
  private async absent(args: readonly string[]): Promise<boolean> {
    try {
      await this.call(args);
      return false;
    } catch (err) {
      if (err instanceof ProvisionError && /not found|no storage (pool|vol)|no domain with matching|failed to get (domain|vol)/i.test(err.message)) return true;
      throw err;
    }
  }

  async domainExists(name: string): Promise<boolean> {
    return !(await this.absent(['domuuid', '--', name]));
  }

  async poolExists(pool: string): Promise<boolean> {
    return !(await this.absent(['pool-info', '--', pool]));
  }

  async volumeExists(pool: string, volume: string): Promise<boolean> {
    return !(await this.absent(['vol-info', '--pool', pool, '--', volume]));
  }

  async volumePath(pool: string, volume: string): Promise<string> {
    return (await this.text(['vol-path', '--pool', pool, '--', volume])).trim();
  }

  /** `vol-info --bytes` as numbers: capacity (virtual size) and allocation. */
  async volumeInfo(pool: string, volume: string): Promise<{ capacity: number; allocation: number }> {
    const out = await this.text(['vol-info', '--bytes', '--pool', pool, '--', volume]);
    const num = (label: string) => Number(new RegExp(`^${label}:\\s*(\\d+)`, 'm').exec(out)?.[1] ?? NaN);
    return { capacity: num('Capacity'), allocation: num('Allocation') };
  }

  /**
   * Streams a volume's bytes through libvirt into `sink`, so the check reads what the hypervisor
   * stored, also over qemu+ssh. virsh writes to a fifo: it cannot open /dev/stdout when that is
   * node's socket pair (ENXIO), and a temporary copy would double the disk use.
   */
  async download(pool: string, volume: string, sink: (chunk: Buffer) => void): Promise<void> {
    const dir = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'ec2inv-vol-'));
    const fifo = path.join(dir, 'data');
    try {
      await run('mkfifo', ['-m', '600', fifo]);
      await new Promise<void>((resolve, reject) => {
        const child = spawn('virsh', ['-q', '-c', this.uri, 'vol-download', '--pool', pool, '--', volume, fifo], { stdio: ['ignore', 'ignore', 'pipe'] });
        let stderr = '';
        let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
        let drained = false;
        child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
        const timer = setTimeout(() => child.kill('SIGKILL'), this.timeoutMs * 5);
        const settle = () => {
          if (!exit || (!drained && exit.code === 0)) return;
          clearTimeout(timer);
          if (exit.code === 0) resolve();
          else {
            reader.destroy();
            reject(new ProvisionError(`virsh vol-download failed (${exit.code ?? exit.signal}): ${stderr.trim() || '(no message)'}`, 'ETOOLFAILED'));
          }
        };
        // Opening a fifo for reading blocks until virsh opens it for writing; a virsh that dies
        // first would leave the reader waiting, so its exit opens (and closes) the write side.
        const reader = fs.createReadStream(fifo);
        reader.on('data', (c) => sink(c as Buffer));
        reader.on('end', () => { drained = true; settle(); });
        reader.on('error', (e) => { clearTimeout(timer); reject(e); });
        child.on('error', (e) => { clearTimeout(timer); reject(e); });
        child.on('close', (code, signal) => {
          exit = { code, signal };
          if (!drained) fs.open(fifo, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK, (err, fd) => { if (!err) fs.close(fd, () => {}); });
          settle();
        });
      });
    } finally {
      await fs.promises.rm(dir, { recursive: true, force: true });
    }
  }
}

/** The host part of a libvirt URI (what a guest's forwarded port is reached on); 127.0.0.1 for local URIs. */
export function uriHost(uri: string): string {
  const m = /^[^:]+:\/\/(?:[^@/]*@)?(\[[^\]]+\]|[^:/?]*)/.exec(uri);
  const host = m?.[1] ?? '';
  return host === '' || host === 'localhost' ? '127.0.0.1' : host.replace(/^\[|\]$/g, '');
}
