// The cached --list fast path after real refreshes against moto: what bin/ec2-inventory prints from
// the cache is the full path's output byte for byte, and any change to the ini or the environment
// sends the run back to the full path, which refreshes (counted at the proxy) and prints the new
// inventory; that refresh's cache is then served fast again.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { scenarioFixture } from '../support/fixture.js';
import { host } from '../support/scenario.js';
import { startProxy, type Proxy } from '../support/proxy.js';
import { awsEnv, runFullPath, runInventory, withoutCodeCacheTrace, writeIni, type RunResult } from '../support/run.js';

const f = scenarioFixture('ec2inv-fastlist-');
const trace = 'ec2-inventory: trace: --list served from the cache by the fast path\n';

async function withProxy<T>(fn: (proxy: Proxy) => Promise<T>): Promise<T> {
  const proxy = await startProxy(f.moto.endpoint);
  try {
    return await fn(proxy);
  } finally {
    await proxy.close();
  }
}

describe('cached --list after real refreshes', () => {
  it('serves what the full path prints, and falls back (and refreshes) when the ini or the environment changes', async () => {
    await withProxy(async (proxy) => {
      const ini = writeIni(f.dir, 'fast', { cache_max_age: '3600' });
      const list = (extra: NodeJS.ProcessEnv = {}): Promise<RunResult> => runInventory(ini, ['--list'], proxy.url, { EC2_INVENTORY_TRACE: '1', ...extra });
      const full = (extra: NodeJS.ProcessEnv = {}): Promise<RunResult> => runFullPath(['--list'], awsEnv(proxy.url, { EC2_INI_PATH: ini, ...extra }));

      const refresh = await runInventory(ini, ['--refresh-only'], proxy.url);
      assert.equal(refresh.code, 0, refresh.stderr);
      proxy.requests = 0;
      const fast = await list();
      assert.equal(fast.stderr, trace, 'the fast path answered');
      const slow = await full();
      assert.equal(slow.code, 0, slow.stderr);
      assert.equal(fast.stdout, slow.stdout);
      assert.equal(proxy.requests, 0);
      assert.ok(host(f.s, 'web1').publicIp as string in JSON.parse(fast.stdout)._meta.hostvars);

      // One more filter in the ini: the full path answers, with a refresh.
      writeFileSync(ini, readFileSync(ini, 'utf8').replace('[ec2]\n', '[ec2]\ninstance_filters = tag:Env=prod\n'));
      const filtered = await list();
      assert.equal(filtered.code, 0, filtered.stderr);
      assert.equal(withoutCodeCacheTrace(filtered.stderr), '', 'the full path answered');
      assert.ok(proxy.requests > 0, 'and refreshed');
      assert.notEqual(filtered.stdout, fast.stdout);
      assert.ok(!(host(f.s, 'untagged').publicIp as string in JSON.parse(filtered.stdout)._meta.hostvars));
      proxy.requests = 0;
      const again = await list();
      assert.equal(again.stderr, trace, 'the new cache is served fast');
      assert.equal(again.stdout, filtered.stdout);
      assert.equal(proxy.requests, 0);

      // The same ini under EC2_INSTANCE_FILTERS, which replaces its filters.
      const env = { EC2_INSTANCE_FILTERS: 'tag:Env=dev' };
      const byEnv = await list(env);
      assert.equal(withoutCodeCacheTrace(byEnv.stderr), '', 'the full path answered');
      assert.ok(proxy.requests > 0, 'and refreshed');
      proxy.requests = 0;
      const byEnvFast = await list(env);
      assert.equal(byEnvFast.stderr, trace);
      assert.equal(byEnvFast.stdout, (await full(env)).stdout);
      assert.notEqual(byEnvFast.stdout, filtered.stdout);
      assert.equal(proxy.requests, 0);
    });
  });
});
