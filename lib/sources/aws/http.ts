// The request handler of every SDK client: a bound on each attempt of each call, and on a whole
// refresh. The SDK's own NodeHttpHandler has none by default; its requestTimeout only warns unless
// throwOnRequestTimeout is set, and even then it stops counting once the headers are in, so a peer
// that sends headers and then one byte a second holds a call for as long as it likes. Here the same
// deadline also covers the body. Every limit fails the attempt with a TimeoutError, which the SDK's
// retry strategy counts as transient: the attempt is retried (max_attempts), then the call fails.
import { AsyncLocalStorage } from 'node:async_hooks';
import type { IncomingMessage } from 'node:http';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { InventoryError } from '../../errors.js';
import { foreignAnswer } from './errors.js';

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
type HttpRequest = HandleArgs[0];

/**
 * The calls of one deadline (a refresh): which are pending, and one way to stop them all. Each
 * request gets an AbortController of its own that the deadline aborts: a listener per request on
 * one shared signal is what piles up into MaxListenersExceededWarning.
 */
class CallScope {
  readonly inFlight = new Set<AbortController>();
  /** Aborted at the deadline: for work that is not an SDK call (virsh) to stop with it. */
  readonly stop = new AbortController();
  /** Calls (service call region) with an attempt in flight, or whose last attempt failed and may be retried. */
  readonly pending = new Map<string, number>();
  readonly retrying = new Set<string>();
  aborted: Error | undefined;

  abort(reason: Error): void {
    this.aborted = reason;
    for (const c of this.inFlight) c.abort(reason);
    this.stop.abort(reason);
  }

  pendingCalls(): string[] {
    return [...new Set([...[...this.pending].filter(([, n]) => n > 0).map(([k]) => k), ...this.retrying])].sort();
  }
}

const scopes = new AsyncLocalStorage<CallScope>();

export class BoundedHttpHandler extends NodeHttpHandler {
  constructor(readonly timeouts: Timeouts) {
    super({
      connectionTimeout: timeouts.connectTimeout * 1000,
      requestTimeout: timeouts.requestTimeout * 1000,
      throwOnRequestTimeout: true,
    });
  }

  override async handle(request: HttpRequest, options: NonNullable<HandleArgs[1]> = {}): Promise<Handled> {
    const scope = scopes.getStore();
    if (scope?.aborted) throw scope.aborted;
    const started = Date.now();
    const label = describeRequest(request);
    // One controller per attempt, aborted by the caller's signal or by the scope's deadline.
    const controller = new AbortController();
    const given = options.abortSignal as AbortSignal | undefined;
    const onGiven = () => controller.abort((given as AbortSignal).reason);
    if (given?.aborted) controller.abort(given.reason);
    else given?.addEventListener?.('abort', onGiven, { once: true });
    scope?.inFlight.add(controller);
    if (scope) {
      scope.pending.set(label, (scope.pending.get(label) ?? 0) + 1);
      scope.retrying.delete(label);
    }
    let ok = false;
    const done = () => {
      given?.removeEventListener?.('abort', onGiven);
      scope?.inFlight.delete(controller);
      if (scope) {
        scope.pending.set(label, (scope.pending.get(label) ?? 1) - 1);
        if (!ok) scope.retrying.add(label);
      }
    };
    let handled: Handled;
    try {
      handled = await super.handle(request, { ...options, abortSignal: controller.signal as NonNullable<HandleArgs[1]>['abortSignal'] });
    } catch (err) {
      done();
      const stopped = scope?.aborted;
      throw stopped !== undefined && controller.signal.reason === stopped ? stopped : attemptError(err, this.timeouts);
    }
    const body = handled.response.body as IncomingMessage | undefined;
    if (!body || typeof body.destroy !== 'function' || body.readableEnded) {
      ok = true;
      done();
      return handled;
    }
    const timer = setTimeout(() => {
      body.destroy(timeoutError(`the answer did not arrive within ${this.timeouts.requestTimeout} s (request_timeout)`));
    }, Math.max(0, this.timeouts.requestTimeout * 1000 - (Date.now() - started)));
    const onAbort = () => body.destroy(controller.signal.reason as Error);
    controller.signal.addEventListener('abort', onAbort, { once: true });
    body.once('end', () => { ok = true; });
    body.once('close', () => {
      clearTimeout(timer);
      controller.signal.removeEventListener('abort', onAbort);
      done();
    });
    const status = handled.response.statusCode;
    if (status >= 400 && !fromAws(handled.response.headers)) throw foreignAnswerError(status, await excerptOf(body), handled.response);
    return handled;
  }
}

/** AWS answers errors as XML (query and REST-XML services) or JSON; anything else came from something in between. */
function fromAws(headers: Record<string, string | undefined>): boolean {
  const type = Object.entries(headers).find(([k]) => k.toLowerCase() === 'content-type')?.[1] ?? '';
  return type === '' || /xml|json/i.test(type);
}

/** The first bytes of an error answer: enough to quote; the rest is not waited for. */
async function excerptOf(body: IncomingMessage, limit = 4096): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of body) {
      chunks.push(chunk as Buffer);
      size += (chunk as Buffer).length;
      if (size >= limit) break;
    }
  } finally {
    body.destroy();
  }
  return Buffer.concat(chunks).subarray(0, limit).toString('utf8');
}

/**
 * An error answer from a load balancer or proxy (a plain-text or HTML 503), said by its status and
 * an excerpt instead of the SDK's XML parse error. It carries the status as the SDK's errors do, so
 * that 5xx and 429 are retried as AWS's own would be.
 */
function foreignAnswerError(status: number, body: string, response: Handled['response']): Error {
  return Object.assign(new Error(foreignAnswer(status, body)), {
    name: 'ForeignAnswer', $foreign: true, $metadata: { httpStatusCode: status }, $response: response,
  });
}

/** The error of an attempt that ran out of time: transient for the SDK, so it is retried. */
export function timeoutError(message: string): Error {
  return Object.assign(new Error(message), { name: 'TimeoutError', code: 'ETIMEDOUT' });
}

// The SDK's own timeout messages name the handler package and milliseconds; say it in the words
// and the option names of ec2.ini instead. The name and code stay, so retries still happen.
function attemptError(err: unknown, t: Timeouts): unknown {
  const e = err as { name?: string; message?: string; code?: string };
  if (e?.name !== 'TimeoutError' || typeof e.message !== 'string') return err;
  if (/did not establish a connection/.test(e.message)) e.message = `did not connect within ${t.connectTimeout} s (connect_timeout)`;
  else if (/requestTimeout/.test(e.message)) e.message = `no answer within ${t.requestTimeout} s (request_timeout)`;
  return err;
}

const serviceNames: Readonly<Record<string, string>> = {
  ec2: 'EC2', rds: 'RDS', route53: 'Route53', elasticache: 'ElastiCache', sts: 'STS', ebs: 'EBS',
};

/** "EC2 DescribeInstances in eu-west-1", from the signed request (the credential scope names service and region). */
export function describeRequest(request: HttpRequest): string {
  const auth = String(request.headers['authorization'] ?? request.headers['Authorization'] ?? '');
  const scope = /Credential=[^/]+\/\d{8}\/([^/]+)\/([^/]+)\//.exec(auth);
  const service = scope ? serviceNames[scope[2] as string] ?? scope[2] : request.hostname;
  const region = scope?.[1];
  const target = request.headers['x-amz-target'] ?? request.headers['X-Amz-Target'];
  const body = typeof request.body === 'string' ? request.body : '';
  const call = /(?:^|&)Action=([A-Za-z0-9]+)/.exec(body)?.[1] ?? (target ? String(target).split('.').pop() : `${request.method} ${request.path}`);
  return `${service} ${call}${region ? ` in ${region}` : ''}`;
}

/** A refresh that outlived refresh_timeout; says which calls were still pending. */
export class RefreshTimeoutError extends InventoryError {
  override name = 'RefreshTimeoutError';
  constructor(readonly seconds: number, readonly pending: string[]) {
    super(`the refresh did not finish within ${seconds} s (refresh_timeout); still pending: ${pending.length > 0 ? pending.join(', ') : 'no API call (the rules or the cache)'}`);
  }
}

/**
 * Runs `work` (a refresh) with a deadline: once `seconds` pass, every call of it in flight is
 * aborted, no new attempt starts, and the promise rejects with RefreshTimeoutError naming the
 * calls still pending. 0: no deadline.
 */
export async function withDeadline<T>(seconds: number, work: (stop: AbortSignal | undefined) => Promise<T>): Promise<T> {
  if (!(seconds > 0)) return work(undefined);
  const scope = new CallScope();
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const err = new RefreshTimeoutError(seconds, scope.pendingCalls());
      scope.abort(err);
      reject(err);
    }, seconds * 1000);
  });
  const running = scopes.run(scope, () => work(scope.stop.signal));
  running.catch(() => { /* the deadline's error is the one reported */ });
  try {
    return await Promise.race([running, expired]);
  } finally {
    clearTimeout(timer);
  }
}

/** A handler bounded by these timeouts, for an SDK client's `requestHandler`. */
export function requestHandler(timeouts: Partial<Timeouts> = {}): BoundedHttpHandler {
  return new BoundedHttpHandler({ ...defaultTimeouts, ...timeouts });
}
