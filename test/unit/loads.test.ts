// Each command loads what it needs: --help of both commands, and every ec2-provision command that
// does not talk to AWS, never load the AWS SDK. Each run is watched by a module hook that lists
// every file the process loads (test/support/loadLog.ts); a file of the bundle counts as the
// sources esbuild put in it (dist/bundle.meta.json).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { inventoryBin, repoRoot } from '../support/paths.js';
import { tempDir, writeIni } from '../support/run.js';
import { provisionCommands } from '../../lib/cli/declarations.js';

const hook = pathToFileURL(path.join(repoRoot, 'dist', 'test', 'support', 'loadLog.js')).href;
const provisionBin = path.join(repoRoot, 'bin', 'provision');
const sdk = /[\\/]node_modules[\\/]@(aws-sdk|smithy|aws-crypto)[\\/]/;

const fullPathAsModules = { EC2_INVENTORY_CODE_CACHE: 'off' };

interface Meta { outputs: Record<string, { inputs: Record<string, unknown> }> }
const bundleMeta = JSON.parse(readFileSync(path.join(repoRoot, 'dist', 'bundle.meta.json'), 'utf8')) as Meta;

/** Every source file a run loaded: files as they are, bundle chunks as the sources they hold. */
function loadedSources(bin: string, args: readonly string[], env: NodeJS.ProcessEnv = {}): { sources: string[]; status: number | null; stderr: string } {
  const log = path.join(tempDir(), 'loaded.txt');
  rmSync(log, { force: true });
  const r = spawnSync(process.execPath, ['--import', hook, bin, ...args], {
    env: { PATH: process.env['PATH'], HOME: process.env['HOME'], ...env, EC2INV_LOAD_LOG: log },
    encoding: 'utf8',
    timeout: 60_000,
  });
  let lines: string[] = [];
  try {
    lines = readFileSync(log, 'utf8').split('\n').filter(Boolean);
  } catch {
    // nothing logged: the assertion below says so
  }
  assert.ok(lines.length > 0, `the hook saw nothing of ${args.join(' ')}: ${r.stderr}`);
  const files = lines.map((l) => (l.startsWith('file:') ? fileURLToPath(l) : l));
  const sources = files.flatMap((f) => {
    const out = path.relative(repoRoot, f);
    const chunk = bundleMeta.outputs[out];
    return chunk ? Object.keys(chunk.inputs).map((i) => path.join(repoRoot, i)) : [f];
  });
  return { sources, status: r.status, stderr: r.stderr };
}

function assertNoSdk(bin: string, args: readonly string[], env: NodeJS.ProcessEnv = {}): void {
  const { sources, stderr } = loadedSources(bin, args, env);
  const sdkFiles = sources.filter((f) => sdk.test(f));
  assert.deepEqual(sdkFiles.slice(0, 3), [], `${path.basename(bin)} ${args.join(' ')} loaded the AWS SDK (${sdkFiles.length} files); stderr: ${stderr}`);
}

describe('what each command loads', () => {
  it('ec2-provision --help, each command\'s --help and usage errors load no AWS SDK', () => {
    assertNoSdk(provisionBin, ['--help']);
    assertNoSdk(provisionBin, ['--version']);
    for (const cmd of Object.values(provisionCommands)) assertNoSdk(provisionBin, [...cmd.words, '--help']);
    assertNoSdk(provisionBin, ['template', 'build', '--help']);
    assertNoSdk(provisionBin, ['launch', 'ec2', '--count', 'many']);
  });

  it('ec2-provision commands that do not talk to AWS load no AWS SDK when they run', () => {
    assertNoSdk(provisionBin, ['list', 'steps']);
    // They fail at their first check, after their own code is loaded.
    assertNoSdk(provisionBin, ['build', 'image', '--from', '/nonexistent', '--out', path.join(tempDir(), 'x.qcow2')]);
    assertNoSdk(provisionBin, ['build', 'template', '--rootfs', '/nonexistent', '--name', 'x', '--out', tempDir()]);
    assertNoSdk(provisionBin, ['list', 'hosts', '--ini', '/nonexistent/ec2.ini']);
  });

  it('ec2-inventory --help, --version and a usage error load no AWS SDK', () => {
    assertNoSdk(inventoryBin, ['--help']);
    assertNoSdk(inventoryBin, ['--version']);
    // The full path through the module bundle (not the code cache's script, which no module hook
    // sees), as a usage error takes it.
    assertNoSdk(inventoryBin, ['--list=foo'], fullPathAsModules);
  });

  it('the watch sees the SDK where it is loaded (so the checks above can fail)', () => {
    const push = loadedSources(provisionBin, ['push', 'ec2', '--region', 'eu-west-1', '--image', '/nonexistent', '--name', 'n']);
    assert.ok(push.sources.some((f) => sdk.test(f)), 'push ec2 loads the SDK');
    // A refresh against a port nothing listens on: the bundle's SDK chunks are loaded, then it fails.
    const dir = tempDir();
    const ini = writeIni(dir, 'loads', { regions: 'us-east-1', cache_max_age: '0', max_attempts: '1', connect_timeout: '1', refresh_timeout: '5' });
    const refresh = loadedSources(inventoryBin, ['--list'], {
      ...fullPathAsModules, EC2_INI_PATH: ini, AWS_ENDPOINT_URL: 'http://127.0.0.1:9', AWS_ACCESS_KEY_ID: 'x', AWS_SECRET_ACCESS_KEY: 'x',
    });
    assert.notEqual(refresh.status, 0);
    assert.ok(refresh.sources.some((f) => sdk.test(f)), `a refresh loads the SDK: ${refresh.stderr}`);
  });
});
