// The fault suite kept as tests, a few trials each (the long sweeps: `npm run bench faults`):
// a refresh killed with SIGKILL at random points leaves the old inventory or the new one, never a
// mix; a refresh whose calls meet retried faults on the wire prints the clean output byte for byte;
// concurrent registrations, on the file registry and on Redis, lose none.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { scenarioFixture } from '../support/fixture.js';
import { host } from '../support/scenario.js';
import { startProxy } from '../support/proxy.js';
import { startRedis } from '../support/redis.js';
import { runInventory, writeIni } from '../support/run.js';
import { hasTool, skipUnless } from '../support/tools.js';
import { killTrial, registerMany, retag, stableIni, wireFaultRefresh, wireFaults } from '../support/faultSuite.js';

const f = scenarioFixture('ec2inv-faults-');

describe('kill -9 of a refresh', () => {
  it('at random points, three times: the cache is the old inventory or the new one, and a cached --list prints it', async (t) => {
    const proxy = await startProxy(f.moto.endpoint);
    try {
      const ini = writeIni(f.dir, 'kill', stableIni);
      const reference = writeIni(f.dir, 'kill-reference', stableIni);
      assert.equal((await runInventory(ini, ['--list'], proxy.url)).code, 0);
      proxy.requests = 0;
      assert.equal((await runInventory(reference, ['--refresh-cache'], proxy.url)).code, 0);
      const requests = proxy.requests;
      const web1 = host(f.s, 'web1');
      const seen = new Set<string>();
      for (let trial = 0; trial < 3; trial++) {
        const outcome = await killTrial({
          ini, reference, cacheDir: path.join(f.dir, 'kill-cache'), proxy, endpoint: f.moto.endpoint, requests,
          change: () => retag(f.moto.endpoint, web1.region, web1.id, `trial-${trial}`),
        });
        t.diagnostic(`trial ${trial}: killed after ${outcome.killedAfter}/${requests} requests: ${outcome.cache}`);
        assert.notEqual(outcome.cache, 'other', `trial ${trial}: the cache is neither the old inventory nor the new one`);
        assert.ok(outcome.listMatches, `trial ${trial}: a cached --list did not print the cache file`);
        seen.add(outcome.cache);
        // The next trial starts from a cache of the current state (the dead holder's lock goes stale first).
        assert.equal((await runInventory(ini, ['--refresh-cache'], proxy.url)).code, 0);
      }
    } finally {
      await proxy.close();
    }
  });
});

describe('retried faults on the wire', () => {
  it('503 in plain text, XML 500, 429, resets and delays: every refresh prints the clean output, byte for byte', async () => {
    const proxy = await startProxy(f.moto.endpoint);
    try {
      const ini = writeIni(f.dir, 'wire', { ...stableIni, max_attempts: '4' });
      const clean = await runInventory(ini, ['--refresh-cache'], proxy.url);
      assert.equal(clean.code, 0, clean.stderr);
      for (const fault of wireFaults) {
        const r = await wireFaultRefresh(fault, ini, proxy, f.moto.endpoint);
        assert.equal(r.code, 0, `${fault}: ${r.stderr}`);
        assert.equal(r.stderr, '', fault);
        assert.ok(r.stdout === clean.stdout, `${fault}: the output differs from the clean refresh's`);
      }
    } finally {
      await proxy.close();
    }
  });
});

describe('concurrent registrations', () => {
  it('24 ec2-provision register processes, 8 at a time, on the file registry: none lost', async () => {
    const cachePath = path.join(f.dir, 'reg-file-cache');
    const ini = writeIni(f.dir, 'reg-file', { cache_path: cachePath });
    const { failures, registered } = await registerMany({ ini, endpoint: f.moto.endpoint, count: 24, width: 8, prefix: 'file', registry: { cachePath, cacheConnection: '' } });
    assert.deepEqual(failures, []);
    assert.equal(registered.length, 24);
  });

  it('the same on Redis', { skip: skipUnless('Redis registration test', hasTool('redis-server') ? undefined : 'redis-server not found (apt-get install redis-server)') }, async () => {
    const redis = await startRedis(f.dir);
    try {
      const cachePath = path.join(f.dir, 'reg-redis-local');
      const ini = writeIni(f.dir, 'reg-redis', { cache_path: cachePath, cache_connection: redis.url });
      const { failures, registered } = await registerMany({ ini, endpoint: f.moto.endpoint, count: 24, width: 8, prefix: 'redis', registry: { cachePath, cacheConnection: redis.url } });
      assert.deepEqual(failures, []);
      assert.equal(registered.length, 24);
    } finally {
      await redis.stop();
    }
  });
});
