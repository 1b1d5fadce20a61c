import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { ProvisionError, describeMkdirError, describeSystemError, errnoOf, errnoText } from '../errors.js';

// Temporary files and scratch folders in use, so a signal handler can remove them: a killed build
// must not leave hidden multi-gigabyte files behind either.
const live = new Set<string>();

/** Removes every temporary output and scratch folder still in use (for SIGINT/SIGTERM handlers). */
export function removeLeftoversSync(): void {
  for (const p of live) {
    try {
      fs.rmSync(p, { recursive: true, force: true });
    } catch {
      // best effort: the process is going down
    }
  }
  live.clear();
}

/**
 * Output files are written under temporary names in their final folder and renamed only when
 * everything succeeded, so a failure or a kill never leaves a half-written file under a real name.
 */
export class Outputs {
  private readonly pending = new Map<string, string>();
  private readonly committed: string[] = [];

  /** `created`: the folders prepare() made, outermost first; discard() removes them again. */
  constructor(readonly force: boolean, private readonly created: readonly string[] = []) {}

  /**
   * Checks that no output exists (unless forced), then makes each output's folder when it is
   * missing (as `mkdir -p`) and checks that it can be written, before any work starts.
   */
  static async prepare(finals: readonly string[], force: boolean): Promise<Outputs> {
    if (!force) {
      const existing = finals.filter((f) => fs.existsSync(f));
      if (existing.length > 0) {
        throw new ProvisionError(`output already exists (force replaces it): ${existing.join(', ')}`, 'EEXIST', 'force');
      }
    }
    const created: string[] = [];
    try {
      for (const dir of new Set(finals.map((f) => path.dirname(f)))) {
        created.push(...(await prepareFolder(dir)));
      }
    } catch (err) {
      removeFolders(created);
      throw err;
    }
    return new Outputs(force, created);
  }

  /** A temporary path beside `final`, hidden, that commit() renames to `final`. */
  temp(final: string): string {
    const t = path.join(path.dirname(final), `.${path.basename(final)}.tmp-${process.pid}-${crypto.randomBytes(4).toString('hex')}`);
    this.pending.set(final, t);
    live.add(t);
    return t;
  }

  async commit(): Promise<void> {
    try {
      for (const [final, t] of this.pending) {
        // A folder output (an OCI layout) cannot be renamed over an old one: that goes first.
        if (this.force && (await fs.promises.stat(t)).isDirectory() && fs.statSync(final, { throwIfNoEntry: false })?.isDirectory()) {
          await fs.promises.rm(final, { recursive: true, force: true });
        }
        await fs.promises.rename(t, final);
        live.delete(t);
        this.committed.push(final);
      }
      this.pending.clear();
    } catch (err) {
      // Some outputs without the others are worse than none: undo the renames already done.
      for (const f of this.committed) await fs.promises.rm(f, { force: true });
      throw err;
    }
  }

  async discard(): Promise<void> {
    for (const t of this.pending.values()) {
      await fs.promises.rm(t, { force: true, recursive: true });
      live.delete(t);
    }
    this.pending.clear();
    removeFolders(this.created);
  }
}

/** `mkdir -p dir`: the folders it made, outermost first; a ProvisionError naming the one it could not. */
function makeFolder(dir: string): string[] {
  const made: string[] = [];
  for (let d = path.resolve(dir); !fs.existsSync(d); d = path.dirname(d)) made.unshift(d);
  try {
    fs.mkdirSync(dir, { recursive: true });
  } catch (err) {
    throw new ProvisionError(`output folder ${dir}: ${describeMkdirError(dir, err)}`, errnoOf(err) ?? 'EIO');
  }
  return made;
}

/** Removes folders a failed run made, innermost first, while they are empty (never what others put there). */
export function removeFolders(made: readonly string[]): void {
  for (const d of [...made].reverse()) {
    try {
      fs.rmdirSync(d);
    } catch {
      return;
    }
  }
}

/**
 * An output folder made when missing (`mkdir -p`) and checked to be writable, before any work: the
 * folders it made, outermost first, for removeFolders when the run fails.
 */
export async function prepareFolder(dir: string): Promise<string[]> {
  const made = makeFolder(dir);
  try {
    await checkWritableDir(dir);
  } catch (err) {
    removeFolders(made);
    throw err;
  }
  return made;
}

async function checkWritableDir(dir: string): Promise<void> {
  let st: fs.Stats;
  try {
    st = await fs.promises.stat(dir);
  } catch (err) {
    throw new ProvisionError(`output folder ${dir}: ${describeSystemError(err) ?? 'it does not exist'}`, errnoOf(err) ?? 'ENOENT');
  }
  if (!st.isDirectory()) throw new ProvisionError(`output folder ${dir} is not a folder`, 'ENOTDIR');
  try {
    await fs.promises.access(dir, fs.constants.W_OK | fs.constants.X_OK);
  } catch (err) {
    const code = errnoOf(err) ?? 'EACCES';
    throw new ProvisionError(`output folder ${dir} is not writable: ${errnoText(code) ?? code} (${code})`, code);
  }
}

/** Runs `work` with a private scratch folder inside `near` (same filesystem, so renames are cheap). */
export async function withScratch<T>(near: string, work: (dir: string) => Promise<T>): Promise<T> {
  const dir = await fs.promises.mkdtemp(path.join(near, `.ec2-provision-${process.pid}-`));
  live.add(dir);
  try {
    return await work(dir);
  } finally {
    await rmScratch(dir);
    live.delete(dir);
  }
}

async function rmScratch(dir: string): Promise<void> {
  try {
    await fs.promises.rm(dir, { recursive: true, force: true });
  } catch (err) {
    // A tree extracted without root may hold read-only folders; open them up and try once more.
    if (errnoOf(err) !== 'EACCES') throw err;
    const open = async (d: string) => {
      await fs.promises.chmod(d, 0o700).catch(() => {});
      for (const e of await fs.promises.readdir(d, { withFileTypes: true }).catch(() => [])) if (e.isDirectory()) await open(path.join(d, e.name));
    };
    await open(dir);
    await fs.promises.rm(dir, { recursive: true, force: true });
  }
}
