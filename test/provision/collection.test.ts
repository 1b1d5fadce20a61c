// The collection's modules under Debian's real ansible-core, installed from a tarball built from
// the working tree: ansible-doc renders each, Ansible's own argument checks refuse a bad option or
// value before the engine runs, and the template and host modules are idempotent through
// ansible-playbook (second run changed=0, --check creates nothing, absent leaves nothing).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import YAML from 'yaml';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import { run, writeIni } from '../support/run.js';
import { hasTool, skipUnless } from '../support/tools.js';
import { installCollection, type InstalledCollection, localRecap } from '../support/collection.js';
import { moduleDecls, renderModules } from '../../lib/cli/ansible.js';
import { repoRoot } from '../support/paths.js';

/** A module's argument_spec keys, read from what the declarations render. */
function renderedSpec(module: string): Record<string, unknown> {
  const text = renderModules()[`${module}.py`] ?? '';
  const line = text.split('\n').find((l) => l.startsWith('ARGUMENT_SPEC = ')) ?? 'ARGUMENT_SPEC = {}';
  return JSON.parse(line.slice('ARGUMENT_SPEC = '.length).replace(/\bTrue\b/g, 'true').replace(/\bFalse\b/g, 'false').replace(/\bNone\b/g, 'null')) as Record<string, unknown>;
}
import { guestRootfs, scratch } from './support/fixture.js';
import { startSshd } from './support/sshd.js';
import { freePort } from '../support/moto.js';
import { execFileSync } from 'node:child_process';

const skip = skipUnless('collection modules test', hasTool('ansible-playbook') && hasTool('ansible-galaxy') ? undefined : 'ansible-core not found (apt-get install ansible-core)');


describe('collection modules under ansible-core', { skip, concurrency: 1 }, () => {
  let dir: string;
  let installed: InstalledCollection;
  let env: NodeJS.ProcessEnv;

  before(() => {
    dir = scratch('collection');
    installed = installCollection(dir);
    env = { ...process.env, ...installed.env, PATH: `${installed.binDir}:${process.env['PATH']}`, EC2_INI_PATH: writeIni(dir, 'collection') };
  });

  function playbook(name: string, tasks: string): string {
    const file = path.join(dir, `${name}.yml`);
    fs.writeFileSync(file, `- hosts: localhost\n  connection: local\n  gather_facts: false\n  tasks:\n${tasks}`);
    return file;
  }
  const play = (file: string, ...args: string[]) => run('ansible-playbook', ['-i', 'localhost,', file, ...args], env, 300_000);

  it('ansible-doc renders every module and the inventory plugin', async () => {
    for (const m of moduleDecls) {
      const r = await run('ansible-doc', ['-t', 'module', `ec2inventory.provision.${m.module}`], env);
      assert.equal(r.code, 0, `${m.module}: ${r.stderr}`);
      assert.ok(r.stdout.replace(/\s+/g, ' ').includes(m.short.split(',')[0] as string), `${m.module}: ${r.stdout.slice(0, 400)}`);
      assert.doesNotMatch(r.stderr, /WARNING|ERROR/, r.stderr);
    }
    const plugin = await run('ansible-doc', ['-t', 'inventory', 'ec2inventory.provision.ec2_inventory'], env);
    assert.equal(plugin.code, 0, plugin.stderr);
    assert.match(plugin.stdout, /keyed_groups/);
  });

  it('the example playbook (collection/playbooks/kvm_site.yml, shown in the README) passes --syntax-check, and names only parameters the modules have', async () => {
    const example = path.join(repoRoot, 'collection', 'playbooks', 'kvm_site.yml');
    const r = await run('ansible-playbook', ['-i', 'localhost,', '--syntax-check', example], env);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const params = new Map(moduleDecls.map((m) => [m.module, new Set([...Object.keys(renderedSpec(m.module)), 'state', 'binary_path'])]));
    const plays = YAML.parse(fs.readFileSync(example, 'utf8')) as { tasks?: Record<string, unknown>[] }[];
    let checked = 0;
    for (const task of plays.flatMap((p) => p.tasks ?? [])) {
      for (const [key, args] of Object.entries(task)) {
        const module = /^ec2inventory\.provision\.(\w+)$/.exec(key)?.[1];
        if (!module) continue;
        for (const param of Object.keys(args as Record<string, unknown>)) assert.ok(params.get(module)?.has(param), `${module} has no parameter ${param}`);
        checked++;
      }
    }
    assert.equal(checked, 10);
    const readme = fs.readFileSync(path.join(repoRoot, 'README.md'), 'utf8');
    const shown = /```yaml\n(# ansible-playbook -i inventory\/ kvm_site\.yml[^]*?)```/.exec(readme)?.[1];
    assert.equal(shown, fs.readFileSync(example, 'utf8'), "the README's example playbook is collection/playbooks/kvm_site.yml");
  });

  it('a bad option or value fails with Ansible\'s own argument error, and the engine never runs', async () => {
    const marker = path.join(dir, 'never.qcow2');
    const unknown = await play(playbook('bad-option', `    - ec2inventory.provision.host:\n        name: db1\n        groups: [db]\n        colour: blue\n`));
    assert.notEqual(unknown.code, 0);
    assert.match(unknown.stdout, /Unsupported parameters for \(ec2inventory\.provision\.host\) module: colour/);
    const badValue = await play(playbook('bad-value', `    - ec2inventory.provision.image:\n        from: ${dir}\n        dest: ${marker}\n        format: vmdk\n`));
    assert.notEqual(badValue.code, 0);
    assert.match(badValue.stdout, /value of format must be one of: qcow2, raw, got: vmdk/);
    const badInt = await play(playbook('bad-int', `    - ec2inventory.provision.kvm_guest:\n        uri: qemu:///system\n        pool: p\n        volume: v\n        name: n\n        groups: [g]\n        count: many\n`));
    assert.notEqual(badInt.code, 0);
    assert.match(badInt.stdout, /argument 'count' is of type <class 'str'> and we were unable to convert to int/);
    assert.equal(fs.existsSync(marker), false);
  });

  it('an engine failure is the task\'s one-line msg', async () => {
    const r = await play(playbook('engine-fails', `    - ec2inventory.provision.template:\n        rootfs: ${path.join(dir, 'no-such-root')}\n        name: t\n        dest: ${dir}\n`));
    assert.notEqual(r.code, 0);
    assert.match(r.stdout, /"msg": "[^"\n]*no-such-root[^"\n]*"/);
  });

  it('host: present twice changes once, --check on a clean state registers nothing, absent twice removes once', async () => {
    const present = playbook('host', `    - ec2inventory.provision.host:\n        name: db1.example\n        groups: [db]\n        hostvars: {ansible_host: 192.0.2.7, port: 5432}\n`);
    const absent = playbook('host-absent', `    - ec2inventory.provision.host:\n        name: db1.example\n        state: absent\n`);
    const list = async () => JSON.parse((await run(path.join(installed.binDir, 'ec2-provision'), ['list'], env)).stdout) as { name: string; hostvars: Record<string, unknown> }[];
    assert.equal(localRecap((await play(present, '--check')).stdout)['changed'], 1);
    assert.deepEqual(await list(), []);
    assert.equal(localRecap((await play(present)).stdout)['changed'], 1);
    assert.equal((await list())[0]?.hostvars['port'], 5432);
    assert.equal(localRecap((await play(present)).stdout)['changed'], 0);
    const moved = await play(playbook('host-moved', `    - ec2inventory.provision.host:\n        name: db1.example\n        groups: [db, backup]\n        hostvars: {ansible_host: 192.0.2.7, port: 5432}\n`), '--diff');
    assert.equal(localRecap(moved.stdout)['changed'], 1);
    assert.match(moved.stdout, /\+\s+"backup"/);
    assert.equal(localRecap((await play(absent)).stdout)['changed'], 1);
    assert.deepEqual(await list(), []);
    assert.equal(localRecap((await play(absent)).stdout)['changed'], 0);
  });

  it('template: --check creates nothing, the first run builds, the second changes nothing, absent removes it', async (t) => {
    const root = path.join(dir, 'root');
    if (!guestRootfs(t, root)) return;
    const out = path.join(dir, 'templates');
    fs.mkdirSync(out);
    const task = (state: string) => `    - ec2inventory.provision.template:\n        rootfs: ${root}\n        name: busybox-1-x86_64\n        dest: ${out}\n        skip: [logs]\n        state: ${state}\n      register: tpl\n    - ansible.builtin.debug: {var: tpl.sha256}\n`;
    const present = playbook('template', task('present'));
    assert.equal(localRecap((await play(present, '--check')).stdout)['changed'], 1);
    assert.deepEqual(fs.readdirSync(out), []);
    const first = await play(present);
    assert.equal(localRecap(first.stdout)['changed'], 1, first.stdout);
    assert.match(first.stdout, /"tpl.sha256": "[0-9a-f]{64}"/);
    assert.ok(fs.existsSync(path.join(out, 'busybox-1-x86_64.tar.gz')));
    assert.equal(localRecap((await play(present)).stdout)['changed'], 0);
    const absent = playbook('template-absent', task('absent'));
    assert.equal(localRecap((await play(absent)).stdout)['changed'], 1);
    assert.deepEqual(fs.readdirSync(out), []);
    assert.equal(localRecap((await play(absent)).stdout)['changed'], 0);
  });

  it('template format proxmox: dest is the folder, the module returns the file it named from the root; --check, idempotent, absent', async (t) => {
    const root = path.join(dir, 'pve-root');
    if (!guestRootfs(t, root)) return;
    fs.mkdirSync(path.join(root, 'etc'), { recursive: true });
    fs.writeFileSync(path.join(root, 'etc', 'os-release'), 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nVERSION_ID="12"\nVERSION_CODENAME=bookworm\nID=debian\n');
    fs.writeFileSync(path.join(root, 'etc', 'debian_version'), '12.7\n');
    const out = path.join(dir, 'pve');
    fs.mkdirSync(out);
    const task = (state: string) => `    - ec2inventory.provision.template:\n        rootfs: ${root}\n        format: proxmox\n        dest: ${out}\n        state: ${state}\n      register: tpl\n    - ansible.builtin.debug: {var: tpl.archive}\n`;
    const present = playbook('template-pve', task('present'));
    const check = await play(present, '--check');
    assert.equal(localRecap(check.stdout)['changed'], 1, check.stdout);
    assert.deepEqual(fs.readdirSync(out), []);
    const first = await play(present);
    assert.equal(localRecap(first.stdout)['changed'], 1, first.stdout);
    const made = /"tpl.archive": "([^"]+)"/.exec(first.stdout)?.[1];
    assert.equal(made && path.dirname(made), out, first.stdout);
    assert.match(path.basename(made ?? ''), /^debian-12-standard_12\S*-1_amd64\.tar\.zst$/);
    assert.ok(fs.existsSync(made ?? ''));
    const again = await play(present);
    assert.equal(localRecap(again.stdout)['changed'], 0, again.stdout);
    assert.equal(/"tpl.archive": "([^"]+)"/.exec(again.stdout)?.[1], made, 'the second run answers the file the first made');
    assert.equal(localRecap((await play(present, '--check')).stdout)['changed'], 0);
    const absent = playbook('template-pve-absent', task('absent'));
    assert.equal(localRecap((await play(absent)).stdout)['changed'], 1);
    assert.deepEqual(fs.readdirSync(out), []);
    assert.equal(localRecap((await play(absent)).stdout)['changed'], 0);
  });

  it('openvz_template on a node over SSH: --check on a clean state changes nothing, present once, then unchanged; absent removes exactly it, once', async () => {
    const sshd = await startSshd(path.join(dir, 'sshd'), await freePort());
    try {
      const cache = path.join(dir, 'node-cache');
      fs.mkdirSync(cache);
      fs.writeFileSync(path.join(cache, 'other-1.tar.gz'), 'another template\n');
      const tpl = path.join(dir, 'node-1.tar.gz');
      const task = (state: string, extra = '') => `    - ec2inventory.provision.openvz_template:\n        target: ssh://root@127.0.0.1:${sshd.port}\n        template: ${tpl}\n        dir: ${cache}\n` +
        `        identity: ${sshd.key}\n        known_hosts: ${path.join(dir, 'sshd', 'known_hosts')}\n        state: ${state}\n${extra}`;
      const present = playbook('openvz', task('present'));
      const absent = playbook('openvz-absent', task('absent'));
      const changed = async (file: string, ...args: string[]) => {
        const r = await play(file, ...args);
        assert.equal(r.code, 0, r.stdout + r.stderr);
        return localRecap(r.stdout)['changed'];
      };
      // Clean state: the template is made by an earlier task, which check mode does not run.
      assert.equal(await changed(present, '--check'), 1);
      assert.deepEqual(fs.readdirSync(cache), ['other-1.tar.gz']);
      fs.mkdirSync(path.join(dir, 'node-src', 'etc'), { recursive: true });
      fs.writeFileSync(path.join(dir, 'node-src', 'etc', 'hostname'), 'node\n');
      execFileSync('tar', ['-czf', tpl, '-C', path.join(dir, 'node-src'), '.']);
      assert.equal(await changed(present, '--check'), 1);
      assert.deepEqual(fs.readdirSync(cache), ['other-1.tar.gz'], 'check mode uploaded the template');
      assert.equal(await changed(present), 1);
      assert.ok(fs.readFileSync(path.join(cache, 'node-1.tar.gz')).equals(fs.readFileSync(tpl)));
      assert.equal(await changed(present), 0);
      assert.equal(await changed(present, '--check'), 0);
      assert.equal(await changed(absent, '--check'), 1);
      assert.deepEqual(fs.readdirSync(cache).sort(), ['node-1.tar.gz', 'other-1.tar.gz'], 'check mode removed the template');
      assert.equal(await changed(absent), 1);
      assert.deepEqual(fs.readdirSync(cache), ['other-1.tar.gz']);
      assert.equal(await changed(absent), 0);
      // A file under the name that is not the template present pushed stays unless force says otherwise.
      fs.writeFileSync(path.join(cache, 'node-1.tar.gz'), 'someone else\'s\n');
      const refused = await play(absent);
      assert.notEqual(refused.code, 0);
      assert.match(refused.stdout, /"msg": "[^"]*node-1\.tar\.gz holds a different template than [^"]*\(force removes it anyway\)"/);
      assert.deepEqual(fs.readdirSync(cache).sort(), ['node-1.tar.gz', 'other-1.tar.gz']);
    } finally {
      sshd.stop();
    }
  });
});
