// ec2-provision --json, the machine interface the Ansible modules call: one JSON request on stdin,
// one JSON answer on stdout. Builds are idempotent through their recorded inputs, check mode
// changes nothing, state absent removes exactly what present made, and a failure is one line.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { scratch, guestRootfs } from './support/fixture.js';
import { provisionBin } from './support/inspect.js';
import { writeIni } from '../support/run.js';
import { freePort } from '../support/moto.js';
import { startSshd } from './support/sshd.js';

interface Answer { changed?: boolean; failed?: boolean; msg?: string; [key: string]: unknown }

function request(body: unknown, env: NodeJS.ProcessEnv = process.env): { status: number | null; answer: Answer; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [provisionBin, '--json'], { input: typeof body === 'string' ? body : JSON.stringify(body), encoding: 'utf8', env, timeout: 300_000 });
  const lines = r.stdout.trim().split('\n');
  assert.equal(lines.length, 1, `stdout is one JSON line:\n${r.stdout}`);
  return { status: r.status, answer: JSON.parse(lines[0] as string) as Answer, stdout: r.stdout, stderr: r.stderr };
}

function filesIn(dir: string): string[] {
  return fs.readdirSync(dir).sort();
}

describe('ec2-provision --json', { concurrency: 1 }, () => {
  const dir = scratch('machine');
  const rootfs = path.join(dir, 'root');
  const out = path.join(dir, 'out');
  fs.mkdirSync(out);
  fs.mkdirSync(path.join(dir, 'node-out'));
  const template = { command: 'build template', options: { rootfs, name: 'guest-1', outDir: out, compress: 'gzip' } };

  it('build template: check on a clean state reports a change and writes nothing', (t) => {
    if (!guestRootfs(t, rootfs)) return;
    const r = request({ ...template, check: true });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.answer.changed, true);
    assert.deepEqual(filesIn(out), []);
  });

  it('build template: builds once, then answers changed=false with the same result and leaves the files alone', () => {
    const first = request(template);
    assert.equal(first.status, 0, first.stderr);
    assert.equal(first.answer.changed, true);
    const archive = first.answer['archive'] as string;
    assert.equal(archive, path.join(out, 'guest-1.tar.gz'));
    const mtime = fs.statSync(archive).mtimeMs;
    const second = request(template);
    assert.equal(second.answer.changed, false, JSON.stringify(second.answer));
    assert.equal(second.answer['sha256'], first.answer['sha256']);
    assert.equal(fs.statSync(archive).mtimeMs, mtime, 'the unchanged template was written again');
    assert.equal(request({ ...template, check: true }).answer.changed, false);
  });

  it('build template: a changed source or a changed option rebuilds; check says so first', () => {
    fs.writeFileSync(path.join(rootfs, 'etc', 'motd'), 'changed source\n');
    const check = request({ ...template, check: true });
    assert.equal(check.answer.changed, true);
    const rebuilt = request(template);
    assert.equal(rebuilt.answer.changed, true);
    assert.equal(request(template).answer.changed, false);
    const skipped = request({ ...template, options: { ...template.options, skip: ['logs'] } });
    assert.equal(skipped.answer.changed, true, 'an option that changes the bytes is part of the recorded inputs');
  });

  it('build template: state absent removes exactly its outputs and record, and is idempotent', () => {
    fs.writeFileSync(path.join(out, 'keep.txt'), 'not ours\n');
    const check = request({ ...template, state: 'absent', check: true });
    assert.equal(check.answer.changed, true);
    assert.ok(filesIn(out).includes('guest-1.tar.gz'), 'check mode removed the archive');
    const gone = request({ ...template, state: 'absent' });
    assert.equal(gone.answer.changed, true);
    assert.deepEqual((gone.answer['removed'] as string[]).map((f) => path.basename(f)).sort(), ['guest-1.manifest.json', 'guest-1.tar.gz', 'guest-1.tar.gz.sha256'].sort());
    assert.deepEqual(filesIn(out), ['keep.txt']);
    assert.equal(request({ ...template, state: 'absent' }).answer.changed, false);
  });

  it('push openvz: uploads a template cache to a node over SSH once, then answers changed=false; destroy openvz removes it once', async () => {
    const sshd = await startSshd(path.join(dir, 'sshd'), await freePort());
    try {
      const built = request({ command: 'build template', options: { rootfs, name: 'node-1', outDir: path.join(dir, 'node-out') } });
      const cache = path.join(dir, 'node-cache');
      fs.mkdirSync(cache);
      const push = { command: 'push openvz', options: { target: `ssh://root@127.0.0.1:${sshd.port}`, template: built.answer['archive'], dir: cache, identity: sshd.key, knownHosts: path.join(dir, 'sshd', 'known_hosts') } };
      assert.equal(request(push).answer.changed, true);
      assert.deepEqual(filesIn(cache), ['node-1.tar.gz']);
      assert.equal(request(push).answer.changed, false);
      // The CLI's destroy openvz removes what push put there, by the same rule as state absent.
      const o = push.options;
      const destroy = () => spawnSync(process.execPath, [provisionBin, 'destroy', 'openvz', '--target', o.target, '--template', String(o.template), '--dir', o.dir, '--identity', o.identity, '--known-hosts', o.knownHosts], { encoding: 'utf8', timeout: 60_000 });
      const gone = destroy();
      assert.equal(gone.status, 0, gone.stderr);
      assert.equal((JSON.parse(gone.stdout) as { removed: boolean }).removed, true);
      assert.deepEqual(filesIn(cache), []);
      assert.equal((JSON.parse(destroy().stdout) as { removed: boolean }).removed, false);
    } finally {
      sshd.stop();
    }
  });

  it('register: idempotent, diff on a change, check changes nothing, absent deregisters once', () => {
    const ini = writeIni(dir, 'machine');
    const env = { ...process.env, EC2_INI_PATH: ini };
    const host = { command: 'register', options: { name: 'db1.example', groups: ['db'], hostvars: { ansible_host: '192.0.2.7', port: 5432 } } };
    const list = () => JSON.parse(spawnSync(process.execPath, [provisionBin, 'list'], { env, encoding: 'utf8' }).stdout) as { name: string; groups: string[] }[];
    assert.equal(request({ ...host, check: true }, env).answer.changed, true);
    assert.deepEqual(list(), []);
    assert.equal(request(host, env).answer.changed, true);
    assert.equal(request(host, env).answer.changed, false);
    const moved = request({ ...host, options: { ...host.options, groups: ['db', 'web'] } }, env);
    assert.equal(moved.answer.changed, true);
    assert.deepEqual((moved.answer['diff'] as { before: { groups: string[] }; after: { groups: string[] } }).after.groups, ['db', 'web']);
    assert.deepEqual(list().map((h) => h.groups), [['db', 'web']]);
    assert.equal(request({ ...host, state: 'absent', check: true }, env).answer.changed, true);
    assert.equal(list().length, 1);
    assert.equal(request({ ...host, state: 'absent' }, env).answer.changed, true);
    assert.equal(request({ ...host, state: 'absent' }, env).answer.changed, false);
    assert.deepEqual(list(), []);
  });

  it('check mode before an earlier task made the source: a change, with the paths later tasks read', () => {
    const missing = path.join(dir, 'made-by-an-earlier-task.tar');
    const tpl = request({ command: 'build template', check: true, options: { rootfs: missing, name: 'later', outDir: out } });
    assert.equal(tpl.answer.changed, true, JSON.stringify(tpl.answer));
    assert.equal(tpl.answer['archive'], path.join(out, 'later.tar.gz'));
    const img = request({ command: 'build image', check: true, options: { from: tpl.answer['archive'], out: path.join(out, 'later.qcow2') } });
    assert.equal(img.answer.changed, true);
    assert.equal(img.answer['image'], path.join(out, 'later.qcow2'));
    assert.equal(img.answer['kernel'], path.join(out, 'later.vmlinuz'));
    assert.ok(!filesIn(out).some((f) => f.startsWith('later')));
  });

  it('a bad request fails with one line in msg and exit 1, and runs nothing', () => {
    const cases: [unknown, RegExp][] = [
      ['not json', /not JSON/],
      [{ command: 'build pizza' }, /unknown command "build pizza"/],
      [{ ...template, options: { ...template.options, outdir: out } }, /build template: unknown option 'outdir'/],
      [{ ...template, state: 'gone' }, /state must be present or absent/],
      [{ ...template, options: { ...template.options, compress: 'lz4' } }, /build template: option 'compress' must be one of gzip, zstd, xz, not "lz4"/],
      [{ ...template, options: { ...template.options, skip: 'logs' } }, /option 'skip' must be a list of strings/],
      [{ command: 'launch kvm', options: { uri: 'qemu:///system', pool: 'p', volume: 'v', name: 'n', groups: ['g'], count: 0 } }, /launch kvm: option 'count' must be at least 1, not 0/],
      [{ command: 'build image', options: { out: path.join(out, 'x.qcow2') } }, /build image: option 'from' is required/],
      [{ command: 'destroy kvm', check: true, options: { uri: 'qemu:///system', name: 'x' } }, /destroy kvm: check mode is not supported/],
      [{ ...template, options: { ...template.options, rootfs: path.join(dir, 'missing') } }, /missing/],
    ];
    for (const [body, msg] of cases) {
      const r = request(body);
      assert.equal(r.status, 1, JSON.stringify(body));
      assert.equal(r.answer.failed, true);
      assert.match(r.answer.msg ?? '', msg);
      assert.doesNotMatch(r.answer.msg ?? '', /\n|    at /);
    }
    assert.deepEqual(filesIn(out), ['keep.txt']);
  });
});
