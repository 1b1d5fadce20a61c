import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { TestContext } from 'node:test';
import { cli } from './inspect.js';
import { guestKernel, guestRootfs } from './fixture.js';
import { rcSReport } from './guest.js';
import { inCI, needTools } from './tools.js';

export const URI = 'qemu:///system';
export const READY = 'EC2INV-READY';

export interface Libvirt {
  uri: string;
  stop(): void;
}

function alive(pidFile: string): number | undefined {
  try {
    const pid = Number(fs.readFileSync(pidFile, 'utf8').trim());
    process.kill(pid, 0);
    return pid;
  } catch {
    return undefined;
  }
}

function answers(): boolean {
  try {
    execFileSync('virsh', ['-c', URI, 'version'], { stdio: 'ignore', timeout: 5000 });
    return true;
  } catch {
    return false;
  }
}

/**
 * Starts virtlogd and libvirtd (no systemd here) unless they already run, and stops by PID only
 * those it started. /dev/kvm is opened to the kvm group for the run (libvirt probes it on every
 * start; see shared/notes/kvm.md) and restored afterwards.
 */
export function startLibvirt(t: TestContext): Libvirt | undefined {
  if (!needTools(t, ['virsh', 'libvirtd', 'virtlogd', 'qemu-system-x86_64', 'qemu-img'])) return undefined;
  if (process.getuid?.() !== 0) {
    const why = 'the libvirt tests start the system daemon and need root';
    if (inCI) throw new Error(why);
    t.skip(why);
    return undefined;
  }
  // /dev/kvm first: libvirtd probes qemu when it starts and again whenever KVM access changes,
  // 30-40 s each time here while qemu's user cannot open /dev/kvm.
  let kvm: { mode: number; gid: number } | undefined;
  try {
    const st = fs.statSync('/dev/kvm');
    const gid = Number(execFileSync('getent', ['group', 'kvm'], { encoding: 'utf8' }).split(':')[2]);
    kvm = { mode: st.mode & 0o7777, gid: st.gid };
    fs.chownSync('/dev/kvm', st.uid, gid);
    fs.chmodSync('/dev/kvm', 0o660);
  } catch {
    kvm = undefined;
  }
  const started: number[] = [];
  const stop = () => {
    if (kvm) {
      const st = fs.statSync('/dev/kvm');
      fs.chownSync('/dev/kvm', st.uid, kvm.gid);
      fs.chmodSync('/dev/kvm', kvm.mode);
    }
    for (const pid of started.reverse()) {
      try {
        process.kill(pid, 'SIGTERM');
      } catch {
        // already gone
      }
    }
  };
  try {
    for (const [daemon, pidFile] of [['virtlogd', '/run/virtlogd.pid'], ['libvirtd', '/run/libvirtd.pid']] as const) {
      if (alive(pidFile) !== undefined) continue;
      execFileSync(daemon, ['-d'], { stdio: 'ignore' });
      const deadline = Date.now() + 10_000;
      let pid: number | undefined;
      while ((pid = alive(pidFile)) === undefined && Date.now() < deadline) execFileSync('sleep', ['0.1']);
      if (pid === undefined) throw new Error(`${daemon} -d did not write ${pidFile}`);
      started.push(pid);
    }
    const deadline = Date.now() + 120_000;
    while (!answers()) {
      if (Date.now() > deadline) throw new Error('libvirtd does not answer on qemu:///system within 120 s');
      execFileSync('sleep', ['0.2']);
    }
  } catch (err) {
    stop();
    throw err;
  }
  t.diagnostic(started.length ? `started virtlogd/libvirtd (pids ${started.join(', ')})` : 'reusing the running libvirtd');
  return { uri: URI, stop };
}

// The guest stays up: after the placeholder hook and ifup it reports its address, serves it over
// HTTP on port 80 (what the launch's port check and the test read) and prints the ready line.
const rcS = `${rcSReport}mkdir -p /www
echo "host=$(hostname) addr=$addr" > /www/index.html
httpd -p 80 -h /www
echo ${READY}
`;

export interface GuestImage {
  image: string;
  kernel: string;
  initrd: string;
  cmdline: string;
}

/** A busybox image that stays up (built through the CLI like the image tests, about 2 s). */
export function buildServingImage(t: TestContext, dir: string): GuestImage | undefined {
  const rootfs = path.join(dir, 'rootfs');
  if (!guestRootfs(t, rootfs)) return undefined;
  const k = guestKernel(t);
  if (!k) return undefined;
  fs.writeFileSync(path.join(rootfs, 'etc/init.d/rcS'), rcS, { mode: 0o755 });
  const out = path.join(dir, 'out');
  fs.mkdirSync(out);
  const tpl = cli(['template', 'build', '--rootfs', rootfs, '--name', 'busybox-1-x86_64-serve', '--out', out]);
  if (tpl.status !== 0) throw new Error(tpl.stderr);
  const archive = (JSON.parse(tpl.stdout) as { archive: string }).archive;
  const img = cli(['image', 'build', '--from', archive, '--kernel', k.kernel.vmlinuz, '--initrd', k.initrd, '--size', '64M', '--out', path.join(out, 'serve.qcow2')]);
  if (img.status !== 0) throw new Error(img.stderr);
  const r = JSON.parse(img.stdout) as GuestImage;
  return { image: r.image, kernel: r.kernel, initrd: r.initrd, cmdline: r.cmdline };
}

/** Domains, volumes of a pool, as virsh lists them, for the no-leftovers checks. */
export function domains(uri = URI): string[] {
  return execFileSync('virsh', ['-q', '-c', uri, 'list', '--all', '--name'], { encoding: 'utf8' }).split('\n').map((s) => s.trim()).filter(Boolean).sort();
}

export function volumes(pool: string, uri = URI): string[] {
  return execFileSync('virsh', ['-q', '-c', uri, 'vol-list', '--pool', pool], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
    .split('\n').map((l) => l.trim().split(/\s+/)[0]!).filter(Boolean).sort();
}

/** Removes a pool and its volumes (test cleanup; ignores what is already gone). */
export function removePool(pool: string, uri = URI): void {
  const v = (args: string[]) => { try { execFileSync('virsh', ['-q', '-c', uri, ...args], { stdio: 'ignore' }); } catch { /* gone */ } };
  try {
    for (const vol of volumes(pool, uri)) v(['vol-delete', '--pool', pool, vol]);
  } catch { /* no pool */ }
  v(['pool-destroy', pool]);
  v(['pool-undefine', pool]);
}
