// The cached --list fast path (lib/cli/cached.ts): it answers with exactly the bytes the full path
// prints, and only when it can prove that; every change the full path would notice sends it there.
// serveCachedList's return value says which path answered in process; EC2_INVENTORY_TRACE says so
// for the real bin/ec2-inventory. The AWS endpoint is a counting proxy that fails every request: a
// run that refreshes asks it (and fails on its answer), which shows the cache was not served; an
// exit code alone would not, since a crash or a settings error exits 1 too.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFile } from 'node:child_process';
import { chmodSync, chownSync, closeSync, mkdirSync, openSync, readFileSync, readdirSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { parseSettings, readSettings, type Settings } from '../../lib/settings/read.js';
import { buildInventory } from '../../lib/ec2py/rules.js';
import { json_format_dict } from '../../lib/ec2py/format.js';
import { cacheDigest } from '../../lib/store/digest.js';
import { openFileCache } from '../../lib/store/open.js';
import { computeReadKey, readKeyOf, sha256Hex, sha256Js } from '../../lib/settings/readKey.js';
import { serveCachedList } from '../../lib/cli/cached.js';
import { openRegistry, registeredHosts } from '../../lib/store/registry.js';
import { mergeRegistered } from '../../lib/ec2py/registered.js';
import type { Inventory, RegisteredHost } from '../../lib/records/inventory.js';
import { syntheticRecords } from '../bench/synthetic.js';
import { run, runFullPath, tempDir, withoutCodeCacheTrace, writeIni, type RunResult } from '../support/run.js';
import { inventoryBin, repoRoot } from '../support/paths.js';
import { hasTool, skipUnless } from '../support/tools.js';
import { startProxy } from '../support/proxy.js';

const trace = 'ec2-inventory: trace: --list served from the cache by the fast path\n';
const dir = tempDir('ec2inv-cached-');
// Nothing behind it is ever reached: every request is answered 503.
const aws = await startProxy('http://127.0.0.1:1');
aws.failWith = 503;
after(() => aws.close());

interface Fixture {
  ini: string;
  env: NodeJS.ProcessEnv;
  settings: Settings;
  cacheDir: string;
  /** What --list prints. */
  expected: string;
}

function baseEnv(ini: string): NodeJS.ProcessEnv {
  return {
    PATH: process.env['PATH'], HOME: process.env['HOME'], EC2_INI_PATH: ini,
    AWS_ACCESS_KEY_ID: 'AKIAIOSFODNN7EXAMPLE', AWS_SECRET_ACCESS_KEY: 'testing', AWS_EC2_METADATA_DISABLED: 'true',
    AWS_ENDPOINT_URL: aws.url,
  };
}

/** An ini and its cache as a refresh leaves them (the entry and its read key, through the file store). */
async function fixture(name: string, overrides: Record<string, string | null> = {}, hosts = 40, writtenAt = Date.now()): Promise<Fixture> {
  const ini = writeIni(dir, name, { regions: 'us-east-1', route53: 'False', rds: 'False', max_attempts: '1', cache_max_age: '3600', ...overrides });
  const env = baseEnv(ini);
  const settings = readSettings(ini, env);
  await cacheFor(settings, env, hosts, writtenAt);
  const expected = readFileSync(path.join(settings.cachePath, 'ansible-ec2.cache'), 'utf8') + '\n';
  return { ini, env, settings, cacheDir: settings.cachePath, expected };
}

async function cacheFor(settings: Settings, env: NodeJS.ProcessEnv, hosts = 40, writtenAt = Date.now()): Promise<void> {
  const { inventory, index } = buildInventory(syntheticRecords(hosts, 'us-east-1'), settings);
  await openFileCache(settings.cachePath).set(cacheDigest(settings, env), {
    inventory: json_format_dict(inventory), index: json_format_dict(index), writtenAt, readKey: readKeyOf(settings, env),
  });
}

/** serveCachedList in this process, into a file: whether it served, and what it wrote. */
function serve(env: NodeJS.ProcessEnv, argv: string[] = ['--list']): { served: boolean; out: string } {
  const file = path.join(dir, `out-${process.hrtime.bigint()}`);
  const fd = openSync(file, 'w');
  let served: boolean;
  try {
    served = serveCachedList(argv, env, inventoryBin, fd);
  } finally {
    closeSync(fd);
  }
  const out = readFileSync(file, 'utf8');
  rmSync(file);
  return { served, out };
}

function bin(env: NodeJS.ProcessEnv, args: string[] = ['--list']): Promise<RunResult> {
  return run(inventoryBin, args, { ...env, EC2_INVENTORY_TRACE: '1' });
}

/** bin/ec2-inventory --list went the full path to a refresh: it asked AWS, and failed on AWS's answer. */
async function refreshes(env: NodeJS.ProcessEnv, why: string): Promise<void> {
  const before = aws.requests;
  const r = await bin(env);
  assert.ok(aws.requests > before, `${why}: no request reached AWS (exit ${r.code}): ${r.stderr}`);
  assert.equal(r.code, 1, why);
  assert.equal(r.stdout, '', why);
  assert.match(withoutCodeCacheTrace(r.stderr), /^ec2-inventory: EC2 \w+ in us-\w+-\d failed \(HTTP 503\): InternalError: injected 503\n$/, why);
}

describe('cached --list fast path', () => {
  it('serves exactly the bytes the full path prints, for --list and for no argument', async () => {
    const f = await fixture('same', {}, 300);
    const full = await runFullPath(['--list'], f.env);
    assert.equal(full.code, 0, full.stderr);
    assert.equal(full.stdout, f.expected);
    for (const args of [['--list'], []]) {
      const fast = await bin(f.env, args);
      assert.equal(fast.code, 0, fast.stderr);
      assert.equal(fast.stderr, trace, 'the fast path answered');
      assert.equal(fast.stdout, full.stdout);
    }
    assert.deepEqual(serve(f.env), { served: true, out: f.expected });
  });

  it("prints the ini's warnings (options ec2.py ignores) as the full path does, from meta, without parsing for them", async () => {
    const f = await fixture('warnings', { hostname_varible: 'tag_Name' });
    const warning = `ec2-inventory: warning: ${f.ini}:15: [ec2] option 'hostname_varible' is not an ec2.ini option and is ignored, as ec2.py ignores it (nearest known: 'hostname_variable')\n`;
    const full = await runFullPath(['--list'], f.env);
    assert.deepEqual([full.code, full.stderr, full.stdout], [0, warning, f.expected]);
    const fast = await bin(f.env);
    assert.deepEqual([fast.code, fast.stderr, fast.stdout], [0, warning + trace, f.expected]);
  });

  it('answers nothing but --list and no argument', async () => {
    const f = await fixture('argv');
    for (const argv of [['--host', 'x'], ['--list', '--refresh-cache'], ['--refresh-cache'], ['--refresh-only'], ['--list', '--list'], ['--profile', 'p']]) {
      assert.deepEqual(serve(f.env, argv), { served: false, out: '' }, argv.join(' '));
    }
  });

  it('does not serve once the ini differs by one byte (a filter, a comment), and serves again with the same bytes', async () => {
    const f = await fixture('ini-bytes');
    const original = readFileSync(f.ini);
    writeFileSync(f.ini, original.toString().replace('cache_max_age', 'instance_filters = tag:Env=prod\ncache_max_age'));
    assert.equal(serve(f.env).served, false, 'a filter added');
    await refreshes(f.env, 'the full path refreshed');
    writeFileSync(f.ini, Buffer.concat([original, Buffer.from(';\n')]));
    assert.equal(serve(f.env).served, false, 'a comment added');
    writeFileSync(f.ini, original);
    assert.equal(serve(f.env).served, true);
  });

  it('does not serve when a variable the settings or the digest consult differs; others do not matter', async () => {
    const f = await fixture('env');
    assert.equal(serve(f.env).served, true);
    const changes: Record<string, string | undefined> = {
      AWS_PROFILE: 'other', AWS_DEFAULT_PROFILE: 'other', AWS_ACCESS_KEY_ID: 'AKIAOTHER', EC2_INSTANCE_FILTERS: 'tag:Env=prod',
      AWS_ENDPOINT_URL: 'http://127.0.0.1:2', AWS_ENDPOINT_URL_EC2: 'http://127.0.0.1:2', AWS_REGION: 'eu-west-1',
      AWS_DEFAULT_REGION: 'eu-west-1', AWS_ROLE_ARN: 'arn:aws:iam::1:role/x', AWS_CONFIG_FILE: '/x', AWS_SHARED_CREDENTIALS_FILE: '/x',
      EC2_URL: 'http://x', HOME: '/nonexistent',
    };
    for (const [name, value] of Object.entries(changes)) {
      assert.equal(serve({ ...f.env, [name]: value }).served, false, `${name} changed`);
    }
    assert.equal(serve({ ...f.env, EC2_INSTANCE_FILTERS: '' }).served, false, 'set but empty is not unset');
    const { AWS_ACCESS_KEY_ID: _removed, ...withoutKey } = f.env;
    assert.equal(serve(withoutKey).served, false, 'AWS_ACCESS_KEY_ID removed');
    assert.equal(serve({ ...f.env, AWS_SECRET_ACCESS_KEY: 'rotated', TERM: 'dumb', LANG: 'C' }).served, true, 'nothing relevant changed');
    // A profile that exists: without it the run would stop at the credentials, before the cache.
    const credentials = path.join(dir, 'credentials');
    writeFileSync(credentials, '[other]\naws_access_key_id = AKIAOTHER\naws_secret_access_key = other\n');
    await refreshes({ ...f.env, AWS_PROFILE: 'other', AWS_SHARED_CREDENTIALS_FILE: credentials }, 'the full path did not find this identity in the cache either');
  });

  it('covers every environment variable lib/settings and lib/store/digest read', () => {
    const sources = [
      ...readdirSync(path.join(repoRoot, 'lib', 'settings')).map((f) => path.join(repoRoot, 'lib', 'settings', f)),
      path.join(repoRoot, 'lib', 'store', 'digest.ts'),
    ];
    const names = new Set<string>();
    for (const file of sources) for (const m of readFileSync(file, 'utf8').matchAll(/env\[['"]([A-Z0-9_]+)['"]\]/g)) names.add(m[1] as string);
    // and the patterns of the digest's list
    for (const name of ['AWS_ENDPOINT_URL', 'AWS_ENDPOINT_URL_ROUTE_53', 'AWS_PROFILE', 'AWS_ROLE_ARN', 'EC2_URL']) names.add(name);
    assert.ok(names.has('EC2_INSTANCE_FILTERS') && names.has('AWS_REGION') && names.has('HOME') && names.has('AWS_ACCESS_KEY_ID'), [...names].join());
    const inputs = { iniPath: '/e/ec2.ini', iniSha: sha256Hex(''), cachePath: '/c', maxAge: 300, profile: undefined, env: {} };
    const base = computeReadKey(inputs);
    for (const name of names) assert.notEqual(computeReadKey({ ...inputs, env: { [name]: 'x' } }), base, name);
    assert.notEqual(computeReadKey({ ...inputs, profile: 'p' }), base, '--profile');
    assert.notEqual(computeReadKey({ ...inputs, maxAge: 301 }), base, 'cache_max_age');
    assert.notEqual(computeReadKey({ ...inputs, cachePath: '/d' }), base, 'cache_path');
  });

  it('does not serve a stale cache (the full path refreshes)', async () => {
    const f = await fixture('stale', { cache_max_age: '60' }, 40, Date.now() - 61_000);
    assert.equal(serve(f.env).served, false);
    await refreshes(f.env, 'the full path refreshed the stale entry');
  });

  it('with registered hosts, serves the merged output the full path kept, byte for byte, until the registry or the cache changes', async () => {
    const f = await fixture('registry');
    const registry = async (change: (r: Awaited<ReturnType<typeof openRegistry>>) => Promise<unknown>) => {
      const r = await openRegistry(f.settings);
      try {
        await change(r);
      } finally {
        await r.close();
      }
    };
    // Registered by hand: a launch's entries also drop the cache (the next test).
    // Today's merge, computed here from the cache file and the registry.
    const merge = async () => json_format_dict(mergeRegistered(
      JSON.parse(readFileSync(path.join(f.cacheDir, 'ansible-ec2.cache'), 'utf8')) as Inventory, await registeredHosts(f.settings))) + '\n';
    await registry((r) => r.register({ name: 'kvm-web1', groups: ['web'], source: 'manual', registeredAt: Date.now(), hostvars: { ansible_host: '10.0.0.9' } }));
    assert.equal(serve(f.env).served, false, 'nothing merged yet');
    const first = await bin(f.env);
    assert.equal(first.code, 0, first.stderr);
    assert.equal(withoutCodeCacheTrace(first.stderr), '', 'the full path answered');
    const expected = await merge();
    assert.equal(first.stdout, expected);
    assert.deepEqual(JSON.parse(first.stdout).web, ['kvm-web1']);
    const fast = await bin(f.env);
    assert.equal(fast.stderr, trace, 'the fast path answered');
    assert.equal(fast.stdout, expected);
    assert.equal(serve(f.env).out, expected);

    // A registration is seen by the next --list, which keeps the new merge for the one after.
    await registry((r) => r.register({ name: 'kvm-db1', groups: ['db'], source: 'manual', registeredAt: Date.now(), hostvars: {} }));
    const registered = await bin(f.env);
    assert.equal(withoutCodeCacheTrace(registered.stderr), '', 'the full path answered');
    assert.equal(registered.stdout, await merge());
    assert.deepEqual(JSON.parse(registered.stdout).db, ['kvm-db1']);
    const registeredFast = await bin(f.env);
    assert.equal(registeredFast.stderr, trace);
    assert.equal(registeredFast.stdout, registered.stdout);

    // So is a deregistration, and a new cache entry.
    await registry((r) => r.deregister('kvm-web1'));
    const deregistered = await bin(f.env);
    assert.equal(withoutCodeCacheTrace(deregistered.stderr), '', 'the full path answered');
    assert.equal(JSON.parse(deregistered.stdout).web, undefined);
    assert.equal(deregistered.stdout, await merge());
    await cacheFor(f.settings, f.env, 41);
    assert.equal(serve(f.env).served, false, 'the merge was made from the previous entry');
    const refreshed = await bin(f.env);
    assert.equal(withoutCodeCacheTrace(refreshed.stderr), '', 'the full path answered');
    assert.equal(refreshed.stdout, await merge());
    assert.equal(Object.keys(JSON.parse(refreshed.stdout)._meta.hostvars).length, 42);
    assert.equal((await bin(f.env)).stderr, trace);
  });

  it('serves nothing cached once a launch registers or a destroy deregisters a host: the full path asks AWS', async () => {
    const f = await fixture('launched');
    const launched: RegisteredHost = { name: 'web-9', groups: ['web'], source: 'ec2', registeredAt: Date.now(), hostvars: { ec2_id: 'i-0123456789abcdef0' } };
    const registry = await openRegistry(f.settings);
    try {
      await registry.register(launched);
      assert.equal(serve(f.env).served, false, 'after a launch');
      await refreshes(f.env, 'after a launch');
      await cacheFor(f.settings, f.env);
      await registry.register({ ...launched, name: 'by-hand', source: 'manual' });
      await registry.deregister('by-hand');
      assert.equal((await bin(f.env)).code, 0, 'entries registered by hand change the merge, not the cache');
      await registry.deregister('web-9');
      assert.equal(serve(f.env).served, false, 'after a destroy');
      await refreshes(f.env, 'after a destroy');
      await cacheFor(f.settings, f.env);
      await registry.hostsChanged();
      await refreshes(f.env, 'after an instance terminated by id');
    } finally {
      await registry.close();
    }
  });

  it('does not serve a truncated cache, an index of the wrong length, or a pair being rewritten', async () => {
    const f = await fixture('damaged');
    const cacheFile = path.join(f.cacheDir, 'ansible-ec2.cache');
    const indexFile = path.join(f.cacheDir, 'ansible-ec2.index');
    const metaFile = path.join(f.cacheDir, 'ansible-ec2.meta');
    const [cache, index, meta] = [readFileSync(cacheFile), readFileSync(indexFile), readFileSync(metaFile)];
    assert.equal(serve(f.env).served, true);
    truncateSync(cacheFile, 100);
    assert.equal(serve(f.env).served, false, 'truncated cache');
    await refreshes(f.env, 'the full path refused it too');
    writeFileSync(cacheFile, cache);
    writeFileSync(indexFile, index.subarray(1));
    assert.equal(serve(f.env).served, false, 'short index');
    writeFileSync(indexFile, index);
    // What writeEntry puts in meta while it replaces the files.
    writeFileSync(metaFile, JSON.stringify({ digest: '', writtenAt: 0, nonce: 'pending-1', cacheBytes: -1, indexBytes: -1 }));
    assert.equal(serve(f.env).served, false, 'being rewritten');
    writeFileSync(metaFile, meta);
    assert.equal(serve(f.env).served, true);
  });

  it('does not serve an entry of another configuration sharing the cache_path', async () => {
    const shared = path.join(dir, 'shared-cache');
    const a = await fixture('cfg-a', { cache_path: shared, regions: 'us-east-1' });
    const bIni = writeIni(dir, 'cfg-b', { cache_path: shared, regions: 'us-west-2', route53: 'False', rds: 'False', max_attempts: '1', cache_max_age: '3600' });
    assert.equal(serve(baseEnv(bIni)).served, false);
    await refreshes(baseEnv(bIni), 'the full path refreshed for b');
    assert.equal(serve(a.env).served, true);
  });

  it('does not serve with cache_max_age = 0', async () => {
    const f = await fixture('nocache', { cache_max_age: '0' });
    assert.equal(JSON.parse(readFileSync(path.join(f.cacheDir, 'ansible-ec2.meta'), 'utf8')).read.maxAge, 0);
    assert.equal(serve(f.env).served, false);
  });

  it('does not serve an entry written with --profile to a run without it', async () => {
    const ini = writeIni(dir, 'profile', { regions: 'us-east-1', route53: 'False', rds: 'False', cache_max_age: '3600' });
    const env = baseEnv(ini);
    await cacheFor(readSettings(ini, env, { profile: 'p' }), env);
    assert.equal(serve(env).served, false);
  });

  it('gives no read key to settings it cannot vouch for', () => {
    const ini = writeIni(dir, 'vouch', { regions: 'us-east-1', route53: 'False', cache_max_age: '3600' });
    const env = baseEnv(ini);
    assert.ok(readKeyOf(readSettings(ini, env), env));
    const changed = readSettings(ini, env);
    changed.regions = ['eu-west-1'];
    assert.equal(readKeyOf(changed, env), undefined, 'changed after reading');
    assert.equal(readKeyOf({ ...readSettings(ini, env) }, env), undefined, 'a copy');
    assert.equal(readKeyOf(parseSettings(readFileSync(ini, 'utf8'), ini, env), env), undefined, 'parsed from text');
    assert.equal(readKeyOf(readSettings(ini, env), { ...env, AWS_PROFILE: 'x' }), undefined, 'another environment at write time');
    const redis = writeIni(dir, 'vouch-redis', { regions: 'us-east-1', route53: 'False', cache_max_age: '3600', cache_connection: 'redis://127.0.0.1:1/0' });
    assert.equal(readKeyOf(readSettings(redis, env), env), undefined, 'Redis');
  });

  it('finds cache_path under ~ through HOME, and only through the same HOME', async () => {
    const home = path.join(dir, 'home');
    mkdirSync(home, { recursive: true });
    const ini = writeIni(dir, 'tilde', { regions: 'us-east-1', route53: 'False', cache_max_age: '3600', cache_path: '~/inv-cache' });
    const env = { ...baseEnv(ini), HOME: home };
    await cacheFor(readSettings(ini, env), env);
    assert.ok(statSync(path.join(home, 'inv-cache', 'ansible-ec2.meta')).isFile());
    assert.equal(serve(env).served, true);
    assert.equal(serve({ ...env, HOME: `${home}/` }).served, false);
  });

  it('writes no credential into meta, only hashes', async () => {
    const secret = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYSECRETKEY';
    const iniKeyId = 'AKIAINIKEYID00000000';
    const ini = writeIni(dir, 'secret', { regions: 'us-east-1', route53: 'False', cache_max_age: '3600' });
    writeFileSync(ini, `${readFileSync(ini, 'utf8')}[credentials]\naws_access_key_id = ${iniKeyId}\naws_secret_access_key = ${secret}\n`);
    const { AWS_ACCESS_KEY_ID: _unused, ...env } = baseEnv(ini);
    const settings = readSettings(ini, env);
    assert.equal(settings.credentialsKeyId, iniKeyId);
    await cacheFor(settings, env);
    assert.equal(serve(env).served, true);
    const f = await fixture('secret-env');
    for (const cacheDir of [settings.cachePath, f.cacheDir]) {
      const meta = readFileSync(path.join(cacheDir, 'ansible-ec2.meta'), 'utf8');
      for (const c of [secret, iniKeyId, f.env['AWS_ACCESS_KEY_ID'] as string]) assert.ok(!meta.includes(c), `${c} in meta`);
      assert.equal(statSync(path.join(cacheDir, 'ansible-ec2.meta')).mode & 0o777, 0o600);
    }
  });

  it('reads cache_path as the full path does: `:`, %(name)s from [DEFAULT], a continued value elsewhere', async () => {
    const home = path.join(dir, 'home-interp');
    mkdirSync(home, { recursive: true });
    const ini = writeIni(dir, 'interp', { regions: 'us-east-1', route53: 'False', cache_max_age: '3600', cache_path: '~/placeholder' });
    const text = readFileSync(ini, 'utf8').replace(/^cache_path\s*=.*$/m, 'cache_path: %(base)s/inv-%%-cache\nregions_exclude2 = a,\n  b');
    writeFileSync(ini, `[DEFAULT]\nbase = ~/interp\n${text}`);
    const env = { ...baseEnv(ini), HOME: home };
    const settings = readSettings(ini, env);
    assert.equal(settings.cachePath, path.join(home, 'interp', 'inv-%-cache'));
    await cacheFor(settings, env);
    assert.equal(serve(env).served, true);
  });

  it('loads nothing but its files and the leaf rules it shares with the full path, and node:fs, node:path (and node:crypto for a long ini) — what keeps it fast', () => {
    const seen = new Set<string>();
    const builtins = new Set<string>();
    const visit = (file: string) => {
      if (seen.has(file)) return;
      seen.add(file);
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(/^\s*import\s+(?:[^'";]*?\s+from\s+)?['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]\s*\)|\brequire\(/gm)) {
        const spec = m[1] ?? m[2];
        assert.ok(spec?.startsWith('.'), `${path.relative(repoRoot, file)} imports ${spec ?? 'through require'}`);
        visit(path.resolve(path.dirname(file), spec));
      }
      for (const m of text.matchAll(/getBuiltin\('([^']+)'\)/g)) builtins.add(m[1] as string);
    };
    visit(path.join(repoRoot, 'dist', 'lib', 'cli', 'cached.js'));
    assert.deepEqual([...seen].map((f) => path.relative(repoRoot, f)).sort(), [
      'dist/lib/cli/cached.js', 'dist/lib/settings/configparser.js', 'dist/lib/settings/paths.js', 'dist/lib/settings/readKey.js', 'dist/lib/store/layout.js',
    ]);
    assert.deepEqual([...builtins].sort(), ['node:crypto', 'node:fs', 'node:path']);
    const binText = readFileSync(inventoryBin, 'utf8');
    assert.match(binText, /^import \{ serveCachedList \} from '\.\.\/dist\/lib\/cli\/cached\.js';$/m);
    assert.doesNotMatch(binText, /^import .*inventory\.js/m, 'main is loaded only when the fast path declines');
  });

  it('hashes with SHA-256 at every length, in JavaScript or through node:crypto', () => {
    for (const n of [0, 1, 3, 55, 56, 63, 64, 65, 119, 120, 1000, 2048, 2049, 15000]) {
      const bytes = Buffer.alloc(n, n % 251);
      for (let i = 0; i < n; i++) bytes[i] = (i * 31 + n) & 255;
      const expected = createHash('sha256').update(bytes).digest('hex');
      assert.equal(sha256Js(bytes), expected, `${n} bytes`);
      assert.equal(sha256Hex(bytes), expected, `${n} bytes`);
    }
    assert.equal(sha256Hex('é'), createHash('sha256').update('é').digest('hex'));
  });

  it('stops quietly with exit 0 when the reader closes the pipe early', async () => {
    const f = await fixture('pipe', {}, 2000);
    const child = spawn(inventoryBin, ['--list'], { env: { ...f.env, EC2_INVENTORY_TRACE: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    await new Promise<void>((resolve) => child.stdout.once('data', () => { child.stdout.destroy(); resolve(); }));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    assert.equal(code, 0, stderr);
    assert.equal(stderr, trace);
  });

  const python = skipUnless('non-blocking stdout test', hasTool('python3') ? undefined : 'python3 not installed');
  it('writes everything to a non-blocking stdout that fills up (EAGAIN)', { skip: python }, async () => {
    const f = await fixture('nonblock', {}, 2000);
    // A parent that leaves stdout non-blocking (as node does for its own pipes) and reads late.
    const script = [
      'import os, subprocess, sys, time',
      'r, w = os.pipe()',
      'os.set_blocking(w, False)',
      'p = subprocess.Popen(sys.argv[1:], stdout=w)',
      'os.close(w)',
      'time.sleep(0.5)',
      'chunks = []',
      'while True:',
      '    b = os.read(r, 1 << 16)',
      '    if not b: break',
      '    chunks.append(b)',
      'sys.stdout.buffer.write(b"".join(chunks))',
      'sys.exit(p.wait())',
    ].join('\n');
    const r = await new Promise<{ code: number; stdout: Buffer; stderr: string }>((resolve) => {
      execFile('python3', ['-c', script, inventoryBin, '--list'], { env: { ...f.env, EC2_INVENTORY_TRACE: '1' }, encoding: 'buffer', maxBuffer: 64 << 20 },
        (err, stdout, stderr) => resolve({ code: err ? Number((err as NodeJS.ErrnoException).code ?? 1) : 0, stdout, stderr: stderr.toString() }));
    });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, trace);
    assert.ok(r.stdout.length > 1 << 16, 'more than a pipe holds');
    assert.equal(createHash('sha256').update(r.stdout).digest('hex'), createHash('sha256').update(f.expected).digest('hex'));
  });

  it('leaves an unwritable cache folder to the full path', async () => {
    const f = await fixture('readonly');
    if (process.getuid?.() !== 0) {
      chmodSync(f.cacheDir, 0o500);
      try {
        assert.equal(serve(f.env).served, false);
      } finally {
        chmodSync(f.cacheDir, 0o700);
      }
      return;
    }
    // Root may write anywhere: ask as nobody, to whom the files are readable and the folder
    // writable or not by its mode.
    const served = (mode: number) => new Promise<string>((resolve, reject) => {
      chmodSync(f.cacheDir, mode);
      const script = `import(${JSON.stringify(path.join(repoRoot, 'dist/lib/cli/cached.js'))}).then((m) => { ` +
        `const served = m.serveCachedList(['--list'], JSON.parse(process.env.FIXTURE_ENV), ${JSON.stringify(inventoryBin)}, 2); process.stdout.write(String(served)); })`;
      execFile(process.execPath, ['--input-type=module', '-e', script], {
        uid: 65534, gid: 65534, env: { PATH: process.env['PATH'], FIXTURE_ENV: JSON.stringify(f.env) },
      }, (err, stdout) => (err ? reject(err) : resolve(stdout)));
    });
    for (const p of [dir, path.dirname(f.cacheDir), path.dirname(f.ini)]) chmodSync(p, 0o755);
    for (const name of readdirSync(f.cacheDir)) chmodSync(path.join(f.cacheDir, name), 0o644);
    chmodSync(f.ini, 0o644);
    // The folder is nobody's own (a folder others can write is never trusted, see below).
    chownSync(f.cacheDir, 65534, 65534);
    try {
      assert.equal(await served(0o700), 'true', 'nobody is served when the folder is writable to it');
      assert.equal(await served(0o500), 'false', 'and not when it is not');
      assert.equal(await served(0o777), 'false', 'nor when others can write it too (lib/store/permissions.ts)');
    } finally {
      chownSync(f.cacheDir, 0, 0);
      chmodSync(f.cacheDir, 0o700);
    }
  });

});
