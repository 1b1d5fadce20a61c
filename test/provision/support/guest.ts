import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { cacheDir, cloudKernelDeb, deb, unpacked } from './debs.js';

export const MARKER = 'EC2INV-MARKER';

/** busybox from Debian's busybox-static package (cached), independent of what the host has installed. */
export function busyboxBinary(): string {
  return path.join(unpacked(deb('busybox-static')), 'bin', 'busybox');
}

function applets(busybox: string): string[] {
  return execFileSync(busybox, ['--list-full'], { encoding: 'utf8' }).split('\n').filter((l) => l !== '' && l !== 'bin/busybox');
}

/** Installs busybox as /bin/busybox plus relative symlinks for every applet (sbin/init among them). */
function installBusybox(root: string): void {
  const bb = busyboxBinary();
  fs.mkdirSync(path.join(root, 'bin'), { recursive: true });
  fs.copyFileSync(bb, path.join(root, 'bin', 'busybox'));
  fs.chmodSync(path.join(root, 'bin', 'busybox'), 0o755);
  for (const a of applets(bb)) {
    const link = path.join(root, a);
    fs.mkdirSync(path.dirname(link), { recursive: true });
    if (!fs.existsSync(link)) fs.symlinkSync(path.relative(path.dirname(link), path.join(root, 'bin', 'busybox')), link);
  }
}

function write(root: string, rel: string, content: string, mode = 0o644): void {
  const p = path.join(root, rel);
  fs.mkdirSync(path.dirname(p), { recursive: true });
  fs.writeFileSync(p, content, { mode });
  fs.chmodSync(p, mode);
}

/**
 * The start of every test guest's rcS: mount the basics, bring the network up (after the
 * placeholder hook ran), and report the hostname, address and gateway the guest ended up with.
 */
export const rcSReport = `#!/bin/sh
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev 2>/dev/null
mkdir -p /dev/pts /run && mount -t tmpfs run /run && mkdir -p /run/network
ifup -a
addr=$(ip -4 addr show dev eth0 | sed -n 's/.*inet \\([0-9./]*\\).*/\\1/p')
gw=$(ip route | sed -n 's/^default via \\([0-9.]*\\).*/\\1/p')
echo "${MARKER} host=$(hostname) addr=$addr gw=$gw"
`;

// This guest reports and powers off.
const rcS = `${rcSReport}sync
poweroff -f
`;

/**
 * A small busybox guest in the layout of seed 002 (inittab + rcS), plus the things the template
 * steps must strip or keep: host keys, machine-id, logs, histories, a package cache, a static
 * network configuration, a setuid file, a hard link, a symlink, device nodes (when root) and a fifo.
 */
export function buildGuestRootfs(root: string): void {
  fs.mkdirSync(root, { recursive: true });
  installBusybox(root);
  for (const d of ['proc', 'sys', 'dev', 'run', 'tmp', 'root', 'etc/network/if-up.d', 'etc/network/if-pre-up.d', 'etc/network/if-down.d', 'etc/network/if-post-down.d', 'var/log', 'var/cache/apt/archives/partial', 'var/lib/apt/lists']) {
    fs.mkdirSync(path.join(root, d), { recursive: true });
  }
  fs.chmodSync(path.join(root, 'tmp'), 0o1777);
  fs.chmodSync(path.join(root, 'root'), 0o700);
  fs.symlinkSync('../run', path.join(root, 'var', 'run'));
  write(root, 'etc/inittab', '::sysinit:/etc/init.d/rcS\n::shutdown:/bin/umount -a -r\n');
  write(root, 'etc/init.d/rcS', rcS, 0o755);
  write(root, 'etc/network/interfaces', 'auto lo\niface lo inet loopback\n\nauto eth0\niface eth0 inet static\n    address 192.0.2.10\n    netmask 255.255.255.0\n    gateway 192.0.2.1\n');
  write(root, 'etc/hostname', 'buildhost\n');
  write(root, 'etc/hosts', '127.0.0.1\tlocalhost\n127.0.1.1\tbuildhost.example.org buildhost\n');
  write(root, 'etc/passwd', 'root:x:0:0:root:/root:/bin/sh\n');
  write(root, 'etc/group', 'root:x:0:\n');
  write(root, 'etc/ssh/ssh_host_ed25519_key', 'PRIVATE\n', 0o600);
  write(root, 'etc/ssh/ssh_host_ed25519_key.pub', 'PUBLIC\n');
  write(root, 'etc/ssh/sshd_config', 'PermitRootLogin no\n');
  write(root, 'etc/machine-id', '0123456789abcdef0123456789abcdef\n', 0o444);
  write(root, 'var/log/messages', 'boot log\n', 0o640);
  write(root, 'var/log/messages.1.gz', 'old\n', 0o640);
  write(root, 'root/.ash_history', 'secret command\n', 0o600);
  write(root, 'var/cache/apt/archives/hello_1.0_amd64.deb', 'deb\n');
  write(root, 'var/cache/apt/pkgcache.bin', 'cache\n');
  write(root, 'var/lib/apt/lists/deb.debian.org_dists_bookworm_InRelease', 'index\n');
  write(root, 'usr/bin/setuid-tool', '#!/bin/sh\nid\n', 0o755);
  fs.chmodSync(path.join(root, 'usr/bin/setuid-tool'), 0o4755);
  write(root, 'usr/share/doc/readme', 'same inode twice\n');
  fs.linkSync(path.join(root, 'usr/share/doc/readme'), path.join(root, 'usr/share/doc/readme.hardlink'));
  execFileSync('mkfifo', [path.join(root, 'run', 'initctl')]);
  if (process.getuid?.() === 0) {
    execFileSync('mknod', ['-m', '666', path.join(root, 'dev', 'null'), 'c', '1', '3']);
    execFileSync('mknod', ['-m', '600', path.join(root, 'dev', 'console'), 'c', '5', '1']);
  }
}

// Loaded in dependency order (read from each module's depends=), so the boot disk and network card appear.
const WANTED_MODULES = ['virtio_pci', 'virtio_blk', 'virtio_net'];

export interface Kernel {
  vmlinuz: string;
  modulesDir: string;
  version: string;
}

export function cloudKernel(): Kernel {
  const root = unpacked(cloudKernelDeb());
  const boot = path.join(root, 'boot');
  const vmlinuz = fs.readdirSync(boot).find((n) => n.startsWith('vmlinuz-'));
  if (!vmlinuz) throw new Error(`no vmlinuz in ${boot}`);
  const version = vmlinuz.slice('vmlinuz-'.length);
  return { vmlinuz: path.join(boot, vmlinuz), modulesDir: path.join(root, 'lib', 'modules', version), version };
}

function indexModules(dir: string): Map<string, string> {
  const index = new Map<string, string>();
  const visit = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) visit(p);
      else {
        const m = /^(.*)\.ko(\.xz|\.zst|\.gz)?$/.exec(e.name);
        if (m) index.set(m[1]!.replace(/-/g, '_'), p);
      }
    }
  };
  visit(dir);
  return index;
}

/** A module's bytes, decompressed when the kernel package ships .ko.xz/.ko.zst/.ko.gz. */
function moduleBytes(file: string): Buffer {
  if (file.endsWith('.xz')) return execFileSync('xz', ['-dc', file], { maxBuffer: 1 << 28 });
  if (file.endsWith('.zst')) return execFileSync('zstd', ['-dcq', file], { maxBuffer: 1 << 28 });
  if (file.endsWith('.gz')) return zlib.gunzipSync(fs.readFileSync(file));
  return fs.readFileSync(file);
}

/** The `depends=` field of the module's .modinfo section (modinfo may not be installed). */
export function moduleDepends(bytes: Buffer): string[] {
  const at = bytes.indexOf('\0depends=');
  if (at === -1) return [];
  const end = bytes.indexOf(0, at + 1);
  return bytes
    .subarray(at + '\0depends='.length, end)
    .toString('utf8')
    .split(',')
    .filter((s) => s !== '')
    .map((s) => s.replace(/-/g, '_'));
}

export function moduleLoadOrder(modulesDir: string, wanted: readonly string[]): { name: string; bytes: Buffer }[] {
  const index = indexModules(modulesDir);
  const order: { name: string; bytes: Buffer }[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (name: string) => {
    if (state.get(name) === 'done') return;
    if (state.get(name) === 'visiting') throw new Error(`module dependency cycle at ${name}`);
    state.set(name, 'visiting');
    const file = index.get(name);
    if (!file) throw new Error(`module ${name} not found under ${modulesDir}`);
    const bytes = moduleBytes(file);
    for (const dep of moduleDepends(bytes)) visit(dep);
    state.set(name, 'done');
    order.push({ name, bytes });
  };
  for (const w of wanted) visit(w);
  return order;
}

const initScript = (modules: string[]) => `#!/bin/sh
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
for m in ${modules.join(' ')}; do insmod /lib/modules/$m.ko || echo "initramfs: insmod $m failed"; done
root=/dev/vda1
for arg in $(cat /proc/cmdline); do case "$arg" in root=*) root=\${arg#root=} ;; esac; done
i=0
while [ ! -b "$root" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
mkdir -p /newroot
if ! mount -t ext4 -o rw "$root" /newroot; then echo "initramfs: cannot mount $root"; poweroff -f; fi
mount --move /dev /newroot/dev 2>/dev/null || umount /dev
umount /sys /proc
exec switch_root /newroot /sbin/init
`;

/** Builds a gzip'd newc initramfs with busybox and the virtio modules; cached per kernel version. */
export function buildInitramfs(kernel: Kernel): string {
  // Keyed by the init script too, so editing it here never boots a stale cached initramfs.
  const key = crypto.createHash('sha256').update(initScript(WANTED_MODULES)).digest('hex').slice(0, 12);
  const out = path.join(cacheDir, `initramfs-${kernel.version}-${key}.img`);
  if (fs.existsSync(out)) return out;
  const dir = fs.mkdtempSync(path.join(cacheDir, '.initramfs-'));
  try {
    installBusybox(dir);
    for (const d of ['proc', 'sys', 'dev', 'newroot', 'lib/modules']) fs.mkdirSync(path.join(dir, d), { recursive: true });
    const modules = moduleLoadOrder(kernel.modulesDir, WANTED_MODULES);
    for (const m of modules) fs.writeFileSync(path.join(dir, 'lib/modules', `${m.name}.ko`), m.bytes);
    write(dir, 'init', initScript(modules.map((m) => m.name)), 0o755);
    const list = execFileSync('find', ['.', '-mindepth', '1'], { cwd: dir, encoding: 'utf8' });
    const cpio = execFileSync(busyboxBinary(), ['cpio', '-o', '-H', 'newc'], { cwd: dir, input: list, maxBuffer: 1 << 28, stdio: ['pipe', 'pipe', 'ignore'] });
    const tmp = `${out}.tmp-${process.pid}`;
    fs.writeFileSync(tmp, zlib.gzipSync(cpio));
    fs.renameSync(tmp, out);
    return out;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
