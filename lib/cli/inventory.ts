// bin/ec2-inventory: the command Ansible runs. stdout carries the JSON and nothing else; every
// message goes to stderr, and any failure exits non-zero with nothing on stdout.
import { parseArgs as nodeParseArgs } from 'node:util';
import { defaultIniPath, readSettings } from '../settings/read.js';
import type { Progress, RequestOptions } from '../flow/request.js';
import type { Flag, Parsed } from './declare.js';
import { inventoryCommand, inventoryProgram } from './declarations.js';
import { UsageError, collect } from './args.js';
import { commandHelp, metavar } from './help.js';
import { packageVersion } from './version.js';
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

type Args = Parsed<typeof inventoryCommand>['options'];

/** Runs one invocation and returns its exit code. */
export async function main(argv: string[], io: Io = processIo, executable = process.argv[1] ?? ''): Promise<number> {
  let args: Args | 'help' | 'version';
  try {
    args = parseArgs(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    io.stderr(`ec2-inventory: ${err.message} (see --help)\n`);
    return 2;
  }
  if (args === 'help' || args === 'version') {
    io.stdout(args === 'help' ? commandHelp(inventoryProgram, inventoryCommand) : `${packageVersion()}\n`);
    return 0;
  }
  // The SDK's "Node 20 is ending" notice would land in every Ansible run and cron mail; it is
  // about our runtime, not the user's inventory, so the CLI silences it unless told otherwise.
  process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] ??= 'true';
  const progress = progressReporter(io);
  try {
    // Loaded only now: --help, --version and usage errors load no AWS SDK and no rules.
    const { hostInventory, listInventoryText, refreshInventory } = await import('../flow/request.js');
    const settings = readSettings(defaultIniPath(executable), process.env, { profile: args.profile });
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
 * ec2.py's flags, read once, as its argparse reads them: strictly (`--list=foo`, an unknown flag,
 * a stray argument or `--host` without its value are usage errors). Node's own parser: it loads
 * nothing, so a refresh does not pay for yargs.
 */
export function parseArgs(argv: readonly string[]): Args | 'help' | 'version' {
  const flags = inventoryCommand.flags as readonly Flag[];
  const config: Record<string, { type: 'string' | 'boolean'; short?: string }> = { help: { type: 'boolean', short: 'h' }, version: { type: 'boolean' } };
  for (const f of flags) {
    for (const name of [f.name, ...(f.aliases ?? [])]) config[name] = { type: f.type === 'bool' ? 'boolean' : 'string' };
  }
  let values: Record<string, string | boolean | undefined>;
  try {
    values = nodeParseArgs({ args: [...argv], options: config, strict: true, allowPositionals: false }).values;
  } catch (err) {
    throw new UsageError(argumentError(err, flags));
  }
  if (values['help']) return 'help';
  if (values['version']) return 'version';
  const given: Record<string, unknown> = {};
  for (const f of flags) {
    const value = [f.name, ...(f.aliases ?? [])].map((n) => values[n]).find((v) => v !== undefined);
    // `--profile ''` chooses no profile, as ec2.py's `if args.boto_profile` reads it.
    if (value !== undefined && value !== '') given[f.name] = value;
  }
  if (given['host'] !== undefined && given['refresh-only'] !== undefined) throw new UsageError('--host and --refresh-only are mutually exclusive');
  return collect(inventoryCommand, given).options;
}

/** node:util's parse errors in the words ec2-inventory uses for every usage error. */
function argumentError(err: unknown, flags: readonly Flag[]): string {
  const code = (err as { code?: string }).code;
  const message = err instanceof Error ? err.message : String(err);
  const option = /'(--?[\w-]+)/.exec(message)?.[1] ?? '';
  const f = flags.find((x) => option === `--${x.name}` || x.aliases?.some((a) => option === `--${a}`));
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') return `unknown option ${option}`;
  if (code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') return `unexpected argument '${/'([^']*)'/.exec(message)?.[1] ?? ''}'`;
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && f?.type === 'bool') return `${option}: takes no value`;
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && f) return `${option}: expected one value (${option} ${metavar(f)})`;
  return message;
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
