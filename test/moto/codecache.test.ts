// bin/ec2-inventory's V8 code cache (lib/cli/fullPath.ts, on unless EC2_INVENTORY_CODE_CACHE=off) through real
// refreshes against moto: the first refresh writes it, later runs compile from it (the trace says
// which), a change of V8 flags or a damaged file sends the run back to the bundle's source, and the
// output is the same bytes whichever way the code was compiled, and the same as without the cache.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { scenarioFixture } from '../support/fixture.js';
import { awsEnv, run, tempDir, writeIni, type RunResult } from '../support/run.js';
import { inventoryBin } from '../support/paths.js';

const f = scenarioFixture('ec2inv-codecache-');

describe('the code cache of bin/ec2-inventory', () => {
  it('is on by default: written after a refresh, used when it matches, refused when flags differ, ignored when damaged, and never changes the output', async () => {
    const xdg = tempDir('ec2inv-xdg-');
    // cache_max_age = 0: every --list refreshes, so every run below runs the whole refresh path. No
    // RDS: moto answers its LatestRestorableTime with the time of the request.
    const ini = writeIni(f.dir, 'codecache', { cache_max_age: '0', rds: 'False' });
    const list = (nodeArgs: string[] = [], extra: NodeJS.ProcessEnv = {}): Promise<RunResult> => run(process.execPath, [...nodeArgs, inventoryBin, '--list'],
      awsEnv(f.moto.endpoint, { EC2_INI_PATH: ini, EC2_INVENTORY_TRACE: '1', XDG_CACHE_HOME: xdg, ...extra }));
    const ok = (r: RunResult): RunResult => {
      assert.equal(r.code, 0, r.stderr);
      return r;
    };
    const traced = (r: RunResult) => r.stderr.split('\n').filter((l) => l.startsWith('ec2-inventory: trace: code cache ')).map((l) => l.slice('ec2-inventory: trace: code cache '.length));

    const first = ok(await list());
    const [written] = readdirSync(path.join(xdg, 'ec2-inventory'));
    assert.ok(written, 'a cache file was written');
    const file = path.join(xdg, 'ec2-inventory', written);
    assert.deepEqual(traced(first), ['not used: none yet', `rebuilt: ${file} (${Math.round(statSync(file).size / 1024)} kB)`]);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.equal(statSync(path.dirname(file)).mode & 0o777, 0o700);

    const used = ok(await list());
    assert.deepEqual(traced(used), [`used: ${file}`]);
    assert.equal(used.stdout, first.stdout);

    assert.deepEqual(traced(ok(await list([], { EC2_INVENTORY_CODE_CACHE: 'on' }))), [`used: ${file}`], 'on is the default');
    const without = ok(await list([], { EC2_INVENTORY_CODE_CACHE: 'off' }));
    assert.deepEqual(traced(without), [], 'the ES module bundle, no code cache');
    assert.equal(without.stdout, first.stdout);
    assert.ok(Object.keys(JSON.parse(first.stdout)._meta.hostvars).length > 0);

    // Another V8 flag: V8 would refuse the bytecode, and the key says so first; the run rebuilds.
    const otherFlags = ok(await list(['--stack-size=900']));
    assert.deepEqual(traced(otherFlags), ['not used: stale: made for another set of V8 flags', `rebuilt: ${file} (${Math.round(statSync(file).size / 1024)} kB)`]);
    assert.equal(otherFlags.stdout, first.stdout);
    assert.deepEqual(traced(ok(await list(['--stack-size=900']))), [`used: ${file}`]);

    // One byte of the bytecode changed: ignored, compiled from source, the output unchanged.
    const bytes = readFileSync(file);
    bytes[bytes.length - 100] ^= 0xff;
    writeFileSync(file, bytes);
    const damaged = ok(await list(['--stack-size=900']));
    assert.equal(traced(damaged)[0], 'not used: ignored: damaged (its bytes do not match its SHA-256)');
    assert.equal(damaged.stdout, first.stdout);
    assert.deepEqual(traced(ok(await list(['--stack-size=900']))), [`used: ${file}`], 'and rebuilt after that refresh');
  });
});
