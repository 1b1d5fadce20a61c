import { ProvisionError } from '../errors.js';
import { checkInterrupted, undoable } from './interrupt.js';

/** Where an operation says what it undid (stderr on a terminal, the caller's log in the library). */
export type Log = (message: string) => void;

/**
 * What a push or launch created so far (a volume, a domain, instances, a snapshot, a registry
 * entry), undone newest first when a later step fails or a signal stops it, so a failure leaves
 * the hypervisor, the cloud and the registry as they were. The one undo mechanism of every target:
 * the error names the step that failed, what was undone, and loudly what could not be.
 */
export class Undo {
  private readonly actions: { what: string; fn: () => Promise<unknown> }[] = [];
  private current = 'start';

  constructor(readonly operation: string, readonly log: Log) {}

  /** Names the step now starting; a checkpoint where a signal (interrupt.ts) stops the operation. */
  step(name: string): void {
    checkInterrupted();
    this.current = name;
  }

  add(what: string, fn: () => Promise<unknown>): void {
    this.actions.push({ what, fn });
  }

  /** Forgets everything recorded: the work is kept (called when the operation succeeded). */
  keep(): void {
    this.actions.length = 0;
  }

  async rollback(): Promise<{ undone: string[]; failed: string[] }> {
    const undone: string[] = [];
    const failed: string[] = [];
    for (const a of this.actions.reverse()) {
      try {
        await a.fn();
        undone.push(a.what);
      } catch (err) {
        failed.push(`${a.what} (${(err as Error).message.split('\n')[0]})`);
      }
    }
    this.actions.length = 0;
    return { undone, failed };
  }

  /** Runs the operation; undoes it on failure. A signal during either is taken as an interrupt, not an exit. */
  guard<T>(work: () => Promise<T>): Promise<T> {
    return undoable(async () => {
      try {
        const r = await work();
        this.keep();
        return r;
      } catch (err) {
        const step = this.current;
        const { undone, failed } = await this.rollback();
        const msg = (err as Error).message;
        const tail = [undone.length ? `undone: ${undone.join(', ')}` : 'nothing to undo', ...(failed.length ? [`COULD NOT UNDO: ${failed.join(', ')}: remove by hand`] : [])].join('; ');
        this.log(`${this.operation} failed at step '${step}'; ${tail}`);
        throw new ProvisionError(`${this.operation} failed at step '${step}': ${msg} (${tail})`, err instanceof ProvisionError ? err.code : 'EPROVISION', err instanceof ProvisionError ? err.field : undefined);
      }
    });
  }
}
