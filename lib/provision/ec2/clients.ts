// What push, launch and destroy share: how their SDK clients are made and how an AWS failure
// becomes a ProvisionError that names the step, the region and the thing it was about.
import { EBSClient } from '@aws-sdk/client-ebs';
import { EC2Client, type waitForInstanceRunning } from '@aws-sdk/client-ec2';
import { clientOptions } from '../../sources/aws/clients.js';
import { setupProblem } from '../../sources/aws/errors.js';
import type { Timeouts } from '../../sources/aws/http.js';
import { ProvisionError, errnoOf, errnoText, timeoutWords } from '../../errors.js';
import { checkInterrupted, interruption, pause } from '../interrupt.js';

/** Clients a caller may pass in (tests with SDK mocks, or a caller's own configuration). */
export interface Ec2Clients {
  ec2?: EC2Client;
  ebs?: EBSClient;
}

// More attempts than the inventory's 5: a push sends thousands of blocks, and one block that
// needed a sixth try should not throw away an upload of gigabytes.
export const DEFAULT_MAX_ATTEMPTS = 8;

/**
 * connect_timeout and request_timeout of the provisioning commands (--connect-timeout,
 * --request-timeout): every attempt of every call, each EBS block included, is bounded by them and
 * retried when they run out (sources/aws/http.ts); absent, the inventory's defaults (5 s, 60 s).
 */
export type CallTimeouts = Partial<Timeouts>;

export function ec2Client(region: string, given?: EC2Client, maxAttempts = DEFAULT_MAX_ATTEMPTS, timeouts: CallTimeouts = {}): EC2Client {
  return given ?? new EC2Client(clientOptions({ maxAttempts, ...timeouts }, region));
}

export function ebsClient(region: string, given?: EBSClient, maxAttempts = DEFAULT_MAX_ATTEMPTS, timeouts: CallTimeouts = {}): EBSClient {
  return given ?? new EBSClient(clientOptions({ maxAttempts, ...timeouts }, region));
}

/** The AWS error code (`InvalidAMIID.NotFound`, `ThrottlingException`, ...) of an SDK failure. */
export function awsCode(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const e = err as { name?: unknown; Code?: unknown };
  if (typeof e.Code === 'string') return e.Code;
  return typeof e.name === 'string' ? e.name : undefined;
}

function triesOf(err: unknown): string {
  const attempts = (err as { $metadata?: { attempts?: number } })?.$metadata?.attempts;
  return attempts && attempts > 1 ? ` after ${attempts} attempts` : '';
}

/** A ProvisionError of code EAWS saying which step failed, where, and what AWS answered. */
export function awsFailure(step: string, region: string, err: unknown): ProvisionError {
  if (err instanceof ProvisionError) return err;
  const code = awsCode(err);
  const setup = setupProblem(err, 'set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or name a profile of ~/.aws/credentials or ~/.aws/config with AWS_PROFILE');
  if (setup !== undefined) return new ProvisionError(`${step} in ${region} failed: ${setup}`, 'EAWS');
  let message = err instanceof Error ? err.message : String(err);
  // A connection reset or refused is said in words (the SDK names it TimeoutError: read ECONNRESET).
  const bound = timeoutWords(err);
  if (bound !== undefined) return new ProvisionError(`${step} in ${region} failed${triesOf(err)}: ${bound}`, 'EAWS');
  const sys = errnoOf(err);
  if (sys !== undefined && errnoText(sys) !== undefined) {
    message = `${errnoText(sys)} (${sys})`;
    return new ProvisionError(`${step} in ${region} failed${triesOf(err)}: ${message}`, 'EAWS');
  }
  const tries = triesOf(err);
  return new ProvisionError(`${step} in ${region} failed${tries}: ${code && !message.includes(code) ? `${code}: ` : ''}${message}`, 'EAWS');
}

type WaiterConfiguration = Parameters<typeof waitForInstanceRunning>[0];
type WaiterResult = Awaited<ReturnType<typeof waitForInstanceRunning>>;

/**
 * An SDK waiter that reports its result instead of throwing: the SDK's waitFor* functions. They are
 * marked deprecated in favour of waitUntil*, which throw a JSON text of the same result; the result
 * itself is what a failure needs to be named (which instance, which state, why).
 */
export type Waiter<I> = (params: WaiterConfiguration, input: I) => Promise<WaiterResult>;

/**
 * Runs one of the SDK's EC2 waiters (waitForInstanceRunning, waitForSnapshotCompleted, ...), which
 * know each resource's success, failure and retry states. Returns the last answer on success; a
 * failure state goes to `failed` to be named; running out of `seconds` names what was awaited; a
 * signal (interrupt.ts) aborts the wait and reports Interrupted.
 */
export async function waitUntil<I, T>(
  waiter: Waiter<I>, client: EC2Client, input: I,
  o: { what: string; seconds: number; pollMs?: number | undefined; failed: (last: T | undefined) => Error },
): Promise<T> {
  checkInterrupted();
  // The waiters' defaults poll every 15 s; a push or launch is watched more closely, with backoff.
  const minDelay = (o.pollMs ?? 2000) / 1000;
  const result = await waiter(
    { client, maxWaitTime: Math.max(o.seconds, minDelay * 1.01), minDelay, maxDelay: minDelay * 8, abortSignal: interruption },
    input,
  );
  checkInterrupted();
  if (result.state === 'SUCCESS') return result.reason as T;
  if (result.state === 'FAILURE') throw o.failed(result.reason as T | undefined);
  // TIMEOUT, and ABORTED without a signal of ours: the answers seen say why nothing happened.
  const seen = Object.keys(result.observedResponses ?? {}).filter((k) => !/^200: OK$/.test(k)).slice(-1)[0];
  throw new ProvisionError(`timed out after ${o.seconds} s waiting for ${o.what}${seen ? ` (last answer: ${seen})` : ''}`, 'ETIMEDOUT');
}

/**
 * Polls `check` until it returns a value, or fails naming what was awaited once `seconds` pass: for
 * what no SDK waiter covers (an instance that is running *and* has an address). A signal ends the
 * wait with Interrupted, cutting short a poll in flight through the AbortSignal `check` is given.
 */
export async function waitFor<T>(what: string, seconds: number, check: (signal: AbortSignal) => Promise<T | undefined>, intervalMs = 2000): Promise<T> {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    checkInterrupted();
    let got: T | undefined;
    try {
      got = await check(interruption);
    } catch (err) {
      checkInterrupted(); // an aborted poll reports the signal, not the abort
      throw err;
    }
    if (got !== undefined) return got;
    if (Date.now() >= deadline) throw new ProvisionError(`timed out after ${seconds} s waiting for ${what}`, 'ETIMEDOUT');
    await pause(Math.min(intervalMs, Math.max(0, deadline - Date.now())));
  }
}

/** Tag keys this package writes; `ec2-inventory:` keeps them apart from the user's own. */
export { LAUNCH_GROUPS_TAG as TAG_GROUPS } from '../../ec2py/rules.js';
export const TAG_DISK = 'ec2-inventory:disk-sha256';
export const TAG_SNAPSHOT = 'ec2-inventory:snapshot-id';
