// bin/ec2-inventory: the command Ansible runs. stdout carries the JSON and nothing else; every
// message goes to stderr, and any failure exits non-zero with nothing on stdout.
import { readDefaultSettings } from '../settings/read.js';
import type { Progress, RequestOptions } from '../flow/request.js';
import { readArgs, type Io } from './inventoryArgs.js';
import { failureLine } from '../errors.js';
import { readerGone } from './cached.js';

export type { Io } from './inventoryArgs.js';

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

/** Runs one invocation and returns its exit code. */
export async function main(argv: string[], io: Io = processIo, executable = process.argv[1] ?? ''): Promise<number> {
  const args = readArgs(argv, io);
  if (typeof args === 'number') return args;
  // The SDK's "Node 20 is ending" notice would land in every Ansible run and cron mail; it is
  // about our runtime, not the user's inventory, so the CLI silences it unless told otherwise.
  process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] ??= 'true';
  const progress = progressReporter(io);
  try {
    // Loaded only now: --help, --version and usage errors load no AWS SDK and no rules.
    const { hostInventory, listInventoryText, refreshInventory } = await import('../flow/request.js');
    const settings = readDefaultSettings(executable, process.env, { profile: args.profile });
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
