// One busybox root, every packaging template build makes of it, each checked by the tool that
// consumes it (or the parser that tool uses), each built twice and compared byte for byte.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { test, type TestContext } from 'node:test';
import YAML from 'yaml';
import { freePort } from '../support/moto.js';
import { assertOneLine, entries } from '../support/mounts.js';
import { guestRootfs, scratch } from './support/fixture.js';
import { cli, listArchive } from './support/inspect.js';
import { startSshd } from './support/sshd.js';
import { isRoot, needTools } from './support/tools.js';

const OS_RELEASE = 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\nVERSION_CODENAME=bookworm\nID=debian\n';

function put(root: string, rel: string, content: string, mode = 0o644): void {
  fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
  fs.writeFileSync(path.join(root, rel), content, { mode });
}

/** The test guest root as a Debian 12.7 root would describe itself, with a lease and a hosts line Incus must not evaluate. */
function debianish(t: TestContext, dir: string): string | undefined {
  const root = path.join(dir, 'rootfs');
  if (!guestRootfs(t, root)) return undefined;
  // Debian's own layout: /etc/os-release is a link into /usr/lib.
  put(root, 'usr/lib/os-release', OS_RELEASE);
  fs.symlinkSync('../usr/lib/os-release', path.join(root, 'etc/os-release'));
  put(root, 'etc/debian_version', '12.7\n');
  put(root, 'var/lib/dhcp/dhclient.eth0.leases', 'lease { fixed-address 192.0.2.99; }\n');
  fs.appendFileSync(path.join(root, 'etc/hosts'), '# {{ not.a.template }} {% neither %}\n');
  return root;
}

interface Built {
  summary: Record<string, unknown> & { archive: string; sha256: string; files: { path: string; sha256: string }[] };
  out: string;
}

/** Builds `format` into two fresh folders and checks the outputs are the same bytes; returns the first. */
function buildTwice(dir: string, root: string, format: string, extra: string[] = []): Built {
  const outs = ['a', 'b'].map((n) => path.join(dir, `${format}${extra.join('')}-${n}`.replace(/[^A-Za-z0-9._-]/g, '_')));
  const results = outs.map((out) => {
    fs.mkdirSync(out);
    const r = cli(['template', 'build', '--from', root, '--format', format, '--out', out, ...extra]);
    assert.equal(r.status, 0, r.stderr);
    return { summary: JSON.parse(r.stdout) as Built['summary'], out };
  });
  const digest = (out: string) => new Map(entries(out).filter((n) => !n.endsWith('.manifest.json') && fs.statSync(path.join(out, n)).isFile())
    .map((n) => [n, crypto.createHash('sha256').update(fs.readFileSync(path.join(out, n))).digest('hex')]));
  const [a, b] = outs.map(digest);
  assert.ok(a!.size > 0);
  assert.deepEqual(a, b, `${format}: two builds of the same root differ`);
  return results[0]!;
}

const tarList = (file: string, ...flags: string[]) => execFileSync('tar', ['-tv', '--numeric-owner', ...flags, '-f', file], { encoding: 'utf8', maxBuffer: 1 << 26 });
const tarCat = (file: string, member: string, ...flags: string[]) => execFileSync('tar', ['-xO', ...flags, '-f', file, member], { encoding: 'utf8' });
const sha256 = (b: Buffer) => crypto.createHash('sha256').update(b).digest('hex');

test('template build --format: Proxmox, Incus, OCI and nspawn from one root, checked by their own tools, the same bytes twice', async (t) => {
  if (!needTools(t, ['tar', 'apt-get', 'dpkg', 'zstd', 'mksquashfs', 'unsquashfs', 'skopeo', 'umoci', 'podman', 'systemd-nspawn', 'qemu-img', 'sshd', 'ssh'])) return;
  const dir = scratch('targets');
  const root = debianish(t, dir);
  if (!root) return;

  await t.test('proxmox: named as pct create expects, zstd, os-release ID, prepared, OpenVZ-only steps left out', () => {
    const { summary } = buildTwice(dir, root, 'proxmox');
    const file = summary.archive;
    const name = path.basename(file);
    assert.equal(name, 'debian-12-standard_12.7-1_amd64.tar.zst');
    // PVE::Storage's vztmpl volume names, and the OS / version / arch fields pveam lists them by.
    assert.match(name, /^[^/]+\.tar\.(gz|xz|zst|bz2)$/);
    assert.match(name, /^([a-z0-9]+)-([0-9.]+)-([a-z0-9]+)_([0-9.]+-\d+)_(amd64|i386|arm64|armhf|riscv64)\.tar\.zst$/);
    assert.ok(fs.readFileSync(file).subarray(0, 4).equals(Buffer.from([0x28, 0xb5, 0x2f, 0xfd])), 'zstd frame magic');
    const list = tarList(file, '--zstd');
    // pve-container's Setup reads etc/os-release (through the link) for ID, Debian's plugin etc/debian_version.
    assert.match(tarCat(file, './usr/lib/os-release', '--zstd'), /^ID=debian$/m);
    assert.match(list, / \.\/etc\/os-release -> \.\.\/usr\/lib\/os-release$/m);
    assert.equal(tarCat(file, './etc/debian_version', '--zstd'), '12.7\n');
    assert.doesNotMatch(list, /ssh_host_|dhclient\.eth0\.leases|\.ash_history/);
    assert.match(list, /^-r--r--r-- 0\/0 +0 .* \.\/etc\/machine-id$/m);
    // Proxmox writes network, hostname and fstab itself: no placeholders, no hook.
    assert.equal(tarCat(file, './etc/hostname', '--zstd'), 'buildhost\n');
    assert.doesNotMatch(list, /ec2inv|vzreboot/);
    const steps = (summary['steps'] as { name: string }[]).map((s) => s.name);
    assert.ok(steps.includes('ssh-host-keys') && !steps.includes('network') && !steps.includes('placeholder-hook'));
  });

  await t.test('proxmox: push proxmox puts it where pct create looks, checked there', async () => {
    const built = path.join(dir, 'proxmox-a', 'debian-12-standard_12.7-1_amd64.tar.zst');
    const sshd = await startSshd(path.join(dir, 'sshd'), await freePort());
    try {
      const cache = path.join(dir, 'pve', 'template', 'cache');
      fs.mkdirSync(cache, { recursive: true });
      const push = (file: string) => cli(['push', 'proxmox', '--target', `ssh://root@127.0.0.1:${sshd.port}`, '--template', file, '--dir', cache,
        '--identity', sshd.key, '--known-hosts', path.join(dir, 'sshd', 'known_hosts')]);
      const r = push(built);
      assert.equal(r.status, 0, r.stderr);
      assert.equal((JSON.parse(r.stdout) as { path: string }).path, path.join(cache, path.basename(built)));
      assert.ok(fs.readFileSync(path.join(cache, path.basename(built))).equals(fs.readFileSync(built)));
      const img = path.join(dir, 'disk.img');
      fs.writeFileSync(img, 'x');
      const bad = push(img);
      assert.equal(bad.status, 1);
      assertOneLine(bad.stderr, /disk\.img: a proxmox template is NAME\.tar\.zst/);
      assert.deepEqual(fs.readdirSync(cache), [path.basename(built)]);
    } finally {
      sshd.stop();
    }
  });

  await t.test('incus: one tarball, metadata.yaml first, templates that name the instance, rootfs/', () => {
    const { summary } = buildTwice(dir, root, 'incus', ['--name', 'bb']);
    const file = summary.archive;
    assert.equal(path.basename(file), 'bb.incus.tar.gz');
    const names = tarList(file, '-z').split('\n').filter(Boolean).map((l) => l.split(/\s+/).slice(5).join(' '));
    assert.deepEqual(names.slice(0, 5), ['metadata.yaml', 'templates', 'templates/hostname.tpl', 'templates/hosts.tpl', 'rootfs']);
    assert.ok(names.every((n) => /^(metadata\.yaml|templates(\/.*)?|rootfs(\/.*)?)$/.test(n)), 'nothing outside metadata.yaml, templates/, rootfs/');
    assert.ok(names.includes('rootfs/bin/busybox') && names.includes('rootfs/usr/lib/os-release'));
    const meta = YAML.parse(tarCat(file, 'metadata.yaml', '-z')) as Record<string, unknown> & { properties: Record<string, string>; templates: Record<string, { template: string; when: string[] }> };
    assert.equal(meta['architecture'], 'x86_64');
    assert.equal(typeof meta['creation_date'], 'number');
    assert.deepEqual([meta.properties['os'], meta.properties['release'], meta.properties['architecture']], ['debian', 'bookworm', 'x86_64']);
    assert.deepEqual(Object.keys(meta.templates).sort(), ['/etc/hostname', '/etc/hosts']);
    assert.deepEqual(meta.templates['/etc/hosts']!.when, ['create', 'copy']);
    assert.equal(tarCat(file, 'templates/hostname.tpl', '-z'), '{{ instance.name }}\n');
    const hosts = tarCat(file, 'templates/hosts.tpl', '-z');
    assert.match(hosts, /^127\.0\.1\.1\t\{\{ instance\.name \}\}\.example\.org \{\{ instance\.name \}\}$/m);
    assert.doesNotMatch(hosts, /buildhost/);
    // The root's own braces print as text: pongo2 would otherwise evaluate them.
    assert.match(hosts, /^# \{\{ "\{\{" \}\} not\.a\.template \}\} \{\{ "\{%" \}\} neither %\}$/m);
  });

  await t.test('incus-split: a metadata tarball beside a squashfs, a tarball or a VM disk', () => {
    const { summary, out } = buildTwice(dir, root, 'incus-split', ['--name', 'bb']);
    assert.deepEqual(summary.files.map((f) => path.basename(f.path)), ['bb.metadata.tar.gz', 'bb.squashfs']);
    assert.match(execFileSync('sha256sum', ['-c', 'bb.sha256'], { cwd: out, encoding: 'utf8' }), /bb\.metadata\.tar\.gz: OK\nbb\.squashfs: OK/);
    assert.deepEqual(tarList(path.join(out, 'bb.metadata.tar.gz'), '-z').split('\n').filter(Boolean).map((l) => l.split(/\s+/).slice(5).join(' ')),
      ['metadata.yaml', 'templates', 'templates/hostname.tpl', 'templates/hosts.tpl']);
    const sq = execFileSync('unsquashfs', ['-lln', path.join(out, 'bb.squashfs')], { encoding: 'utf8', maxBuffer: 1 << 26 });
    assert.match(sq, /^drwxr-xr-x 0\/0 .* squashfs-root$/m);
    assert.match(sq, /^-rwsr-xr-x 0\/0 .* squashfs-root\/usr\/bin\/setuid-tool$/m);
    assert.match(sq, /^lrwxrwxrwx 0\/0 .* squashfs-root\/sbin\/init -> \.\.\/bin\/busybox$/m);
    assert.doesNotMatch(sq, /ssh_host_|dhclient/);
    const x = path.join(dir, 'unsquashed');
    execFileSync('unsquashfs', ['-q', '-d', x, path.join(out, 'bb.squashfs'), 'usr/lib/os-release']);
    assert.equal(fs.readFileSync(path.join(x, 'usr/lib/os-release'), 'utf8'), OS_RELEASE);

    const tarRoot = buildTwice(dir, root, 'incus-split', ['--name', 'bb', '--split-root', 'tar']);
    assert.match(tarList(path.join(tarRoot.out, 'bb.rootfs.tar.gz'), '-z'), / \.\/usr\/lib\/os-release$/m);

    const disk = path.join(dir, 'vm.qcow2');
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', disk, '16M']);
    const vm = buildTwice(dir, root, 'incus-split', ['--name', 'bb', '--vm-disk', disk]);
    assert.ok(fs.readFileSync(path.join(vm.out, 'bb.qcow2')).equals(fs.readFileSync(disk)));
    const notQcow = path.join(dir, 'vm.raw');
    fs.writeFileSync(notQcow, Buffer.alloc(4096));
    const vmOut = path.join(dir, 'vm-bad');
    fs.mkdirSync(vmOut);
    const r = cli(['template', 'build', '--from', root, '--format', 'incus-split', '--name', 'bb', '--vm-disk', notQcow, '--out', vmOut]);
    assert.notEqual(r.status, 0);
    assertOneLine(r.stderr, /vm\.raw is not a qcow2 image/);
    assert.deepEqual(entries(vmOut), []);
  });

  const podmanStore = path.join(dir, 'containers');
  // A store of the test's own, so nothing lands in (or depends on) the machine's images.
  const store = { root: path.join(podmanStore, 'root'), run: path.join(podmanStore, 'run') };
  const podman = (...args: string[]) => spawnSync('podman', ['--root', store.root, '--runroot', store.run, '--storage-driver', 'vfs', ...args], { encoding: 'utf8', timeout: 120_000 });

  await t.test('oci: a layout skopeo and umoci read, diff_ids of the uncompressed layer, podman loads and runs it', (tt) => {
    const { summary, out } = buildTwice(dir, root, 'oci', ['--name', 'bb']);
    const layout = path.join(out, 'bb.oci');
    assert.equal(summary.archive, layout);
    assert.deepEqual(JSON.parse(fs.readFileSync(path.join(layout, 'oci-layout'), 'utf8')), { imageLayoutVersion: '1.0.0' });
    const index = JSON.parse(fs.readFileSync(path.join(layout, 'index.json'), 'utf8')) as { manifests: { digest: string; platform: Record<string, string>; annotations: Record<string, string> }[] };
    assert.equal(index.manifests.length, 1);
    assert.deepEqual(index.manifests[0]!.platform, { architecture: 'amd64', os: 'linux' });
    const blob = (d: string) => fs.readFileSync(path.join(layout, 'blobs', 'sha256', d.replace(/^sha256:/, '')));
    for (const n of fs.readdirSync(path.join(layout, 'blobs', 'sha256'))) assert.equal(sha256(blob(n)), n, `blob ${n} is stored under its digest`);
    const manifest = JSON.parse(blob(index.manifests[0]!.digest).toString()) as { config: { digest: string }; layers: { digest: string; mediaType: string }[] };
    const config = JSON.parse(blob(manifest.config.digest).toString()) as { architecture: string; os: string; rootfs: { type: string; diff_ids: string[] } };
    assert.deepEqual([config.architecture, config.os, config.rootfs.type], ['amd64', 'linux', 'layers']);
    assert.equal(manifest.layers[0]!.mediaType, 'application/vnd.oci.image.layer.v1.tar+gzip');
    const layer = blob(manifest.layers[0]!.digest);
    assert.deepEqual(config.rootfs.diff_ids, [`sha256:${sha256(zlib.gunzipSync(layer))}`], 'diff_id is the digest of the uncompressed layer');

    const inspect = JSON.parse(execFileSync('skopeo', ['inspect', `oci:${layout}:bb:latest`], { encoding: 'utf8' })) as { Architecture: string; Os: string; Layers: string[] };
    assert.deepEqual([inspect.Architecture, inspect.Os, inspect.Layers], ['amd64', 'linux', [manifest.layers[0]!.digest]]);
    const unpacked = path.join(dir, 'umoci');
    execFileSync('umoci', ['unpack', '--rootless', '--image', `${layout}:bb:latest`, unpacked], { stdio: 'pipe' });
    assert.equal(fs.readFileSync(path.join(unpacked, 'rootfs', 'usr/lib/os-release'), 'utf8'), OS_RELEASE);
    assert.equal(fs.existsSync(path.join(unpacked, 'rootfs', 'etc/ssh/ssh_host_ed25519_key')), false);
    if (isRoot) {
      // The image's own busybox reads its own os-release.
      assert.match(execFileSync('chroot', [path.join(unpacked, 'rootfs'), '/bin/cat', '/etc/os-release'], { encoding: 'utf8' }), /^ID=debian$/m);
    }

    const image = 'localhost/bb-oci:test';
    const copied = spawnSync('skopeo', ['copy', '-q', `oci:${layout}:bb:latest`, `containers-storage:[vfs@${store.root}+${store.run}]${image}`], { encoding: 'utf8', timeout: 120_000 });
    assert.equal(copied.status, 0, copied.stderr);
    const run = podman('run', '--rm', '--network', 'none', image, '/bin/cat', '/etc/os-release');
    if (run.status === 0) {
      assert.match(run.stdout, /^ID=debian$/m);
    } else {
      // Containers cannot start on every machine (here crun may not set rlimits); the stored image is still checked.
      tt.diagnostic(`podman run cannot start a container here: ${run.stderr.trim().split('\n').pop()}`);
      const mounted = podman('image', 'mount', image);
      assert.equal(mounted.status, 0, mounted.stderr);
      assert.match(fs.readFileSync(path.join(mounted.stdout.trim(), 'etc/os-release'), 'utf8'), /^ID=debian$/m);
      podman('image', 'unmount', image);
    }
  });

  await t.test('oci-tar: the layout as one tar that podman load and skopeo oci-archive: take; zstd layers too', () => {
    const { summary, out } = buildTwice(dir, root, 'oci-tar', ['--name', 'bb']);
    assert.equal(path.basename(summary.archive), 'bb.oci.tar');
    const names = tarList(summary.archive).split('\n').filter(Boolean).map((l) => l.split(/\s+/).slice(5).join(' '));
    assert.deepEqual(names.slice(0, 4), ['oci-layout', 'index.json', 'blobs', 'blobs/sha256']);
    assert.match(execFileSync('sha256sum', ['-c', 'bb.oci.tar.sha256'], { cwd: out, encoding: 'utf8' }), /OK/);
    const inspect = JSON.parse(execFileSync('skopeo', ['inspect', '--config', `oci-archive:${summary.archive}`], { encoding: 'utf8' })) as { architecture: string; rootfs: { diff_ids: string[] } };
    assert.equal(inspect.architecture, 'amd64');
    assert.equal(inspect.rootfs.diff_ids[0], (summary['details'] as { diffId: string }).diffId);
    const loaded = podman('load', '-i', summary.archive);
    assert.equal(loaded.status, 0, loaded.stderr);
    assert.match(loaded.stdout, /Loaded image.*localhost\/bb:latest/);
    const mounted = podman('image', 'mount', 'localhost/bb:latest');
    assert.equal(mounted.status, 0, mounted.stderr);
    assert.match(fs.readFileSync(path.join(mounted.stdout.trim(), 'etc/os-release'), 'utf8'), /^VERSION_CODENAME=bookworm$/m);
    podman('image', 'unmount', 'localhost/bb:latest');

    const z = buildTwice(dir, root, 'oci', ['--name', 'bbz', '--compress', 'zstd']);
    const zi = JSON.parse(execFileSync('skopeo', ['inspect', '--raw', `oci:${z.summary.archive}:bbz:latest`], { encoding: 'utf8' })) as { layers: { mediaType: string }[] };
    assert.equal(zi.layers[0]!.mediaType, 'application/vnd.oci.image.layer.v1.tar+zstd');
  });

  await t.test('nspawn: a tar machinectl import-tar takes; systemd-nspawn runs a command in the imported tree', (tt) => {
    const { summary } = buildTwice(dir, root, 'nspawn', ['--name', 'bbm']);
    assert.equal(path.basename(summary.archive), 'bbm.tar.gz');
    // import-tar unpacks into /var/lib/machines/NAME (NAME from the file name): the same, into a folder of ours.
    const machine = `ec2inv-i21-${process.pid}`;
    const tree = path.join(dir, 'machines', machine);
    fs.mkdirSync(tree, { recursive: true });
    execFileSync('tar', ['-xzf', summary.archive, '-C', tree, '--numeric-owner']);
    const listing = listArchive(summary.archive);
    assert.ok(listing.has('./usr') && listing.has('./usr/lib/os-release'), 'nspawn refuses a tree without /usr and os-release');
    assert.ok(!listing.has('./etc/ec2inv/fill-placeholders'));
    const r = spawnSync('systemd-nspawn', ['-q', '--register=no', '--keep-unit', '-M', machine, '-D', tree, '/bin/cat', '/etc/os-release'], { encoding: 'utf8', timeout: 60_000 });
    fs.rmSync(`/run/systemd/nspawn/propagate/${machine}`, { recursive: true, force: true });
    if (r.status === 0 || /ID=debian/.test(r.stdout)) {
      assert.match(r.stdout, /^ID=debian$/m);
    } else {
      tt.diagnostic(`systemd-nspawn cannot run here: ${r.stderr.trim().split('\n').pop()}`);
      assert.match(fs.readFileSync(path.join(tree, 'usr/lib/os-release'), 'utf8'), /^ID=debian$/m);
    }
  });

  await t.test('bad input: unknown format, no os-release, an architecture the format cannot name: one line, exit 1, nothing written', () => {
    const out = path.join(dir, 'bad');
    fs.mkdirSync(out);
    const fails = (args: string[], pattern: RegExp, from = root, status = 1) => {
      const r = cli(['template', 'build', '--from', from, '--out', out, ...args]);
      assert.equal(r.status, status, `${args.join(' ')}: ${r.stderr}`);
      assertOneLine(r.stderr, pattern);
      assert.equal(r.stdout, '');
      assert.deepEqual(entries(out), [], 'nothing written, not even a temporary file');
    };
    fails(['--format', 'docker', '--name', 'x'], /--format: must be one of openvz, proxmox, incus, incus-split, oci, oci-tar, nspawn, not 'docker'/);

    const bare = path.join(dir, 'bare');
    guestRootfs({ skip() {} } as unknown as TestContext, bare);
    fails(['--format', 'proxmox'], /bare has no \/etc\/os-release .*proxmox/, bare);
    fails(['--format', 'incus', '--name', 'x'], /bare has no \/etc\/os-release .*incus/, bare);
    fails(['--format', 'incus-split', '--name', 'x'], /bare has no \/etc\/os-release/, bare);
    const tarball = path.join(dir, 'bare.tar');
    execFileSync('tar', ['-cf', tarball, '-C', bare, '.']);
    fails(['--format', 'proxmox'], /has no \/etc\/os-release/, tarball);

    // A SPARC root: its init's ELF header says machine 43, 64-bit, big-endian.
    const sparc = path.join(dir, 'sparc');
    guestRootfs({ skip() {} } as unknown as TestContext, sparc);
    put(sparc, 'etc/os-release', OS_RELEASE);
    const elf = Buffer.alloc(64);
    Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 2, 1]).copy(elf);
    elf.writeUInt16BE(43, 18);
    fs.rmSync(path.join(sparc, 'bin/busybox'));
    fs.writeFileSync(path.join(sparc, 'bin/busybox'), elf, { mode: 0o755 });
    for (const f of ['proxmox', 'incus', 'oci', 'oci-tar']) fails(['--format', f, '--name', 'x'], new RegExp(`the root is sparc64 \\(sparc64\\), an architecture ${f} images cannot name`), sparc);
    fails(['--format', 'incus', '--name', 'x', '--arch', 'sparc64'], /the root is sparc64 .*incus images cannot name/, root);
    fails(['--format', 'oci', '--compress', 'xz', '--name', 'x'], /oci cannot be compressed with xz \(use gzip, zstd\)/);
    const ok = cli(['template', 'build', '--from', sparc, '--out', out, '--format', 'oci', '--name', 'x', '--arch', 'arm64']);
    assert.equal(ok.status, 0, ok.stderr);
    assert.equal((JSON.parse(ok.stdout) as { architecture: string }).architecture, 'arm64', '--arch names what the header cannot');
  });
});
