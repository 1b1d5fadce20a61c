// The two cross-process locks the stores use: a lock folder beside the files (proper-lockfile)
// and an expiring SET NX PX key in Redis. Each holder keeps its lock fresh while it works; a holder
// that died stops doing so and is taken over. The refresh lock and the registry lock are separate
// locks of these kinds, so a long refresh never holds up a launch's registration.
import { randomBytes } from 'node:crypto';
import { CacheError, type CacheFailure } from '../errors.js';
import { redisWords } from './redisWords.js';
import type { CacheLock } from './types.js';

/** Says, for the timeout message, what was holding the lock: `another refresh of X has held ...`. */
export type HeldBy = (seconds: number) => string;

/** Takes the lock folder `lockPath` (guarding `dir`), waiting up to `timeoutMs`. */
export async function lockFolder(dir: string, lockPath: string, timeoutMs: number, heldBy: HeldBy, staleMs = 10_000): Promise<CacheLock> {
  const lockfile = (await import('proper-lockfile')).default;
  const deadline = Date.now() + timeoutMs;
  let compromised: Error | undefined;
  for (;;) {
    try {
      const release = await lockfile.lock(dir, {
        lockfilePath: lockPath,
        realpath: false,
        stale: staleMs,
        update: Math.max(1000, Math.floor(staleMs / 4)),
        retries: 0,
        onCompromised: (err) => { compromised = err; },
      });
      return {
        check() {
          if (compromised) throw new CacheError(`lost the lock ${lockPath}: ${compromised.message}`, lockPath, { reason: 'lost' });
        },
        async release() {
          try { await release(); } catch { /* already released or taken over */ }
        },
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ELOCKED') {
        throw new CacheError(`cannot lock ${lockPath}: ${(err as Error).message}`, lockPath, { cause: err });
      }
      if (Date.now() >= deadline) throw new CacheError(heldBy(Math.round(timeoutMs / 1000)), lockPath, { reason: 'busy' });
      await new Promise((r) => setTimeout(r, 50 + Math.random() * 100));
    }
  }
}

/** The part of a node-redis client the lock uses. */
export interface RedisLockClient {
  set(key: string, value: string, options: { condition: 'NX'; expiration: { type: 'PX'; value: number } }): Promise<string | null>;
  eval(script: string, options: { keys: string[]; arguments: string[] }): Promise<unknown>;
}

const releaseScript = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end";
const extendScript = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end";

export interface RedisLockOptions {
  /** host:port/db, for messages. */
  where: string;
  timeoutMs: number;
  heldBy: HeldBy;
  ttlMs: number;
  /** Bounds each command, so a Redis that stops answering fails the run instead of hanging it. */
  bounded: <T>(p: Promise<T>, what: string) => Promise<T>;
}

/** Takes the Redis lock `key`, waiting up to `timeoutMs`; extends it every ttl/3 while held. */
export async function redisLock(client: RedisLockClient, key: string, o: RedisLockOptions): Promise<CacheLock> {
  const fail = (what: string, err: unknown, reason: CacheFailure = 'unreachable'): CacheError =>
    new CacheError(`${o.where}: ${what}: ${redisWords(err)}`, o.where, { cause: err, reason });
  const token = randomBytes(16).toString('hex');
  const deadline = Date.now() + o.timeoutMs;
  for (;;) {
    let got: string | null;
    try {
      got = await o.bounded(client.set(key, token, { condition: 'NX', expiration: { type: 'PX', value: o.ttlMs } }), 'SET NX');
    } catch (err) {
      throw fail('cannot take the lock', err);
    }
    if (got === 'OK') break;
    if (Date.now() >= deadline) throw new CacheError(`${o.where}: ${o.heldBy(Math.round(o.timeoutMs / 1000))}`, o.where, { reason: 'busy' });
    await new Promise((r) => setTimeout(r, 50 + Math.random() * 100));
  }
  let lost: { err: Error; reason: CacheFailure } | undefined;
  const keepAlive = setInterval(() => {
    o.bounded(client.eval(extendScript, { keys: [key], arguments: [token, String(o.ttlMs)] }), 'PEXPIRE')
      .then((n) => { if (n !== 1) lost = { err: new Error('the lock expired and was taken by another process'), reason: 'lost' }; })
      .catch((err: Error) => { lost = { err, reason: 'unreachable' }; });
  }, o.ttlMs / 3);
  keepAlive.unref();
  return {
    check() {
      if (lost) throw fail('lost the lock', lost.err, lost.reason);
    },
    async release() {
      clearInterval(keepAlive);
      try {
        await o.bounded(client.eval(releaseScript, { keys: [key], arguments: [token] }), 'release');
      } catch { /* it expires by itself */ }
    },
  };
}
