// npm run bench: performance figures as ratios against baselines measured in the same run.
//   1. cached --list at 1k/10k/100k hosts vs the floor (node -e 0 plus cat of the cache file) and
//      vs the reference ec2.py's cached --list;
//   2. cold refresh of 16 regions (EC2 + RDS + Route53) on a server answering like AWS (moto's
//      answers recorded once, replayed concurrently 100 ms after each request: replayServer.ts),
//      vs the floor (the port's requests sent at once by a bare node process), the reference and
//      amazon.aws's aws_ec2 through ansible-inventory; each start-up lever of bin/ec2-inventory (code
//      cache, tier-up flag) left out in turn, and a first run that writes the code cache; and the
//      same against moto itself (moto-bound);
//   2b. (`accounts`) the same cold refresh of 3 accounts × 14 regions ([account NAME] sections,
//      assumed roles) against one account, and aws_ec2 run as a folder of one config per account;
//   3. building a 100,000-instance inventory from in-process SDK answers: peak RSS, and CPU per
//      1,000 instances against a CPU floor (the SDK answers generated, and V8's JSON.stringify of
//      the finished inventory); with the bins' V8 flags and without.
//   4. push ec2 of a 2 GiB sparse image (64 MiB of data) to moto through a proxy adding 20 ms per
//      request: throughput and blocks skipped, 32 blocks in flight vs one at a time.
//   5. template build (gzip, zstd; xz with `xz`) vs tar of the same tree with the same compressor,
//      and image build vs mkfs.ext4 -d plus qemu-img convert run by hand.
//   6. (`targets`) template build --format proxmox, incus-split, oci and oci-tar vs tar -I zstd,
//      mksquashfs, umoci and skopeo on the same tree.
//   7. (`guest`, root and libvirtd only) a Debian root → SSH-ready, registered guest: seconds per
//      stage through the CLI (KVM where /dev/kvm works, TCG otherwise), with the sizes of root,
//      template and image. EC2INV_DEBIAN_ROOT=FILE reuses a root tarball instead of building one.
//   8. (`faults` only) the long sweeps of the fault suite (test/bench/faults.ts): how many trials held.
//   9. (`help`) --help of both commands against node's own start.
// Prints a Markdown table (docs/benchmark.md keeps the latest one). No assertions: this measures.
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync, utimesSync, statSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { EC2Client } from '@aws-sdk/client-ec2';
import { STSClient, AssumeRoleCommand } from '@aws-sdk/client-sts';
import { buildInventory } from '../../lib/ec2py/rules.js';
import { json_format_dict } from '../../lib/ec2py/format.js';
import { readSettings, type Settings } from '../../lib/settings/read.js';
import { cacheDigest } from '../../lib/store/digest.js';
import { readKeyOf } from '../../lib/settings/readKey.js';
import { openFileCache } from '../../lib/store/open.js';
import { openRegistry } from '../../lib/store/registry.js';
import { startMoto } from '../support/moto.js';
import { startProxy, type RecordedRequest } from '../support/proxy.js';
import { clientConfig } from '../support/scenario.js';
import { inventoryBin, repoRoot, sharedDir } from '../support/paths.js';
import { referenceScript, tempDir, writeIni } from '../support/run.js';
import { syntheticRecords } from './synthetic.js';
import { benchRegions, buildBenchState } from './awsScenario.js';
import { recordAnswers, startReplay } from './replayServer.js';
import { shortRunFlags } from '../../lib/cli/v8flags.js';

// The SDK's Node 20 notice (from the seeding clients here and from big.js) is not a figure.
process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] ??= 'true';
const rows: string[][] = [];
/** Also to stderr as soon as it is measured: a part that fails later loses nothing. */
function addRow(row: string[]): void {
  process.stderr.write(`| ${row.join(' | ')} |\n`);
  rows.push(row);
}const benchDir = path.dirname(fileURLToPath(import.meta.url));
const provisionBin = path.join(repoRoot, 'bin', 'provision');
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

async function cachedList(hosts: number, repeats: number, registered = 0): Promise<void> {
  const name = `${hosts}-${registered}`;
  const ini = writeIni(dir, `cached-${name}`, { regions: 'us-east-1', route53: 'False', cache_max_age: '86400' });
  const refIni = writeIni(dir, `ref-cached-${name}`, { regions: 'us-east-1', route53: 'False', cache_max_age: '86400' });
  const runEnv = { ...env, EC2_INI_PATH: ini };
  const settings: Settings = readSettings(ini, runEnv);
  const { text, indexText } = inventoryTexts(hosts, settings);
  // As a refresh leaves it, read key included (without it every run would take the full path).
  await openFileCache(settings.cachePath).set(cacheDigest(settings, runEnv), {
    inventory: text, index: indexText, writtenAt: Date.now(), readKey: readKeyOf(settings, runEnv),
  });
  if (registered > 0) {
    // Hosts launched outside EC2, as provision launch registers them; the first --list (the full
    // path) merges them and keeps the merged output for the runs measured.
    const registry = await openRegistry(settings);
    try {
      for (let i = 0; i < registered; i++) {
        await registry.register({ name: `kvm-${i}`, groups: ['kvm', `role_${i % 3}`], source: 'kvm', registeredAt: Date.now(), hostvars: { ansible_host: `10.9.0.${i}` } });
      }
    } finally {
      await registry.close();
    }
    await timeOnce(inventoryBin, ['--list'], runEnv);
  }
  const traced = await new Promise<string>((resolve, reject) => {
    execFile(inventoryBin, ['--list'], { env: { ...runEnv, EC2_INVENTORY_TRACE: '1' }, maxBuffer: 2 * 1024 * 1024 * 1024 }, (err, _out, stderr) => (err ? reject(err) : resolve(stderr)));
  });
  if (!traced.includes('fast path')) throw new Error(`the cached --list did not take the fast path: ${traced}`);
  // The floor copies what the port copies: the merged output when hosts are registered.
  const cacheFile = path.join(settings.cachePath, registered > 0 ? 'ansible-ec2.merged' : 'ansible-ec2.cache');
  const [nodeFloor, catFloor, port] = await interleavedMedians(repeats, [
    [process.execPath, ['-e', '0'], env], ['cat', [cacheFile], env], [inventoryBin, ['--list'], runEnv],
  ]) as [number, number, number];
  const floor = nodeFloor + catFloor;
  let reference: number | undefined;
  if (referenceAvailable && registered === 0) {
    const refDir = path.join(dir, `ref-cached-${name}-cache`);
    mkdirSync(refDir, { recursive: true });
    writeFileSync(path.join(refDir, 'ansible-ec2.cache'), text);
    writeFileSync(path.join(refDir, 'ansible-ec2.index'), indexText);
    const now = new Date();
    utimesSync(path.join(refDir, 'ansible-ec2.cache'), now, now);
    reference = await median(repeats, referenceScript, ['http://127.0.0.1:1', refIni, '--list'], env);
  }
  const size = statSync(cacheFile).size / 1024 / 1024;
  addRow([
    `cached --list, ${hosts.toLocaleString('en')} hosts (${size.toFixed(1)} MB)${registered > 0 ? `, ${registered} registered hosts` : ''}`,
    `port ${ms(port)}; floor ${ms(floor)} (node ${ms(nodeFloor)} + cat ${ms(catFloor)})${reference ? `; reference ${ms(reference)}` : ''}`,
    `${ratio(port / floor)} of floor${reference ? `; ${ratio(reference / port)} faster than reference` : ''}`,
    registered > 0 ? 'within 1.25x of floor' : 'within 1.25x of floor; at least 1.3x faster than reference',
  ]);
}

const repeats = (n: number) => Number(process.env['BENCH_REPEATS'] ?? n);

/**
 * amazon.aws's aws_ec2 inventory plugin through ansible-inventory, when Debian's `ansible` is
 * installed: its botocore (1.29) ignores AWS_ENDPOINT_URL, so the plugin runs with a folder on
 * PYTHONPATH holding links to boto3, botocore and s3transfer of the Python that runs moto, plus
 * Debian's dateutil and jmespath. Returns that environment, or why the row cannot run.
 */
function awsEc2Env(): { env: NodeJS.ProcessEnv } | { missing: string } {
  const collection = '/usr/lib/python3/dist-packages/ansible_collections/amazon/aws/plugins/inventory/aws_ec2.py';
  if (!existsSync(collection)) return { missing: "amazon.aws not installed (apt-get install -y --no-install-recommends ansible)" };
  let site: string;
  try {
    site = execFileSync('python3', ['-c', 'import botocore, os; print(os.path.dirname(os.path.dirname(botocore.__file__)))']).toString().trim();
  } catch {
    return { missing: "the Python that runs moto has no botocore" };
  }
  const links = path.join(dir, 'aws_ec2-pythonpath');
  mkdirSync(links, { recursive: true });
  for (const [name, from] of [['boto3', site], ['botocore', site], ['s3transfer', site], ['dateutil', '/usr/lib/python3/dist-packages'], ['jmespath', '/usr/lib/python3/dist-packages']] as const) {
    if (!existsSync(path.join(from, name))) return { missing: `${path.join(from, name)} missing (python3-dateutil, python3-jmespath?)` };
    if (!existsSync(path.join(links, name))) symlinkSync(path.join(from, name), path.join(links, name));
  }
  return {
    env: {
      ...env, PYTHONPATH: links, ANSIBLE_INVENTORY_ENABLED: 'amazon.aws.aws_ec2', ANSIBLE_LOCAL_TEMP: path.join(dir, 'ansible-tmp'),
      ANSIBLE_NOCOLOR: '1', ANSIBLE_PYTHON_INTERPRETER: '/usr/bin/python3',
    },
  };
}

/** What each of bin/ec2-inventory's start-up levers is measured without (see leverCommands). */
const leverVariants = [
  ['without the code cache (EC2_INVENTORY_CODE_CACHE=off: the ES module bundle)', 'without the code cache'],
  ['without the tier-up flag (V8\'s default interrupt budget)', 'without the tier-up flag'],
  ['with neither (the ES module bundle, V8\'s default interrupt budget)', 'without either'],
  ['a first refresh after an install or upgrade: compiled from source, then the code cache written', 'first run, writing the code cache'],
] as const;

/**
 * The port as it runs (tier-up flag set, compiled from its warm code cache), and the same with each
 * lever switched, in leverVariants' order. Each variant has a code cache folder of its own: one
 * shared by runs with different V8 flags would be rebuilt at every turn.
 */
function leverCommands(portEnv: NodeJS.ProcessEnv): { port: [string, string[], NodeJS.ProcessEnv]; others: [string, string[], NodeJS.ProcessEnv][] } {
  const xdg = (name: string) => path.join(dir, `xdg-${name}`);
  // A budget given to node itself wins over the bin's: V8's default, stated.
  const defaultBudget = `--interrupt-budget=${execFileSync(process.execPath, ['--v8-options']).toString().match(/default: --interrupt-budget=(\d+)/)?.[1] ?? '67584'}`;
  const firstXdg = xdg('first');
  const off = { ...portEnv, EC2_INVENTORY_CODE_CACHE: 'off' };
  return {
    port: [inventoryBin, ['--refresh-cache'], { ...portEnv, XDG_CACHE_HOME: xdg('port') }],
    others: [
      [inventoryBin, ['--refresh-cache'], off],
      [process.execPath, [defaultBudget, inventoryBin, '--refresh-cache'], { ...portEnv, XDG_CACHE_HOME: xdg('no-tier-up') }],
      [process.execPath, [defaultBudget, inventoryBin, '--refresh-cache'], off],
      ['sh', ['-c', 'rm -rf "$1" && exec "$2" --refresh-cache', 'sh', firstXdg, inventoryBin], { ...portEnv, XDG_CACHE_HOME: firstXdg }],
    ],
  };
}

/** One row per lever: what the port costs without it, measured in the same turns as the port. */
function leverRows(port: number, without: number[], reference: number | undefined): void {
  for (const [i, [variant, lever]] of leverVariants.entries()) {
    const t = without[i] as number;
    addRow([
      `cold refresh as above, ${variant}`,
      `${ms(t)} against the port's ${ms(port)}${reference !== undefined ? `; reference ${ms(reference)}` : ''}`,
      `${lever}: ${ratio(t / port)} of the port (${t >= port ? '+' : ''}${ms(t - port)})${reference !== undefined ? `; ${ratio(reference / t)} faster than reference` : ''}`,
      'none: the levers\' contributions, from the same run',
    ]);
  }
}

/**
 * The cold refresh, measured on a server that answers like AWS (test/bench/replayServer.ts): every
 * answer one moto gave, 100 ms after each request however many are in flight. The answers are
 * recorded once from moto (one run of each client through the recording proxy); then the port,
 * its floor, the reference and aws_ec2 are sampled in turn. The same port and reference are also
 * measured against moto itself behind a proxy adding 100 ms per request: moto-bound, since moto
 * answers one request at a time.
 */
async function coldRefresh(): Promise<void> {
  const moto = await startMoto();
  try {
    const { hosts } = await buildBenchState(moto.endpoint);
    const proxy = await startProxy(moto.endpoint, 0);
    const answers = recordAnswers(proxy);
    try {
      const overrides = { regions: benchRegions.join(','), regions_exclude: '', route53: 'True', rds: 'True', cache_max_age: '0' };
      const ini = writeIni(dir, 'cold', overrides);
      const refIni = writeIni(dir, 'ref-cold', overrides);
      const portEnv = (url: string) => ({ ...env, EC2_INI_PATH: ini, AWS_ENDPOINT_URL: url });
      // Recorded: every client's requests once. The port's requests are also kept for the floor.
      const recorded: RecordedRequest[] = [];
      proxy.recorded = recorded;
      await timeOnce(inventoryBin, ['--refresh-cache'], portEnv(proxy.url));
      proxy.recorded = undefined;
      const requestsFile = path.join(dir, 'cold-requests.json');
      writeFileSync(requestsFile, JSON.stringify(recorded));
      if (referenceAvailable) await timeOnce(referenceScript, [proxy.url, refIni, '--refresh-cache'], env);
      const awsEc2 = awsEc2Env();
      const awsEc2Yml = path.join(dir, 'bench.aws_ec2.yml');
      writeFileSync(awsEc2Yml, [
        'plugin: amazon.aws.aws_ec2', `regions: [${benchRegions.join(', ')}]`,
        'keyed_groups:', '  - {key: tags.Role, prefix: tag_Role}', '  - {key: placement.region, prefix: region}', '',
      ].join('\n'));
      const awsEc2Run = (url: string): [string, string[], NodeJS.ProcessEnv] | undefined => ('env' in awsEc2
        ? ['ansible-inventory', ['-i', awsEc2Yml, '--list', '--output', path.join(dir, 'aws_ec2.json')], { ...awsEc2.env, AWS_ENDPOINT_URL: url }]
        : undefined);
      const awsEc2Live = awsEc2Run(proxy.url);
      if (awsEc2Live) {
        await timeOnce(...awsEc2Live);
        // ansible-inventory exits 0 with an empty inventory when a plugin fails: a fast nothing is no figure.
        const listed = Object.keys((JSON.parse(readFileSync(path.join(dir, 'aws_ec2.json'), 'utf8')) as { _meta: { hostvars: object } })._meta.hostvars).length;
        if (listed !== hosts) throw new Error(`aws_ec2 listed ${listed} hosts, not ${hosts}`);
      }
      proxy.answered = undefined;

      const replay = await startReplay(answers, 100);
      try {
        const levers = leverCommands(portEnv(replay.url));
        const commands: [string, string[], NodeJS.ProcessEnv][] = [
          levers.port,
          [process.execPath, [path.join(benchDir, 'replay.js'), requestsFile, replay.url], env],
          ...levers.others,
        ];
        if (referenceAvailable) commands.push([referenceScript, [replay.url, refIni, '--refresh-cache'], env]);
        const awsEc2Replay = awsEc2Run(replay.url);
        if (awsEc2Replay) commands.push(awsEc2Replay);
        const [port, floor, ...others] = await interleavedMedians(repeats(15), commands) as [number, number, ...number[]];
        const withoutLevers = others.splice(0, levers.others.length);
        const reference = referenceAvailable ? others.shift() : undefined;
        const peer = awsEc2Replay ? others.shift() : undefined;
        if (replay.misses.length > 0) throw new Error(`the replay server had no answer for ${replay.misses.length} requests, e.g. ${replay.misses[0]}`);
        const measured = [`port ${ms(port)}`, `floor ${ms(floor)} (its ${recorded.length} requests sent at once by a bare node process)`];
        const ratios = [`${ratio(port / floor)} of floor`];
        if (reference !== undefined) { measured.push(`reference ${ms(reference)}`); ratios.push(`${ratio(reference / port)} faster than reference`); }
        else ratios.push('reference unavailable (python3-boto missing)');
        if (peer !== undefined) { measured.push(`aws_ec2 ${ms(peer)} (EC2 only)`); ratios.push(`${ratio(peer / port)} faster than aws_ec2`); }
        else ratios.push(`aws_ec2 not measured: ${'missing' in awsEc2 ? awsEc2.missing : ''}`);
        addRow([
          `cold refresh, ${benchRegions.length} regions (${hosts} EC2 hosts), EC2 + RDS + Route53, AWS-like replay: 100 ms per request, all at once`,
          measured.join('; '), ratios.join('; '), 'at least 7.5x faster than reference, 20x than aws_ec2',
        ]);
        leverRows(port, withoutLevers, reference);
      } finally {
        await replay.close();
      }

      // moto-bound: the same clients against moto itself, 100 ms added to each request.
      proxy.delayMs = 100;
      const motoCommands: [string, string[], NodeJS.ProcessEnv][] = [[inventoryBin, ['--refresh-cache'], portEnv(proxy.url)]];
      if (referenceAvailable) motoCommands.push([referenceScript, [proxy.url, refIni, '--refresh-cache'], env]);
      const [port, reference] = await interleavedMedians(repeats(3), motoCommands) as [number, number | undefined];
      addRow([
        `cold refresh, moto-bound: the same state and clients against moto (one request at a time) plus 100 ms per request`,
        `port ${ms(port)}${reference !== undefined ? `; reference ${ms(reference)}` : ''}`,
        reference !== undefined ? `${ratio(reference / port)} faster than reference` : 'reference unavailable',
        'none (moto, not the client, sets the pace)',
      ]);
    } finally {
      await proxy.close();
    }
  } finally {
    await moto.stop();
  }
}

/**
 * Several accounts ([account NAME] sections) cost about what one does: 3 accounts × 14 regions
 * against one account × the same 14 regions, both on the AWS-like replay server, each account
 * read through its assumed role. The peer is what aws_ec2 users run today: one config per account
 * (iam_role_arn), the three run together as one folder inventory.
 */
async function coldAccounts(): Promise<void> {
  const moto = await startMoto();
  try {
    // The 14 commercial regions: an assumed role's credentials do not reach cn-* or us-gov-*.
    const regions = benchRegions.filter((r) => !r.startsWith('cn-') && !r.startsWith('us-gov-'));
    const ids = ['111111111111', '222222222222', '333333333333'];
    const role = (id: string) => `arn:aws:iam::${id}:role/bench-inventory`;
    const sts = new STSClient(clientConfig(moto.endpoint, 'us-east-1'));
    let hosts = 0;
    let oneAccountHosts = 0;
    for (const id of ids) {
      const c = (await sts.send(new AssumeRoleCommand({ RoleArn: role(id), RoleSessionName: 'bench-seed' }))).Credentials;
      const credentials = { accessKeyId: c?.AccessKeyId as string, secretAccessKey: c?.SecretAccessKey as string, sessionToken: c?.SessionToken as string };
      const built = await buildBenchState(moto.endpoint, 9, { credentials, regions, zone: `a${id.slice(0, 1)}.bench.example.com` });
      hosts += built.hosts;
      if (id === ids[0]) oneAccountHosts = built.hosts;
    }
    sts.destroy();
    const proxy = await startProxy(moto.endpoint, 0);
    const answers = recordAnswers(proxy);
    try {
      const overrides = { regions: regions.join(','), regions_exclude: '', route53: 'True', rds: 'True', cache_max_age: '0', group_by_aws_account: 'True' };
      const oneIni = writeIni(dir, 'accounts-one', { ...overrides, iam_role: role(ids[0] as string) });
      const threeIni = writeIni(dir, 'accounts-three', overrides);
      writeFileSync(threeIni, readFileSync(threeIni, 'utf8') + ids.map((id, i) => `\n[account a${i + 1}]\niam_role = ${role(id)}\n`).join(''));
      const portEnv = (ini: string, url: string) => ({ ...env, EC2_INI_PATH: ini, AWS_ENDPOINT_URL: url });
      const awsEc2 = awsEc2Env();
      const folder = path.join(dir, 'aws_ec2-accounts');
      mkdirSync(folder, { recursive: true });
      ids.forEach((id, i) => writeFileSync(path.join(folder, `a${i + 1}.aws_ec2.yml`), [
        'plugin: amazon.aws.aws_ec2', `regions: [${regions.join(', ')}]`, `iam_role_arn: ${role(id)}`,
        'keyed_groups:', '  - {key: tags.Role, prefix: tag_Role}', '  - {key: placement.region, prefix: region}', '',
      ].join('\n')));
      const output = path.join(dir, 'aws_ec2-accounts.json');
      const awsEc2Run = (url: string): [string, string[], NodeJS.ProcessEnv] | undefined => ('env' in awsEc2
        ? ['ansible-inventory', ['-i', folder, '--list', '--output', output], { ...awsEc2.env, AWS_ENDPOINT_URL: url }]
        : undefined);
      // Recorded: every client's requests once.
      for (const ini of [oneIni, threeIni]) {
        const listed = await listedHosts(inventoryBin, ['--list', '--refresh-cache'], portEnv(ini, proxy.url));
        const expected = ini === oneIni ? oneAccountHosts : hosts;
        if (listed < expected) throw new Error(`the port listed ${listed} EC2 hosts, not ${expected}`);
      }
      const live = awsEc2Run(proxy.url);
      let peerHosts: number | undefined;
      if (live) {
        await timeOnce(...live);
        peerHosts = Object.keys((JSON.parse(readFileSync(output, 'utf8')) as { _meta: { hostvars: object } })._meta.hostvars).length;
        if (peerHosts === 0) throw new Error('aws_ec2 listed no host');
      }
      proxy.answered = undefined;

      const replay = await startReplay(answers, 100);
      try {
        const commands: [string, string[], NodeJS.ProcessEnv][] = [
          [inventoryBin, ['--refresh-cache'], portEnv(oneIni, replay.url)],
          [inventoryBin, ['--refresh-cache'], portEnv(threeIni, replay.url)],
        ];
        const peerRun = awsEc2Run(replay.url);
        if (peerRun) commands.push(peerRun);
        const [one, three, peer] = await interleavedMedians(repeats(3), commands) as [number, number, number | undefined];
        if (replay.misses.length > 0) throw new Error(`the replay server had no answer for ${replay.misses.length} requests, e.g. ${replay.misses[0]}`);
        const measured = [`3 accounts ${ms(three)}`, `1 account ${ms(one)}`];
        const ratios = [`${ratio(three / one)} of one account`];
        if (peer !== undefined) {
          measured.push(`aws_ec2, a folder of 3 configs ${ms(peer)} (EC2 only; ${peerHosts} of ${hosts} hosts listed)`);
          ratios.push(`${ratio(peer / three)} faster than aws_ec2`);
        } else ratios.push(`aws_ec2 not measured: ${'missing' in awsEc2 ? awsEc2.missing : ''}`);
        addRow([
          `cold refresh, 3 accounts × ${regions.length} regions (${hosts} EC2 hosts), assumed roles, EC2 + RDS + Route53, AWS-like replay: 100 ms per request`,
          measured.join('; '), ratios.join('; '), 'within 1.3x of one account',
        ]);
      } finally {
        await replay.close();
      }
    } finally {
      await proxy.close();
    }
  } finally {
    await moto.stop();
  }
}

/** Runs the port and counts the EC2 hosts it printed. */
function listedHosts(file: string, args: string[], runEnv: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { env: runEnv, maxBuffer: 256 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`${path.basename(file)} failed: ${stderr.trim() || err.message}`));
      resolve(((JSON.parse(stdout) as Record<string, unknown>)['ec2'] as string[] | undefined)?.length ?? 0);
    });
  });
}

/**
 * The tree the template and image rows package: BENCH_ROOTFS (a folder, or a .tar of one), else
 * the Debian root tarball EC2INV_DEBIAN_ROOT names (as the guest rows and the end-to-end test take
 * it), else /work/cache/bookworm-root.tar when this machine has it (mmdebstrap --variant=minbase
 * bookworm), else a copy of some of this machine's /usr with an /sbin/init.
 */
function benchRootfs(): { root: string; label: string } {
  const cached = '/work/cache/bookworm-root.tar';
  const given = process.env['BENCH_ROOTFS'] ?? process.env['EC2INV_DEBIAN_ROOT'] ?? (existsSync(cached) ? cached : undefined);
  const root = path.join(dir, 'rootfs');
  mkdirSync(root, { recursive: true });
  if (given && statSync(given).isDirectory()) return { root: given, label: given };
  if (given) {
    execFileSync('tar', ['--numeric-owner', '-xpf', given, '-C', root]);
    return { root, label: path.basename(given) };
  }
  mkdirSync(path.join(root, 'sbin'));
  writeFileSync(path.join(root, 'sbin', 'init'), '#!/bin/sh\n', { mode: 0o755 });
  mkdirSync(path.join(root, 'etc'));
  writeFileSync(path.join(root, 'etc', 'os-release'), 'ID=debian\nVERSION_ID="12"\nVERSION_CODENAME=bookworm\n');
  // tar rather than cp -a --parents, which fails on some machines while copying the parents' attributes.
  const parts = ['usr/lib/x86_64-linux-gnu', 'usr/share/doc', 'usr/share/locale'].filter((d) => existsSync(`/${d}`));
  execFileSync('sh', ['-c', 'tar -C / -cf - "$@" | tar -C "$0" -xf -', root, ...parts]);
  return { root, label: 'parts of /usr' };
}

function treeSize(root: string): { mb: number; entries: number } {
  const out = execFileSync('du', ['-s', '--block-size=1M', '--apparent-size', root]).toString();
  const entries = Number(execFileSync('sh', ['-c', 'find "$1" | wc -l', 'sh', root]).toString().trim());
  return { mb: Number(out.split('\t')[0]), entries };
}

/**
 * template build against `tar --numeric-owner -c` of the same tree with the same compressor, and
 * image build against the tools it runs (mkfs.ext4 -d, qemu-img convert), sampled in turn.
 */
async function buildRows(withXz: boolean): Promise<void> {
  const { root, label } = benchRootfs();
  const { mb, entries } = treeSize(root);
  const out = path.join(dir, 'template-out');
  const build = (how: string): [string, string[], NodeJS.ProcessEnv] => [process.execPath,
    [provisionBin, 'template', 'build', '--rootfs', root, '--name', `bench-${how}`, '--out', out, '--force', '--compress', how], env];
  const tar = (how: string, flags: string[]): [string, string[], NodeJS.ProcessEnv] => ['tar',
    ['--numeric-owner', ...flags, '-cf', path.join(dir, `tar-${how}`), '-C', root, '.'], env];
  const pairs: [string, [string, string[], NodeJS.ProcessEnv], string, [string, string[], NodeJS.ProcessEnv]][] = [
    ['gzip', build('gzip'), 'tar --numeric-owner -czf', tar('gzip', ['-z'])],
    ['zstd', build('zstd'), "tar --numeric-owner -I 'zstd -T0' -cf", tar('zstd', ['-I', 'zstd -T0'])],
  ];
  if (withXz) pairs.push(['xz', build('xz'), "tar --numeric-owner -I 'xz -T0' -cf", tar('xz', ['-I', 'xz -T0'])]);
  mkdirSync(out, { recursive: true });
  for (const [how, ours, tarLine, theirs] of pairs) {
    const [port, floor] = await interleavedMedians(repeats(3), [ours, theirs]) as [number, number];
    const size = (f: string) => (statSync(f).size / 1024 / 1024).toFixed(1);
    addRow([
      `template build --compress ${how}, ${label} (${mb} MB, ${entries.toLocaleString('en')} entries)`,
      `port ${ms(port)} (${size(path.join(out, `bench-${how}${{ gzip: '.tar.gz', zstd: '.tar.zst', xz: '.tar.xz' }[how]}`))} MB); ${tarLine} ${ms(floor)} (${size(path.join(dir, `tar-${how}`))} MB)`,
      `${ratio(port / floor)} of tar`,
      how === 'gzip' ? 'within 1.2x of tar -czf' : 'within 1.2x of tar',
    ]);
  }
  // image build from the folder, against the two tools it runs on it, run by hand.
  const kernel = path.join(dir, 'vmlinuz');
  writeFileSync(kernel, 'not a kernel: image build only copies it');
  const image = path.join(dir, 'bench.qcow2');
  const raw = path.join(dir, 'tools.raw');
  const [port, floor] = await interleavedMedians(repeats(1), [
    [process.execPath, [provisionBin, 'image', 'build', '--from', root, '--kernel', kernel, '--out', image, '--size', '2G', '--force'], env],
    ['sh', ['-c', 'rm -f "$1" && truncate -s 2047M "$1" && mkfs.ext4 -q -F -T default -b 4096 -L root -d "$3" "$1" && qemu-img convert -q -f raw -O qcow2 "$1" "$2"',
      'sh', raw, path.join(dir, 'tools.qcow2'), root], env],
  ]) as [number, number];
  addRow([
    `image build --from the same folder, 2 GiB qcow2`,
    `port ${ms(port)}; the tools alone ${ms(floor)} (mkfs.ext4 -d of the folder as root, then qemu-img convert)`,
    `${ratio(port / floor)} of the tools`,
    'none set: the same tools, run by hand',
  ]);
}

/**
 * template build's other formats against what a user would run instead on the same tree: tar with
 * zstd for a Proxmox template, mksquashfs of the folder for a split Incus image, umoci (init, new,
 * insert) for an OCI layout, and umoci then skopeo copy to oci-archive: for the OCI tar.
 */
async function targetRows(): Promise<void> {
  const { root, label } = benchRootfs();
  const { mb, entries } = treeSize(root);
  const out = path.join(dir, 'targets-out');
  mkdirSync(out, { recursive: true });
  const arch = process.arch === 'arm64' ? 'arm64' : 'amd64';
  const ours = (format: string): [string, string[], NodeJS.ProcessEnv] => [process.execPath,
    [provisionBin, 'template', 'build', '--rootfs', root, '--format', format, '--name', 'bench', '--arch', arch, '--out', out, '--force'], env];
  const sh = (script: string, ...args: string[]): [string, string[], NodeJS.ProcessEnv] => ['sh', ['-c', script, 'sh', ...args], env];
  const umoci = 'rm -rf "$1" && umoci init --layout "$1" && umoci new --image "$1:t" && umoci insert --image "$1:t" "$2" / >/dev/null';
  const layout = path.join(dir, 'umoci-layout');
  const cases: [string, string, [string, string[], NodeJS.ProcessEnv], [string, string[], NodeJS.ProcessEnv]][] = [
    ['proxmox (tar.zst)', "tar --numeric-owner -I 'zstd -T0' -cf", ours('proxmox'), ['tar', ['--numeric-owner', '-I', 'zstd -T0', '-cf', path.join(dir, 'pve.tar.zst'), '-C', root, '.'], env]],
    ['incus-split (squashfs)', 'mksquashfs of the folder (-all-root)', ours('incus-split'), ['mksquashfs', [root, path.join(dir, 'root.squashfs'), '-noappend', '-quiet', '-no-progress', '-all-root'], env]],
    ['oci (layout folder)', 'umoci init + new + insert', ours('oci'), sh(umoci, layout, root)],
    ['oci-tar', 'umoci init + new + insert, then skopeo copy to oci-archive:', ours('oci-tar'),
      sh(`${umoci} && rm -f "$3" && skopeo copy -q "oci:$1:t" "oci-archive:$3"`, layout, root, path.join(dir, 'skopeo.oci.tar'))],
  ];
  for (const [what, theirsLine, mine, theirs] of cases) {
    const have = theirs[0] === 'sh' ? ['umoci', ...(what === 'oci-tar' ? ['skopeo'] : [])] : [theirs[0]];
    if (have.some((t) => { try { execFileSync('sh', ['-c', 'command -v "$1"', 'sh', t], { stdio: 'ignore' }); return false; } catch { return true; } })) {
      addRow([`template build --format ${what}`, `${have.join(', ')} missing: no baseline`, '-', '-']);
      continue;
    }
    const [port, floor] = await interleavedMedians(repeats(3), [mine, theirs]) as [number, number];
    addRow([
      `template build --format ${what}, ${label} (${mb} MB, ${entries.toLocaleString('en')} entries)`,
      `port ${ms(port)}; ${theirsLine} ${ms(floor)}`,
      `${ratio(port / floor)} of the tools`,
      'within 1.2x of the tools',
    ]);
  }
}

interface BigRun { instances: number; cpuMs: number; wallMs: number; maxRssMb: number; bytes: number }

/**
 * The 100,000-instance refresh as the bin runs it (with its V8 flags, lib/cli/v8flags.ts) and with
 * V8's defaults, in turn; the medians' run of each.
 */
function bigRuns(times: number): { tuned: BigRun; plain: BigRun } {
  const script = path.join(benchDir, 'big.js');
  const runEnv = { ...process.env, AWS_ACCESS_KEY_ID: 'x', AWS_SECRET_ACCESS_KEY: 'y' };
  const once = (flags: readonly string[]) => JSON.parse(execFileSync(process.execPath, [...flags, script], { env: runEnv }).toString()) as BigRun;
  const tuned: BigRun[] = [];
  const plain: BigRun[] = [];
  for (let i = 0; i < times; i++) {
    tuned.push(once(shortRunFlags));
    plain.push(once([]));
  }
  const mid = (runs: BigRun[]) => runs.sort((a, b) => a.cpuMs - b.cpuMs)[Math.floor(runs.length / 2)] as BigRun;
  return { tuned: mid(tuned), plain: mid(plain) };
}

async function bigBuild(): Promise<void> {
  const { tuned: m, plain } = bigRuns(repeats(3));
  const floorOut = execFileSync(process.execPath, [path.join(benchDir, 'bigFloor.js')], { env: process.env, maxBuffer: 1024 * 1024 }).toString();
  const f = JSON.parse(floorOut) as { generateMs: number; stringifyMs: number; writeMs: number };
  const floorMs = f.generateMs + f.stringifyMs + f.writeMs;
  const s = (x: number) => `${(x / 1000).toFixed(2)} s`;
  addRow([
    `refresh of ${m.instances.toLocaleString('en')} instances (SDK answers in process)`,
    `CPU ${s(m.cpuMs)} (wall ${s(m.wallMs)}); peak RSS ${Math.round(m.maxRssMb)} MB; ${Math.round(m.bytes / 1024 / 1024)} MB of JSON; `
      + `CPU floor ${s(floorMs)} (no rules: generating the SDK answers ${s(f.generateMs)} + V8's JSON.stringify of the finished inventory ${s(f.stringifyMs)} + writing it ${s(f.writeMs)})`,
    `CPU ${(m.cpuMs / (m.instances / 1000)).toFixed(1)} ms per 1,000 instances (${ratio(m.cpuMs / floorMs)} of floor); RSS ${ratio(400 / m.maxRssMb)} under the target`,
    'peak RSS at most 400 MB (CPU: reported, no target)',
  ]);
  addRow([
    `refresh of ${m.instances.toLocaleString('en')} instances: the bins' V8 flags (${shortRunFlags.join(' ')}) against V8's defaults`,
    `CPU ${s(m.cpuMs)} with them, ${s(plain.cpuMs)} without (medians of ${repeats(3)} each, in turn)`,
    `${ratio(m.cpuMs / plain.cpuMs)} of the CPU without them`,
    'within 1.05x',
  ]);
}

/**
 * --help of both commands against node's own start (node -e 0), sampled in turn: neither may load
 * the AWS SDK for it.
 */
async function helpRows(): Promise<void> {
  const [nodeFloor, inventory, provision] = await interleavedMedians(repeats(15), [
    [process.execPath, ['-e', '0'], env], [inventoryBin, ['--help'], env], [provisionBin, ['--help'], env],
  ]) as [number, number, number];
  for (const [command, t] of [['ec2-inventory --help', inventory], ['ec2-provision --help', provision]] as const) {
    addRow([command, `${ms(t)}; node -e 0 ${ms(nodeFloor)}`, `${ratio(t / nodeFloor)} of node's start`, 'under 300 ms']);
  }
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
    addRow([
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
  await cachedList(1_000, repeats(15));
  await cachedList(10_000, repeats(9));
  await cachedList(100_000, repeats(3));
  await cachedList(1_000, repeats(15), 10);
  await cachedList(10_000, repeats(9), 10);
  await cachedList(100_000, repeats(3), 10);
}
if (want('cold')) await coldRefresh();
if (want('accounts')) await coldAccounts();
if (want('big')) await bigBuild();
if (want('help')) await helpRows();
if (want('push')) await pushBench();
if (want('template') || which.includes('xz')) await buildRows(which.includes('xz'));
if (want('targets')) await targetRows();
if (want('guest')) await guestBench();
// Only when asked for: minutes of fault trials, not a performance figure.
if (which.includes('faults')) await (await import('./faults.js')).faultSweeps(dir, addRow);

rmSync(dir, { recursive: true, force: true });
const header = ['case', 'measured', 'ratio', 'target'];
const lines = [header, header.map(() => '---'), ...rows].map((r) => `| ${r.join(' | ')} |`);
process.stdout.write(`Benchmark on ${new Date().toISOString().slice(0, 10)}, node ${process.version}, ${(await import('node:os')).cpus().length} cores${referenceAvailable ? '' : ' (reference ec2.py unavailable: python3-boto missing)'}\n\n${lines.join('\n')}\n`);
void sharedDir;
