// Ctrl-C during a push or a launch must not leave orphans (an instance, a domain, a volume, a
// snapshot) any more than a failure does. The first SIGINT/SIGTERM marks the process interrupted;
// the running operation stops at its next checkpoint (a step, a poll, a block) by throwing
// Interrupted, and so takes the same undo path as any failure. The CLI exits at once on a second
// signal, or on the first when nothing that can undo itself is running.
import { ProvisionError } from '../errors.js';

export class Interrupted extends ProvisionError {
  constructor(readonly signal: NodeJS.Signals) {
    super(`interrupted by ${signal}`, 'EINTR');
  }
}

let received: NodeJS.Signals | undefined;
let running = 0;
const controller = new AbortController();

/**
 * Asks the running push or launch to stop and undo what it created. False when none is running
 * (or a signal was already taken): the caller should then exit at once.
 */
export function interrupt(signal: NodeJS.Signals): boolean {
  if (running === 0 || received !== undefined) return false;
  received = signal;
  controller.abort(new Interrupted(signal));
  return true;
}

/** The signal that interrupted this process, if one did. */
export function interruptedBy(): NodeJS.Signals | undefined {
  return received;
}

/** Aborted on interrupt: for waits and polls that may be cut short (never for calls that create things). */
export const interruption: AbortSignal = controller.signal;

/** A checkpoint: throws Interrupted once a signal was taken. */
export function checkInterrupted(): void {
  if (received !== undefined) throw new Interrupted(received);
}

/** Runs a push or launch as one that a signal stops through its own undo path. */
export async function undoable<T>(work: () => Promise<T>): Promise<T> {
  running++;
  try {
    return await work();
  } finally {
    running--;
  }
}

/** Waits `ms`, or less when a signal arrives (then throws Interrupted). */
export function pause(ms: number): Promise<void> {
  if (received !== undefined) return Promise.reject(new Interrupted(received));
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(interruption.reason as Error);
    };
    const timer = setTimeout(() => {
      interruption.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    interruption.addEventListener('abort', onAbort, { once: true });
  });
}

// Calls that may be cut short by a signal, each with its own AbortSignal. The SDK's HTTP handler
// adds an abort listener per request to the signal it is given, so handing the one `interruption`
// signal to 32 blocks in flight piled 32 listeners on it (Node's MaxListenersExceededWarning in a
// push). One listener here fans the interruption out to the signals of the calls in flight.
const inFlight = new Set<AbortController>();
interruption.addEventListener('abort', () => {
  for (const c of inFlight) c.abort(interruption.reason);
}, { once: true });

/**
 * Runs `call` with an AbortSignal of its own that a signal aborts (as `interruption` does),
 * without adding a listener to `interruption` per call.
 */
export async function interruptible<T>(call: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  if (interruption.aborted) controller.abort(interruption.reason);
  inFlight.add(controller);
  try {
    return await call(controller.signal);
  } finally {
    inFlight.delete(controller);
  }
}
