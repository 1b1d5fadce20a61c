// Every failure the library reports is one of these, so callers (and the CLI) can tell a bad
// ec2.ini from an AWS outage from an unwritable cache without parsing messages.
import { existsSync, mkdirSync, rmdirSync } from 'node:fs';
import path from 'node:path';

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

/**
 * Why a cache store failed, which decides what a run does about it:
 *   unreachable  the store cannot be reached, read or written (Redis down or frozen, a full or
 *                read-only disk): the inventory run goes on without it (lib/store/outage.ts)
 *   untrusted    a folder or file another user could have planted: the run stops
 *   busy         another refresh holds the lock past cache_lock_timeout
 *   lost         the lock was taken over while this run held it
 */
export type CacheFailure = 'unreachable' | 'untrusted' | 'busy' | 'lost';

/** The cache folder or files could not be created, written or read. */
export class CacheError extends InventoryError {
  override name = 'CacheError';
  readonly reason: CacheFailure;
  constructor(message: string, readonly path: string, options?: { cause?: unknown; reason?: CacheFailure }) {
    super(message, options?.cause !== undefined ? { cause: options.cause } : undefined);
    this.reason = options?.reason ?? 'unreachable';
  }
}

// One error type for everything the provisioning code reports to a user, so the CLI can print the
// message alone (no stack) and exit non-zero, while programming errors still surface with a stack.
//
// `field` names the library option a bad input came through (`count`, `sshKey`): the message is in
// the library's own terms, and a front end (the CLI, the Ansible modules) says which of its own flags
// or parameters that field is.
export class ProvisionError extends Error {
  override readonly name = 'ProvisionError';
  constructor(message: string, readonly code: string = 'EPROVISION', readonly field?: string) {
    super(message);
  }
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

// What a system error code means, in the words a user reads on stderr. The code itself is kept in
// the message too (it is what one searches for), but never alone.
const errnoWords: Readonly<Record<string, string>> = {
  ENOSPC: 'no space left on the device',
  EDQUOT: 'disk quota exceeded',
  EFBIG: 'file too large for the file system',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'read-only file system',
  EISDIR: 'it is a folder, not a file',
  ENOTDIR: 'a part of the path is not a folder',
  ENOENT: 'no such file or folder',
  EEXIST: 'it already exists',
  ENOTEMPTY: 'the folder is not empty',
  ELOOP: 'too many levels of symbolic links',
  ENAMETOOLONG: 'the name is too long',
  EMFILE: 'too many open files in this process (raise ulimit -n)',
  ENFILE: 'too many open files on this system',
  EIO: 'input/output error on the device',
  EBUSY: 'the device or file is busy',
  EXDEV: 'it is on another file system',
  ETIMEDOUT: 'timed out',
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset by the peer',
  ECONNABORTED: 'connection aborted',
  EPIPE: 'the other end closed the connection',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ENOTFOUND: 'host name not found',
  EAI_AGAIN: 'host name lookup failed for now',
};

const syscallVerbs: Readonly<Record<string, string>> = {
  open: 'open', read: 'read', write: 'write', mkdir: 'create the folder', rmdir: 'remove the folder',
  rename: 'rename', unlink: 'remove', scandir: 'list the folder', opendir: 'list the folder', stat: 'look at',
  lstat: 'look at', fstat: 'look at', access: 'access', chmod: 'change the mode of', fsync: 'flush',
  copyfile: 'copy', symlink: 'create the link', link: 'link', readlink: 'read the link', realpath: 'resolve',
  connect: 'connect to', spawn: 'run', mkdtemp: 'create a temporary folder in', utime: 'set the time of',
};

/**
 * The system error code of an error (`ENOENT`, `EACCES`, `ECONNREFUSED`...), or undefined for
 * anything else: the one test of "is this a system error" every stage uses.
 */
export function errnoOf(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  // Node's own ERR_* codes are programming errors, not system errors.
  return typeof code === 'string' && /^E[A-Z0-9_]+$/.test(code) && !code.startsWith('ERR_') ? code : undefined;
}

/** The words for a system error code (`ENOSPC` → "no space left on the device"), or undefined. */
export function errnoText(code: string): string | undefined {
  return errnoWords[code];
}

/**
 * Names `file` in a system error that came without a path (a write stream's ENOSPC carries only
 * `syscall: 'write'`), so that describeSystemError says which file could not be written.
 */
export function atPath<T>(err: T, file: string): T {
  const e = err as NodeJS.ErrnoException | null;
  if (errnoOf(err) !== undefined && e && typeof e === 'object' && e.path === undefined) e.path = file;
  return err;
}

/**
 * One sentence for a system error (ENOSPC, EACCES, EROFS, EISDIR, EMFILE, a refused connection...),
 * naming the path or address it was about: `cannot write /var/cache/x: no space left on the device
 * (ENOSPC)`. Undefined for anything that is not one.
 */
export function describeSystemError(err: unknown, what?: string): string | undefined {
  const code = errnoOf(err);
  if (code === undefined) return undefined;
  const e = err as NodeJS.ErrnoException & { address?: string; port?: number; hostname?: string };
  const words = errnoWords[code] ?? (e.message?.replace(/^E[A-Z0-9_]+:\s*/, '').split(',')[0] || code);
  const target = what ?? e.path ?? (e.address !== undefined ? `${e.address}${e.port !== undefined ? `:${e.port}` : ''}` : e.hostname);
  const verb = e.syscall !== undefined ? syscallVerbs[e.syscall] ?? e.syscall : 'use';
  return target !== undefined ? `cannot ${verb} ${target}: ${words} (${code})` : `${e.syscall ? `${e.syscall}: ` : ''}${words} (${code})`;
}

/**
 * Why `mkdir -p dir` failed, as the folder that could not be made: a recursive mkdir under a
 * read-only or unwritable folder says ENOENT about `dir` itself, so the first missing folder is
 * tried alone for the real reason (EROFS, EACCES); a file where the folder should be is named.
 */
export function describeMkdirError(dir: string, err: unknown): string {
  const code = errnoOf(err);
  if (code === 'EEXIST') return `cannot create the folder ${dir}: a file of that name is in the way (EEXIST)`;
  if (code === 'ENOENT') {
    let missing = path.resolve(dir);
    while (!existsSync(path.dirname(missing)) && path.dirname(missing) !== missing) missing = path.dirname(missing);
    try {
      mkdirSync(missing, { mode: 0o700 });
      rmdirSync(missing);
    } catch (inner) {
      if (errnoOf(inner) !== undefined && errnoOf(inner) !== 'EEXIST') return describeSystemError(inner) as string;
    }
  }
  return describeSystemError(err) ?? (err as Error).message;
}

/**
 * What a command prints for a failure: the message of the project's own errors, one sentence for
 * a system error, and for anything else (a bug) its message; a stack trace only with
 * EC2_INVENTORY_DEBUG=1. Always one line.
 */
export function failureLine(err: unknown, env: NodeJS.ProcessEnv = process.env): string {
  if (env['EC2_INVENTORY_DEBUG'] === '1' && err instanceof Error && err.stack) return err.stack;
  let text: string;
  if (err instanceof InventoryError || err instanceof ProvisionError) text = err.message;
  else text = describeSystemError(err) ?? `unexpected error: ${err instanceof Error ? err.message : String(err)} (EC2_INVENTORY_DEBUG=1 shows where)`;
  return text.replace(/\s*\n\s*/g, ' ');
}

/**
 * The bound that ran out, as lib/sources/aws/http.ts words it ("no answer within 60 s
 * (request_timeout)"), found in an error however the SDK wrapped its message; undefined if none.
 */
export function timeoutWords(err: unknown): string | undefined {
  const message = err instanceof Error ? err.message : typeof err === 'string' ? err : '';
  return /(?:no answer|the answer did not arrive|did not connect) within \d+ s \((?:connect|request)_timeout\)/.exec(message)?.[0];
}
