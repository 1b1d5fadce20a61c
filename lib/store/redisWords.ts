// What a Redis failure means, in the tool's words. node-redis and @keyv/redis speak of their own
// options ("This is thrown because throwOnConnectError is set to true"); a user needs to know that
// the connection is gone or what the system said, not how the client library is configured.
import { errnoOf, errnoText, timeoutWords } from '../errors.js';

const gone = 'the connection to the server is gone (it stopped, restarted or dropped the connection)';

export function redisWords(err: unknown): string {
  const message = (err instanceof Error ? err.message : String(err ?? '')).split('\n')[0]?.trim() ?? '';
  // Our own bounds (connect_timeout, request_timeout) already say what ran out.
  if (timeoutWords(message) !== undefined) return message;
  const code = errnoOf(err) ?? errnoOf((err as { errors?: unknown[] } | null)?.errors?.[0]);
  if (code !== undefined && errnoText(code) !== undefined) return `${errnoText(code)} (${code})`;
  if (/socket closed unexpectedly/i.test(message)) return 'the server closed the connection unexpectedly (connection reset)';
  if (/not connected|failed to connect|client is closed|connection is closed/i.test(message)) return gone;
  return message || 'failed without saying why';
}
