// ec2-provision: find the command, answer --help from the declarations, parse the command's flags
// as declared, then load that command's code alone (only push/launch/destroy ec2 load the AWS SDK)
// and run it. Every failure is one line on stderr, its exit code by args.ts's exitCodeOf.
import type { CommandDecl, Parsed } from './declare.js';
import { provisionCommands, provisionProgram } from './declarations.js';
import { UsageError, checkBooleanValues, collect, exitCodeOf, inCallerTerms, flagTexts, isRefusalOfArgs, unknownFlag } from './args.js';
import { commandHelp, commandName, programHelp } from './help.js';
import { packageVersion } from './version.js';
import { ProvisionError, failureLine } from '../errors.js';
import { removeLeftoversSync } from '../provision/outputs.js';
import { interrupt, interruptedBy } from '../provision/interrupt.js';
import { tuneForShortRun } from './v8flags.js';

type Commands = typeof provisionCommands;
type Handler<K extends keyof Commands> = (parsed: Parsed<Commands[K]>) => Promise<void>;

// import() per command: a command loads its own code and nothing else.
const handlers: { [K in keyof Commands]: () => Promise<Handler<K>> } = {
  buildRootfs: async () => (await import('./run/build.js')).buildRootfsCommand,
  buildTemplate: async () => (await import('./run/build.js')).buildTemplateCommand,
  buildImage: async () => (await import('./run/build.js')).buildImageCommand,
  listSteps: async () => (await import('./run/build.js')).listStepsCommand,
  pushKvm: async () => (await import('./run/kvm.js')).pushKvmCommand,
  pushOpenvz: async () => (await import('./run/openvz.js')).pushOpenvzCommand,
  pushProxmox: async () => (await import('./run/openvz.js')).pushProxmoxCommand,
  pushEc2: async () => (await import('./run/ec2.js')).pushEc2Command,
  launchKvm: async () => (await import('./run/kvm.js')).launchKvmCommand,
  launchEc2: async () => (await import('./run/ec2.js')).launchEc2Command,
  destroyKvm: async () => (await import('./run/kvm.js')).destroyKvmCommand,
  destroyEc2: async () => (await import('./run/ec2.js')).destroyEc2Command,
  destroyOpenvz: async () => (await import('./run/openvz.js')).destroyOpenvzCommand,
  register: async () => (await import('./run/registry.js')).registerCommand,
  deregister: async () => (await import('./run/registry.js')).deregisterCommand,
  listHosts: async () => (await import('./run/registry.js')).listHostsCommand,
};

const say = (message: string) => void process.stderr.write(`ec2-provision: ${message}\n`);

// As a shell reports a command killed by the signal: 128 + its number.
const signalExitCode = { SIGINT: 130, SIGTERM: 143 } as const;

export async function main(argv: string[] = process.argv.slice(2)): Promise<void> {
  if (argv.length === 1 && argv[0] === '--json') return machine();
  const words = argv.slice(0, firstFlag(argv));
  const found = findCommand(words);
  const answer = helpOrVersion(argv, words, found);
  if (answer !== undefined) return void process.stdout.write(answer);
  if (!found) return refused(new UsageError(unknownCommand(words)));
  const { key, cmd } = found;
  tuneFor(cmd);
  let parsed: Parsed<CommandDecl>;
  try {
    parsed = parseFlags(cmd, argv.slice(found.length));
  } catch (err) {
    if (isRefusalOfArgs(err)) return refused(err, cmd);
    throw err;
  }
  watchSignals();
  // As bin/ec2-inventory does: the SDK's Node 20 notice is about our runtime, and would otherwise
  // be the only stderr output of every push/launch/destroy run from a script.
  process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] ??= 'true';
  try {
    const run = (await handlers[key]()) as Handler<typeof key>;
    await run(parsed as Parsed<Commands[typeof key]>);
  } catch (err) {
    fail(err, cmd);
  }
}

/** --help of the command (or of the commands the words begin: `push --help`), or --version. */
function helpOrVersion(argv: readonly string[], words: readonly string[], found: Found | undefined): string | undefined {
  if (argv.length === 1 && argv[0] === '--version') return `${packageVersion()}\n`;
  if (!argv.includes('--help') && !argv.includes('-h')) return undefined;
  if (found) return commandHelp(provisionProgram, found.cmd);
  const known = words.filter((w, i) => provisionProgram.commands.some((c) => c.words.slice(0, i + 1).join(' ') === words.slice(0, i + 1).join(' ')));
  return programHelp(provisionProgram, known);
}

/** argv up to its first flag: the command's words. */
function firstFlag(argv: readonly string[]): number {
  const at = argv.findIndex((a) => a.startsWith('-'));
  return at === -1 ? argv.length : at;
}

interface Found {
  key: keyof Commands;
  cmd: Commands[keyof Commands];
  /** How many words of argv named it. */
  length: number;
}

/** The command the leading words name (its words or an alias), the longest that matches. */
function findCommand(words: readonly string[]): Found | undefined {
  let best: Found | undefined;
  for (const [key, cmd] of Object.entries(provisionCommands) as [keyof Commands, Commands[keyof Commands]][]) {
    const spellings: readonly (readonly string[])[] = [cmd.words, ...('aliases' in cmd ? cmd.aliases : [])];
    for (const s of spellings) {
      if (s.length <= words.length && s.every((w, i) => words[i] === w) && s.length > (best?.length ?? 0)) best = { key, cmd, length: s.length };
    }
  }
  return best;
}

function unknownCommand(words: readonly string[]): string {
  const verbs = [...new Set(provisionProgram.commands.map((c) => c.words[0]))];
  if (words.length === 0) return `name a command: ${verbs.join(', ')}`;
  const objects = provisionProgram.commands.filter((c) => c.words[0] === words[0] && c.words.length > 1).map((c) => c.words[1]);
  if (objects.length > 0 && words.length === 1) return `${words[0]}: name what: ${objects.join(', ')}`;
  if (objects.length > 0) return `${words[0]}: unknown target '${words[1]}' (${objects.join(', ')})`;
  return `unknown command '${words.join(' ')}' (commands: ${verbs.join(', ')})`;
}

/** The command's flags, refused when unknown or malformed, then read as declared. */
function parseFlags<C extends CommandDecl>(cmd: C, args: string[]): Parsed<C> {
  const unknown = unknownFlag(cmd, args);
  if (unknown !== undefined) throw new UsageError(`unknown option ${unknown}`);
  checkBooleanValues(cmd, args);
  return collect(cmd, flagTexts(cmd, args));
}

/** What was typed, refused: one line pointing at the command's --help. */
function refused(err: Error, cmd?: CommandDecl): void {
  const helpOf = cmd ? commandName(provisionProgram, cmd) : provisionProgram.name;
  const field = err instanceof ProvisionError ? err.field : undefined;
  const message = cmd ? inCallerTerms(cmd, err.message.replace(/\s*\n\s*/g, ' '), field, 'flags') : err.message;
  say(`error: ${message} (see ${helpOf} --help)`);
  process.exitCode = exitCodeOf(err);
}

/** A failure of the command: one line naming the flag a bad value came through. */
function fail(err: unknown, cmd: CommandDecl): void {
  const signal = interruptedBy();
  if (signal) removeLeftoversSync();
  if (isRefusalOfArgs(err)) {
    refused(err, cmd);
    process.exit(exitCodeOf(err));
  }
  const line = failureLine(err);
  say(`error: ${err instanceof ProvisionError ? inCallerTerms(cmd, line, err.field, 'flags') : line}`);
  // At once, as a failed run must not wait for what it left running (a timer, a child's pipe).
  process.exit(signal ? signalExitCode[signal as keyof typeof signalExitCode] ?? 1 : 1);
}

/** --json: one request on stdin, one answer on stdout (machine.ts), for programs. */
async function machine(): Promise<void> {
  watchSignals();
  process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] ??= 'true';
  process.exitCode = await (await import('./machine.js')).machineMain(say, tuneFor);
}

/**
 * V8 tuned for a short run (v8flags.ts) for the commands that talk to AWS, whose time goes to the
 * SDK's code running once. The others spend theirs in loops over a whole tree or image (a template
 * build's tar stream), which V8's own tier-up optimises sooner: ~8% faster there.
 */
function tuneFor(cmd: CommandDecl): void {
  if (cmd.aws) tuneForShortRun();
}

function watchSignals(): void {
  // A push or launch in progress is stopped and undone through its own failure path (interrupt.ts);
  // anything else, or a second signal, exits at once once temporary files are removed.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (interrupt(signal)) {
        say(`${signal}: stopping and undoing what this run created (${signal} again to exit at once)`);
        return;
      }
      removeLeftoversSync();
      say(`interrupted by ${signal}; temporary files removed`);
      process.exit(signalExitCode[signal]);
    });
  }
}
