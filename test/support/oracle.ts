// Python as the oracle for the ports of configparser and re (test/python/oracle.py).
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { repoRoot } from './paths.js';
import { hasTool, skipUnless } from './tools.js';

export type OracleCase = { ini: string } | { re: string; subjects: string[] };

export type IniAnswer =
  | { error: string; line: number | null }
  | { sections: Record<string, Record<string, string | { error: string }>>; defaults: Record<string, string> };

export type ReAnswer = { error: string } | { match: boolean[] };

/** The suite's `skip` option: python3 is needed (and present wherever CI runs). */
export const skipWithoutPython = (suite: string): string | false =>
  skipUnless(suite, hasTool('python3') ? undefined : 'python3 not installed');

/** Python's answers, in order, for a table of cases (one python3 process). */
export function askPython<T>(cases: OracleCase[]): T[] {
  const out = execFileSync('python3', [path.join(repoRoot, 'test', 'python', 'oracle.py')], {
    input: JSON.stringify(cases), maxBuffer: 256 << 20, env: { ...process.env, PYTHONIOENCODING: 'utf-8', PYTHONUTF8: '1' },
  });
  return JSON.parse(out.toString('utf8')) as T[];
}

/** A small deterministic generator (mulberry32), so that a failing case can be replayed. */
export function seeded(seed: number): { int(n: number): number; pick<T>(xs: readonly T[]): T; chance(p: number): boolean } {
  let a = seed >>> 0;
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    int: (n) => Math.floor(next() * n),
    pick: (xs) => xs[Math.floor(next() * xs.length)] as (typeof xs)[number],
    chance: (p) => next() < p,
  };
}
