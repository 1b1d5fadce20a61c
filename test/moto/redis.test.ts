// The shared cache on a real redis-server (Debian's), started here on a free loopback port.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { freePort, startMoto, type Moto } from '../support/moto.js';
import { startRedis, type Redis } from '../support/redis.js';
import { buildScenario, host, type Scenario } from '../support/scenario.js';
import { startProxy, type Proxy } from '../support/proxy.js';
import { awsEnv, run, runInventory, tempDir, writeIni } from '../support/run.js';
import { inventoryBin } from '../support/paths.js';
import { hasTool, skipUnless } from '../support/tools.js';
import { readSettings } from '../../lib/index.js';
import { openRegistry } from '../../lib/store/registry.js';

const skip = skipUnless('Redis test', hasTool('redis-server') ? undefined : 'redis-server not found (apt-get install redis-server)');

describe('Redis as the shared cache', { skip }, () => {
  let moto: Moto;
  let s: Scenario;
  let dir: string;
  let redis: Redis;
  let proxy: Proxy;

  before(async () => {
    moto = await startMoto();
    s = await buildScenario(moto.endpoint);
    dir = tempDir('ec2inv-redis-');
    redis = await startRedis(dir);
    proxy = await startProxy(moto.endpoint);
  });
  after(async () => {
    await proxy?.close();
    await redis?.stop();
    await moto?.stop();
  });

  // Each "controller" has its own cache_path: only Redis is shared.
  const controller = (name: string, overrides: Record<string, string> = {}) =>
    writeIni(dir, name, { cache_connection: redis.url, cache_path: path.join(dir, `${name}-local`), ...overrides });

  it('two controllers share one refresh', async () => {
    const a = controller('ctl-a');
    const b = controller('ctl-b');
    proxy.requests = 0;
    const refreshed = await runInventory(a, ['--refresh-only'], proxy.url);
    assert.deepEqual(refreshed, { code: 0, stdout: '', stderr: '' });
    assert.ok(proxy.requests > 0);
    proxy.requests = 0;
    const listed = await runInventory(b, ['--list'], proxy.url);
    assert.equal(listed.code, 0, listed.stderr);
    assert.equal(proxy.requests, 0, 'the second controller read the first one\'s refresh');
    assert.ok((host(s, 'web1').publicIp as string) in JSON.parse(listed.stdout)._meta.hostvars);
  });

  it('concurrent refreshes on several controllers make one set of API calls', async () => {
    proxy.delayMs = 100;
    const once = controller('once-a', { cache_max_age: '3600' });
    await runInventory(once, ['--refresh-only'], proxy.url);
    const calls = proxy.requests;
    proxy.requests = 0;
    await new Promise((r) => setTimeout(r, 1100));
    const runs = await Promise.all(['x', 'y', 'z', 'w'].map((n) => runInventory(controller(`many-${n}`, { cache_max_age: '1' }), ['--list'], proxy.url)));
    proxy.delayMs = 0;
    for (const r of runs) assert.equal(r.code, 0, r.stderr);
    assert.ok(calls > 0);
    assert.equal(proxy.requests, calls, 'one refresh served the four of them');
  });

  it('two configurations in one Redis are never mixed', async () => {
    const west = JSON.parse((await runInventory(controller('west', { regions: 'us-west-2' }), ['--list'], proxy.url)).stdout) as Record<string, unknown>;
    const east = JSON.parse((await runInventory(controller('east', { regions: 'us-east-1' }), ['--list'], proxy.url)).stdout) as Record<string, unknown>;
    assert.ok('us-west-2' in west && !('us-east-1' in west));
    assert.ok('us-east-1' in east && !('us-west-2' in east));
  });

  it('a launch\'s registry entry drops every cached inventory in Redis, and nothing else there', async () => {
    const a = controller('drop-a', { cache_max_age: '3600' });
    const b = controller('drop-b', { cache_max_age: '3600', regions: 'us-east-1' });
    for (const ini of [a, b]) assert.equal((await runInventory(ini, ['--refresh-only'], proxy.url)).code, 0);
    proxy.requests = 0;
    for (const ini of [a, b]) assert.equal((await runInventory(ini, ['--list'], proxy.url)).code, 0);
    assert.equal(proxy.requests, 0, 'both configurations answered from Redis');
    const registry = await openRegistry(readSettings(a));
    try {
      await registry.register({ name: 'dropped.example', groups: ['dropgroup'], hostvars: {}, source: 'kvm', registeredAt: 0 });
      for (const ini of [a, b]) {
        proxy.requests = 0;
        const listed = await runInventory(ini, ['--list'], proxy.url);
        assert.equal(listed.code, 0, listed.stderr);
        assert.ok(proxy.requests > 0, `${ini}: refreshed after the change`);
        assert.deepEqual(JSON.parse(listed.stdout)['dropgroup'], ['dropped.example'], 'the registry itself is kept');
      }
    } finally {
      await registry.deregister('dropped.example');
      await registry.close();
    }
  });

  it('a Redis that is not there: the inventory from AWS, one warning naming the Redis, promptly', async () => {
    const port = await freePort();
    const ini = writeIni(dir, 'noredis', { cache_connection: `redis://user:s3cret@127.0.0.1:${port}/2` });
    const t0 = Date.now();
    const r = await runInventory(ini, ['--list'], proxy.url);
    assert.equal(r.code, 0, r.stderr);
    assert.ok((host(s, 'web1').publicIp as string) in JSON.parse(r.stdout)._meta.hostvars);
    assert.match(r.stderr, new RegExp(`^ec2-inventory: warning: the cache is unreachable, so this run fetched from AWS without it and refreshed alone \\(no shared lock\\): Redis 127\\.0\\.0\\.1:${port}/2: cannot connect: connection refused \\(ECONNREFUSED\\); registered hosts left out: no local copy of the registry yet \\(.*noredis-cache/ec2-inventory\\.registry\\.copy\\.json\\)\n$`));
    assert.ok(!r.stderr.includes('s3cret'), 'the password is never shown');
    assert.ok(Date.now() - t0 < 20_000);
  });

  it('Redis stopped mid-refresh: the fetched inventory, one warning in the tool\'s words; nothing hangs', async () => {
    for (const stale of [false, true]) {
      const own = await startRedis(dir);
      const ini = writeIni(dir, `midrun-${stale}`, { cache_connection: own.url, cache_stale_on_error: stale ? 'True' : 'False' });
      assert.equal((await runInventory(ini, ['--list'], proxy.url)).code, 0);
      proxy.delayMs = 300;
      const t0 = Date.now();
      const requestsBefore = proxy.requests;
      const running = run(inventoryBin, ['--refresh-cache'], awsEnv(proxy.url, { EC2_INI_PATH: ini }));
      // Stop Redis once the run holds the lock and is fetching: the middle of the run.
      while (proxy.requests === requestsBefore) await new Promise((r) => setTimeout(r, 20));
      await own.stop();
      const r = await running;
      proxy.delayMs = 0;
      assert.ok(Date.now() - t0 < 30_000, 'finished promptly');
      assert.equal(r.code, 0, r.stderr);
      assert.ok((host(s, 'web1').publicIp as string) in JSON.parse(r.stdout)._meta.hostvars);
      assert.equal(r.stderr.split('\n').filter(Boolean).length, 1, r.stderr);
      assert.match(r.stderr, /^ec2-inventory: warning: the cache is unreachable, so this run fetched from AWS without it: Redis 127\.0\.0\.1:\d+\/0: (cannot store the inventory|lost the lock): the connection to the server is gone /);
      assert.doesNotMatch(r.stderr, /throwOnConnectError|Redis client/, 'not the client library\'s words');
    }
  });
});
