// The cache under concurrency and faults, with real processes: many readers during refreshes, a
// refresh killed halfway, damaged and foreign cache files, cron refreshes, stale-on-error.
import { describe, it } from 'node:test';
import { scenarioFixture } from '../support/fixture.js';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync, truncateSync } from 'node:fs';
import path from 'node:path';
import { host } from '../support/scenario.js';
import { startProxy, type Proxy } from '../support/proxy.js';
import { awsEnv, runInventory, writeIni, type RunResult } from '../support/run.js';
import { inventoryBin } from '../support/paths.js';
import { readSettings } from '../../lib/settings/read.js';
import { forgetInventories } from '../../lib/store/open.js';

const f = scenarioFixture('ec2inv-cache-');

async function withProxy<T>(fn: (proxy: Proxy) => Promise<T>, delayMs = 0): Promise<T> {
  const proxy = await startProxy(f.moto.endpoint, delayMs);
  try {
    return await fn(proxy);
  } finally {
    await proxy.close();
  }
}

/** Runs many invocations with at most `width` at once (2 cores: hundreds at once would only thrash). */
async function many(count: number, width: number, one: (i: number) => Promise<RunResult>): Promise<RunResult[]> {
  const results: RunResult[] = [];
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < count) results.push(await one(next++));
  }));
  return results;
}

const web1 = () => host(f.s, 'web1').publicIp as string;

/** The output with moto's one moving value (RDS's LatestRestorableTime is "now") pinned; the rest as printed. */
const steady = (stdout: string) => stdout.replace(/("ec2_latest_restorable_time": )"[^"]*"/g, '$1"(now)"');

describe('concurrent readers and refreshes', () => {
  it('200 --list readers while 20 refreshes run: every read is the whole, valid inventory', async () => {
    await withProxy(async (proxy) => {
      const ini = writeIni(f.dir, 'busy', { cache_max_age: '3600' });
      const first = await runInventory(ini, ['--list'], proxy.url);
      assert.equal(first.code, 0, first.stderr);
      assert.ok(web1() in JSON.parse(first.stdout)._meta.hostvars);
      const refreshes = many(20, 4, () => runInventory(ini, ['--refresh-cache'], proxy.url));
      const reads = many(200, 12, () => runInventory(ini, ['--list'], proxy.url));
      const [r, w] = await Promise.all([reads, refreshes]);
      // AWS does not change meanwhile, so every answer is the first one, byte for byte: a read of a
      // half-written or mixed cache differs somewhere, not necessarily in the group names.
      const want = steady(first.stdout);
      assert.match(first.stdout, /"ec2_latest_restorable_time": "\d{4}-/, 'the one value pinned is there');
      for (const x of [...r, ...w]) {
        assert.equal(x.code, 0, x.stderr);
        assert.equal(x.stderr, '');
        assert.ok(steady(x.stdout) === want, `an answer differs from the first: ${x.stdout.length} bytes against ${first.stdout.length}`);
      }
    }, 20);
  });

  it('simultaneous refreshes from several processes make one set of API calls', async () => {
    await withProxy(async (proxy) => {
      const ini = writeIni(f.dir, 'single', { cache_max_age: '3600' });
      const alone = await runInventory(ini, ['--refresh-only'], proxy.url);
      assert.equal(alone.code, 0, alone.stderr);
      const oneRefresh = proxy.requests;
      proxy.requests = 0;
      // Age the entry out so every process below finds it stale and wants to refresh.
      const stale = writeIni(f.dir, 'single', { cache_max_age: '1' });
      await new Promise((r) => setTimeout(r, 1100));
      const runs = await many(6, 6, () => runInventory(stale, ['--list'], proxy.url));
      for (const r of runs) assert.equal(r.code, 0, r.stderr);
      assert.equal(proxy.requests, oneRefresh, 'the others waited and served the one refresh');
    }, 150);
  });
});

describe('faults', () => {
  it('kill -9 of a refresh halfway: the previous cache is intact, the dead holder\'s lock is taken over by the next run', async (t) => {
    await withProxy(async (proxy) => {
      const ini = writeIni(f.dir, 'killed');
      const cacheDir = path.join(f.dir, 'killed-cache');
      // The refresh lock: a folder beside the cache files while a refresh holds it.
      const lock = path.join(cacheDir, 'ansible-ec2.lock');
      assert.equal((await runInventory(ini, ['--list'], proxy.url)).code, 0);
      assert.equal(existsSync(lock), false, 'released after the first refresh');
      const before = readFileSync(path.join(cacheDir, 'ansible-ec2.cache'));
      proxy.delayMs = 400;
      proxy.requests = 0;
      const child = spawn(inventoryBin, ['--refresh-cache'], { env: awsEnv(proxy.url, { EC2_INI_PATH: ini }), stdio: 'ignore' });
      while (proxy.requests < 4) await new Promise((r) => setTimeout(r, 50));
      // No other process uses this cache: the lock there is the child's.
      assert.ok(existsSync(lock) && statSync(lock).isDirectory(), 'the refresh holds the lock while it calls AWS');
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
      assert.ok(existsSync(lock), 'the killed holder left its lock behind');
      const dead = statSync(lock);
      assert.deepEqual(readFileSync(path.join(cacheDir, 'ansible-ec2.cache')), before);
      const cached = await runInventory(ini, ['--list'], proxy.url);
      assert.equal(cached.code, 0, cached.stderr);
      assert.equal(cached.stdout, before.toString() + '\n');
      assert.equal(statSync(lock).mtimeMs, dead.mtimeMs, 'a cached read leaves the lock alone');
      proxy.delayMs = 0;
      // What the lock is when the next run asks AWS: by then it must hold a lock of its own.
      const seen: { mtimeMs: number | undefined }[] = [];
      proxy.delayFor = () => {
        seen.push({ mtimeMs: existsSync(lock) ? statSync(lock).mtimeMs : undefined });
        return undefined;
      };
      const t0 = Date.now();
      const next = await runInventory(ini, ['--refresh-cache'], proxy.url);
      proxy.delayFor = undefined;
      assert.equal(next.code, 0, next.stderr);
      assert.equal(steady(next.stdout), steady(cached.stdout), 'the inventory, refreshed');
      t.diagnostic(`the next refresh took ${Date.now() - t0} ms (it waits for the dead holder's lock to go stale)`);
      assert.ok(seen.length > 0, 'the next run refreshed');
      assert.ok(seen.every((s) => s.mtimeMs !== undefined && s.mtimeMs > dead.mtimeMs), `the next run called AWS under a new lock: ${JSON.stringify(seen.slice(0, 3))} against ${dead.mtimeMs}`);
      assert.equal(existsSync(lock), false, 'and released it');
      assert.deepEqual(readdirSync(cacheDir).filter((f) => f.endsWith('.tmp')), [], 'no temporary files left behind');
    });
  });

  it('a refresh that was listing hosts while a launch or destroy changed them does not keep its listing', async () => {
    await withProxy(async (proxy) => {
      const ini = writeIni(f.dir, 'changed', { cache_max_age: '3600' });
      const meta = path.join(f.dir, 'changed-cache', 'ansible-ec2.meta');
      const refresh = async (during?: () => Promise<void>) => {
        proxy.delayMs = 300;
        proxy.requests = 0;
        const running = runInventory(ini, ['--refresh-only'], proxy.url);
        while (proxy.requests < 2) await new Promise((r) => setTimeout(r, 20));
        await during?.();
        const r = await running;
        proxy.delayMs = 0;
        assert.deepEqual(r, { code: 0, stdout: '', stderr: '' });
      };
      await refresh();
      assert.ok(existsSync(meta), 'a refresh keeps its listing');
      // forgetInventories is what a launch's or a destroy's registry change runs (lib/store/registry.ts).
      await refresh(() => forgetInventories(readSettings(ini)));
      assert.equal(existsSync(meta), false, 'the listing made across the change is dropped');
      proxy.requests = 0;
      assert.equal((await runInventory(ini, ['--list'], proxy.url)).code, 0);
      assert.ok(proxy.requests > 0, 'so the next --list asks AWS again');
    });
  });

  for (const [name, damage] of [
    ['truncated', (f: string) => truncateSync(f, 100)],
    ['corrupt', (f: string) => writeFileSync(f, 'garbage'.repeat(10))],
  ] as const) {
    it(`a ${name} cache file causes a fresh refresh, never a crash or a wrong inventory`, async () => {
      await withProxy(async (proxy) => {
        const ini = writeIni(f.dir, name);
        const good = await runInventory(ini, ['--list'], proxy.url);
        assert.equal(good.code, 0, good.stderr);
        damage(path.join(f.dir, `${name}-cache`, 'ansible-ec2.cache'));
        proxy.requests = 0;
        const r = await runInventory(ini, ['--list'], proxy.url);
        assert.equal(r.code, 0, r.stderr);
        assert.ok(proxy.requests > 0, 'refreshed');
        assert.equal(steady(r.stdout), steady(good.stdout), 'the same inventory, byte for byte');
      });
    });
  }

  it('two configurations in one cache_path are never mixed', async () => {
    await withProxy(async (proxy) => {
      const shared = path.join(f.dir, 'shared-cache');
      const west = writeIni(f.dir, 'cfg-west', { cache_path: shared, regions: 'us-west-2' });
      const east = writeIni(f.dir, 'cfg-east', { cache_path: shared, regions: 'us-east-1' });
      for (let i = 0; i < 3; i++) {
        const w = JSON.parse((await runInventory(west, ['--list'], proxy.url)).stdout) as Record<string, unknown>;
        const e = JSON.parse((await runInventory(east, ['--list'], proxy.url)).stdout) as Record<string, unknown>;
        assert.ok('us-west-2' in w && !('us-east-1' in w), 'west config got west');
        assert.ok('us-east-1' in e && !('us-west-2' in e), 'east config got east');
      }
      // And a cache file written by another configuration is not trusted even when fresh.
      const filtered = writeIni(f.dir, 'cfg-west-filtered', { cache_path: shared, regions: 'us-west-2', instance_filters: 'tag:Env=nothing' });
      const other = JSON.parse((await runInventory(filtered, ['--list'], proxy.url)).stdout) as Record<string, unknown>;
      assert.deepEqual(Object.keys(other), ['_meta']);
    });
  });

  it('cache_stale_on_error serves the previous inventory with a warning; without it the run fails', async () => {
    await withProxy(async (proxy) => {
      const ini = writeIni(f.dir, 'stale', { cache_stale_on_error: 'True' });
      const good = await runInventory(ini, ['--list'], proxy.url);
      proxy.failWith = 500;
      const r = await runInventory(ini, ['--refresh-cache'], proxy.url);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, good.stdout);
      assert.match(r.stderr, /^ec2-inventory: warning: refresh failed, serving the inventory cached \d+ s ago \(cache_stale_on_error\): EC2 .* failed \(HTTP 500\)/);
      const strict = writeIni(f.dir, 'stale', { cache_stale_on_error: 'False' });
      const failed = await runInventory(strict, ['--refresh-cache'], proxy.url);
      assert.equal(failed.code, 1);
      assert.equal(failed.stdout, '');
    });
  });
});

describe('--refresh-only (cron)', () => {
  it('refreshes and prints nothing at all on success; one line and non-zero on failure', async () => {
    await withProxy(async (proxy) => {
      const ini = writeIni(f.dir, 'cron');
      const ok = await runInventory(ini, ['--refresh-only'], proxy.url);
      assert.deepEqual(ok, { code: 0, stdout: '', stderr: '' });
      assert.ok(proxy.requests > 0);
      proxy.requests = 0;
      const listed = await runInventory(ini, ['--list'], proxy.url);
      assert.equal(proxy.requests, 0, 'the cron refresh filled the cache');
      assert.ok(web1() in JSON.parse(listed.stdout)._meta.hostvars);
      proxy.failWith = 503;
      const bad = await runInventory(ini, ['--refresh-only'], proxy.url);
      assert.equal(bad.code, 1);
      assert.equal(bad.stdout, '');
      assert.equal(bad.stderr.split('\n').filter(Boolean).length, 1, bad.stderr);
      assert.match(bad.stderr, /^ec2-inventory: EC2 DescribeRegions in us-east-1 failed \(HTTP 503\)/);
    });
  });
});

describe('files and secrets', () => {
  it('cache files are 0600, and no credential appears in the cache or the output', async () => {
    const secret = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYSECRETKEY';
    const keyId = 'AKIAIOSFODNN7EXAMPLE';
    const ini = writeIni(f.dir, 'secrets');
    const r = await runInventory(ini, ['--list'], f.moto.endpoint, { AWS_ACCESS_KEY_ID: keyId, AWS_SECRET_ACCESS_KEY: secret });
    assert.equal(r.code, 0, r.stderr);
    const cacheDir = path.join(f.dir, 'secrets-cache');
    for (const f of readdirSync(cacheDir)) {
      const file = path.join(cacheDir, f);
      if (statSync(file).isFile()) {
        assert.equal(statSync(file).mode & 0o777, 0o600, f);
        const text = readFileSync(file, 'utf8');
        assert.ok(!text.includes(secret) && !text.includes(keyId), `credential in ${f}`);
      }
    }
    assert.ok(!r.stdout.includes(secret) && !r.stdout.includes(keyId) && !r.stderr.includes(secret));
  });
});

describe('progress', () => {
  it('shows regions done and instances found on a terminal once a refresh passes a second, and never otherwise', async () => {
    const { main } = await import('../../lib/cli/inventory.js');
    await withProxy(async (proxy) => {
      const saved = { ...process.env };
      Object.assign(process.env, { AWS_ENDPOINT_URL: proxy.url, AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing' });
      try {
        for (const tty of [true, false]) {
          process.env['EC2_INI_PATH'] = writeIni(f.dir, `progress-${tty}`);
          let out = '';
          let err = '';
          const code = await main(['--list'], {
            stdout: (t) => { out += typeof t === 'string' ? t : Buffer.from(t).toString(); },
            stderr: (t) => { err += t; },
            stderrIsTTY: tty,
          });
          assert.equal(code, 0, err);
          assert.ok(JSON.parse(out)._meta, 'stdout is the inventory alone');
          if (tty) {
            assert.match(err, /\r\x1b\[Kec2-inventory: refreshing: \d\/3 regions, \d+ instances/);
            assert.ok(err.endsWith('\r\x1b[K'), 'the status line is cleared before the output');
          } else {
            assert.equal(err, '');
          }
        }
      } finally {
        process.env = saved;
      }
    }, 400);
  });
});
