// The command line as a reader of its output meets it: a pipe closed early is not an error.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { parseSettings } from '../../lib/settings/read.js';
import { buildInventory } from '../../lib/ec2py/rules.js';
import { json_format_dict } from '../../lib/ec2py/format.js';
import { cacheDigest } from '../../lib/store/digest.js';
import { openFileCache } from '../../lib/store/open.js';
import { syntheticRecords } from '../bench/synthetic.js';
import { tempDir, writeIni } from '../support/run.js';
import { inventoryBin } from '../support/paths.js';
import { parseArgs, simpleArgs, type Io } from '../../lib/cli/inventory.js';

describe('bin/ec2-inventory output', () => {
  it('stops quietly with exit 0 when the reader closes the pipe early (| head)', async () => {
    const dir = tempDir();
    const ini = writeIni(dir, 'pipe', { regions: 'us-east-1', route53: 'False', cache_max_age: '3600' });
    const env = { PATH: process.env['PATH'], HOME: process.env['HOME'], EC2_INI_PATH: ini };
    const settings = parseSettings(readFileSync(ini, 'utf8'), ini, env);
    const { inventory, index } = buildInventory(syntheticRecords(2000, 'us-east-1'), settings);
    await openFileCache(settings.cachePath).set(cacheDigest(settings, env), {
      inventory: json_format_dict(inventory), index: json_format_dict(index), writtenAt: Date.now(),
    });
    const child = spawn(inventoryBin, ['--list'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    await new Promise<void>((resolve) => child.stdout.once('data', () => { child.stdout.destroy(); resolve(); }));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    assert.equal(code, 0);
    assert.equal(stderr, '');
  });
});

describe('the command line without yargs', () => {
  it('reads the forms Ansible and cron use as yargs does, and leaves every other form to yargs', async () => {
    const io: Io = { stdout: () => {}, stderr: () => {}, stderrIsTTY: false };
    const simple = [[], ['--list'], ['--refresh-cache'], ['--list', '--refresh-cache'],
      ['--refresh-cache', '--list'], ['--refresh-only'], ['--refresh-only', '--refresh-cache']];
    for (const argv of simple) {
      assert.deepEqual({ host: undefined, profile: undefined, ...simpleArgs(argv) }, await parseArgs(argv, io), argv.join(' '));
    }
    for (const argv of [['--help'], ['--version'], ['--host'], ['--host', '--list'], ['--list', '--list'], ['--profile', 'p'], ['--bogus'], ['--host', 'a', '--refresh-cache']]) {
      assert.equal(simpleArgs(argv), undefined, argv.join(' '));
    }
  });

  it('refreshes one host with --host H --refresh-cache, and refuses --host with --refresh-only', async () => {
    let stderr = '';
    const io: Io = { stdout: () => {}, stderr: (t) => { stderr += t; }, stderrIsTTY: false };
    assert.deepEqual(await parseArgs(['--host', 'web1', '--refresh-cache'], io), { host: 'web1', refreshCache: true, refreshOnly: false, profile: undefined });
    await assert.rejects(parseArgs(['--host', 'web1', '--refresh-only'], io), /mutually exclusive/);
    assert.equal(stderr, '');
  });
});
