// The command line as a reader of its output meets it: a pipe closed early is not an error.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseSettings } from '../../lib/settings/read.js';
import { buildInventory } from '../../lib/ec2py/rules.js';
import { json_format_dict } from '../../lib/ec2py/format.js';
import { cacheDigest } from '../../lib/store/digest.js';
import { openFileCache } from '../../lib/store/open.js';
import { syntheticRecords } from '../bench/synthetic.js';
import { tempDir, writeIni } from '../support/run.js';
import { inventoryBin, repoRoot } from '../support/paths.js';
import { inventoryCommand, provisionCommands } from '../../lib/cli/declarations.js';
import type { Flag } from '../../lib/cli/declare.js';
import { metavar } from '../../lib/cli/help.js';
import { parseArgs } from '../../lib/cli/inventoryArgs.js';
import { UsageError, collect, flagTexts } from '../../lib/cli/args.js';

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

describe('ec2-inventory arguments', () => {
  it('reads the forms Ansible and cron use, and the rest, in one parse', () => {
    const base = { refreshCache: false, refreshOnly: false };
    assert.deepEqual(parseArgs([]), base);
    assert.deepEqual(parseArgs(['--list']), base);
    assert.deepEqual(parseArgs(['--list', '--refresh-cache']), { ...base, refreshCache: true });
    assert.deepEqual(parseArgs(['--refresh-only']), { ...base, refreshOnly: true });
    assert.deepEqual(parseArgs(['--host', 'web1', '--refresh-cache']), { ...base, host: 'web1', refreshCache: true });
    assert.deepEqual(parseArgs(['--host=web1']), { ...base, host: 'web1' });
    assert.deepEqual(parseArgs(['--boto-profile', 'prod']), { ...base, profile: 'prod' });
    assert.deepEqual(parseArgs(['--profile', '']), base, "an empty profile chooses none, as ec2.py's `if args.boto_profile`");
    assert.equal(parseArgs(['--help']), 'help');
    assert.equal(parseArgs(['-h']), 'help');
    assert.equal(parseArgs(['--version']), 'version');
  });

  it('refuses what argparse refuses, naming the flag', () => {
    const refused: [string[], RegExp][] = [
      [['--list=foo'], /^--list: takes no value$/],
      [['--refresh-cache=yes'], /^--refresh-cache: takes no value$/],
      [['--lst'], /^unknown option --lst$/],
      [['--host'], /^--host: expected one value \(--host TEXT\)$/],
      [['--host', '--list'], /^--host: expected one value/],
      [['web1'], /^unexpected argument 'web1'$/],
      [['--host', 'web1', '--refresh-only'], /^--host and --refresh-only are mutually exclusive$/],
    ];
    for (const [argv, message] of refused) {
      assert.throws(() => parseArgs(argv), (e: Error) => e instanceof UsageError && message.test(e.message), argv.join(' '));
    }
  });
});

const provisionBin = path.join(repoRoot, 'bin', 'provision');
const run = (bin: string, args: readonly string[], cwd?: string) =>
  spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', cwd: cwd ?? repoRoot, env: { PATH: process.env['PATH'], HOME: process.env['HOME'] } });
const oneSpaced = (text: string) => text.replace(/\s+/g, ' ');

describe('--help', () => {
  it('of every command shows each declared option with its type and its description, and an example', () => {
    const cases = [
      ...Object.values(provisionCommands).map((cmd) => ({ bin: provisionBin, args: [...cmd.words, '--help'], cmd, name: `ec2-provision ${cmd.words.join(' ')}` })),
      { bin: inventoryBin, args: ['--help'], cmd: inventoryCommand, name: 'ec2-inventory' },
    ];
    for (const { bin, args, cmd, name } of cases) {
      const r = run(bin, args);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stderr, '');
      const help = oneSpaced(r.stdout);
      assert.ok(help.startsWith(`Usage: ${name}`), `${name}: ${help.slice(0, 80)}`);
      for (const f of cmd.flags as readonly Flag[]) {
        const label = f.type === 'bool' ? `--${f.default === true ? '[no-]' : ''}${f.name}` : `--${f.name}${(f.aliases ?? []).map((a) => `, --${a}`).join('')} ${metavar(f)}`;
        assert.ok(help.includes(`${label} ${oneSpaced(f.describe)}`), `${name}: '${label}' followed by its description`);
      }
      assert.ok(help.includes(`Examples: ${name} ${cmd.examples[0]!.args}`.trimEnd()), `${name}: an example`);
    }
  });

  it('says each type as a user writes it, and the same for the same flag everywhere', () => {
    const help = (...words: string[]) => oneSpaced(run(provisionBin, [...words, '--help']).stdout);
    assert.match(help('launch', 'kvm'), /--count N Guests to start \(at least 1; default: 1\)/);
    assert.match(help('launch', 'kvm'), /--memory SIZE /);
    assert.match(help('launch', 'kvm'), /--wait N /);
    assert.match(help('launch', 'kvm'), /--accel auto\|kvm\|qemu /);
    assert.match(help('launch', 'kvm'), /--groups LIST Inventory groups \(required; comma-separated or repeated/);
    assert.match(help('launch', 'ec2'), /--groups LIST Inventory groups \(required; comma-separated or repeated/);
    assert.match(help('push', 'ec2'), /--request-timeout N Seconds one attempt of an AWS call may take/);
    assert.doesNotMatch(help('launch', 'ec2') + help('launch', 'kvm'), /\[string\]|\[array\]/);
    assert.match(help(), /^Usage: ec2-provision <command> \[options\].* Commands: build rootfs /);
    assert.match(help('push'), /Commands: push kvm .* push openvz .* push ec2 /);
  });
});

describe('usage errors', () => {
  it('are one line naming the flag, with exit 2 (a refused value: exit 1), for every ec2-provision command', () => {
    for (const cmd of Object.values(provisionCommands)) {
      const name = ['ec2-provision', ...cmd.words].join(' ');
      const unknown = run(provisionBin, [...cmd.words, '--no-such-flag', 'x']);
      assert.equal(unknown.status, 2, `${name}: ${unknown.stderr}`);
      assert.equal(unknown.stdout, '');
      assert.equal(unknown.stderr, `ec2-provision: error: unknown option --no-such-flag (see ${name} --help)\n`);
      const bad = (cmd.flags as readonly Flag[]).find((f) => f.type === 'int' || f.type === 'choice');
      const required = (cmd.flags as readonly Flag[]).filter((f) => f.required);
      if (bad) {
        const r = run(provisionBin, [...cmd.words, `--${bad.name}`, 'lots']);
        assert.equal(r.status, 1, `${name} --${bad.name}: a value the flag refuses is bad input, not bad usage: ${r.stderr}`);
        assert.match(r.stderr, new RegExp(`^ec2-provision: error: --${bad.name}: (expected a whole number|must be one of .*), not 'lots' \\(see ${name} --help\\)\\n$`));
      }
      if (required.length > 0) {
        const r = run(provisionBin, [...cmd.words]);
        assert.equal(r.status, 2, `${name}: ${r.stderr}`);
        assert.match(r.stderr, new RegExp(`^ec2-provision: error: --${required[0]!.name} is required \\(.+\\) \\(see ${name} --help\\)\\n$`));
      }
    }
  });

  it('of the command words themselves are one line too', () => {
    for (const [args, message] of [
      [[], 'name a command: build, list, push, launch, destroy, register, deregister'],
      [['push'], 'push: name what: kvm, openvz, proxmox, ec2'],
      [['push', 'vmware'], "push: unknown target 'vmware' (kvm, openvz, proxmox, ec2)"],
      [['frobnicate'], "unknown command 'frobnicate' (commands: build, list, push, launch, destroy, register, deregister)"],
      [['build', 'image', '--force=maybe'], "--force: takes no value (--force or --no-force), not 'maybe'"],
      [['list', 'steps', 'extra'], "unexpected argument 'extra'"],
      [['register', '--name', 'h', '--groups', 'g', '--var', 'kvm_volume=base.qcow2'], "--var: 'kvm_volume': kvm_*, ec2_* and registry_source are written by launch and used by destroy; register cannot set them"],
      // key=value is the library's one parser's to refuse, in the same words for every map flag.
      [['register', '--name', 'h', '--groups', 'g', '--var', 'novalue'], "--var: expected key=value, not 'novalue'"],
      [['launch', 'kvm', '--uri', 'qemu:///system', '--pool', 'p', '--volume', 'v', '--name', 'n', '--groups', 'g', '--var', '=x'], "--var: expected key=value, not '=x'"],
    ] as const) {
      const r = run(provisionBin, args);
      // A value the command refuses (here the library, naming its field) is bad input: exit 1.
      assert.equal(r.status, ['register', 'launch'].includes(args[0] as string) ? 1 : 2, args.join(' '));
      assert.match(r.stderr, new RegExp(`^ec2-provision: error: ${message.replace(/[()|.*]/g, '\\$&')} \\(see ec2-provision( \\S+)* --help\\)\\n$`), args.join(' '));
    }
  });

  it('ec2-provision reads flags as before: greedy lists, --no-X, --X=false, the last of a repeated value', () => {
    const template = provisionCommands.buildTemplate;
    const texts = flagTexts(template, ['--skip', 'logs', 'tmp-files', '--force', '--name', 'a', '--name=b', '--skip=fstab', '--rootfs', '-r']);
    assert.deepEqual(texts, { skip: ['logs', 'tmp-files', 'fstab'], force: true, name: ['a', 'b'], rootfs: ['-r'] });
    const { options } = collect(template, { ...texts, out: ['.'] });
    assert.deepEqual([options.skip, options.name, options.rootfs], [['logs', 'tmp-files', 'fstab'], 'b', '-r']);
    assert.equal(flagTexts(template, ['--force', '--no-force']).force, false);
    assert.equal(flagTexts(template, ['--force=false']).force, false);
    assert.equal(flagTexts(template, ['--no-force', '--force=true']).force, true);
    assert.deepEqual(flagTexts(template, ['--rootfs']).rootfs, [''], 'a value left out reads as empty text, which readFlag refuses');
    assert.throws(() => flagTexts(template, ['--force', 'stray']), /^UsageError: unexpected argument 'stray'$/);
    assert.throws(() => flagTexts(template, ['--skip', 'logs', '--', 'fstab']), /unexpected argument 'fstab'/, 'after --, no more list items');
  });

  it('ec2-inventory --list=foo is refused as argparse refuses it', () => {
    const r = run(inventoryBin, ['--list=foo']);
    assert.equal(r.status, 2);
    assert.equal(r.stdout, '');
    assert.equal(r.stderr, 'ec2-inventory: --list: takes no value (see --help)\n');
  });

  it('the earlier command spellings still work', () => {
    const steps = run(provisionBin, ['template', 'steps']);
    assert.equal(steps.status, 0, steps.stderr);
    assert.deepEqual(JSON.parse(steps.stdout), JSON.parse(run(provisionBin, ['list', 'steps']).stdout));
    assert.match(run(provisionBin, ['push', 'template', '--help']).stdout, /^Usage: ec2-provision push openvz /);
  });
});

describe('--version', () => {
  it('of both commands is this package\'s, whatever the working directory holds', () => {
    const own = (JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version;
    const elsewhere = tempDir();
    writeFileSync(path.join(elsewhere, 'package.json'), JSON.stringify({ name: 'someone-else', version: '9.9.9' }));
    for (const bin of [provisionBin, inventoryBin]) {
      const r = run(bin, ['--version'], elsewhere);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout, `${own}\n`, bin);
    }
  });
});
