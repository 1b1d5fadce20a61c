// Idempotent builds: beside each output, a small record of the inputs it was built from (a digest
// of the source and every option that changes the bytes) and the result the build returned. A
// build asked for again with the same inputs, its outputs still there, is not run: the recorded
// result is answered with `changed: false`. `state: absent` removes exactly the outputs the record
// names, and the record.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { ProvisionError, asProvisionError } from '../errors.js';
import { fileDigest } from './digest.js';

const recordVersion = 1;

/** What an idempotent request answers: the build's result, and whether anything changed (or would). */
export type Outcome<R> = { changed: boolean; check: boolean } & ({ state: 'present'; result: R | Partial<R> } | { state: 'absent'; removed: string[] });

export interface Recorded<R> {
  version: number;
  /** sha256 of the source digest and the inputs below. */
  digest: string;
  source: { path: string; digest: string } | null;
  inputs: Record<string, unknown>;
  /** Every file the build wrote (absent removes these). */
  outputs: string[];
  result: R;
}

/** The record's path: beside the main output, hidden, named after it. */
export function recordFile(mainOutput: string): string {
  return path.join(path.dirname(mainOutput), `.${path.basename(mainOutput)}.inputs.json`);
}

/**
 * A file's digest is its bytes'. A folder's is that of every entry's path, type, mode, owner, size,
 * modification time and link target, as make and rsync judge a tree: reading 18,000 files' bytes
 * would cost more than most builds save.
 */
export async function sourceDigest(source: string): Promise<string> {
  const st = await stat(source);
  if (!st.isDirectory()) return `sha256:${(await fileDigest(source)).sha256}`;
  const h = crypto.createHash('sha256');
  const walk = async (dir: string, rel: string): Promise<void> => {
    const names = (await fs.promises.readdir(dir)).sort();
    for (const name of names) {
      const full = path.join(dir, name);
      const r = rel ? `${rel}/${name}` : name;
      const s = await fs.promises.lstat(full, { bigint: true });
      const link = s.isSymbolicLink() ? await fs.promises.readlink(full) : '';
      h.update(`${r}\0${s.mode}\0${s.uid}:${s.gid}\0${s.isDirectory() ? 0 : s.size}\0${s.mtimeNs}\0${link}\n`);
      if (s.isDirectory()) await walk(full, r);
    }
  };
  await walk(source, '');
  return `tree:${h.digest('hex')}`;
}

async function stat(p: string): Promise<fs.Stats> {
  try {
    return await fs.promises.stat(p);
  } catch (err) {
    throw asProvisionError(err);
  }
}

function readRecord<R>(file: string): Recorded<R> | undefined {
  try {
    const r = JSON.parse(fs.readFileSync(file, 'utf8')) as Recorded<R>;
    return r.version === recordVersion ? r : undefined;
  } catch {
    // No record, or one this version cannot read: the output is rebuilt, as if never built.
    return undefined;
  }
}

export interface BuildRequest<R> {
  /** The output whose record this is (the tarball, the image, the template archive). */
  main: string;
  /** The tree or tarball built from; none for a build from a mirror (rootfs). */
  source?: string;
  /** Every option that changes the bytes, with the defaults filled in (so leaving one out and giving its default agree). */
  inputs: Record<string, unknown>;
  /** Runs the build, replacing outputs that are there. */
  build: () => Promise<R>;
  /** The files a result consists of. */
  outputsOf: (result: R) => string[];
  /** What check mode answers for a build it would run: the paths later tasks read. */
  planned: Partial<R>;
}

/** `present`: built unless the record says the same inputs made the outputs that are there. */
export async function ensureBuilt<R>(req: BuildRequest<R>, check: boolean): Promise<Outcome<R>> {
  const file = recordFile(req.main);
  // In check mode an earlier task may not have made the source yet: then this build would run too.
  if (check && req.source !== undefined && !fs.existsSync(req.source)) return { changed: true, check, state: 'present', result: req.planned };
  const source = req.source === undefined ? null : { path: path.resolve(req.source), digest: await sourceDigest(req.source) };
  const digest = crypto.createHash('sha256').update(JSON.stringify({ v: recordVersion, source: source?.digest ?? null, inputs: req.inputs })).digest('hex');
  const before = readRecord<R>(file);
  if (before && before.digest === digest && before.outputs.every((o) => fs.existsSync(o))) {
    return { changed: false, check, state: 'present', result: before.result };
  }
  if (check) return { changed: true, check, state: 'present', result: req.planned };
  const result = await req.build();
  const record: Recorded<R> = { version: recordVersion, digest, source, inputs: req.inputs, outputs: req.outputsOf(result).map((o) => path.resolve(o)), result };
  const tmp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, JSON.stringify(record, null, 2) + '\n', { mode: 0o644 });
  fs.renameSync(tmp, file);
  return { changed: true, check, state: 'present', result };
}

/** `absent`: removes the outputs the record names, then the record; nothing when there is no record. */
export async function ensureRemoved(main: string, check: boolean): Promise<Outcome<never>> {
  const file = recordFile(main);
  const before = readRecord<unknown>(file);
  if (!before) {
    if (fs.existsSync(main)) {
      throw new ProvisionError(`${main} exists but was not built through this interface (no ${path.basename(file)}); remove it yourself`, 'EEXIST', 'out');
    }
    return { changed: false, check, state: 'absent', removed: [] };
  }
  const present = before.outputs.filter((o) => fs.existsSync(o));
  if (!check) {
    for (const o of present) fs.rmSync(o, { force: true });
    fs.rmSync(file, { force: true });
  }
  return { changed: true, check, state: 'absent', removed: present };
}
