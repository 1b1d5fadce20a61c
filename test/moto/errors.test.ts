// Every input on which ec2.py crashes gets a clear error here: the message names the file, option,
// line, region or service; the exit code is 1; stdout stays empty; a good cache stays as it was.
import { describe, it } from 'node:test';
import { scenarioFixture } from '../support/fixture.js';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, mkdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { freePort } from '../support/moto.js';
import { host } from '../support/scenario.js';
import { run, runInventory, writeIni, type RunResult } from '../support/run.js';
import { inventoryBin } from '../support/paths.js';
import { tmpfs } from '../support/mounts.js';
import { rootOnly } from '../support/tools.js';
import { startProxy } from '../support/proxy.js';

const f = scenarioFixture();

interface Snapshot { cache: string; index: string; mtime: number }

function snapshot(cacheDir: string): Snapshot {
  const cache = path.join(cacheDir, 'ansible-ec2.cache');
  return {
    cache: readFileSync(cache, 'utf8'),
    index: readFileSync(path.join(cacheDir, 'ansible-ec2.index'), 'utf8'),
    mtime: statSync(cache).mtimeMs,
  };
}

/** Fills a cache through a good run, then runs a broken configuration against the same cache_path. */
async function withGoodCache(name: string, broken: (cacheDir: string) => Promise<RunResult>): Promise<{ r: RunResult; before: Snapshot; after: Snapshot }> {
  const cacheDir = path.join(f.dir, `${name}-cache`);
  const good = await runInventory(writeIni(f.dir, `${name}-good`, { cache_path: cacheDir }), ['--list'], f.moto.endpoint);
  assert.equal(good.code, 0, good.stderr);
  const before = snapshot(cacheDir);
  const r = await broken(cacheDir);
  return { r, before, after: snapshot(cacheDir) };
}

function assertFailure(r: RunResult, ...patterns: RegExp[]): void {
  assert.equal(r.code, 1, `exit code; stderr: ${r.stderr}`);
  assert.equal(r.stdout, '', 'nothing on stdout');
  assert.match(r.stderr, /^ec2-inventory: /);
  assert.equal(r.stderr.trim().split('\n').length, 1, `one line: ${r.stderr}`);
  for (const p of patterns) assert.match(r.stderr, p);
}

function brokenIni(name: string, cacheDir: string, overrides: Record<string, string | null>): string {
  return writeIni(f.dir, name, { cache_path: cacheDir, ...overrides });
}

describe('bad ec2.ini', () => {
  const cases: { name: string; overrides: Record<string, string | null>; expect: RegExp[] }[] = [
    { name: 'filter-no-eq', overrides: { instance_filters: 'tag:Env=prod,instance-state-name' }, expect: [/'instance_filters'/, /without Name=Value: 'instance-state-name'/, /\.ini:\d+:/] },
    { name: 'bad-regex', overrides: { pattern_include: 'web(' }, expect: [/'pattern_include'/, /not a valid regular expression 'web\('/, /\.ini:\d+:/] },
    { name: 'bad-exclude', overrides: { pattern_exclude: '[z-a]' }, expect: [/'pattern_exclude'/] },
    { name: 'no-regions', overrides: { regions: null }, expect: [/option 'regions' is missing/] },
    { name: 'empty-regions', overrides: { regions: '' }, expect: [/'regions' is empty/] },
    { name: 'bad-region-name', overrides: { regions: 'us-east-1,moon-base' }, expect: [/unknown region 'moon-base'/, /\.ini:\d+:/] },
    { name: 'unknown-region', overrides: { regions: 'us-east-1,xx-nowhere-9' }, expect: [/unknown region 'xx-nowhere-9'/, /DescribeRegions/] },
    { name: 'bad-bool', overrides: { route53: 'maybe' }, expect: [/'route53' must be a boolean/, /'maybe'/] },
    { name: 'bad-int', overrides: { cache_max_age: '5m' }, expect: [/'cache_max_age' must be a whole number/] },
    { name: 'bad-destination', overrides: { destination_variable: 'public_ip' }, expect: [/'destination_variable' must be one of .*public_dns_name/] },
    { name: 'missing-cache-path', overrides: { cache_path: null }, expect: [/'cache_path' is missing/] },
  ];
  for (const c of cases) {
    it(`${c.name}: clear error, exit 1, empty stdout, cache intact`, async () => {
      const { r, before, after } = await withGoodCache(c.name, (cacheDir) => {
        const ini = c.overrides['cache_path'] === null
          ? writeIni(f.dir, c.name, c.overrides)
          : brokenIni(c.name, cacheDir, c.overrides);
        return runInventory(ini, ['--list', '--refresh-cache'], f.moto.endpoint);
      });
      assertFailure(r, ...c.expect);
      assert.deepEqual(after, before);
    });
  }

  it('an empty instance_filters means no filter (ec2.py crashes on it)', async () => {
    const base = await runInventory(writeIni(f.dir, 'nofilter'), ['--list'], f.moto.endpoint);
    const empty = await runInventory(writeIni(f.dir, 'emptyfilter', { instance_filters: '' }), ['--list'], f.moto.endpoint);
    assert.equal(empty.code, 0, empty.stderr);
    // moto answers "now" for an RDS instance's latest restorable time: the one value allowed to move.
    const stable = (text: string) => text.replace(/"ec2_latest_restorable_time": "[^"]*"/g, '');
    assert.equal(stable(empty.stdout), stable(base.stdout));
  });

  it('no [ec2] section', async () => {
    const ini = path.join(f.dir, 'nosection.ini');
    writeFileSync(ini, '[ec3]\nregions = us-east-1\n');
    assertFailure(await runInventory(ini, ['--list'], f.moto.endpoint), /nosection\.ini: no \[ec2\] section/);
  });

  it('missing ini file', async () => {
    assertFailure(await runInventory(path.join(f.dir, 'absent.ini'), ['--list'], f.moto.endpoint), /cannot read .*absent\.ini: file not found/, /EC2_INI_PATH/);
  });

  it('unreadable ini (a folder)', async () => {
    const folder = path.join(f.dir, 'folder.ini');
    mkdirSync(folder);
    assertFailure(await runInventory(folder, ['--list'], f.moto.endpoint), /cannot read .*folder\.ini/);
  });

  it('eucalyptus without a host or EC2_URL', async () => {
    const ini = writeIni(f.dir, 'euca', { eucalyptus: 'True', regions: 'all' });
    assertFailure(await runInventory(ini, ['--list'], f.moto.endpoint), /eucalyptus = True needs eucalyptus_host/);
  });
});

describe('unwritable cache_path', () => {
  it('the inventory from AWS with one warning naming the folder; with AWS down too, one line naming both', async () => {
    const file = path.join(f.dir, 'plainfile');
    writeFileSync(file, 'not a folder');
    const ini = writeIni(f.dir, 'badcache', { cache_path: path.join(file, 'cache') });
    const r = await runInventory(ini, ['--list'], f.moto.endpoint);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(host(f.s, 'web1').publicIp as string in JSON.parse(r.stdout)._meta.hostvars);
    assert.match(r.stderr, /^ec2-inventory: warning: the cache is unreachable, so this run fetched from AWS without it and refreshed alone \(no shared lock\): cache_path .*plainfile\/cache: cannot create the folder .*plainfile\/cache: a part of the path is not a folder \(ENOTDIR\); registered hosts left out: cannot look at .*plainfile\/cache: a part of the path is not a folder \(ENOTDIR\)\n$/);
    const dead = await runInventory(ini, ['--list'], `http://127.0.0.1:${await freePort()}`);
    assertFailure(dead, /^ec2-inventory: EC2 DescribeRegions in us-east-1 failed.*ECONNREFUSED.*; the cache is unreachable, .*cache_path .*plainfile\/cache: cannot create the folder/);
  });

  /** A run whose cache_path cannot be used: the inventory from AWS, and the one warning line naming why. */
  const degraded = (why: string) => `ec2-inventory: warning: the cache is unreachable, so this run fetched from AWS without it and refreshed alone (no shared lock): ${why}\n`;
  async function cacheFailure(name: string, cachePath: string): Promise<RunResult> {
    const r = await runInventory(writeIni(f.dir, name, { cache_path: cachePath }), ['--list'], f.moto.endpoint);
    assert.ok(host(f.s, 'web1').publicIp as string in JSON.parse(r.stdout)._meta.hostvars, r.stderr);
    return r;
  }

  it('a file in the place of the folder: the folder and the reason named, exit 0', async () => {
    const file = path.join(f.dir, 'plainfile2');
    writeFileSync(file, 'not a folder');
    const is = await cacheFailure('fileascache', file);
    assert.deepEqual([is.code, is.stderr], [0, degraded(`cache_path ${file}: cannot create the folder ${file}: a file of that name is in the way (EEXIST); ` +
      `registered hosts left out: cannot look at ${file}/ec2-inventory.registry.json: a part of the path is not a folder (ENOTDIR)`)]);
  });

  it('a read-only file system: the folder itself, or the first folder that could not be made, exit 0', { skip: rootOnly('mounting a read-only tmpfs') }, async () => {
    const ro = tmpfs('64k', { readOnly: true });
    const itself = await cacheFailure('rocache', ro);
    assert.deepEqual([itself.code, itself.stderr], [0, degraded(`cache_path ${ro}: cannot write in ${ro}: read-only file system (EROFS)`)]);
    // mkdir -p reports ENOENT for the deepest folder here; the message names the one that failed.
    const below = await cacheFailure('roparent', path.join(ro, 'ansible', 'cache'));
    assert.deepEqual([below.code, below.stderr], [0, degraded(`cache_path ${ro}/ansible/cache: cannot create the folder ${ro}/ansible: read-only file system (EROFS)`)]);
  });
});

describe('what the environment lacks or gets wrong: the variable or the source named', () => {
  /** A run with only these variables (no credentials, no profile, no instance metadata) besides a HOME of its own. */
  async function runWith(name: string, env: NodeJS.ProcessEnv, args = ['--list']): Promise<RunResult> {
    const home = path.join(f.dir, `${name}-home`);
    mkdirSync(home, { recursive: true });
    const ini = writeIni(f.dir, name, { regions: 'us-east-1', route53: 'False', rds: 'False', max_attempts: '1' });
    return run(inventoryBin, args, { PATH: process.env['PATH'], HOME: home, AWS_EC2_METADATA_DISABLED: 'true', EC2_INI_PATH: ini, ...env });
  }
  const keys = { AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing' };

  it('an endpoint variable that is not a URL names the variable and its value', async () => {
    for (const [name, value] of [['AWS_ENDPOINT_URL', 'localhost 5000'], ['AWS_ENDPOINT_URL_EC2', 'moto:5000']] as const) {
      const r = await runWith('badurl', { ...keys, [name]: value });
      assert.deepEqual([r.code, r.stdout, r.stderr], [1, '', `ec2-inventory: ${name} is not a URL: '${value}' (write http://host:port or https://host)\n`]);
    }
  });

  it('no credentials anywhere: what to set', async () => {
    const r = await runWith('nocreds', { AWS_ENDPOINT_URL: f.moto.endpoint });
    assert.deepEqual([r.code, r.stdout, r.stderr], [1, '', 'ec2-inventory: EC2 DescribeRegions in us-east-1 failed: no AWS credentials found: ' +
      'set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or name a profile of ~/.aws/credentials or ~/.aws/config (--profile, AWS_PROFILE or boto_profile in ec2.ini), or fill [credentials] in ec2.ini\n']);
  });

  it('a profile that is in neither file: the one source that chose it, and the files looked in', async () => {
    const home = path.join(f.dir, 'profile-home');
    const files = `no [profile nosuch] in ${home}/.aws/config and no [nosuch] in ${home}/.aws/credentials`;
    const cli = await runWith('profile', { AWS_ENDPOINT_URL: f.moto.endpoint }, ['--list', '--profile', 'nosuch']);
    assert.deepEqual([cli.code, cli.stdout, cli.stderr], [1, '', `ec2-inventory: profile 'nosuch' (from --profile) gives no credentials: ${files}\n`]);
    const env = await runWith('profile', { AWS_ENDPOINT_URL: f.moto.endpoint, AWS_PROFILE: 'nosuch' });
    assert.equal(env.stderr, `ec2-inventory: profile 'nosuch' (from AWS_PROFILE) gives no credentials: ${files}\n`);
    const ini = writeIni(f.dir, 'profile', { regions: 'us-east-1', route53: 'False', rds: 'False', boto_profile: 'nosuch' });
    const fromIni = await run(inventoryBin, ['--list'], { PATH: process.env['PATH'], HOME: home, AWS_EC2_METADATA_DISABLED: 'true', EC2_INI_PATH: ini, AWS_ENDPOINT_URL: f.moto.endpoint });
    const line = readFileSync(ini, 'utf8').split('\n').indexOf('boto_profile = nosuch') + 1;
    assert.equal(fromIni.stderr, `ec2-inventory: profile 'nosuch' (from boto_profile in ${ini}:${line}) gives no credentials: ${files}\n`);
  });
});

describe('AWS failures', () => {
  it('an unreachable endpoint names the service, call and region; the good cache survives', async () => {
    const dead = `http://127.0.0.1:${await freePort()}`;
    const { r, before, after } = await withGoodCache('down', (cacheDir) =>
      runInventory(brokenIni('down', cacheDir, { regions: 'eu-west-1' }), ['--refresh-cache'], dead));
    assertFailure(r, /EC2 DescribeRegions in eu-west-1 failed/, /ECONNREFUSED/);
    assert.deepEqual(after, before);
  });

  it('a failing answer names the service, call, region and HTTP status', async () => {
    // moto answers a filter name it does not know with an HTML page and a 500.
    const { r, before, after } = await withGoodCache('awserr', (cacheDir) =>
      runInventory(brokenIni('awserr', cacheDir, { instance_filters: 'no-such-filter-name=1', regions: 'us-west-2' }), ['--refresh-cache'], f.moto.endpoint));
    // An HTML page, not AWS's XML: said by its status and its first words.
    assertFailure(r, /EC2 DescribeInstances in us-west-2 failed after \d attempts: HTTP 500 Internal Server Error: "500 Internal Server Error /);
    assert.deepEqual(after, before);
  });

  it('a plain-text 503 (a balancer or proxy in front of the endpoint) is said by its status and the start of its body', async () => {
    const proxy = await startProxy(f.moto.endpoint);
    try {
      proxy.failWith = 503;
      proxy.failText = 'no healthy upstream';
      const { r, before, after } = await withGoodCache('plain503', (cacheDir) =>
        runInventory(brokenIni('plain503', cacheDir, { regions: 'us-east-1', max_attempts: '2' }), ['--refresh-cache'], proxy.url));
      assertFailure(r, /^ec2-inventory: EC2 DescribeRegions in us-east-1 failed after 2 attempts: HTTP 503 Service Unavailable: "no healthy upstream"\n$/);
      assert.deepEqual(after, before);
      proxy.failText = `<html><body><h1>502 Bad Gateway</h1>${'x'.repeat(300)}</body></html>`;
      proxy.failWith = 502;
      const long = await runInventory(brokenIni('plain503', path.join(f.dir, 'plain503-cache'), { regions: 'us-east-1', max_attempts: '1' }), ['--refresh-cache'], proxy.url);
      assertFailure(long, /failed: HTTP 502 Bad Gateway: "502 Bad Gateway x{64}\.\.\."\n$/);
    } finally {
      await proxy.close();
    }
  });

  it('a valid cache is served without any API call', async () => {
    const proxy = await startProxy(f.moto.endpoint);
    try {
      const ini = writeIni(f.dir, 'cached');
      const first = await runInventory(ini, ['--list'], proxy.url);
      assert.ok(proxy.requests > 0);
      proxy.requests = 0;
      const second = await runInventory(ini, ['--list'], proxy.url);
      assert.equal(second.code, 0, second.stderr);
      assert.equal(second.stdout, first.stdout);
      const web1 = host(f.s, 'web1').publicIp as string;
      const hostQuery = await runInventory(ini, ['--host', web1], proxy.url);
      assert.equal(hostQuery.code, 0, hostQuery.stderr);
      assert.equal(JSON.parse(hostQuery.stdout).ec2_id, host(f.s, 'web1').id);
      assert.equal(proxy.requests, 0, 'no API request for a cached --list or --host');
    } finally {
      await proxy.close();
    }
  });

  it('cache_max_age = 0 refreshes on every run', async () => {
    const proxy = await startProxy(f.moto.endpoint);
    try {
      const ini = writeIni(f.dir, 'nocache', { cache_max_age: '0' });
      assert.equal((await runInventory(ini, ['--list'], proxy.url)).code, 0);
      const calls = proxy.requests;
      assert.equal((await runInventory(ini, ['--list'], proxy.url)).code, 0);
      assert.equal(proxy.requests, 2 * calls, 'the second run made the same calls again');
    } finally {
      await proxy.close();
    }
  });
});

describe('command line', () => {
  it('an unknown option is a usage error on stderr', async () => {
    const r = await runInventory(writeIni(f.dir, 'usage'), ['--lst'], f.moto.endpoint);
    assert.equal(r.code, 2);
    assert.equal(r.stdout, '');
    assert.equal(r.stderr, 'ec2-inventory: unknown option --lst (see --help)\n');
  });

  it('--host needs a value', async () => {
    const r = await runInventory(writeIni(f.dir, 'usage2'), ['--host'], f.moto.endpoint);
    assert.equal(r.code, 2);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /host/);
  });
});
