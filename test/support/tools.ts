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

export const isRoot = process.getuid?.() === 0;

/**
 * The `skip` option of a check only root can make (device nodes, dropping to another user): false
 * as root, else the reason; under CI, which runs as root, not being root fails instead.
 */
export function rootOnly(what: string): string | false {
  if (isRoot) return false;
  if (inCI) throw new Error(`${what} needs root, and CI runs as root`);
  return `${what} needs root`;
}

/** The `skip` option of a suite that needs something: false when present, else the reason. */
export function skipUnless(suite: string, missing: string | undefined): string | false {
  if (missing === undefined) return false;
  if (inCI) throw new Error(`${suite} cannot run under CI: ${missing}`);
  return `${suite} skipped: ${missing}`;
}
