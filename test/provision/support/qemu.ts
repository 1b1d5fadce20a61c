import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestContext } from 'node:test';

export type Accel = 'kvm' | 'tcg';

/**
 * KVM only when /dev/kvm opens and the CPU advertises vmx/svm: on these build machines /dev/kvm
 * exists but belongs to a nested hypervisor that cannot run a guest (see shared/notes/kvm.md).
 */
export function detectAccel(): Accel {
  try {
    fs.closeSync(fs.openSync('/dev/kvm', 'r+'));
    return /^flags\s*:.*\b(vmx|svm)\b/m.test(fs.readFileSync('/proc/cpuinfo', 'utf8')) ? 'kvm' : 'tcg';
  } catch {
    return 'tcg';
  }
}

/**
 * Whether KVM really runs a guest here, measured rather than inferred from CPU flags: a kernel booted
 * with -accel kvm and no root file system must get as far as its panic over not finding one (1-2 s
 * where KVM works). On these build machines qemu stops with an error or, measured 2026-12-02, sits
 * silent with an empty serial log until killed (shared/notes/kvm.md).
 */
export function kvmRunsAGuest(kernel: string): { works: boolean; evidence: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ec2inv-kvmprobe-'));
  try {
    const log = path.join(dir, 'serial.log');
    const r = spawnSync('qemu-system-x86_64', [
      '-accel', 'kvm', '-cpu', 'host', '-m', '256', '-smp', '1', '-nodefaults', '-no-reboot', '-display', 'none',
      '-serial', `file:${log}`, '-kernel', kernel, '-append', 'console=ttyS0 panic=-1',
    ], { encoding: 'utf8', timeout: 20_000, killSignal: 'SIGKILL' });
    const serial = fs.existsSync(log) ? fs.readFileSync(log, 'utf8') : '';
    const works = /Kernel panic - not syncing: VFS: Unable to mount root fs/.test(serial);
    if (works) return { works, evidence: 'a kernel ran under KVM to its root-mount panic' };
    const ended = r.error ? 'still running after 20 s, killed' : `exited ${r.status ?? r.signal}`;
    const said = r.stderr?.trim().split('\n')[0];
    return { works, evidence: `qemu -accel kvm ${ended}${said ? `: ${said}` : ''}; ${serial.length} bytes on the serial line, no root-mount panic` };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export interface BootOptions {
  image: string;
  format: 'qcow2' | 'raw';
  /** Direct kernel boot; without a kernel the BIOS boots from the disk (its boot loader). */
  kernel?: string;
  initrd?: string;
  append?: string;
  /** How the guest sees the disk: virtio (vda, KVM) by default, or nvme (nvme0n1, as on EC2 Nitro). */
  disk?: 'virtio' | 'nvme';
  serialLog: string;
  /** Resolves the boot when the serial log matches. */
  until: RegExp;
  timeoutMs: number;
  accel?: Accel;
}

export interface BootResult {
  match: RegExpExecArray;
  log: string;
  accel: Accel;
  ms: number;
}

/** A boot that did not reach `until`: how it ended, and what the guest and qemu said. */
export class BootFailure extends Error {
  constructor(message: string, readonly ended: 'timeout' | 'exit' | 'spawn', readonly accel: Accel, readonly log: string, readonly stderr: string) {
    super(message);
  }
}

/**
 * Why a failed boot is the machine's fault and worth one more try, or undefined when the guest
 * itself failed (then a retry would only hide it). Two are known (shared/notes/kvm.md): the silent
 * hang of about 2% of boots (the timeout passes and the kernel never printed a line), and a /dev/kvm
 * that cannot run a guest (qemu stops at once with a KVM error; the retry uses TCG).
 */
export function infrastructureFailure(f: BootFailure): string | undefined {
  if (f.ended === 'timeout' && !/Linux version \d/.test(f.log)) return 'silent hang: no kernel output before the timeout';
  if (f.ended === 'exit' && f.accel === 'kvm' && /\bKVM\b|failed to set MSR/.test(f.stderr)) return 'KVM cannot run the guest: retrying with TCG';
  return undefined;
}

function bootOnce(o: BootOptions, accel: Accel): Promise<BootResult> {
  fs.writeFileSync(o.serialLog, '');
  const started = Date.now();
  const args = [
    '-accel', accel, ...(accel === 'kvm' ? ['-cpu', 'host'] : []),
    '-m', '256', '-smp', '1', '-nodefaults', '-no-reboot', '-display', 'none',
    '-serial', `file:${o.serialLog}`,
    ...(o.kernel ? ['-kernel', o.kernel, ...(o.initrd ? ['-initrd', o.initrd] : []), '-append', o.append ?? ''] : []),
    ...(o.disk === 'nvme'
      ? ['-drive', `file=${o.image},format=${o.format},if=none,id=d0,snapshot=on`, '-device', 'nvme,drive=d0,serial=ec2inv']
      : ['-drive', `file=${o.image},format=${o.format},if=virtio,snapshot=on`]),
    '-netdev', 'user,id=n0', '-device', 'virtio-net-pci,netdev=n0',
  ];
  const child = spawn('qemu-system-x86_64', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  return new Promise((resolve, reject) => {
    let exited = false;
    const finish = (fn: () => void) => {
      clearInterval(poll);
      clearTimeout(timer);
      if (!exited) child.kill('SIGKILL');
      fn();
    };
    const check = () => {
      const log = fs.readFileSync(o.serialLog, 'utf8');
      const m = o.until.exec(log);
      if (m) finish(() => resolve({ match: m, log, accel, ms: Date.now() - started }));
      return log;
    };
    // qemu writes the serial console to a file; polling it avoids the pipe that sometimes kept qemu alive.
    const poll = setInterval(check, 200);
    const timer = setTimeout(() => {
      const log = check();
      finish(() => reject(new BootFailure(`no ${o.until} within ${o.timeoutMs} ms (${accel}); serial log tail:\n${log.slice(-3000)}`, 'timeout', accel, log, stderr)));
    }, o.timeoutMs);
    child.on('error', (e) => finish(() => reject(new BootFailure(`qemu did not start: ${e.message}`, 'spawn', accel, '', ''))));
    child.on('exit', (code) => {
      exited = true;
      setTimeout(() => {
        const log = check();
        finish(() => reject(new BootFailure(`qemu exited (${code}) before ${o.until}: ${stderr.trim()}\nserial log tail:\n${log.slice(-3000)}`, 'exit', accel, log, stderr)));
      }, 100);
    });
  });
}

/**
 * Boots, and boots once more only after a known failure of the machine (infrastructureFailure): a
 * guest that fails by itself fails the test at once, however often it would pass on a retry. Every
 * retry is reported as a diagnostic of the test, so a rising count shows.
 */
export async function bootAndWait(t: TestContext, o: BootOptions): Promise<BootResult & { attempts: number }> {
  const accel = o.accel ?? detectAccel();
  try {
    return { ...(await bootOnce(o, accel)), attempts: 1 };
  } catch (first) {
    const why = first instanceof BootFailure ? infrastructureFailure(first) : undefined;
    if (!why) throw first;
    t.diagnostic(`boot retries: 1 (${why}; attempt 1: ${(first as Error).message.split('\n')[0]})`);
    return { ...(await bootOnce(o, accel === 'kvm' ? 'tcg' : accel)), attempts: 2 };
  }
}
