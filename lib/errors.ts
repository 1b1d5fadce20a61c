// Every failure the library reports is one of these, so callers (and the CLI) can tell a bad
// ec2.ini from an AWS outage from an unwritable cache without parsing messages.

export class InventoryError extends Error {
  override name = 'InventoryError';
}

/** A missing, unreadable or invalid ec2.ini, or an invalid value in it. */
export class SettingsError extends InventoryError {
  override name = 'SettingsError';
  constructor(
    message: string,
    readonly file: string,
    readonly option?: string,
    readonly line?: number,
  ) {
    super(message);
  }
}

/** An AWS API call that failed; names the service and the region it was sent to. */
export class AwsError extends InventoryError {
  override name = 'AwsError';
  constructor(
    message: string,
    readonly service: 'EC2' | 'RDS' | 'Route53' | 'ElastiCache' | 'STS',
    readonly region: string | undefined,
    readonly awsCode: string | undefined,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The cache folder or files could not be created, written or read. */
export class CacheError extends InventoryError {
  override name = 'CacheError';
  constructor(message: string, readonly path: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

// One error type for everything the provisioning code reports to a user, so the CLI can print the
// message alone (no stack) and exit non-zero, while programming errors still surface with a stack.
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
  if (typeof e?.code === 'string' && typeof e.path === 'string') {
    const hint = e.code === 'EACCES' ? ' (run as a user who can read the whole tree)' : '';
    return new ProvisionError(`cannot ${e.syscall ?? 'access'} ${e.path}: ${e.code}${hint}`, e.code);
  }
  return err;
}
