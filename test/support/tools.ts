// Tests that need a system tool: outside CI they skip and say why; under CI (which installs every
// tool, see .ci/run) a missing tool fails the run instead of silently testing less.
import { execFileSync } from 'node:child_process';

export const inCI = process.env['CI'] === 'true';

export function hasTool(tool: string): boolean {
  try {
    execFileSync('sh', ['-c', 'command -v "$1"', 'sh', tool], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** The `skip` option of a suite that needs something: false when present, else the reason. */
export function skipUnless(suite: string, missing: string | undefined): string | false {
  if (missing === undefined) return false;
  if (inCI) throw new Error(`${suite} cannot run under CI: ${missing}`);
  return `${suite} skipped: ${missing}`;
}
