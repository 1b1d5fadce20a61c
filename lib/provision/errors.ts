// One error type for everything the provisioning code reports to a user, so the CLI can print the
// message alone (no stack) and exit non-zero, while programming errors still surface with a stack.
import { describeSystemError } from '../errors.js';

export class ProvisionError extends Error {
  override readonly name = 'ProvisionError';
  constructor(message: string, readonly code: string = 'EPROVISION') {
    super(message);
  }
}

export function errnoCode(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string' ? err.code : undefined;
}

/**
 * Turns a file-system error from reading a tree (EACCES on a root-only file, ELOOP, ...) into a
 * user error that names the path, instead of a stack trace.
 */
export function asProvisionError(err: unknown): unknown {
  if (err instanceof ProvisionError) return err;
  const e = err as NodeJS.ErrnoException;
  const described = describeSystemError(err);
  if (typeof e?.code === 'string' && described !== undefined) {
    const hint = e.code === 'EACCES' && typeof e.path === 'string' ? ' (run as a user who can read the whole tree)' : '';
    return new ProvisionError(`${described}${hint}`, e.code);
  }
  return err;
}
