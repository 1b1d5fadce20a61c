// ec2-inventory's command line, apart from what it runs: ec2.py's flags read from their
// declarations, and the answers that need nothing else (--help, --version, a usage error). The bin
// answers those through this module alone, without the full path's bundle.
import { parseArgs as nodeParseArgs } from 'node:util';
import type { Flag, Parsed } from './declare.js';
import { inventoryCommand, inventoryProgram } from './declarations.js';
import { UsageError, collect, exitCodeOf, isRefusalOfArgs } from './args.js';
import { commandHelp, metavar } from './help.js';
import { packageVersion } from './version.js';

export interface Io {
  stdout: (text: string | Uint8Array) => void;
  stderr: (text: string) => void;
  /** Progress is shown only on a terminal: never in cron mail or in Ansible's captured stderr. */
  stderrIsTTY: boolean;
}

export type InventoryArgs = Parsed<typeof inventoryCommand>['options'];

/** The flags of a run, or the exit code once help, the version or a usage error is printed. */
export function readArgs(argv: readonly string[], io: Pick<Io, 'stdout' | 'stderr'>): InventoryArgs | number {
  let args: InventoryArgs | 'help' | 'version';
  try {
    args = parseArgs(argv);
  } catch (err) {
    if (!isRefusalOfArgs(err)) throw err;
    io.stderr(`ec2-inventory: ${err.message} (see --help)\n`);
    return exitCodeOf(err);
  }
  if (args === 'help' || args === 'version') {
    io.stdout(args === 'help' ? commandHelp(inventoryProgram, inventoryCommand) : `${packageVersion()}\n`);
    return 0;
  }
  return args;
}

/**
 * ec2.py's flags, read once, as its argparse reads them: strictly (`--list=foo`, an unknown flag,
 * a stray argument or `--host` without its value are usage errors), by node:util's parser, which
 * ec2-provision's flags go through too (args.ts flagTexts).
 */
export function parseArgs(argv: readonly string[]): InventoryArgs | 'help' | 'version' {
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
