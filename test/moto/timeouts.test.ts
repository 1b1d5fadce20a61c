// No run waits on a silent peer: an endpoint that never answers, one that trickles its answer, one
// that resets every connection, and a frozen Redis each end a run with one line naming the
// service, call and region (or the Redis and command), within a generous bound over the
// configured timeouts; the cache is left as it was, and no connection is left open.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, chownSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { scenarioFixture } from '../support/fixture.js';
import { faults, startFaultServer, type FaultServer } from '../support/faults.js';
import { assertOneLine, fill, isRoot, tmpfs } from '../support/mounts.js';
import { startRedis, type Redis } from '../support/redis.js';
import { awsEnv, run, runInventory, writeIni, type RunResult } from '../support/run.js';
import { inventoryBin, repoRoot } from '../support/paths.js';

const provisionBin = path.join(repoRoot, 'bin', 'provision');
import { hasTool, skipUnless } from '../support/tools.js';

const f = scenarioFixture('ec2inv-timeouts-');

/** Small timeouts, one region, two attempts: a run that respects them ends in a few seconds. */
const quick = { regions: 'eu-west-1', route53: 'False', rds: 'False', connect_timeout: '1', request_timeout: '2', max_attempts: '2', refresh_timeout: '20' };
/** Far above what the timeouts allow (2 attempts x 2 s + backoff), far below "hangs". */
const BOUND_MS = 45_000;

interface Snapshot { [file: string]: string }
function snapshot(dir: string): Snapshot {
  const out: Snapshot = {};
  for (const n of readdirSync(dir).sort()) out[n] = `${statSync(path.join(dir, n)).mtimeMs} ${readFileSync(path.join(dir, n), 'utf8')}`;
  return out;
}

/** Runs the inventory and checks it ended by itself (not killed by the bound). */
async function bounded(ini: string, args: string[], endpoint: string, env: NodeJS.ProcessEnv = {}): Promise<RunResult> {
  const started = Date.now();
  const r = await run(inventoryBin, args, awsEnv(endpoint, { EC2_INI_PATH: ini, ...env }), BOUND_MS);
  assert.ok(Date.now() - started < BOUND_MS, `still running after ${BOUND_MS} ms (killed): ${r.stderr}`);
  return r;
}

/** The peer sees every connection closed once the run is over. */
async function allClosed(server: FaultServer): Promise<void> {
  for (let i = 0; i < 50 && server.open() > 0; i++) await new Promise((r) => setTimeout(r, 100));
  assert.equal(server.open(), 0, 'connections left open');
}

/**
 * A cache filled through `server` while it forwards to moto (the endpoint is part of the cache key,
 * so the faulty run must use the same one), then the fault switched on.
 */
async function goodCache(name: string, extra: Record<string, string> = {}, server?: FaultServer): Promise<{ ini: string; cacheDir: string; inventory: string }> {
  const cacheDir = path.join(f.dir, `${name}-cache`);
  const ini = writeIni(f.dir, name, { ...quick, cache_path: cacheDir, ...extra });
  if (server) server.active = false;
  const r = await runInventory(ini, ['--list'], server?.url ?? f.moto.endpoint);
  if (server) server.active = true;
  assert.equal(r.code, 0, r.stderr);
  return { ini, cacheDir, inventory: r.stdout };
}

const failedCall = /^ec2-inventory: EC2 Describe(Regions|Instances) in eu-west-1 failed( after 2 attempts)?: .*(no answer within|did not arrive within|did not connect within|connection reset by the peer)/;

for (const fault of faults) {
  describe(`an endpoint that is ${fault}`, () => {
    let server: FaultServer;
    before(async () => { server = await startFaultServer({ fault, target: f.moto.endpoint }); });
    after(async () => server?.close());

    it('--list --refresh-cache: one line naming service, call and region; cache untouched', async () => {
      const { ini, cacheDir } = await goodCache(`${fault}-list`, {}, server);
      const before = snapshot(cacheDir);
      const r = await bounded(ini, ['--list', '--refresh-cache'], server.url);
      assert.equal(r.code, 1, r.stderr);
      assert.equal(r.stdout, '');
      assertOneLine(r.stderr, failedCall);
      assert.ok(server.faulted > 0, 'the faulty endpoint was called');
      assert.deepEqual(snapshot(cacheDir), before);
      await allClosed(server);
    });

    it('--refresh-only: the same', async () => {
      const { ini, cacheDir } = await goodCache(`${fault}-cron`, {}, server);
      const before = snapshot(cacheDir);
      const r = await bounded(ini, ['--refresh-only'], server.url);
      assert.equal(r.code, 1, r.stderr);
      assertOneLine(r.stderr, failedCall);
      assert.deepEqual(snapshot(cacheDir), before);
      await allClosed(server);
    });

    it('with cache_stale_on_error: the previous inventory and a warning', async () => {
      const { ini, cacheDir, inventory } = await goodCache(`${fault}-stale`, { cache_stale_on_error: 'True' }, server);
      const before = snapshot(cacheDir);
      const r = await bounded(ini, ['--list', '--refresh-cache'], server.url);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, inventory);
      assert.match(r.stderr, /warning: .*EC2 Describe(Regions|Instances) in eu-west-1/);
      assert.deepEqual(snapshot(cacheDir), before);
    });
  });
}

describe('refresh_timeout', () => {
  let server: FaultServer;
  before(async () => { server = await startFaultServer({ fault: 'silent', target: f.moto.endpoint }); });
  after(async () => server?.close());

  it('stops the refresh and names what was still pending', async () => {
    const { ini, cacheDir } = await goodCache('deadline', { request_timeout: '60', max_attempts: '5', refresh_timeout: '2' }, server);
    const before = snapshot(cacheDir);
    const r = await bounded(ini, ['--refresh-only'], server.url);
    assert.equal(r.code, 1, r.stderr);
    assertOneLine(r.stderr, /^ec2-inventory: the refresh did not finish within 2 s \(refresh_timeout\); still pending: EC2 Describe(Regions|Instances) in eu-west-1/);
    assert.deepEqual(snapshot(cacheDir), before);
    await allClosed(server);
  });

  it('with cache_stale_on_error serves the previous inventory', async () => {
    const { ini, inventory } = await goodCache('deadline-stale', { request_timeout: '60', max_attempts: '5', refresh_timeout: '2', cache_stale_on_error: 'True' }, server);
    const r = await bounded(ini, ['--list', '--refresh-cache'], server.url);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, inventory);
    assert.match(r.stderr, /warning: .*refresh_timeout.*still pending: EC2/);
  });
});

const redisSkip = skipUnless('frozen Redis test', hasTool('redis-server') ? undefined : 'redis-server not found (apt-get install redis-server)');

describe('a Redis stopped with SIGSTOP', { skip: redisSkip }, () => {
  let redis: Redis;
  before(async () => { redis = await startRedis(f.dir); });
  after(async () => { redis?.thaw(); await redis?.stop(); });

  // Frozen before the run: the connection opens (the kernel accepts it) but the handshake gets no answer.
  const frozen = /Redis 127\.0\.0\.1:\d+\/0: .*no answer within [12] s \((connect|request)_timeout\)/;

  it('the cache: --list answers from AWS with one warning naming the Redis and the command', async () => {
    const { ini, inventory } = await goodCache('redis-cache', { cache_connection: redis.url });
    redis.freeze();
    try {
      const r = await bounded(ini, ['--list'], f.moto.endpoint);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(Object.keys(JSON.parse(r.stdout)).sort(), Object.keys(JSON.parse(inventory)).sort());
      assertOneLine(r.stderr, new RegExp(`^ec2-inventory: warning: the cache is unreachable, so this run fetched from AWS without it.*${frozen.source}`));
    } finally {
      redis.thaw();
    }
  });

  it('the registry: ec2-provision list and register end with one line', async () => {
    const ini = writeIni(f.dir, 'redis-registry', { ...quick, cache_connection: redis.url });
    redis.freeze();
    try {
      for (const args of [['list'], ['register', '--name', 'h1', '--groups', 'g']]) {
        const started = Date.now();
        const r = await run(provisionBin, [...args, '--ini', ini], awsEnv(f.moto.endpoint), BOUND_MS);
        assert.ok(Date.now() - started < BOUND_MS, 'ended by itself');
        assert.equal(r.code, 1, r.stderr);
        assertOneLine(r.stderr, frozen);
      }
    } finally {
      redis.thaw();
    }
  });

  it('the registry frozen mid-run: the next command fails naming the Redis and the command', async () => {
    const { openRegistry } = await import('../../lib/store/registry.js');
    const registry = await openRegistry({ cachePath: f.dir, cacheConnection: redis.url, registryLockTimeout: 5, connectTimeout: 1, requestTimeout: 1 });
    try {
      assert.deepEqual(await registry.list(), []);
      redis.freeze();
      await assert.rejects(registry.list(), /^CacheError: Redis 127\.0\.0\.1:\d+\/0: registry GET: no answer within 1 s \(request_timeout\)$/);
      await assert.rejects(registry.register({ name: 'h1', groups: ['g'], hostvars: {}, source: 'manual', registeredAt: 0 }), /Redis 127\.0\.0\.1:\d+\/0: .*no answer within 1 s \(request_timeout\)/);
    } finally {
      redis.thaw();
      await registry.close();
    }
  });

  it('the cache frozen mid-run: GET and SET fail naming the Redis', async () => {
    const { openRedisCache } = await import('../../lib/store/redisStore.js');
    const cache = await openRedisCache(redis.url, { connectTimeout: 1, requestTimeout: 1 });
    try {
      redis.freeze();
      await assert.rejects(cache.get('x'), /Redis 127\.0\.0\.1:\d+\/0: cannot read the cached inventory: GET: no answer within 1 s \(request_timeout\)/);
    } finally {
      redis.thaw();
      await cache.close();
    }
  });

  it('the lock keep-alive: a refresh whose lock cannot be renewed fails, naming it', async () => {
    const { openRedisCache } = await import('../../lib/store/redisStore.js');
    const cache = await openRedisCache(redis.url, { connectTimeout: 1, requestTimeout: 1, lockTtlMs: 900 });
    try {
      const lock = await cache.lock('keepalive-test', 5000);
      redis.freeze();
      await new Promise((r) => setTimeout(r, 2500));
      assert.throws(() => lock.check(), /Redis 127\.0\.0\.1:\d+\/0: lost the lock: PEXPIRE: no answer within 1 s \(request_timeout\)/);
      redis.thaw();
      await lock.release();
    } finally {
      redis.thaw();
      await cache.close();
    }
  });
});

describe('a cache_connection that accepts and never answers, or resets', () => {
  it('the registry (ec2-provision list) ends with one line naming the Redis, --list with one warning', async () => {
    const { startSilentTcp } = await import('../support/faults.js');
    const silent = await startSilentTcp();
    const net = await import('node:net');
    const reset = net.createServer((s) => s.resetAndDestroy());
    await new Promise<void>((r) => reset.listen(0, '127.0.0.1', r));
    const resetPort = (reset.address() as import('node:net').AddressInfo).port;
    try {
      for (const [port, words] of [[silent.port, /cannot connect: connect: no answer within 1 s \(connect_timeout\)/], [resetPort, /cannot connect: .*(ECONNRESET|Socket closed unexpectedly|connection reset)/i]] as const) {
        const ini = writeIni(f.dir, `deadredis-${port}`, { ...quick, cache_connection: `redis://127.0.0.1:${port}/0` });
        const started = Date.now();
        const r = await run(provisionBin, ['list', '--ini', ini], awsEnv(f.moto.endpoint), BOUND_MS);
        assert.ok(Date.now() - started < BOUND_MS, 'ended by itself');
        assert.equal(r.code, 1, r.stderr);
        assertOneLine(r.stderr, new RegExp(`^ec2-provision: error: Redis 127\\.0\\.0\\.1:${port}/0: ${words.source}`, 'i'));
        // The inventory does without the cache (lib/store/outage.ts); the registry's writers above do not.
        const inv = await bounded(ini, ['--list'], f.moto.endpoint);
        assert.equal(inv.code, 0, inv.stderr);
        assert.ok('_meta' in JSON.parse(inv.stdout));
        assertOneLine(inv.stderr, new RegExp(`^ec2-inventory: warning: the cache is unreachable, .*: Redis 127\\.0\\.0\\.1:${port}/0: ${words.source}`, 'i'));
      }
      for (let i = 0; i < 50 && silent.open() > 0; i++) await new Promise((r) => setTimeout(r, 100));
      assert.equal(silent.open(), 0, 'no connection left open');
    } finally {
      await silent.close();
      await new Promise((r) => reset.close(r));
    }
  });
});

describe('the cache folder', () => {
  it('group- or world-writable: refused, saying how to fix it, nothing read from it', async () => {
    const { ini, cacheDir } = await goodCache('perm-group');
    chmodSync(cacheDir, 0o770);
    const before = snapshot(cacheDir);
    const r = await bounded(ini, ['--list'], f.moto.endpoint);
    assert.equal(r.code, 1, r.stderr);
    assert.equal(r.stdout, '', 'the planted cache is not printed');
    assertOneLine(r.stderr, /cache_path .*perm-group-cache is writable by its group or by others.*chmod 700 /);
    assert.deepEqual(snapshot(cacheDir), before);
    chmodSync(cacheDir, 0o700);
    assert.equal((await bounded(ini, ['--list'], f.moto.endpoint)).code, 0);
  });

  it('a cache file owned by another user: refused', { skip: isRoot ? false : 'needs root to chown' }, async () => {
    const { ini, cacheDir } = await goodCache('perm-owner');
    const planted = path.join(cacheDir, 'ansible-ec2.cache');
    chownSync(planted, 65534, 65534);
    const r = await bounded(ini, ['--list'], f.moto.endpoint);
    assert.equal(r.code, 1, r.stderr);
    assert.equal(r.stdout, '');
    assertOneLine(r.stderr, /ansible-ec2\.cache is owned by another user \(uid 65534\)/);
  });

  it('a 64 KiB tmpfs: the inventory from AWS with one warning naming the path, the previous cache intact, no temporary file left', { skip: isRoot ? false : 'needs root to mount' }, async () => {
    const cacheDir = tmpfs('64k');
    const ini = writeIni(f.dir, 'full', { ...quick, cache_path: cacheDir, cache_max_age: '0', cache_stale_on_error: 'False' });
    const good = await runInventory(ini, ['--list'], f.moto.endpoint);
    assert.equal(good.code, 0, good.stderr);
    const before = snapshot(cacheDir);
    fill(cacheDir);
    const filler = readFileSync(path.join(cacheDir, '.filler')).length;
    const r = await bounded(ini, ['--list'], f.moto.endpoint);
    // A cache that cannot be written is no reason to fail the inventory (lib/store/outage.ts).
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, good.stdout);
    assertOneLine(r.stderr, new RegExp(`^ec2-inventory: warning: the cache is unreachable, .*${cacheDir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}.*no space left on the device \\(ENOSPC\\)`));
    const after = snapshot(cacheDir);
    delete after['.filler'];
    assert.deepEqual(Object.keys(after), Object.keys(before), 'no temporary file left');
    assert.equal(after['ansible-ec2.cache'], before['ansible-ec2.cache']);
    assert.ok(filler > 0);
  });
});

describe('a folder that is not the cache', () => {
  it('a file where cache_path should be a folder: the inventory from AWS, one warning naming it', async () => {
    const file = path.join(f.dir, 'not-a-folder');
    writeFileSync(file, '');
    mkdirSync(path.join(f.dir, 'x'), { recursive: true });
    const r = await bounded(writeIni(f.dir, 'notfolder', { ...quick, cache_path: file }), ['--list'], f.moto.endpoint);
    assert.equal(r.code, 0, r.stderr);
    assert.ok('_meta' in JSON.parse(r.stdout));
    assertOneLine(r.stderr, /^ec2-inventory: warning: the cache is unreachable, .*cache_path .*not-a-folder: cannot create the folder .*not-a-folder: a file of that name is in the way \(EEXIST\)/);
  });
});
