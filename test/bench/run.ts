// npm run bench: performance figures as ratios against baselines measured in the same run.
//   1. cached --list at 1k/10k/100k hosts vs the floor (node -e 0 plus cat of the cache file) and
//      vs the reference ec2.py's cached --list;
//   2. cold refresh of 16 regions through a proxy adding 100 ms per request, vs the reference and
//      vs the floor (the same requests replayed at once by a bare node process);
//   3. building a 100,000-instance inventory from in-process SDK answers: peak RSS and CPU time,
//      and a CPU floor (the SDK answers generated, and V8's JSON.stringify of the finished inventory).
//   4. push ec2 of a 2 GiB sparse image (64 MiB of data) to moto through a proxy adding 20 ms per
//      request: throughput and blocks skipped, 32 blocks in flight vs one at a time.
//   5. (`guest`, root and libvirtd only) a Debian root → SSH-ready, registered guest: seconds per
//      stage through the CLI (KVM where /dev/kvm works, TCG otherwise), with the sizes of root,
//      template and image. EC2INV_DEBIAN_ROOT=FILE reuses a root tarball instead of building one.
// Prints a Markdown table (the README keeps the latest one). No assertions: this measures.
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync, utimesSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { EC2Client, RunInstancesCommand, DescribeImagesCommand, CreateTagsCommand } from '@aws-sdk/client-ec2';
import { buildInventory } from '../../lib/ec2py/rules.js';
import { json_format_dict } from '../../lib/ec2py/format.js';
import { readSettings, type Settings } from '../../lib/settings/read.js';
import { cacheDigest } from '../../lib/store/digest.js';
import { readKeyOf } from '../../lib/settings/readKey.js';
import { openFileCache } from '../../lib/store/open.js';
import { startMoto } from '../support/moto.js';
import { startProxy, type RecordedRequest } from '../support/proxy.js';
import { clientConfig } from '../support/scenario.js';
import { inventoryBin, sharedDir } from '../support/paths.js';
import { referenceScript, tempDir, writeIni } from '../support/run.js';
import { syntheticRecords } from './synthetic.js';

// The SDK's Node 20 notice (from the seeding clients here and from big.js) is not a figure.
process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] ??= 'true';
const rows: string[][] = [];
const benchDir = path.dirname(fileURLToPath(import.meta.url));
const dir = tempDir('ec2inv-bench-');
const env = {
  PATH: process.env['PATH'], HOME: process.env['HOME'], AWS_ACCESS_KEY_ID: 'bench', AWS_SECRET_ACCESS_KEY: 'bench',
  AWS_EC2_METADATA_DISABLED: 'true',
};
const referenceAvailable = existsSync(referenceScript) && (() => {
  try { execFileSync('/usr/bin/python3', ['-c', 'import boto'], { stdio: 'ignore' }); return true; } catch { return false; }
})();

function timeOnce(file: string, args: string[], runEnv: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    execFile(file, args, { env: runEnv, maxBuffer: 2 * 1024 * 1024 * 1024, encoding: 'buffer' }, (err) => {
      if (err) reject(err);
      else resolve(Number(process.hrtime.bigint() - t0) / 1e6);
    });
  });
}

async function median(times: number, file: string, args: string[], runEnv: NodeJS.ProcessEnv): Promise<number> {
  await timeOnce(file, args, runEnv); // warm the page cache and the module cache
  const samples: number[] = [];
  for (let i = 0; i < times; i++) samples.push(await timeOnce(file, args, runEnv));
  samples.sort((a, b) => a - b);
  return samples[Math.floor(samples.length / 2)] as number;
}

/**
 * Medians of several commands sampled in turn: on a shared machine the load drifts during a run,
 * and a port measured minutes after its floor would be compared with another machine's floor.
 */
async function interleavedMedians(times: number, commands: [string, string[], NodeJS.ProcessEnv][]): Promise<number[]> {
  for (const [file, args, runEnv] of commands) await timeOnce(file, args, runEnv); // warm the caches
  const samples: number[][] = commands.map(() => []);
  for (let i = 0; i < times; i++) {
    for (const [c, [file, args, runEnv]] of commands.entries()) samples[c]?.push(await timeOnce(file, args, runEnv));
  }
  return samples.map((s) => s.sort((a, b) => a - b)[Math.floor(s.length / 2)] as number);
}

const ms = (x: number) => `${Math.round(x)} ms`;
const ratio = (x: number) => `${x.toFixed(2)}x`;

/**
 * The texts only: the inventory's objects (hundreds of MB at 100,000 hosts) become garbage before
 * the timing starts, instead of making every collection of this process slower while it reads
 * the children's output.
 */
function inventoryTexts(hosts: number, settings: Settings): { text: string; indexText: string } {
  const { inventory, index } = buildInventory(syntheticRecords(hosts, 'us-east-1'), settings);
  return { text: json_format_dict(inventory), indexText: json_format_dict(index) };
}

async function cachedList(hosts: number, repeats: number): Promise<void> {
  const ini = writeIni(dir, `cached-${hosts}`, { regions: 'us-east-1', route53: 'False', cache_max_age: '86400' });
  const refIni = writeIni(dir, `ref-cached-${hosts}`, { regions: 'us-east-1', route53: 'False', cache_max_age: '86400' });
  const runEnv = { ...env, EC2_INI_PATH: ini };
  const settings: Settings = readSettings(ini, runEnv);
  const { text, indexText } = inventoryTexts(hosts, settings);
  // As a refresh leaves it, read key included (without it every run would take the full path).
  await openFileCache(settings.cachePath).set(cacheDigest(settings, runEnv), {
    inventory: text, index: indexText, writtenAt: Date.now(), readKey: readKeyOf(settings, runEnv),
  });
  const traced = await new Promise<string>((resolve, reject) => {
    execFile(inventoryBin, ['--list'], { env: { ...runEnv, EC2_INVENTORY_TRACE: '1' }, maxBuffer: 2 * 1024 * 1024 * 1024 }, (err, _out, stderr) => (err ? reject(err) : resolve(stderr)));
  });
  if (!traced.includes('fast path')) throw new Error(`the cached --list did not take the fast path: ${traced}`);
  const cacheFile = path.join(settings.cachePath, 'ansible-ec2.cache');
  const [nodeFloor, catFloor, port] = await interleavedMedians(repeats, [
    [process.execPath, ['-e', '0'], env], ['cat', [cacheFile], env], [inventoryBin, ['--list'], runEnv],
  ]) as [number, number, number];
  const floor = nodeFloor + catFloor;
  let reference: number | undefined;
  if (referenceAvailable) {
    const refDir = path.join(dir, `ref-cached-${hosts}-cache`);
    mkdirSync(refDir, { recursive: true });
    writeFileSync(path.join(refDir, 'ansible-ec2.cache'), text);
    writeFileSync(path.join(refDir, 'ansible-ec2.index'), indexText);
    const now = new Date();
    utimesSync(path.join(refDir, 'ansible-ec2.cache'), now, now);
    reference = await median(repeats, referenceScript, ['http://127.0.0.1:1', refIni, '--list'], env);
  }
  const size = statSync(cacheFile).size / 1024 / 1024;
  rows.push([
    `cached --list, ${hosts.toLocaleString('en')} hosts (${size.toFixed(1)} MB)`,
    `port ${ms(port)}; floor ${ms(floor)} (node ${ms(nodeFloor)} + cat ${ms(catFloor)})${reference ? `; reference ${ms(reference)}` : ''}`,
    `${ratio(port / floor)} of floor${reference ? `; ${ratio(reference / port)} faster than reference` : ''}`,
    'within 1.25x of floor; at least 1.3x faster than reference',
  ]);
}

async function coldRefresh(): Promise<void> {
  // The sixteen regions boto 2.49 (the reference) knows, so that both sides walk the same list.
  const regions = [
    'us-east-1', 'us-east-2', 'us-west-1', 'us-west-2', 'ca-central-1', 'eu-west-1', 'eu-west-2', 'eu-central-1',
    'ap-south-1', 'ap-northeast-1', 'ap-northeast-2', 'ap-southeast-1', 'ap-southeast-2', 'sa-east-1', 'cn-north-1', 'us-gov-west-1',
  ];
  const moto = await startMoto();
  try {
    for (const region of regions) {
      const ec2 = new EC2Client(clientConfig(moto.endpoint, region));
      const image = (await ec2.send(new DescribeImagesCommand({}))).Images?.[0]?.ImageId;
      const out = await ec2.send(new RunInstancesCommand({ ImageId: image, MinCount: 3, MaxCount: 3 }));
      const ids = (out.Instances ?? []).map((i) => i.InstanceId as string);
      await ec2.send(new CreateTagsCommand({ Resources: ids, Tags: [{ Key: 'Role', Value: 'web' }] }));
    }
    const proxy = await startProxy(moto.endpoint, 100);
    try {
      const overrides = { regions: regions.join(','), route53: 'False', cache_max_age: '0' };
      const ini = writeIni(dir, 'cold', overrides);
      const portEnv = { ...env, EC2_INI_PATH: ini, AWS_ENDPOINT_URL: proxy.url };
      const port = await median(3, inventoryBin, ['--refresh-cache'], portEnv);
      // The floor: the same requests, recorded from one more refresh, replayed at once by a node
      // process that does nothing else. No client of this moto behind this proxy finishes sooner.
      const recorded: RecordedRequest[] = [];
      proxy.recorded = recorded;
      await timeOnce(inventoryBin, ['--refresh-cache'], portEnv);
      proxy.recorded = undefined;
      const requestsFile = path.join(dir, 'cold-requests.json');
      writeFileSync(requestsFile, JSON.stringify(recorded));
      const floor = await median(3, process.execPath, [path.join(benchDir, 'replay.js'), requestsFile, proxy.url], env);
      let reference: number | undefined;
      if (referenceAvailable) {
        reference = await median(3, referenceScript, [proxy.url, writeIni(dir, 'ref-cold', overrides), '--refresh-cache'], env);
      }
      rows.push([
        'cold refresh, 16 regions, EC2 + RDS, 100 ms per request',
        `port ${ms(port)}; floor ${ms(floor)} (its ${recorded.length} requests replayed at once by a bare node process)${reference ? `; reference ${ms(reference)}` : ''}`,
        reference
          ? `${ratio(reference / port)} faster than reference (${ratio(port / floor)} of floor; the floor itself is ${ratio(reference / floor)} faster than reference)`
          : `${ratio(port / floor)} of floor; reference unavailable`,
        'at least 8x faster',
      ]);
    } finally {
      await proxy.close();
    }
  } finally {
    await moto.stop();
  }
}

async function bigBuild(): Promise<void> {
  const script = path.join(benchDir, 'big.js');
  const out = execFileSync(process.execPath, [script], { env: { ...process.env, AWS_ACCESS_KEY_ID: 'x', AWS_SECRET_ACCESS_KEY: 'y' } }).toString();
  const m = JSON.parse(out) as { instances: number; cpuMs: number; wallMs: number; maxRssMb: number; bytes: number };
  const floorOut = execFileSync(process.execPath, [path.join(benchDir, 'bigFloor.js')], { env: process.env, maxBuffer: 1024 * 1024 }).toString();
  const f = JSON.parse(floorOut) as { generateMs: number; stringifyMs: number; writeMs: number };
  const floorMs = f.generateMs + f.stringifyMs + f.writeMs;
  const s = (x: number) => `${(x / 1000).toFixed(2)} s`;
  rows.push([
    `refresh of ${m.instances.toLocaleString('en')} instances (SDK answers in process)`,
    `CPU ${s(m.cpuMs)} (wall ${s(m.wallMs)}); peak RSS ${Math.round(m.maxRssMb)} MB; ${Math.round(m.bytes / 1024 / 1024)} MB of JSON; `
      + `CPU floor ${s(floorMs)} (no rules: generating the SDK answers ${s(f.generateMs)} + V8's JSON.stringify of the finished inventory ${s(f.stringifyMs)} + writing it ${s(f.writeMs)})`,
    `CPU ${ratio(m.cpuMs / floorMs)} of floor (the 3 s target is ${ratio(3000 / floorMs)} of it); RSS ${ratio(400 / m.maxRssMb)} under the target`,
    'build under 3 s of CPU; peak RSS at most 400 MB',
  ]);
}

async function pushBench(): Promise<void> {
  const { pushEc2, scanDisk } = await import('../../lib/provision/ec2/push.js');
  const { sparseDisk } = await import('../provision/support/ec2.js');
  const { EBSClient } = await import('@aws-sdk/client-ebs');
  const MiB = 1024 * 1024;
  const disk = path.join(dir, 'push.raw');
  sparseDisk(disk, 2048 * MiB, Array.from({ length: 8 }, (_, i) => ({ offset: i * 256 * MiB, length: 8 * MiB })));
  const moto = await startMoto();
  const proxy = await startProxy(moto.endpoint, 20);
  try {
    const clients = (max: number) => ({
      ec2: new EC2Client(clientConfig(moto.endpoint, 'us-east-1')),
      ebs: new EBSClient({ ...clientConfig(proxy.url, 'us-east-1'), maxAttempts: max }),
    });
    const once = async (concurrency: number, name: string) => {
      const t0 = Date.now();
      const r = await pushEc2({ region: 'us-east-1', image: disk, name, concurrency, clients: clients(8), pollMs: 100 });
      return { r, ms: Date.now() - t0 };
    };
    await scanDisk(disk); // page cache warm for every run
    const s0 = Date.now();
    await scanDisk(disk);
    const scanMs = Date.now() - s0;
    const par = await once(32, 'bench-par');
    const seq = await once(1, 'bench-seq');
    const mibs = (bytes: number, t: number) => (bytes / MiB / (t / 1000)).toFixed(1);
    rows.push([
      'push ec2, 2 GiB sparse image (64 MiB data), 20 ms per request',
      `${par.r.blocksSent} blocks sent, ${par.r.blocksTotal - par.r.blocksSent} skipped (${Math.round(par.r.bytesSkipped / MiB)} MiB); whole push ${ms(par.ms)} of which scanning the 2 GiB ${ms(scanMs)}; upload ${mibs(par.r.blocksSent * 512 * 1024, par.ms - scanMs)} MiB/s at 32 in flight, ${mibs(seq.r.blocksSent * 512 * 1024, seq.ms - scanMs)} MiB/s one at a time`,
      `upload ${ratio((seq.ms - scanMs) / (par.ms - scanMs))} faster than one at a time (moto, one Python process, is the limit)`,
      'only non-zero blocks sent',
    ]);
  } finally {
    await proxy.close();
    await moto.stop();
  }
}

async function guestBench(): Promise<void> {
  const fs = await import('node:fs');
  const { startLibvirt, removePool, URI } = await import('../provision/support/libvirt.js');
  const provisionBin = path.join(path.dirname(inventoryBin), 'provision');
  const skipped: string[] = [];
  const fake = { skip: (why: string) => skipped.push(why), diagnostic: () => {} } as unknown as import('node:test').TestContext;
  const lv = startLibvirt(fake);
  if (!lv) {
    rows.push(['Debian root → SSH-ready guest', `not measured: ${skipped[0] ?? 'no libvirt'}`, '', '']);
    return;
  }
  const POOL = 'ec2inv-bench';
  const gdir = path.join(dir, 'guest');
  mkdirSync(gdir, { recursive: true });
  fs.chmodSync(dir, 0o711);
  fs.chmodSync(gdir, 0o711);
  const ini = writeIni(gdir, 'guest', { regions: 'us-east-1', rds: 'False', route53: 'False' });
  const penv = { ...process.env, EC2_INI_PATH: ini };
  const step = (args: string[]) => {
    const t0 = Date.now();
    execFileSync(process.execPath, [provisionBin, ...args], { env: penv, stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 1 << 26 });
    return Date.now() - t0;
  };
  removePool(POOL);
  try {
    const cached = process.env['EC2INV_DEBIAN_ROOT'];
    const root = cached && existsSync(cached) ? cached : path.join(gdir, 'root.tar');
    const rootMs = root === cached ? undefined : step(['rootfs', 'build', '--suite', 'bookworm', '--out', root]);
    const templateMs = step(['template', 'build', '--from', root, '--name', 'bench-debian', '--out', gdir]);
    const image = path.join(gdir, 'bench.qcow2');
    const imageMs = step(['image', 'build', '--from', path.join(gdir, 'bench-debian.tar.gz'), '--boot-loader', 'grub', '--size', '2G', '--out', image]);
    const pushMs = step(['push', 'kvm', '--uri', URI, '--pool', POOL, '--create-pool', path.join(gdir, 'pool'), '--image', image]);
    const key = path.join(gdir, 'key');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key]);
    const launchMs = step(['launch', 'kvm', '--uri', URI, '--pool', POOL, '--volume', 'bench.qcow2', '--name', 'ec2inv-bench-guest', '--groups', 'bench',
      '--memory', '768M', '--ssh-key', `${key}.pub`, '--restrict', '--wait', '900']);
    const domType = execFileSync('virsh', ['-c', URI, 'dumpxml', 'ec2inv-bench-guest'], { encoding: 'utf8' }).match(/<domain type='(\w+)'/)?.[1] ?? '?';
    step(['destroy', 'kvm', '--uri', URI, '--name', 'ec2inv-bench-guest']);
    const MB = 1e6;
    const total = (rootMs ?? 0) + templateMs + imageMs + pushMs + launchMs;
    rows.push([
      `Debian bookworm root → SSH-ready, registered guest (${domType === 'kvm' ? 'KVM' : 'TCG'})`,
      `${rootMs === undefined ? 'root cached' : `rootfs build ${ms(rootMs)}`}, template ${ms(templateMs)}, image ${ms(imageMs)}, push ${ms(pushMs)}, launch → SSH banner ${ms(launchMs)}; ` +
        `root ${Math.round(statSync(root).size / MB)} MB, template ${Math.round(statSync(path.join(gdir, 'bench-debian.tar.gz')).size / MB)} MB, image ${Math.round(statSync(image).size / MB)} MB (qcow2)`,
      `boot to SSH is ${Math.round((100 * launchMs) / total)}% of the whole ${(total / 1000).toFixed(0)} s`,
      'no target: measured',
    ]);
  } finally {
    try { execFileSync(process.execPath, [provisionBin, 'destroy', 'kvm', '--uri', URI, '--name', 'ec2inv-bench-guest', '--force'], { env: penv, stdio: 'ignore' }); } catch { /* gone */ }
    removePool(POOL);
    lv.stop();
  }
}

const which = process.argv.slice(2);
const want = (name: string) => which.length === 0 || which.includes(name);
if (want('cached')) {
  await cachedList(1_000, 15);
  await cachedList(10_000, 9);
  await cachedList(100_000, 3);
}
if (want('cold')) await coldRefresh();
if (want('big')) await bigBuild();
if (want('push')) await pushBench();
if (want('guest')) await guestBench();

const header = ['case', 'measured', 'ratio', 'target'];
const lines = [header, header.map(() => '---'), ...rows].map((r) => `| ${r.join(' | ')} |`);
process.stdout.write(`Benchmark on ${new Date().toISOString().slice(0, 10)}, node ${process.version}, ${(await import('node:os')).cpus().length} cores${referenceAvailable ? '' : ' (reference ec2.py unavailable: python3-boto missing)'}\n\n${lines.join('\n')}\n`);
void sharedDir;
