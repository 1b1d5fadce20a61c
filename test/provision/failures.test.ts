// Every failure a user can cause reads as one line, leaves nothing half-written, and the template
// builder neither reads nor writes through a symlink that leads out of the tree.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { buildTemplate } from '../../lib/provision/index.js';
import { templateSteps } from '../../lib/provision/template/steps.js';
import { assertOneLine, entries, fill, isRoot, tmpfs } from '../support/mounts.js';
import { scratch as scratchRoot } from './support/fixture.js';
import { cli, listArchive } from './support/inspect.js';
import { needTools } from './support/tools.js';
import { startSilentTcp } from '../support/faults.js';

// One scratch folder for the file (each scratch() adds an exit listener to `process`).
let scratchBase: string | undefined;
function scratch(prefix: string): string {
  scratchBase ??= scratchRoot('failures');
  return fs.mkdtempSync(path.join(scratchBase, `${prefix}-`));
}

/** A small root filesystem: /sbin/init, /etc with a hostname, and `bulk` bytes of data in /opt. */
function smallRoot(dir: string, bulk = 0): string {
  const root = path.join(dir, 'rootfs');
  fs.mkdirSync(path.join(root, 'sbin'), { recursive: true });
  fs.mkdirSync(path.join(root, 'etc'));
  fs.mkdirSync(path.join(root, 'opt'));
  fs.writeFileSync(path.join(root, 'sbin', 'init'), '#!/bin/sh\n', { mode: 0o755 });
  fs.writeFileSync(path.join(root, 'etc', 'hostname'), 'build\n');
  // Random bytes: gzip cannot shrink them below the size of a small file system.
  if (bulk > 0) fs.writeFileSync(path.join(root, 'opt', 'bulk'), execFileSync('head', ['-c', String(bulk), '/dev/urandom']));
  return root;
}

describe('template build and the symlinks of a root filesystem', () => {
  test('a folder on the way that links out of the tree: refused before anything below it is read', async () => {
    const dir = scratch('symlink-etc');
    const root = smallRoot(dir);
    const host = path.join(dir, 'host-etc');
    fs.mkdirSync(host);
    fs.writeFileSync(path.join(host, 'shadow'), 'root:SECRET:19000::::::\n');
    fs.mkdirSync(path.join(host, 'ssh'));
    fs.writeFileSync(path.join(host, 'ssh', 'ssh_host_ed25519_key'), 'HOST KEY\n');
    fs.rmSync(path.join(root, 'etc'), { recursive: true });
    fs.symlinkSync(host, path.join(root, 'etc'));
    const hostBefore = entries(host);
    const out = path.join(dir, 'out');
    fs.mkdirSync(out);

    const r = cli(['template', 'build', '--rootfs', root, '--name', 'evil', '--out', out]);
    assert.equal(r.status, 1);
    assertOneLine(r.stderr, /rootfs\/etc is a symlink to .*host-etc, outside the root filesystem .*: refusing to read \/etc\/ssh/);
    assert.deepEqual(entries(out), [], 'nothing written, not even a temporary file');
    assert.deepEqual(entries(host), hostBefore, 'the host folder is untouched');
    assert.equal(fs.lstatSync(path.join(root, 'etc')).isSymbolicLink(), true);

    // Without the steps nothing reads below /etc: the archive holds the link itself, and not a
    // byte of what it points at.
    const skipped = await buildTemplate({ rootfs: root, name: 'link-only', outDir: out, skip: templateSteps.map((s) => s.name) });
    const e = listArchive(skipped.archive);
    assert.equal(e.get('./etc')?.link, host);
    assert.deepEqual([...e.keys()].filter((k) => k.startsWith('./etc/')), []);
  });

  test('/sbin linking out of the tree: refused by the root check, not followed', () => {
    const dir = scratch('symlink-sbin');
    const root = smallRoot(dir);
    const host = path.join(dir, 'host-sbin');
    fs.mkdirSync(host);
    fs.writeFileSync(path.join(host, 'init'), '');
    fs.rmSync(path.join(root, 'sbin'), { recursive: true });
    fs.symlinkSync(host, path.join(root, 'sbin'));
    const out = path.join(dir, 'out');
    fs.mkdirSync(out);
    const r = cli(['template', 'build', '--rootfs', root, '--name', 'evil', '--out', out]);
    assert.equal(r.status, 1);
    assertOneLine(r.stderr, /rootfs\/sbin is a symlink to .*host-sbin, outside the root filesystem/);
    assert.deepEqual(entries(out), []);
  });

  test('a step never writes through a symlinked folder inside the tree; links that stay inside are read', async () => {
    const dir = scratch('symlink-inside');
    const root = smallRoot(dir);
    fs.mkdirSync(path.join(root, 'usr', 'etc'), { recursive: true });
    fs.writeFileSync(path.join(root, 'usr', 'etc', 'hostname'), 'build\n');
    fs.rmSync(path.join(root, 'etc'), { recursive: true });
    fs.symlinkSync('usr/etc', path.join(root, 'etc'));
    // merged /usr: /sbin -> usr/sbin, inside the tree, is fine to read through
    fs.mkdirSync(path.join(root, 'usr', 'sbin'));
    fs.renameSync(path.join(root, 'sbin', 'init'), path.join(root, 'usr', 'sbin', 'init'));
    fs.rmdirSync(path.join(root, 'sbin'));
    fs.symlinkSync('usr/sbin', path.join(root, 'sbin'));
    const out = path.join(dir, 'out');
    fs.mkdirSync(out);
    await assert.rejects(buildTemplate({ rootfs: root, name: 'inside', outDir: out }),
      /would write \/etc\/\w+ through the symlink \/etc .*refusing/);
    assert.deepEqual(entries(out), []);
    assert.equal(fs.readlinkSync(path.join(root, 'etc')), 'usr/etc', 'the link is still a link');
    const ok = await buildTemplate({ rootfs: root, name: 'inside', outDir: out, skip: templateSteps.map((s) => s.name) });
    assert.equal(listArchive(ok.archive).get('./etc')?.link, 'usr/etc');
  });
});

describe('full, read-only and wrong outputs: one line each, nothing half-written', { skip: isRoot ? false : 'needs root to mount a tmpfs' }, () => {
  test('template build into a 64 KiB tmpfs', () => {
    const dir = scratch('tpl-full');
    const root = smallRoot(dir, 256 * 1024);
    const out = tmpfs('64k');
    const r = cli(['template', 'build', '--rootfs', root, '--name', 'big', '--out', out]);
    assert.equal(r.status, 1, r.stderr);
    assertOneLine(r.stderr, /no space left on the device \(ENOSPC\)/);
    assert.match(r.stderr, new RegExp(out.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
    assert.deepEqual(entries(out), [], 'the temporary archive is removed');
  });

  test('template build into a disk that is already full names the archive it could not write', () => {
    const dir = scratch('tpl-filled');
    const root = smallRoot(dir, 64 * 1024);
    const out = tmpfs('256k');
    fill(out);
    for (const compress of ['gzip', 'zstd']) {
      const r = cli(['template', 'build', '--rootfs', root, '--name', 'full', '--out', out, '--compress', compress]);
      assert.equal(r.status, 1, r.stderr);
      const archive = path.join(out, `full.tar.${compress === 'gzip' ? 'gz' : 'zst'}`).replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      assertOneLine(r.stderr, new RegExp(`^ec2-provision: error: cannot write ${archive}: no space left on the device \\(ENOSPC\\)$`));
      assert.deepEqual(entries(out), ['.filler'], 'nothing but the filler is left');
    }
  });

  test('template build into a read-only folder', () => {
    const dir = scratch('tpl-ro');
    const root = smallRoot(dir);
    const out = tmpfs('64k', { readOnly: true });
    const r = cli(['template', 'build', '--rootfs', root, '--name', 'ro', '--out', out]);
    assert.equal(r.status, 1);
    assertOneLine(r.stderr, /output folder .* is not writable: read-only file system/);
  });

  test('missing --out folders are made; a build that fails removes the ones it made; a read-only parent is named', () => {
    const dir = scratch('tpl-mkdir');
    const root = smallRoot(dir);
    const made = path.join(dir, 'new', 'templates');
    const ok = cli(['template', 'build', '--rootfs', root, '--name', 'made', '--out', made]);
    assert.equal(ok.status, 0, ok.stderr);
    assert.deepEqual(entries(made), ['made.manifest.json', 'made.tar.gz', 'made.tar.gz.sha256']);

    const small = tmpfs('64k');
    const full = cli(['template', 'build', '--rootfs', smallRoot(scratch('tpl-mkdir-big'), 256 * 1024), '--name', 'big', '--out', path.join(small, 'a', 'b')]);
    assert.equal(full.status, 1, full.stderr);
    assertOneLine(full.stderr, /no space left on the device \(ENOSPC\)/);
    assert.deepEqual(entries(small), [], 'the folders it made are gone with the temporary archive');

    const ro = tmpfs('64k', { readOnly: true });
    for (const args of [
      ['template', 'build', '--rootfs', root, '--name', 'ro', '--out', path.join(ro, 'x', 'y')],
      ['image', 'build', '--from', root, '--kernel', path.join(root, 'sbin', 'init'), '--out', path.join(ro, 'x', 'y', 'disk.qcow2')],
      ['rootfs', 'build', '--suite', 'bookworm', '--out', path.join(ro, 'x', 'y', 'root.tar')],
    ]) {
      const r = cli(args);
      assert.deepEqual([r.status, r.stdout, r.stderr],
        [1, '', `ec2-provision: error: output folder ${ro}/x/y: cannot create the folder ${ro}/x: read-only file system (EROFS)\n`], args.slice(0, 2).join(' '));
    }
  });

  test('image build into a 64 KiB tmpfs', (t) => {
    if (!needTools(t, ['fakeroot', 'tar', 'sfdisk', 'mkfs.ext4', 'qemu-img'])) return;
    const dir = scratch('img-full');
    const root = smallRoot(dir, 256 * 1024);
    const kernel = path.join(dir, 'vmlinuz');
    fs.writeFileSync(kernel, 'not really a kernel\n');
    const out = tmpfs('64k');
    const r = cli(['image', 'build', '--from', root, '--kernel', kernel, '--size', '8M', '--format', 'raw', '--out', path.join(out, 'disk.raw')]);
    assert.equal(r.status, 1, r.stderr);
    assertOneLine(r.stderr, /no space left on the device|No space left on device/);
    assert.deepEqual(entries(out), [], 'no scratch folder, no partial image');
  });

  test('a folder where a file is expected: --template, --kernel, --image', () => {
    const dir = scratch('folder-args');
    const folder = path.join(dir, 'x.tar.gz');
    fs.mkdirSync(folder);
    const push = cli(['push', 'template', '--target', 'ssh://nobody@127.0.0.1:1', '--template', folder]);
    assert.equal(push.status, 1);
    assertOneLine(push.stderr, /x\.tar\.gz is a folder, not a file/);
    const root = smallRoot(dir);
    const img = cli(['image', 'build', '--from', root, '--kernel', folder, '--out', path.join(dir, 'd.raw'), '--format', 'raw']);
    assert.equal(img.status, 1);
    assertOneLine(img.stderr, /x\.tar\.gz is a folder, not a file/);
    const ec2 = cli(['push', 'ec2', '--region', 'us-east-1', '--image', folder, '--name', 'folder-image']);
    assert.equal(ec2.status, 1);
    assertOneLine(ec2.stderr, /x\.tar\.gz is a folder, not a file/);
  });
});

describe('command-line numbers and usage errors', () => {
  test('--count abc says what it expected; a refused value exits 1 and only bad usage exits 2, as docs/cli.md says', () => {
    const r = cli(['launch', 'kvm', '--uri', 'qemu:///system', '--pool', 'p', '--volume', 'v', '--name', 'n', '--groups', 'g', '--count', 'abc', '--no-register']);
    assert.equal(r.status, 1);
    assertOneLine(r.stderr.split('\n').filter((l) => l.startsWith('ec2-provision:')).join('\n'), /--count: expected a whole number, not 'abc'/);
    const unknown = cli(['template', 'build', '--no-such-option']);
    assert.equal(unknown.status, 2);
    const badStep = cli(['template', 'build', '--rootfs', '/nonexistent', '--name', 'n', '--out', '/tmp', '--skip', 'nosuchstep']);
    assert.equal(badStep.status, 1, 'a step that does not exist is a refused value, as any value outside a flag\'s choices');
    const missing = cli(['template', 'build', '--rootfs', '/nonexistent', '--name', 'n', '--out', '/tmp', '--skip', 'logs']);
    assert.equal(missing.status, 1, 'a missing root is a bad input, not bad usage');
  });
});

describe('push template to a node that never answers', () => {
  test('ssh gives up after --connect-timeout: one line, within a generous bound', async (t) => {
    if (!needTools(t, ['ssh'])) return;
    const dir = scratch('ssh-silent');
    const template = path.join(dir, 'x.tar.gz');
    fs.writeFileSync(template, 'not really a template');
    const silent = await startSilentTcp();
    try {
      const started = Date.now();
      const { spawn } = await import('node:child_process');
      const child = spawn(process.execPath, [path.join(path.dirname(new URL(import.meta.url).pathname), '../../../bin/provision'),
        'push', 'template', '--target', `ssh://nobody@127.0.0.1:${silent.port}`, '--template', template, '--known-hosts', '/dev/null', '--connect-timeout', '2']);
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
      const kill = setTimeout(() => child.kill('SIGKILL'), 60_000);
      const code = await new Promise<number | null>((r) => child.on('exit', r));
      clearTimeout(kill);
      assert.ok(Date.now() - started < 60_000, 'ended by itself');
      assert.equal(code, 1, stderr);
      assertOneLine(stderr, /^ec2-provision: error: ssh 127\.0\.0\.1 failed \(exit 255\): .*timed out/);
      for (let i = 0; i < 50 && silent.open() > 0; i++) await new Promise((r) => setTimeout(r, 100));
      assert.equal(silent.open(), 0, 'ssh let the connection go');
    } finally {
      await silent.close();
    }
  });
});
