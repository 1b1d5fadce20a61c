// The code cache of bin/ec2-inventory's full path (lib/cli/fullPath.ts), on a small bundle of the
// same shape as dist/bundle/inventory.cjs: written after a run that refreshed, used when its key
// matches, and otherwise compiled from source: another bundle, other flags, a damaged file, a
// file or folder another user could have written, a cache V8 refuses. Whichever way the code was
// compiled, it does what its source says. (test/moto/codecache.test.ts runs the real bin.)
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, chownSync, readFileSync, readdirSync, renameSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { tempDir } from '../support/run.js';

/** A bundle whose main answers `answer` plus the number of arguments, and counts a refresh for any argument. */
function bundleText(answer: number, padding = ''): string {
  return `(function (exports, require, module, __filename, __dirname, __ec2invImportMetaUrl) {
"use strict";let refreshes = 0;
function work(n) { let s = 0; for (let i = 0; i < n; i++) s += i % 7; return s; }
exports.main = async (argv) => { if (argv.length > 0) refreshes++; work(1000); return ${answer} + argv.length; };
exports.fetchCount = () => refreshes;${padding}
})`;
}

interface Run { code: number; trace: string[] }

/**
 * Each load in a process of its own, as the bin runs: V8 keeps what one process compiled, and a
 * second compile of the same source in it would not look at the cache at all.
 */
const driver = `import { loadFullPath } from ${JSON.stringify(new URL('../../lib/cli/fullPath.js', import.meta.url).href)};
const [bundle, argv, flags] = process.argv.slice(1);
const full = loadFullPath(bundle, JSON.parse(flags), process.env, (line) => process.stderr.write(line));
const code = await full.main(JSON.parse(argv));
full.settle(0);
process.stdout.write(String(code));`;

function setup() {
  const dir = tempDir('ec2inv-codecache-');
  const bundle = path.join(dir, 'inventory.cjs');
  writeFileSync(bundle, bundleText(40));
  const xdg = path.join(dir, 'xdg');
  const env = { PATH: process.env['PATH'], XDG_CACHE_HOME: xdg, EC2_INVENTORY_TRACE: '1' };
  const load = async (argv: string[] = ['--refresh-cache'], flags: string[] = []): Promise<Run> => {
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', driver, bundle, JSON.stringify(argv), JSON.stringify(flags)], { env, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const trace = r.stderr.split('\n').filter((l) => l !== '').map((l) => l.replace(/^ec2-inventory: trace: code cache /, ''));
    return { code: Number(r.stdout), trace };
  };
  const cacheFile = () => {
    const files = readdirSync(path.join(xdg, 'ec2-inventory'));
    assert.equal(files.length, 1, `one cache file: ${files.join(', ')}`);
    return path.join(xdg, 'ec2-inventory', files[0] as string);
  };
  return { dir, bundle, xdg, load, cacheFile };
}

const rebuilt = (file: string) => `rebuilt: ${file} (${Math.round(statSync(file).size / 1024)} kB)`;

describe('the code cache', () => {
  it('is written after a run that refreshed, 0600 in a 0700 folder, and used by the next run', async () => {
    const s = setup();
    const none = await s.load([]);
    assert.deepEqual(none.trace, ['not used: none yet'], 'no refresh: nothing written');
    const first = await s.load();
    const file = s.cacheFile();
    assert.deepEqual(first.trace, ['not used: none yet', rebuilt(file)]);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.equal(statSync(path.dirname(file)).mode & 0o777, 0o700);
    const second = await s.load();
    assert.deepEqual(second.trace, [`used: ${file}`]);
    assert.equal(second.code, first.code);
    assert.equal(second.code, 41);
  });

  it('is rebuilt when the bundle changes (to one of the same length too) or the V8 flags do', async () => {
    const s = setup();
    await s.load();
    const file = s.cacheFile();
    writeFileSync(s.bundle, bundleText(50));
    assert.equal(statSync(s.bundle).size, bundleText(40).length);
    const changed = await s.load();
    assert.deepEqual(changed.trace, ['not used: stale: made for another bundle', rebuilt(file)]);
    assert.equal(changed.code, 51, 'the new bundle ran');
    assert.deepEqual((await s.load()).trace, [`used: ${file}`]);
    assert.equal((await s.load()).code, 51);

    const flags = await s.load(['x'], ['--interrupt-budget=1081344']);
    assert.deepEqual(flags.trace, ['not used: stale: made for another set of V8 flags', rebuilt(file)]);
    assert.deepEqual((await s.load(['x'], ['--interrupt-budget=1081344'])).trace, [`used: ${file}`]);
  });

  it('is ignored when damaged, and the bundle compiled from source does what it says', async () => {
    const s = setup();
    await s.load();
    const file = s.cacheFile();
    const good = readFileSync(file);
    const newline = good.indexOf(0x0a);
    const cases: [string, Buffer][] = [
      ['damaged (its bytes do not match its SHA-256)', Buffer.concat([good.subarray(0, good.length - 1), Buffer.from([good[good.length - 1]! ^ 1])])],
      ['damaged (its bytes do not match its SHA-256)', good.subarray(0, good.length - 10)],
      ['damaged (header)', Buffer.concat([Buffer.from('{"format":'), good.subarray(newline)])],
      ['damaged (no header)', Buffer.alloc(100, 7)],
      ['damaged (not a code cache of this format)', Buffer.concat([Buffer.from('{"format":"something else"}'), good.subarray(newline)])],
    ];
    for (const [why, bytes] of cases) {
      writeFileSync(file, bytes);
      const r = await s.load();
      assert.deepEqual(r.trace, [`not used: ignored: ${why}`, rebuilt(file)], why);
      assert.equal(r.code, 41);
      assert.deepEqual((await s.load()).trace, [`used: ${file}`], `${why}: rebuilt`);
    }
  });

  it('is refused by V8 when its bytecode is not V8\'s (a header rewritten to match), and the bundle is compiled from source', async () => {
    const s = setup();
    await s.load();
    const file = s.cacheFile();
    const good = readFileSync(file);
    const newline = good.indexOf(0x0a);
    const header = JSON.parse(good.subarray(0, newline).toString()) as Record<string, unknown>;
    // V8's own header (its magic number first) no longer V8's; only this user could write this.
    const data = Buffer.from(good.subarray(newline + 1));
    data[0] ^= 0xff;
    const { createHash } = await import('node:crypto');
    writeFileSync(file, Buffer.concat([Buffer.from(JSON.stringify({ ...header, sha256: createHash('sha256').update(data).digest('hex') }) + '\n'), data]));
    const r = await s.load();
    assert.deepEqual(r.trace, ['not used: refused by V8', rebuilt(file)]);
    assert.equal(r.code, 41);
    assert.deepEqual((await s.load()).trace, [`used: ${file}`]);
  });

  it('is ignored in a folder or a file that another user could have written', async (t) => {
    const s = setup();
    await s.load();
    const file = s.cacheFile();
    const folder = path.dirname(file);
    chmodSync(file, 0o620);
    assert.deepEqual((await s.load()).trace.slice(0, 1), [`not used: ignored: ${file} is not a private file of this user`]);
    chmodSync(file, 0o600);
    assert.deepEqual((await s.load()).trace, [`used: ${file}`]);
    chmodSync(folder, 0o777);
    const open = await s.load();
    assert.deepEqual(open.trace, [`not used: ignored: ${folder} is not a private folder of this user`, `not written: ${folder} is not a private folder of this user`]);
    assert.equal(open.code, 41);
    chmodSync(folder, 0o700);
    // A link planted in place of the file is not followed.
    renameSync(file, path.join(s.dir, 'elsewhere'));
    symlinkSync(path.join(s.dir, 'elsewhere'), file);
    assert.match((await s.load([])).trace[0] ?? '', /^not used: ignored: cannot open .* \(ELOOP\)$/);
    if (process.getuid?.() !== 0) {
      t.diagnostic('not root: the file of another owner is not made');
      return;
    }
    const mine = setup();
    await mine.load();
    const theirs = mine.cacheFile();
    chownSync(theirs, 65534, 65534);
    assert.deepEqual((await mine.load([])).trace, [`not used: ignored: ${theirs} is not a private file of this user`]);
  });
});
