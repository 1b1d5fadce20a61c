// KVM provisioning against a real libvirtd (started here) with real busybox guests under TCG:
// push → launch → inventory → destroy, and failure injection at each step leaving nothing behind.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startMoto, freePort, type Moto } from '../support/moto.js';
import { run, awsEnv, writeIni } from '../support/run.js';
import { inventoryBin } from '../support/paths.js';
import { scratch } from './support/fixture.js';
import { cli, type CliResult } from './support/inspect.js';
import { MARKER } from './support/guest.js';
import { READY, URI, buildServingImage, domains, removePool, startLibvirt, volumes, type GuestImage, type Libvirt } from './support/libvirt.js';
import { hasTool, inCI } from './support/tools.js';
import { kvmRunsAGuest } from './support/qemu.js';
import { startSshd } from './support/sshd.js';

const POOL = 'ec2inv-test';
const HEAD = 'HEAD / HTTP/1.0\\r\\n\\r\\n';

function get(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path: '/', timeout: 10_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d)).on('end', () => resolve(body));
    }).on('error', reject);
  });
}

function ok(r: CliResult): Record<string, unknown> {
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as Record<string, unknown>;
}

function failed(r: CliResult, step: RegExp): void {
  assert.equal(r.status, 1, `expected a failure, got ${r.status}: ${r.stdout}${r.stderr}`);
  assert.equal(r.stdout, '', 'no summary on failure');
  assert.match(r.stderr, step);
}

describe('provision push / launch / destroy kvm (real libvirtd, TCG guests)', { concurrency: 1 }, () => {
  let lv: Libvirt | undefined;
  let moto: Moto | undefined;
  let dir: string;
  let img: GuestImage | undefined;
  let ini: string;
  let env: NodeJS.ProcessEnv;
  let poolDir: string;
  let skipWhy: string | undefined;

  before(async () => {
    // The fixtures skip through a test context; here they only record why, and each test skips
    // (or, under CI, fails) with that reason.
    const skips: string[] = [];
    const fake = { skip: (why: string) => skips.push(why), diagnostic: (m: string) => process.stderr.write(`${m}\n`) } as unknown as import('node:test').TestContext;
    lv = startLibvirt(fake);
    dir = scratch('kvm');
    if (lv) img = buildServingImage(fake, dir);
    skipWhy = skips[0];
    if (!lv || !img) return;
    removePool(POOL);
    // qemu runs as libvirt-qemu and must reach the pool folder: mkdtemp makes the scratch 0700.
    fs.chmodSync(dir, 0o711);
    poolDir = path.join(dir, 'pool');
    moto = await startMoto();
    ini = writeIni(dir, 'kvm', { regions: 'us-east-1', rds: 'False', route53: 'False' });
    env = { ...process.env, EC2_INI_PATH: ini };
  });

  after(async () => {
    if (lv) {
      for (const d of domains()) if (d.startsWith('ec2inv-t')) cli(['destroy', 'kvm', '--uri', URI, '--name', d, '--force'], { env });
      removePool(POOL);
      // libvirt keeps a NAME.log per domain after undefine; these are the test's own domains.
      for (const n of fs.readdirSync('/var/log/libvirt/qemu')) if (n.startsWith('ec2inv-t') && n.endsWith('.log')) fs.rmSync(path.join('/var/log/libvirt/qemu', n), { force: true });
      lv.stop();
    }
    await moto?.stop();
  });

  const ready = (t: import('node:test').TestContext): boolean => {
    if (lv && img) return true;
    if (inCI) throw new Error(skipWhy ?? 'libvirt or the guest image is not available');
    t.skip(skipWhy ?? 'libvirt or the guest image is not available');
    return false;
  };

  it('push: creates the pool, uploads image + kernel + initrd verified; again is a no-op; another image under the name is refused', (t) => {
    if (!ready(t)) return;
    const first = ok(cli(['push', 'kvm', '--uri', URI, '--pool', POOL, '--create-pool', poolDir, '--image', img!.image, '--volume', 'serve.qcow2'], { env }));
    assert.equal(first['poolCreated'], true);
    assert.equal((first['image'] as { action: string }).action, 'uploaded');
    assert.equal((first['kernel'] as { action: string }).action, 'uploaded');
    assert.equal((first['initrd'] as { action: string }).action, 'uploaded');
    assert.ok(fs.readFileSync(path.join(poolDir, 'serve.qcow2')).equals(fs.readFileSync(img!.image)), 'byte-identical in the pool');
    assert.deepEqual(volumes(POOL), ['serve.qcow2', 'serve.qcow2.initrd', 'serve.qcow2.vmlinuz']);
    const again = ok(cli(['push', 'kvm', '--uri', URI, '--pool', POOL, '--image', img!.image, '--volume', 'serve.qcow2'], { env }));
    assert.equal((again['image'] as { action: string }).action, 'unchanged');
    assert.equal(again['poolCreated'], false);
    const other = path.join(dir, 'other.qcow2');
    fs.copyFileSync(img!.kernel, other.replace('.qcow2', '.raw'));
    const refused = cli(['push', 'kvm', '--uri', URI, '--pool', POOL, '--image', other.replace('.qcow2', '.raw'), '--volume', 'serve.qcow2', '--kernel', img!.kernel], { env });
    failed(refused, /holds a different image \(--force replaces it\)/);
    assert.deepEqual(volumes(POOL), ['serve.qcow2', 'serve.qcow2.initrd', 'serve.qcow2.vmlinuz']);
  });

  it('launch two guests with their own addresses and groups → ready, in --list and ansible-inventory --graph → destroy leaves nothing', async (t) => {
    if (!ready(t)) return;
    const started = Date.now();
    const [p1, p2] = [await freePort(), await freePort()];
    const web = ok(cli(['launch', 'kvm', '--uri', URI, '--pool', POOL, '--volume', 'serve.qcow2', '--name', 'ec2inv-tweb',
      '--ip', '10.0.2.21/24', '--gateway', '10.0.2.2', '--forward', `${p1}:80`, '--groups', 'web,tag_Env_prod', '--var', 'role=frontend', '--ready-send', HEAD, '--wait', '90'], { env }));
    const db = ok(cli(['launch', 'kvm', '--uri', URI, '--pool', POOL, '--volume', 'serve.qcow2', '--name', 'ec2inv-tdb',
      '--ip', '10.0.2.32/24', '--gateway', '10.0.2.2', '--forward', `${p2}:80`, '--groups', 'db', '--ready-line', READY, '--wait', '90'], { env }));
    t.diagnostic(`two guests launched and ready in ${Date.now() - started} ms`);
    const g1 = (web['guests'] as { name: string; uuid: string; serialLog: string; domainType: string }[])[0]!;
    const g2 = (db['guests'] as { name: string; uuid: string; serialLog: string }[])[0]!;
    // KVM exactly when a KVM guest can run here, measured by booting one (not from the CPU flags
    // the launch itself reads): on nested machines /dev/kvm exists and still runs nothing.
    const kvm = kvmRunsAGuest(img!.kernel);
    t.diagnostic(`KVM probe: ${kvm.evidence}`);
    const want = kvm.works ? 'kvm' : 'qemu';
    for (const name of ['ec2inv-tweb', 'ec2inv-tdb']) {
      const xml = execFileSync('virsh', ['-c', URI, 'dumpxml', name], { encoding: 'utf8' });
      assert.equal(/<domain type='(\w+)'/.exec(xml)?.[1], want, `${name} runs as libvirt type ${want}`);
    }
    assert.equal(g1.domainType, want, 'and the launch says so');
    assert.equal(await get(p1), 'host=ec2inv-tweb addr=10.0.2.21/24\n');
    assert.equal(await get(p2), 'host=ec2inv-tdb addr=10.0.2.32/24\n');
    assert.match(fs.readFileSync(g2.serialLog, 'utf8'), new RegExp(`${MARKER} host=ec2inv-tdb addr=10.0.2.32/24 gw=10.0.2.2`));
    assert.deepEqual(volumes(POOL), ['ec2inv-tdb.qcow2', 'ec2inv-tweb.qcow2', 'serve.qcow2', 'serve.qcow2.initrd', 'serve.qcow2.vmlinuz']);
    assert.ok(fs.readFileSync(path.join(poolDir, 'serve.qcow2')).equals(fs.readFileSync(img!.image)), 'the pushed image stays pristine');

    const dup = cli(['launch', 'kvm', '--uri', URI, '--pool', POOL, '--volume', 'serve.qcow2', '--name', 'ec2inv-tweb', '--groups', 'web', '--wait', '0'], { env });
    failed(dup, /failed at step 'check names': a domain named 'ec2inv-tweb' already exists/);

    const inv = await run(inventoryBin, ['--list', '--refresh-cache'], awsEnv(moto!.endpoint, { EC2_INI_PATH: ini }));
    assert.equal(inv.code, 0, inv.stderr);
    const list = JSON.parse(inv.stdout) as Record<string, string[]> & { _meta: { hostvars: Record<string, Record<string, unknown>> } };
    assert.deepEqual(list['web'], ['ec2inv-tweb']);
    assert.deepEqual(list['tag_Env_prod'], ['ec2inv-tweb']);
    assert.deepEqual(list['db'], ['ec2inv-tdb']);
    assert.deepEqual(list._meta.hostvars['ec2inv-tweb'], {
      ansible_host: '127.0.0.1', ansible_port: p1, role: 'frontend', kvm_uri: URI, kvm_domain: 'ec2inv-tweb', kvm_uuid: g1.uuid,
      kvm_pool: POOL, kvm_volume: 'ec2inv-tweb.qcow2', registry_source: 'kvm',
    });
    assert.equal(list._meta.hostvars['ec2inv-tdb']?.['ansible_port'], p2);

    if (hasTool('ansible-inventory') || inCI) {
      const dirA = path.join(dir, 'ansible');
      const graph = await run('ansible-inventory', ['-i', inventoryBin, '--graph'], awsEnv(moto!.endpoint, {
        EC2_INI_PATH: ini, ANSIBLE_LOCAL_TEMP: path.join(dirA, 'tmp'), ANSIBLE_HOME: path.join(dirA, 'home'), ANSIBLE_NOCOLOR: '1', ANSIBLE_INVENTORY_ENABLED: 'script', LANG: 'C.UTF-8',
      }));
      assert.equal(graph.code, 0, graph.stderr);
      assert.match(graph.stdout, /@web:\n[ |]*--ec2inv-tweb/);
      assert.match(graph.stdout, /@db:\n[ |]*--ec2inv-tdb/);
    } else t.diagnostic('ansible-inventory not installed: --graph not checked');

    for (const name of ['ec2inv-tweb', 'ec2inv-tdb']) {
      const d = ok(cli(['destroy', 'kvm', '--uri', URI, '--name', name], { env }));
      assert.deepEqual([d['domain'], (d['volume'] as { action: string }).action, d['registry']], ['destroyed', 'deleted', 'removed']);
      const again = ok(cli(['destroy', 'kvm', '--uri', URI, '--name', name], { env }));
      assert.deepEqual([again['domain'], again['volume'], again['registry']], ['absent', null, 'absent']);
    }
    assert.deepEqual(domains().filter((d) => d.startsWith('ec2inv-t')), []);
    assert.deepEqual(volumes(POOL), ['serve.qcow2', 'serve.qcow2.initrd', 'serve.qcow2.vmlinuz']);
    assert.deepEqual(JSON.parse(cli(['list'], { env }).stdout), []);
    assert.ok(!fs.existsSync(g1.serialLog), 'the serial log went with the guest');
  });

  // A virsh in front of the real one fails the Nth call of one subcommand, so each step of a
  // launch can be made to fail where libvirt itself would.
  function injected(at: string, nth = 1): NodeJS.ProcessEnv {
    const bin = path.join(dir, 'fakebin');
    fs.mkdirSync(bin, { recursive: true });
    const real = execFileSync('sh', ['-c', 'command -v virsh'], { encoding: 'utf8' }).trim();
    fs.writeFileSync(path.join(bin, 'virsh'), `#!/bin/sh
if [ "$4" = "$EC2INV_FAIL_AT" ]; then
  n=$(( $(cat "$EC2INV_FAIL_COUNT" 2>/dev/null || echo 0) + 1 )); echo $n > "$EC2INV_FAIL_COUNT"
  if [ "$n" -ge "$EC2INV_FAIL_NTH" ]; then echo "error: injected failure of virsh $4" >&2; exit 1; fi
fi
exec ${real} "$@"
`, { mode: 0o755 });
    const counter = path.join(dir, `count-${at}-${nth}-${Date.now()}`);
    return { ...env, PATH: `${bin}:${process.env['PATH']}`, EC2INV_FAIL_AT: at, EC2INV_FAIL_NTH: String(nth), EC2INV_FAIL_COUNT: counter };
  }

  // Our serial console logs; libvirt's own NAME.log per domain stays after undefine, as it does for
  // any domain, and is libvirt's to rotate.
  const serialLogs = () => fs.readdirSync('/var/log/libvirt/qemu').filter((n) => /^ec2inv-[0-9a-f-]{36}\.serial\.log$/.test(n)).sort();

  function nothingLeft(logsBefore: string[]): void {
    assert.deepEqual(domains().filter((d) => d.startsWith('ec2inv-t')), [], 'no domain left');
    assert.deepEqual(volumes(POOL), ['serve.qcow2', 'serve.qcow2.initrd', 'serve.qcow2.vmlinuz'], 'no volume left');
    assert.deepEqual(JSON.parse(cli(['list'], { env }).stdout), [], 'no registry entry left');
    assert.deepEqual(serialLogs(), logsBefore, 'no serial log left');
  }

  it('failure at each launch step undoes what the launch created and names the step; a guest never ready times out clearly', async (t) => {
    if (!ready(t)) return;
    const logs = serialLogs();
    const base = ['launch', 'kvm', '--uri', URI, '--pool', POOL, '--volume', 'serve.qcow2', '--groups', 'web'];
    const port = await freePort();

    failed(cli(['launch', 'kvm', '--uri', URI, '--pool', 'ec2inv-nosuchpool', '--volume', 'serve.qcow2', '--name', 'ec2inv-tf', '--groups', 'web', '--wait', '0'], { env }),
      /launch failed at step 'check pool and volume': storage pool 'ec2inv-nosuchpool' does not exist/);
    nothingLeft(logs);
    failed(cli([...base, '--name', 'ec2inv-tf', '--wait', '0'], { env: injected('vol-create') }), /launch failed at step 'overlay volume for ec2inv-tf': .*injected failure of virsh vol-create \(nothing to undo\)/);
    nothingLeft(logs);
    failed(cli([...base, '--name', 'ec2inv-tf', '--wait', '0'], { env: injected('define') }), /launch failed at step 'define ec2inv-tf': .*injected failure of virsh define \(undone: volume ec2inv-test\/ec2inv-tf\.qcow2\)/);
    nothingLeft(logs);
    // The second guest's start fails: the first one, already running, goes too.
    failed(cli([...base, '--name', 'ec2inv-tf', '--count', '2', '--wait', '0'], { env: injected('start', 2) }),
      /launch failed at step 'start ec2inv-tf-2': .*injected failure of virsh start \(undone: .*domain ec2inv-tf-2, volume ec2inv-test\/ec2inv-tf-2\.qcow2, running guest ec2inv-tf-1, .*domain ec2inv-tf-1, volume ec2inv-test\/ec2inv-tf-1\.qcow2\)/);
    nothingLeft(logs);
    // Nothing listens on guest port 81: the forward accepts and drops, which is not "ready".
    const t0 = Date.now();
    const slow = cli([...base, '--name', 'ec2inv-tslow', '--ip', '10.0.2.40/24', '--gateway', '10.0.2.2', '--forward', `${port}:81`, '--ready-send', HEAD, '--wait', '6'], { env });
    failed(slow, /launch failed at step 'wait for ec2inv-tslow': guest 'ec2inv-tslow' not ready after 6 s: port 127\.0\.0\.1:\d+ does not answer/);
    assert.ok(Date.now() - t0 < 30_000, 'the timeout is kept');
    nothingLeft(logs);

    const pool2 = path.join(dir, 'pool2');
    failed(cli(['push', 'kvm', '--uri', URI, '--pool', 'ec2inv-test2', '--create-pool', pool2, '--image', img!.image], { env: injected('vol-upload') }),
      /push failed at step 'upload image': .*injected failure of virsh vol-upload \(undone: volume ec2inv-test2\/serve\.qcow2, pool ec2inv-test2\)/);
    assert.equal(cli(['push', 'kvm', '--uri', URI, '--pool', 'ec2inv-test2', '--image', img!.image], { env }).status, 1, 'the pool created by the failed push is gone');
  });

  it("names and variables with quotes, &, <, $() and ; are data: escaped in the domain XML, never executed", async (t) => {
    if (!ready(t)) return;
    const logs = serialLogs();
    const name = `ec2inv-t'q"&<x>$(id>pwned);y`;
    const value = `a'b"&<c>$(touch ${dir}/pwned2);d\`touch ${dir}/pwned3\``;
    const r = ok(cli(['launch', 'kvm', '--uri', URI, '--pool', POOL, '--volume', 'serve.qcow2', '--name', name, '--groups', 'odd', '--var', `note=${value}`, '--wait', '0'], { env }));
    const g = (r['guests'] as { name: string; uuid: string }[])[0]!;
    assert.equal(g.name, name);
    assert.ok(domains().includes(name));
    const xml = execFileSync('virsh', ['-c', URI, 'dumpxml', '--', name], { encoding: 'utf8' });
    assert.ok(xml.includes('<name>ec2inv-t&apos;q&quot;&amp;&lt;x&gt;$(id&gt;pwned);y</name>'), xml);
    const inv = await run(inventoryBin, ['--list', '--refresh-cache'], awsEnv(moto!.endpoint, { EC2_INI_PATH: ini }));
    const list = JSON.parse(inv.stdout) as Record<string, string[]> & { _meta: { hostvars: Record<string, Record<string, unknown>> } };
    assert.deepEqual(list['odd'], [name]);
    assert.equal(list._meta.hostvars[name]?.['note'], value);
    const d = ok(cli(['destroy', 'kvm', '--uri', URI, '--name', name], { env }));
    assert.deepEqual([d['domain'], (d['volume'] as { action: string }).action, d['registry']], ['destroyed', 'deleted', 'removed']);
    for (const f of [path.join(process.cwd(), 'pwned'), path.join(dir, 'pwned2'), path.join(dir, 'pwned3'), '/var/lib/libvirt/qemu/pwned']) assert.ok(!fs.existsSync(f), `${f} was created: something ran a shell`);
    nothingLeft(logs);
  });

  it('over qemu+ssh:// to a loopback sshd with its own keys and known_hosts: push, launch, --list, destroy; push template; an unknown host key is refused', async (t) => {
    if (!ready(t)) return;
    if (!hasTool('/usr/sbin/sshd') && !fs.existsSync('/usr/sbin/sshd')) {
      if (inCI) throw new Error('sshd missing (openssh-server)');
      t.skip('sshd missing (apt-get install openssh-server)');
      return;
    }
    const logs = serialLogs();
    const sshd = await startSshd(path.join(dir, 'sshd'), await freePort());
    try {
      const remote = sshd.libvirtUri;
      // The same sshd under a known_hosts that lacks its key: ssh must refuse, not learn the key.
      const strangers = path.join(dir, 'sshd', 'ssh-strangers');
      fs.writeFileSync(path.join(dir, 'sshd', 'known_hosts_empty'), '');
      fs.writeFileSync(strangers, `#!/bin/sh\nexec ssh -F '${path.join(dir, 'sshd', 'ssh_config')}' -o UserKnownHostsFile='${path.join(dir, 'sshd', 'known_hosts_empty')}' "$@"\n`, { mode: 0o755 });
      const refused = cli(['push', 'kvm', '--uri', remote.replace(encodeURIComponent(sshd.sshCommand), encodeURIComponent(strangers)), '--pool', POOL, '--image', img!.image, '--volume', 'remote.qcow2'], { env });
      assert.equal(refused.status, 1, refused.stderr);
      assert.match(refused.stderr, /Host key verification failed/);
      assert.equal(fs.readFileSync(path.join(dir, 'sshd', 'known_hosts_empty'), 'utf8'), '', 'the host key was not learnt');

      const pushed = ok(cli(['push', 'kvm', '--uri', remote, '--pool', POOL, '--image', img!.image, '--volume', 'remote.qcow2'], { env }));
      assert.equal((pushed['image'] as { action: string }).action, 'uploaded');
      assert.ok(fs.readFileSync(path.join(poolDir, 'remote.qcow2')).equals(fs.readFileSync(img!.image)));
      const port = await freePort();
      const r = ok(cli(['launch', 'kvm', '--uri', remote, '--pool', POOL, '--volume', 'remote.qcow2', '--name', 'ec2inv-tremote', '--ip', '10.0.2.50/24', '--gateway', '10.0.2.2',
        '--forward', `${port}:80`, '--ready-send', HEAD, '--groups', 'remote', '--wait', '90'], { env }));
      const g = (r['guests'] as { uuid: string; serialLog?: string }[])[0]!;
      assert.equal(g.serialLog, undefined, 'no log file a remote destroy could not remove');
      assert.equal(await get(port), 'host=ec2inv-tremote addr=10.0.2.50/24\n');
      const inv = await run(inventoryBin, ['--list', '--refresh-cache'], awsEnv(moto!.endpoint, { EC2_INI_PATH: ini }));
      const list = JSON.parse(inv.stdout) as Record<string, string[]> & { _meta: { hostvars: Record<string, Record<string, unknown>> } };
      assert.deepEqual(list['remote'], ['ec2inv-tremote']);
      assert.equal(list._meta.hostvars['ec2inv-tremote']?.['kvm_uri'], remote);
      assert.equal(list._meta.hostvars['ec2inv-tremote']?.['ansible_host'], '127.0.0.1');
      assert.equal(list._meta.hostvars['ec2inv-tremote']?.['kvm_uuid'], g.uuid);
      const d = ok(cli(['destroy', 'kvm', '--uri', remote, '--name', 'ec2inv-tremote'], { env }));
      assert.deepEqual([d['domain'], (d['volume'] as { action: string }).action, d['registry']], ['destroyed', 'deleted', 'removed']);
      for (const v of ['remote.qcow2', 'remote.qcow2.vmlinuz', 'remote.qcow2.initrd']) execFileSync('virsh', ['-q', '-c', URI, 'vol-delete', '--pool', POOL, v]);
      nothingLeft(logs);

      // The template cache to the same sshd, into a folder whose name a shell would split and unquote.
      const tpl = path.join(dir, 'out', 'busybox-1-x86_64-serve.tar.gz');
      const cache = path.join(dir, `vz cache 'q' $(id>pwned);x`);
      fs.mkdirSync(cache);
      const target = `ssh://root@127.0.0.1:${sshd.port}`;
      const known = path.join(dir, 'sshd', 'known_hosts');
      const push = (extra: string[], file = tpl) => cli(['push', 'template', '--target', target, '--template', file, '--dir', cache, '--identity', sshd.key, ...extra], { env });
      const up = ok(push(['--known-hosts', known]));
      assert.equal(up['action'], 'uploaded');
      assert.ok(fs.readFileSync(path.join(cache, path.basename(tpl))).equals(fs.readFileSync(tpl)));
      assert.equal(ok(push(['--known-hosts', known]))['action'], 'unchanged');
      failed(push(['--known-hosts', path.join(dir, 'sshd', 'known_hosts_empty')]), /Host key verification failed/);
      const other = path.join(dir, 'other', path.basename(tpl));
      fs.mkdirSync(path.dirname(other));
      fs.writeFileSync(other, 'not the same template');
      failed(push(['--known-hosts', known], other), /holds a different template \(--force replaces it\)/);
      failed(cli(['push', 'template', '--target', target, '--template', tpl, '--dir', path.join(dir, 'nowhere'), '--identity', sshd.key, '--known-hosts', known], { env }), /template folder .*nowhere does not exist/);
      assert.deepEqual(fs.readdirSync(cache), [path.basename(tpl)], 'no temporary file left');
      assert.ok(!fs.existsSync(path.join(process.cwd(), 'pwned')) && !fs.existsSync(path.join(cache, 'pwned')) && !fs.existsSync('/root/pwned'), 'nothing ran');
    } finally {
      sshd.stop();
    }
  });

  it('--adopt registers an existing domain (starting it if stopped) instead of refusing; it never creates a second one', async (t) => {
    if (!ready(t)) return;
    const logs = serialLogs();
    const base = ['launch', 'kvm', '--uri', URI, '--pool', POOL, '--volume', 'serve.qcow2', '--name', 'ec2inv-tadopt', '--wait', '0'];
    const first = ok(cli([...base, '--groups', 'old', '--var', 'kept=1', '--no-register'], { env }));
    const foreign = path.join(dir, 'foreign.xml');
    fs.writeFileSync(foreign, "<domain type='qemu'><name>ec2inv-tforeign</name><memory unit='KiB'>65536</memory><os><type arch='x86_64'>hvm</type></os></domain>");
    execFileSync('virsh', ['-q', '-c', URI, 'define', foreign]);
    failed(cli(['destroy', 'kvm', '--uri', URI, '--name', 'ec2inv-tforeign'], { env }), /--force: .*domain .* was not launched by ec2-provision .*force destroys it anyway/);
    assert.ok(domains().includes('ec2inv-tforeign'), 'a foreign domain survives a destroy without --force');
    assert.equal(ok(cli(['destroy', 'kvm', '--uri', URI, '--name', 'ec2inv-tforeign', '--force'], { env }))['domain'], 'undefined');
    assert.deepEqual(JSON.parse(cli(['list'], { env }).stdout), [], '--no-register records nothing');
    const uuid = (first['guests'] as { uuid: string }[])[0]!.uuid;
    execFileSync('virsh', ['-q', '-c', URI, 'destroy', 'ec2inv-tadopt']);
    failed(cli([...base, '--groups', 'new'], { env }), /--name: .*a domain named 'ec2inv-tadopt' already exists .*adopt registers it instead/);
    const adopted = ok(cli([...base, '--groups', 'new', '--var', 'extra=2', '--adopt'], { env }));
    const g = (adopted['guests'] as { uuid: string; adopted: boolean; volume: string }[])[0]!;
    assert.deepEqual([g.uuid, g.adopted, g.volume], [uuid, true, 'ec2inv-tadopt.qcow2']);
    assert.equal(execFileSync('virsh', ['-q', '-c', URI, 'domstate', 'ec2inv-tadopt'], { encoding: 'utf8' }).trim(), 'running');
    assert.deepEqual(domains().filter((d) => d.startsWith('ec2inv-t')), ['ec2inv-tadopt']);
    const [entry] = JSON.parse(cli(['list'], { env }).stdout) as { name: string; groups: string[]; hostvars: Record<string, unknown> }[];
    assert.deepEqual(entry!.groups, ['new']);
    // --var values live in the registry only, never in the domain XML: an unregistered domain's
    // earlier values are not there to adopt.
    assert.deepEqual([entry!.hostvars['kept'], entry!.hostvars['extra'], entry!.hostvars['kvm_uuid'], entry!.hostvars['kvm_volume']], [undefined, '2', uuid, 'ec2inv-tadopt.qcow2']);
    ok(cli(['destroy', 'kvm', '--uri', URI, '--name', 'ec2inv-tadopt'], { env }));
    nothingLeft(logs);
  });

  it('libvirt_uris: domains appear on a refresh, registered or not, with state and metadata groups; a cached --list calls no virsh', async (t) => {
    if (!ready(t)) return;
    const lvIni = writeIni(dir, 'lv', { regions: 'us-east-1', rds: 'False', route53: 'False', libvirt_uris: URI });
    const inventory = (args: string[], extra: NodeJS.ProcessEnv = {}) => run(inventoryBin, args, awsEnv(moto!.endpoint, { EC2_INI_PATH: lvIni, ...extra }));
    ok(cli(['launch', 'kvm', '--uri', URI, '--pool', POOL, '--volume', 'serve.qcow2', '--name', 'ec2inv-tlv', '--groups', 'lvgroup', '--var', 'x=1', '--no-register', '--wait', '0'], { env }));
    const r = await inventory(['--list', '--refresh-cache']);
    assert.equal(r.code, 0, r.stderr);
    const list = JSON.parse(r.stdout) as Record<string, string[]> & { _meta: { hostvars: Record<string, Record<string, unknown>> } };
    assert.deepEqual(list['lvgroup'], ['ec2inv-tlv']);
    assert.ok(list['libvirt']?.includes('ec2inv-tlv') && list['libvirt_running']?.includes('ec2inv-tlv'), r.stdout);
    const vars = list._meta.hostvars['ec2inv-tlv']!;
    // Not registered: the --var value is nowhere, since it is kept out of the XML any local user can read.
    assert.deepEqual([vars['kvm_state'], vars['x'], vars['kvm_volume'], vars['kvm_uri']], ['running', undefined, 'ec2inv-tlv.qcow2', URI]);
    assert.doesNotMatch(execFileSync('virsh', ['-q', '-c', URI, '-r', 'dumpxml', 'ec2inv-tlv'], { encoding: 'utf8' }), /<var /);
    const host = await inventory(['--host', 'ec2inv-tlv']);
    assert.equal(JSON.parse(host.stdout).kvm_domain, 'ec2inv-tlv');
    // A virsh that fails if called: the cached answer must not need it.
    const bin = path.join(dir, 'novirsh');
    fs.mkdirSync(bin, { recursive: true });
    fs.writeFileSync(path.join(bin, 'virsh'), '#!/bin/sh\necho "virsh called on a cached --list" >&2\nexit 97\n', { mode: 0o755 });
    const cached = await inventory(['--list'], { PATH: `${bin}:${process.env['PATH']}` });
    assert.equal(cached.code, 0, cached.stderr);
    assert.equal(cached.stdout, r.stdout);
    const failing = await inventory(['--list', '--refresh-cache'], { PATH: `${bin}:${process.env['PATH']}` });
    assert.notEqual(failing.code, 0);
    assert.match(failing.stderr, /libvirt_uris: cannot list the domains of qemu:\/\/\/system/);
    // Not registered, but its metadata says it is ours.
    ok(cli(['destroy', 'kvm', '--uri', URI, '--name', 'ec2inv-tlv'], { env }));
    const after = JSON.parse((await inventory(['--list', '--refresh-cache'])).stdout) as Record<string, unknown>;
    assert.equal(after['lvgroup'], undefined);
  });

  it('a planted kvm_volume or kvm_seed_volume cannot make destroy delete the base image; register refuses launch-owned variables', async (t) => {
    if (!ready(t)) return;
    const before = volumes(POOL);
    assert.ok(before.includes('serve.qcow2'), before.join(' '));
    const kernel = before.find((v) => v !== 'serve.qcow2' && !v.startsWith('ec2inv-t'))!;
    // register by hand refuses the variables and sources a launch owns
    for (const args of [['--var', 'kvm_volume=serve.qcow2'], ['--var', 'ec2_id=i-0123'], ['--source', 'kvm']]) {
      const r = cli(['register', '--name', 'ec2inv-tplant', '--groups', 'x', ...args], { env });
      assert.equal(r.status, 1, r.stderr);
      assert.match(r.stderr, /^ec2-provision: error: --(var|source): '(kvm_volume|ec2_id|kvm)'.*(register cannot set them|register by hand)/);
    }
    assert.deepEqual(JSON.parse(cli(['list'], { env }).stdout), [], 'nothing registered');
    // an entry planted another way (an older registry, the library): destroy refuses its volume
    const { openRegistry } = await import('../../lib/store/registry.js');
    const { readSettings } = await import('../../lib/settings/read.js');
    const registry = await openRegistry(readSettings(ini));
    try {
      await registry.register({ name: 'ec2inv-tplant', groups: ['x'], source: 'kvm', registeredAt: 0, hostvars: { kvm_uri: URI, kvm_pool: POOL, kvm_volume: 'serve.qcow2' } });
      await registry.register({ name: 'ec2inv-tplant2', groups: ['x'], source: 'kvm', registeredAt: 0, hostvars: { kvm_uri: URI, kvm_pool: POOL, kvm_volume: kernel } });
      await registry.register({ name: 'ec2inv-tplant3', groups: ['x'], source: 'kvm', registeredAt: 0, hostvars: { kvm_uri: URI, kvm_pool: POOL, kvm_seed_volume: 'serve.qcow2' } });
    } finally {
      await registry.close();
    }
    failed(cli(['destroy', 'kvm', '--uri', URI, '--name', 'ec2inv-tplant'], { env }), /^ec2-provision: error: refusing to delete ec2inv-test\/serve\.qcow2 for 'ec2inv-tplant': it is not an overlay \(it has no backing file\), so no launch made it; nothing was changed/);
    failed(cli(['destroy', 'kvm', '--uri', URI, '--name', 'ec2inv-tplant2'], { env }), new RegExp(`refusing to delete ec2inv-test/${kernel.replace('.', '\\.')} for 'ec2inv-tplant2'`));
    failed(cli(['destroy', 'kvm', '--uri', URI, '--name', 'ec2inv-tplant3'], { env }), /^ec2-provision: error: refusing to destroy 'ec2inv-tplant3': its seed volume is recorded as 'serve\.qcow2', not 'ec2inv-tplant3-cidata\.iso'/);
    assert.deepEqual(volumes(POOL), before, 'no volume deleted');
    const listed = (JSON.parse(cli(['list'], { env }).stdout) as { name: string }[]).map((h) => h.name);
    assert.deepEqual(listed, ['ec2inv-tplant', 'ec2inv-tplant2', 'ec2inv-tplant3'], 'the refused entries stay, for a person to look at');
    for (const name of listed) ok(cli(['deregister', '--name', name], { env }));
  });
});
