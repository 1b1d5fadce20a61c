// bin/ec2-inventory: the command Ansible runs. stdout carries the JSON and nothing else; every
// message goes to stderr, and any failure exits 1 with nothing on stdout.
import { readFileSync } from 'node:fs';
import yargs from 'yargs';
import { defaultIniPath, readSettings } from '../settings/read.js';
import { hostInventory, listInventory } from '../inventory/source.js';
import { InventoryError } from '../errors.js';

export interface Io {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

const processIo: Io = {
  stdout: (text) => void process.stdout.write(text),
  stderr: (text) => void process.stderr.write(text),
};

/** Runs one invocation and returns its exit code. */
export async function main(argv: string[], io: Io = processIo, executable = process.argv[1] ?? ''): Promise<number> {
  // The SDK's "Node 20 is ending" notice would land in every Ansible run and cron mail; it is
  // about our runtime, not the user's inventory, so the CLI silences it unless told otherwise.
  process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] ??= 'true';
  let args: { list: boolean; host?: string; refreshCache: boolean; profile?: string };
  try {
    const parsed = await parseArgs(argv, io);
    if (parsed === undefined) return 0; // --help or --version answered
    args = parsed;
  } catch (err) {
    io.stderr(`ec2-inventory: ${(err as Error).message}\n`);
    return 2;
  }
  try {
    const settings = readSettings(defaultIniPath(executable), process.env, { profile: args.profile });
    const options = { refresh: args.refreshCache };
    const text = args.host !== undefined
      ? await hostInventory(settings, args.host, options)
      : await listInventory(settings, options);
    io.stdout(text + '\n');
    return 0;
  } catch (err) {
    const message = err instanceof InventoryError ? err.message : `unexpected error: ${(err as Error)?.stack ?? String(err)}`;
    io.stderr(`ec2-inventory: ${message}\n`);
    return 1;
  }
}

async function parseArgs(argv: string[], io: Io): Promise<{ list: boolean; host?: string; refreshCache: boolean; profile?: string } | undefined> {
  let output = '';
  let failure: string | undefined;
  const parser = yargs()
    .scriptName('ec2-inventory')
    .usage('$0 [--list | --host HOST] [--refresh-cache] [--profile PROFILE]\n\nProduce an Ansible inventory from EC2, RDS and Route53 (ec2.ini: EC2_INI_PATH, or ec2.ini beside this program).')
    .option('list', { type: 'boolean', default: true, description: 'List instances (default: True)' })
    .option('host', { type: 'string', requiresArg: true, description: 'Get all the variables about a specific instance' })
    .option('refresh-cache', {
      type: 'boolean', default: false,
      description: 'Force refresh of cache by making API requests to EC2 (default: False - use cache files)',
    })
    .option('profile', {
      alias: 'boto-profile', type: 'string', requiresArg: true,
      description: 'Use this AWS profile (wins over AWS_PROFILE and boto_profile in ec2.ini)',
    })
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
  const profile = parsed['profile'];
  return {
    list: Boolean(parsed['list']), host: typeof host === 'string' ? host : undefined, refreshCache: Boolean(parsed['refreshCache']),
    profile: typeof profile === 'string' && profile !== '' ? profile : undefined,
  };
}

function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}
