// The shared cache: keyv over Redis (@keyv/redis), so several controllers share one refresh, and an
// expiring SET NX PX lock so that only one of them calls the APIs at a time. The lock expires by
// itself when its holder dies; the holder extends it while it works.
import { randomBytes } from 'node:crypto';
import Keyv from 'keyv';
import KeyvRedis, { createClient } from '@keyv/redis';
import { CacheError } from '../errors.js';
import type { CacheEntry, InventoryCache } from './types.js';
import { redisLock } from './lock.js';
import { redisWords } from './redisWords.js';

const NAMESPACE = 'ec2-inventory';
/** Entries outlive cache_max_age so that cache_stale_on_error has something to serve. */
const ENTRY_TTL_MS = 7 * 24 * 3600 * 1000;
const LOCK_TTL_MS = 30_000;
/** The hosts-changed nonce (InventoryCache.generation): outside keyv's namespace, which clear() empties. */
const GENERATION_KEY = `${NAMESPACE}:hosts-changed`;

export interface RedisTimeouts {
  /** Seconds to connect (connect_timeout). */
  connectTimeout?: number;
  /** Seconds each command may take (request_timeout): a frozen server fails the command, not the run's patience. */
  requestTimeout?: number;
  /** How long a lock lives without its keep-alive (tests shorten it). */
  lockTtlMs?: number;
}


/** host:port/db of a redis URL: what messages may show (the URL may carry a password). */
export function redisWhere(url: string): string {
  const u = new URL(url);
  return `Redis ${u.hostname}:${u.port || '6379'}${u.pathname && u.pathname !== '/' ? u.pathname : '/0'}`;
}

/** A connected client whose every command through `timed` is bounded; fails naming the Redis. */
export async function connectRedis(url: string, timeouts: RedisTimeouts = {}) {
  const where = redisWhere(url);
  const connectMs = (timeouts.connectTimeout ?? 5) * 1000;
  const commandMs = (timeouts.requestTimeout ?? 10) * 1000;
  // No reconnection: a Redis that goes away fails the run at once instead of hanging it.
  const client = createClient({ url, socket: { connectTimeout: connectMs, reconnectStrategy: false } });
  client.on('error', () => { /* reported through the command that fails */ });
  const timed = <T>(p: Promise<T>, what: string, ms = commandMs, option = 'request_timeout'): Promise<T> => withTimeout(p, what, ms, option);
  try {
    await timed(client.connect(), 'connect', connectMs, 'connect_timeout');
  } catch (err) {
    // A connect that timed out may still be under way: stop it (destroy throws when there is none).
    try { client.destroy(); } catch { /* never connected */ }
    throw new CacheError(`${where}: cannot connect: ${redisWords(err)}`, where, { cause: err });
  }
  return { client, where, timed };
}

export async function openRedisCache(url: string, timeouts: RedisTimeouts = {}): Promise<InventoryCache> {
  const { client, where, timed: withTimeout } = await connectRedis(url, timeouts);
  const lockTtlMs = timeouts.lockTtlMs ?? LOCK_TTL_MS;
  const fail = (what: string, err: unknown): CacheError =>
    new CacheError(`${where}: ${what}: ${redisWords(err)}`, where, { cause: err });
  const keyv = new Keyv<CacheEntry>({
    store: new KeyvRedis(client, { throwOnErrors: true, throwOnConnectError: true }),
    namespace: NAMESPACE,
    throwOnErrors: true,
  });
  keyv.on('error', () => { /* thrown to the caller as well */ });

  return {
    where,
    async get(digest) {
      try {
        return await withTimeout(keyv.get(digest), 'GET');
      } catch (err) {
        throw fail('cannot read the cached inventory', err);
      }
    },
    async set(digest, entry) {
      try {
        await withTimeout(keyv.set(digest, entry, ENTRY_TTL_MS), 'SET');
      } catch (err) {
        throw fail('cannot store the inventory', err);
      }
    },
    lock: (digest, timeoutMs) => redisLock(client, `${NAMESPACE}:lock:${digest}`, {
      where, timeoutMs, ttlMs: lockTtlMs, bounded: withTimeout,
      heldBy: (s) => `another refresh has held the lock for more than ${s} s (cache_lock_timeout)`,
    }),
    async clear() {
      try {
        await withTimeout(client.set(GENERATION_KEY, randomBytes(8).toString('hex')), 'SET');
        // keyv's namespace ('ec2-inventory::' keys): not the locks, not the registry.
        await withTimeout(keyv.clear(), 'SCAN/UNLINK');
      } catch (err) {
        throw fail('cannot drop the cached inventories', err);
      }
    },
    async generation() {
      try {
        return (await withTimeout(client.get(GENERATION_KEY), 'GET')) ?? '';
      } catch (err) {
        throw fail('cannot read the cache generation', err);
      }
    },
    async close() {
      try {
        client.destroy();
      } catch { /* already closed */ }
    },
  };
}

function withTimeout<T>(p: Promise<T>, what: string, ms: number, option: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms / 1000} s (${option})`)), ms);
    timer.unref();
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}
