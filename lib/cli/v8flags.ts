// V8 flags for the command-line programs (bin/), which live about a second: V8's default interrupt
// budget sends a function to the optimising compiler after little work, and most of what a short
// run optimises never pays that back. Sixteen times the budget waits for the code that runs most
// (docs/benchmark.md has the measurements). ec2-inventory sets them before loading anything else,
// ec2-provision before loading a command that talks to AWS; the package's library never does, so an
// application that imports it keeps V8 as it set it.
import v8 from 'node:v8';

export const shortRunFlags: readonly string[] = ['--interrupt-budget=1081344'];

/**
 * Sets shortRunFlags, unless node was given an interrupt budget of its own (which wins). Returns
 * the flags set: V8 checks them against a code cache's (lib/cli/fullPath.ts).
 */
export function tuneForShortRun(execArgv: readonly string[] = process.execArgv): readonly string[] {
  if (execArgv.some((a) => a.startsWith('--interrupt-budget'))) return [];
  v8.setFlagsFromString(shortRunFlags.join(' '));
  return shortRunFlags;
}
