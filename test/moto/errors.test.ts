// Every input on which ec2.py crashes gets a clear error here: the message names the file, option,
// line, region or service; the exit code is 1; stdout stays empty; a good cache stays as it was.
import { describe, it } from 'node:test';
import { scenarioFixture } from '../support/fixture.js';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, mkdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { freePort } from '../support/moto.js';
import { host } from '../support/scenario.js';
import { runInventory, writeIni, type RunResult } from '../support/run.js';
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
    assert.match(r.stderr, /^ec2-inventory: warning: the cache is unreachable, so this run fetched from AWS without it and refreshed alone \(no shared lock\): cache_path .*plainfile\/cache is not a writable folder: .*\n$/);
    const dead = await runInventory(ini, ['--list'], `http://127.0.0.1:${await freePort()}`);
    assertFailure(dead, /^ec2-inventory: EC2 DescribeRegions in us-east-1 failed.*ECONNREFUSED.*; the cache is unreachable, .*cache_path .*plainfile\/cache is not a writable folder/);
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
