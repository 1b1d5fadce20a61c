// The request handler of every SDK client: a bound on each attempt of each call. The SDK's own
// NodeHttpHandler has none by default; its requestTimeout only warns unless throwOnRequestTimeout
// is set, and even then it stops counting once the headers are in, so a peer that sends headers
// and then one byte a second holds a call for as long as it likes. Here the same deadline also
// covers the body. Every limit fails the attempt with a TimeoutError, which the SDK's retry
// strategy counts as transient: the attempt is retried (max_attempts), then the call fails.
import type { IncomingMessage } from 'node:http';
import { NodeHttpHandler } from '@smithy/node-http-handler';

export interface Timeouts {
  /** Seconds to open the connection. */
  connectTimeout: number;
  /** Seconds for one attempt, from sending the request to the last byte of the answer. */
  requestTimeout: number;
}

/** What a user would choose when nothing says otherwise (the defaults of connect_timeout and request_timeout). */
export const defaultTimeouts: Timeouts = { connectTimeout: 5, requestTimeout: 60 };

type HandleArgs = Parameters<NodeHttpHandler['handle']>;
type Handled = Awaited<ReturnType<NodeHttpHandler['handle']>>;

export class BoundedHttpHandler extends NodeHttpHandler {
  private readonly attemptMs: number;

  constructor(readonly timeouts: Timeouts) {
    super({
      connectionTimeout: timeouts.connectTimeout * 1000,
      requestTimeout: timeouts.requestTimeout * 1000,
      throwOnRequestTimeout: true,
    });
    this.attemptMs = timeouts.requestTimeout * 1000;
  }

  override async handle(request: HandleArgs[0], options: NonNullable<HandleArgs[1]> = {}): Promise<Handled> {
    const started = Date.now();
    const handled = await super.handle(request, options);
    const body = handled.response.body as IncomingMessage | undefined;
    if (body && typeof body.destroy === 'function' && !body.readableEnded) {
      const timer = setTimeout(() => {
        body.destroy(timeoutError(`the answer did not arrive within ${this.timeouts.requestTimeout} s (request_timeout)`));
      }, Math.max(0, this.attemptMs - (Date.now() - started)));
      body.once('close', () => clearTimeout(timer));
      body.once('end', () => clearTimeout(timer));
    }
    return handled;
  }
}

/** The error of an attempt that ran out of time: transient for the SDK, so it is retried. */
export function timeoutError(message: string): Error {
  return Object.assign(new Error(message), { name: 'TimeoutError', code: 'ETIMEDOUT' });
}

/** A handler bounded by these timeouts, for an SDK client's `requestHandler`. */
export function requestHandler(timeouts: Partial<Timeouts> = {}): BoundedHttpHandler {
  return new BoundedHttpHandler({ ...defaultTimeouts, ...timeouts });
}
