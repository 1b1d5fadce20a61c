// A cache outage is not an inventory outage (lib/store/outage.ts): with its store gone (Redis
// killed, a read-only or full cache_path), every inventory command answers from AWS with one
// warning line naming the store; registered hosts come from the local copy of the registry;
// cache_stale_on_error serves the local copy of the last good inventory when AWS fails too; the
// provisioning side, which must not lose a host, keeps failing.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { scenarioFixture } from '../support/fixture.js';
import { host } from '../support/scenario.js';
import { startProxy, type Proxy } from '../support/proxy.js';
import { startRedis } from '../support/redis.js';
import { assertOneLine, entries, fill, isRoot, tmpfs } from '../support/mounts.js';
import { awsEnv, run, runInventory, writeIni, type RunResult } from '../support/run.js';
import { repoRoot } from '../support/paths.js';
import { hasTool, skipUnless } from '../support/tools.js';
import { openRegistry } from '../../lib/store/registry.js';

const f = scenarioFixture('ec2inv-outage-');
const provisionBin = path.join(repoRoot, 'bin', 'provision');
const redisSkip = skipUnless('Redis outage test', hasTool('redis-server') ? undefined : 'redis-server not found (apt-get install redis-server)');

/** moto's one moving value (RDS's LatestRestorableTime is "now") pinned. */
const steady = (stdout: string) => stdout.replace(/("ec2_latest_restorable_time": )"[^"]*"/g, '$1"(now)"');
const web1 = () => host(f.s, 'web1').publicIp as string;
const gone = (port: number) => `Redis 127\\.0\\.0\\.1:${port}/0: cannot connect: connection refused \\(ECONNREFUSED\\)`;
const unreachable = '^ec2-inventory: warning: the cache is unreachable, so this run fetched from AWS without it and refreshed alone \\(no shared lock\\): ';

// Started by the first test that needs it (the fixture's moto is up by then), closed at the end.
let proxy: Proxy;
async function useProxy(): Promise<void> {
  proxy ??= await startProxy(f.moto.endpoint);
}
after(async () => proxy?.close());

function mode(file: string): number {
  return statSync(file).mode & 0o777;
}

describe('Redis killed between refreshes', { skip: redisSkip }, () => {
  it('--list, --refresh-cache, --refresh-only and --host answer from AWS with one warning; registered hosts from the local copy', async () => {
    await useProxy();
    const redis = await startRedis(f.dir);
    const cachePath = path.join(f.dir, 'killed-local');
    const ini = writeIni(f.dir, 'killed', { cache_connection: redis.url, cache_path: cachePath });
    const registry = await openRegistry({ cachePath, cacheConnection: redis.url, registryLockTimeout: 5 });
    try {
      await registry.register({ name: 'guest-1', groups: ['kvm'], hostvars: { ansible_host: '10.9.9.9' }, source: 'manual', registeredAt: 0 });
    } finally {
      await registry.close();
    }
    const good = await runInventory(ini, ['--list'], proxy.url);
    assert.equal(good.code, 0, good.stderr);
    assert.ok('guest-1' in JSON.parse(good.stdout)._meta.hostvars);
    const copy = path.join(cachePath, 'ec2-inventory.registry.copy.json');
    assert.equal(mode(copy), 0o600, 'the local copy of the registry is private');
    await redis.stop();

    const warned = new RegExp(`${unreachable}${gone(redis.port)}; 1 registered host from the local copy .*ec2-inventory\\.registry\\.copy\\.json$`);
    for (const args of [['--list'], ['--refresh-cache']]) {
      proxy.requests = 0;
      const r = await runInventory(ini, args, proxy.url);
      assert.equal(r.code, 0, r.stderr);
      assert.ok(proxy.requests > 0, 'fetched from AWS');
      assert.equal(steady(r.stdout), steady(good.stdout), `${args[0]}: the same inventory, registered host included`);
      assertOneLine(r.stderr, warned);
    }
    const cron = await runInventory(ini, ['--refresh-only'], proxy.url);
    assert.equal(cron.code, 0, cron.stderr);
    assert.equal(cron.stdout, '');
    assertOneLine(cron.stderr, new RegExp(`${unreachable}${gone(redis.port)}`));
    for (const [name, check] of [['guest-1', (v: Record<string, unknown>) => v['ansible_host'] === '10.9.9.9'], [web1(), (v: Record<string, unknown>) => v['ec2_id'] === host(f.s, 'web1').id]] as const) {
      const r = await runInventory(ini, ['--host', name], proxy.url);
      assert.equal(r.code, 0, r.stderr);
      assert.ok(check(JSON.parse(r.stdout) as Record<string, unknown>), r.stdout);
      assertOneLine(r.stderr, warned);
    }
  });
});

describe('cache_stale_on_error with Redis and AWS both down', { skip: redisSkip }, () => {
  it('serves the last good inventory from the local copy (0600, trust-checked); without it, one line naming both', async () => {
    await useProxy();
    const redis = await startRedis(f.dir);
    const cachePath = path.join(f.dir, 'both-local');
    const ini = writeIni(f.dir, 'both', { cache_connection: redis.url, cache_path: cachePath, cache_stale_on_error: 'True', max_attempts: '1' });
    const good = await runInventory(ini, ['--list'], proxy.url);
    assert.equal(good.code, 0, good.stderr);
    const kept = path.join(cachePath, 'ansible-ec2.cache');
    assert.equal(readFileSync(kept, 'utf8') + '\n', good.stdout, 'the local copy is the inventory served');
    for (const name of ['ansible-ec2.cache', 'ansible-ec2.index', 'ansible-ec2.meta']) assert.equal(mode(path.join(cachePath, name)), 0o600, name);
    assert.equal(JSON.parse(readFileSync(path.join(cachePath, 'ansible-ec2.meta'), 'utf8')).read, undefined, 'no read key: the fast path never serves the copy');
    await redis.stop();
    proxy.failWith = 503;
    proxy.failText = 'upstream connect error';
    try {
      for (const args of [['--list'], ['--refresh-cache']]) {
        const r = await runInventory(ini, args, proxy.url);
        assert.equal(r.code, 0, r.stderr);
        assert.equal(r.stdout, good.stdout);
        assertOneLine(r.stderr, new RegExp(`${unreachable}${gone(redis.port)}; refresh failed, serving the inventory cached \\d+ s ago \\(the local copy in .*both-local\\) \\(cache_stale_on_error\\): EC2 DescribeRegions in us-east-1 failed: HTTP 503 Service Unavailable: "upstream connect error"$`));
      }
      // --host: one line too (it used to print the registry's warning, then the error).
      const h = await runInventory(ini, ['--host', web1()], proxy.url);
      assert.equal(h.code, 0, h.stderr);
      assert.equal(JSON.parse(h.stdout).ec2_id, host(f.s, 'web1').id);
      assertOneLine(h.stderr, /^ec2-inventory: warning: the cache is unreachable, .*the local copy in/);

      const strict = writeIni(f.dir, 'both-strict', { cache_connection: redis.url, cache_path: cachePath, max_attempts: '1' });
      for (const args of [['--list'], ['--host', web1()], ['--refresh-only']]) {
        const r = await runInventory(strict, args, proxy.url);
        assert.equal(r.code, 1, r.stderr);
        assert.equal(r.stdout, '');
        assertOneLine(r.stderr, new RegExp(`^ec2-inventory: EC2 DescribeRegions in us-east-1 failed: HTTP 503 Service Unavailable: "upstream connect error"; the cache is unreachable, .*${gone(redis.port)}`));
      }

      // Within the trust checks: a copy others could have written is refused, not served.
      chmodSync(kept, 0o666);
      const planted = await runInventory(ini, ['--list'], proxy.url);
      assert.equal(planted.code, 1, planted.stderr);
      assert.equal(planted.stdout, '');
      assertOneLine(planted.stderr, /^ec2-inventory: cache file .*both-local\/ansible-ec2\.cache is writable by its group or by others \(mode 666\): run chmod 600 /);
    } finally {
      chmodSync(kept, 0o600);
      proxy.failWith = 0;
      proxy.failText = undefined;
    }
  });
});

describe('the provisioning side keeps failing without its registry', { skip: redisSkip }, () => {
  it('register with Redis down: one line naming the Redis, exit 1, and no local copy written as if it had worked', async () => {
    await useProxy();
    const redis = await startRedis(f.dir);
    const cachePath = path.join(f.dir, 'prov-local');
    const ini = writeIni(f.dir, 'prov', { cache_connection: redis.url, cache_path: cachePath });
    await redis.stop();
    const r = await run(provisionBin, ['register', '--name', 'lost-1', '--groups', 'g', '--ini', ini], awsEnv(f.moto.endpoint));
    assert.equal(r.code, 1, r.stderr);
    assertOneLine(r.stderr, new RegExp(`^ec2-provision: error: ${gone(redis.port)}$`));
    assert.ok(!existsSync(path.join(cachePath, 'ec2-inventory.registry.copy.json')));
  });
});

describe('a file cache_path that cannot be written', { skip: isRoot ? false : 'needs root to mount a tmpfs' }, () => {
  it('read-only: the inventory from AWS with one warning naming the folder; nothing written', async () => {
    await useProxy();
    const ro = tmpfs('64k', { readOnly: true });
    const r = await runInventory(writeIni(f.dir, 'readonly', { cache_path: ro }), ['--list'], proxy.url);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(web1() in JSON.parse(r.stdout)._meta.hostvars);
    assertOneLine(r.stderr, new RegExp(`${unreachable}cache_path ${ro}: cannot write in ${ro}: read-only file system \\(EROFS\\)`));
    assert.deepEqual(entries(ro), []);
  });

  it('full: a refresh answers from AWS with one warning, and the good cache is left as it was', async () => {
    await useProxy();
    const small = tmpfs('1m');
    const ini = writeIni(f.dir, 'full', { cache_path: small });
    const good = await runInventory(ini, ['--list'], proxy.url);
    assert.equal(good.code, 0, good.stderr);
    const files = () => Object.fromEntries(readdirSync(small).filter((n) => n.startsWith('ansible-ec2.')).map((n) => [n, readFileSync(path.join(small, n), 'utf8')]));
    const before = files();
    fill(small);
    const r: RunResult = await runInventory(ini, ['--refresh-cache'], proxy.url);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(steady(r.stdout), steady(good.stdout));
    assertOneLine(r.stderr, new RegExp(`^ec2-inventory: warning: the cache is unreachable, so this run fetched from AWS without it: cache_path ${small}: cannot write the new inventory.*no space left on the device \\(ENOSPC\\)$`));
    assert.deepEqual(files(), before, 'cache, index and meta untouched');
    assert.deepEqual(entries(small).filter((n) => n.endsWith('.tmp')), [], 'no temporary file left');
    const cached = await runInventory(ini, ['--list'], proxy.url);
    assert.deepEqual({ code: cached.code, stderr: cached.stderr }, { code: 0, stderr: '' });
    assert.equal(cached.stdout, good.stdout, 'the cache still serves');
  });
});
