// bin/ec2-inventory: the command Ansible runs. stdout carries the JSON and nothing else; every
// message goes to stderr, and any failure exits non-zero with nothing on stdout.
import { createRequire } from 'node:module';
import { defaultIniPath, readSettings } from '../settings/read.js';
import { hostInventory, listInventoryText, refreshInventory, type Progress, type RequestOptions } from '../flow/request.js';
import { failureLine } from '../errors.js';
import { readerGone } from './cached.js';

export interface Io {
  stdout: (text: string | Uint8Array) => void;
  stderr: (text: string) => void;
  /** Progress is shown only on a terminal: never in cron mail or in Ansible's captured stderr. */
  stderrIsTTY: boolean;
}

// A reader that stops early (`| head`) closes the pipe: stop quietly, as cat does, rather than
// print a stack trace about EPIPE (or ECONNRESET, see readerGone).
let pipeWatched = false;
function writeStdout(text: string | Uint8Array): void {
  if (!pipeWatched) {
    pipeWatched = true;
    process.stdout.on('error', (err: NodeJS.ErrnoException) => {
      if (readerGone(err.code)) process.exit(process.exitCode ?? 0);
      throw err;
    });
  }
  process.stdout.write(text);
}

const processIo: Io = {
  stdout: writeStdout,
  stderr: (text) => void process.stderr.write(text),
  stderrIsTTY: Boolean(process.stderr.isTTY),
};

interface Args {
  host?: string;
  refreshCache: boolean;
  refreshOnly: boolean;
  /** --profile / --boto-profile (the later ec2.py's). */
  profile?: string;
}

/** Runs one invocation and returns its exit code. */
export async function main(argv: string[], io: Io = processIo, executable = process.argv[1] ?? ''): Promise<number> {
  // The SDK's "Node 20 is ending" notice would land in every Ansible run and cron mail; it is
  // about our runtime, not the user's inventory, so the CLI silences it unless told otherwise.
  process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] ??= 'true';
  let args: Args;
  try {
    const parsed = simpleArgs(argv) ?? (await parseArgs(argv, io));
    if (parsed === undefined) return 0; // --help or --version answered
    args = parsed;
  } catch (err) {
    io.stderr(`ec2-inventory: ${(err as Error).message}\n`);
    return 2;
  }
  const progress = progressReporter(io);
  try {
    const settings = readSettings(defaultIniPath(executable), process.env, { profile: args.profile });
    for (const warning of settings.warnings ?? []) io.stderr(`ec2-inventory: warning: ${warning}\n`);
    const options: RequestOptions = {
      refresh: args.refreshCache,
      onProgress: progress.report,
      onWarning: (message) => { progress.clear(); io.stderr(`ec2-inventory: warning: ${message}\n`); },
    };
    if (args.refreshOnly) {
      await refreshInventory(settings, options);
      progress.clear();
      return 0;
    }
    const text = args.host !== undefined
      ? await hostInventory(settings, args.host, options)
      : await listInventoryText(settings, options);
    progress.clear();
    io.stdout(text);
    io.stdout('\n');
    return 0;
  } catch (err) {
    progress.clear();
    io.stderr(`ec2-inventory: ${failureLine(err)}\n`);
    return 1;
  }
}

/**
 * The invocations Ansible and cron make (`--list`, `--host H`, nothing, `--refresh-cache`,
 * `--refresh-only`) need no argument parser: skipping yargs keeps a cached answer close to the
 * cost of reading the file, and spares a refresh loading yargs (~0.1 s on a 2-core machine). Anything
 * else (help, version, profiles, repeated or unknown options) goes to yargs, which gives these
 * forms the same answers (test/unit/cli.test.ts holds the two to that).
 */
export function simpleArgs(argv: string[]): Args | undefined {
  const base = { refreshCache: false, refreshOnly: false };
  if (argv.length === 2 && argv[0] === '--host' && argv[1] !== undefined && !argv[1].startsWith('-')) return { ...base, host: argv[1] };
  const flags = new Set(argv);
  if (flags.size !== argv.length || ![...flags].every((f) => f === '--list' || f === '--refresh-cache' || f === '--refresh-only')) return undefined;
  return { refreshCache: flags.has('--refresh-cache'), refreshOnly: flags.has('--refresh-only') };
}

export async function parseArgs(argv: string[], io: Io): Promise<Args | undefined> {
  const yargs = (await import('yargs')).default;
  let output = '';
  let failure: string | undefined;
  const parser = yargs()
    .scriptName('ec2-inventory')
    .usage('$0 [--list | --host HOST] [--refresh-cache] | --refresh-only [--profile PROFILE]\n\nProduce an Ansible inventory from EC2, RDS and Route53 (ec2.ini: EC2_INI_PATH, or ec2.ini beside this program).')
    .option('list', { type: 'boolean', default: true, description: 'List instances (default: True)' })
    .option('host', { type: 'string', requiresArg: true, description: 'Get all the variables about a specific instance' })
    .option('refresh-cache', {
      type: 'boolean', default: false,
      description: 'Force refresh of cache by making API requests to EC2 (default: False - use cache files)',
    })
    // No default: yargs counts a default as given, and the conflict with --host would then
    // reject `--host H --refresh-cache`.
    .option('refresh-only', {
      type: 'boolean',
      description: 'Refresh the cache and print nothing (for cron); failures: one line on stderr, non-zero exit',
    })
    .option('profile', {
      alias: 'boto-profile', type: 'string', requiresArg: true,
      description: 'Use this AWS profile (wins over AWS_PROFILE and boto_profile in ec2.ini)',
    })
    .conflicts('refresh-only', 'host')
    .version(packageVersion())
    .help()
    .strict()
    .exitProcess(false)
    .fail((msg, err) => { failure = msg ?? err?.message ?? 'invalid arguments'; });
  const parsed = await parser.parseAsync(argv, {}, (_err, _argv, out) => { output = out; });
  if (failure !== undefined) throw new Error(`${failure} (see --help)`);
  if (output) {
    io.stdout(output + '\n');
    return undefined;
  }
  const host = parsed['host'];
  return {
    host: typeof host === 'string' ? host : undefined,
    refreshCache: Boolean(parsed['refreshCache']),
    refreshOnly: Boolean(parsed['refreshOnly']),
    profile: typeof parsed['profile'] === 'string' && parsed['profile'] !== '' ? parsed['profile'] : undefined,
  };
}

/**
 * A one-line status on a terminal, shown once a refresh has taken more than a second and updated
 * as listings finish.
 */
function progressReporter(io: Io): { report?: (p: Progress) => void; clear: () => void } {
  if (!io.stderrIsTTY) return { clear: () => {} };
  let latest: Progress | undefined;
  let shown = false;
  const render = () => {
    if (!latest) return;
    shown = true;
    io.stderr(`\r\x1b[Kec2-inventory: refreshing: ${latest.regionsDone}/${latest.regionsTotal} regions, ${latest.instances} instances`);
  };
  let timer: NodeJS.Timeout | undefined;
  return {
    report(p) {
      latest = p;
      if (shown) render();
      else timer ??= setTimeout(render, 1000).unref();
    },
    clear() {
      if (timer) clearTimeout(timer);
      timer = undefined;
      if (shown) io.stderr('\r\x1b[K');
      shown = false;
    },
  };
}

// By the package's own name (it exports ./package.json): the same answer from dist/lib/cli and
// from the bundle in dist/bundle, which sit at different depths.
function packageVersion(): string {
  return (createRequire(import.meta.url)('ec2-inventory/package.json') as { version: string }).version;
}
