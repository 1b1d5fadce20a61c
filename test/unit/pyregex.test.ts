// lib/settings/pyregex.ts against Python's re on the same patterns and host names: the same match
// results, the same refusal of an invalid pattern, or a clear refusal of what cannot be matched exactly.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { compilePythonRegex, PatternError, pythonMatch, UnsupportedPattern } from '../../lib/settings/pyregex.js';
import { askPython, seeded, skipWithoutPython, type ReAnswer } from '../support/oracle.js';

type PortAnswer = ReAnswer | { unsupported: string };

function portAnswer(pattern: string, subjects: string[]): PortAnswer {
  let re: RegExp;
  try {
    re = compilePythonRegex(pattern);
  } catch (err) {
    if (err instanceof UnsupportedPattern) return { unsupported: err.message };
    if (err instanceof PatternError) return { error: err.message };
    throw new Error(`${JSON.stringify(pattern)}: ${(err as Error).message}`);
  }
  return { match: subjects.map((s) => pythonMatch(re, s)) };
}

const hosts = ['ec2-54-214-1-2.compute-1.amazonaws.com', '54.214.1.2', '10.0.0.7', 'web1', 'web-1', 'Web_2\n', 'db.internal', '', 'a\nb',
  'mydb.c0ffee.us-east-1.rds.amazonaws.com', 'K8s-node', 'İstanbul', 'ıi', 'ſs', 'é٣', 'a\u00a0b', 'x\u0085', 'KELVIN\u212a'];

function check(patterns: string[], subjectsFor: (p: string, i: number) => string[]): { refused: number; invalid: number } {
  const subjects = patterns.map(subjectsFor);
  const expected = askPython<ReAnswer>(patterns.map((re, i) => ({ re, subjects: subjects[i] as string[] })));
  let refused = 0;
  let invalid = 0;
  patterns.forEach((pattern, i) => {
    const want = expected[i] as ReAnswer;
    const got = portAnswer(pattern, subjects[i] as string[]);
    const what = `${JSON.stringify(pattern)} on ${JSON.stringify(subjects[i])}`;
    if ('error' in want) {
      invalid++;
      assert.ok(!('match' in got), `Python refuses ${what} (${want.error}); the port compiled it`);
    } else if ('unsupported' in got) {
      refused++;
      assert.doesNotMatch(got.unsupported, /\n/);
    } else {
      assert.ok(!('error' in got), `Python compiles ${what}; the port says ${'error' in got ? got.error : ''}`);
      assert.deepEqual(got, want, what);
    }
  });
  return { refused, invalid };
}

const handPicked = [
  '^.{,3}\\.214\\.', '54\\.214', '"54"', 'web#1', '(?P<n>w)e(?P=n)?', '(?P<n>w)eb(?P=n)', 'web1\\Z', '\\Aweb', 'web1$', 'web1$\\n',
  '(?i)WEB', '(?i)k8S', '(?i)i', '(?i)[h-j]', '(?i)[^i]', '(?ai)k', '(?a)\\w+\\b', '\\w+\\b', '\\d+\\.', '\\s', '\\S+', '[\\W\\d]+',
  '[^\\W\\d]+', '[]a-]', '[^]]', '[\\]]', 'a{', 'a{1', 'a{x}', 'a{}', '{1}', 'a**', 'a*?b', 'a++', '(?>w|we)b', '(?x) w e b # comment',
  '(?m)^db$', '(?s).+\\Z', '.+', '(?<=e)b', '(?<=e+)b', '(?<!x)w', '(a)|\\1', '(a)?\\1', '(a)\\1', '(?L)a', '(?t)a', 'a(?i)b',
  '(?i:W)eb', '(?-i:W)', '\\N{EM DASH}', '(?(1)a|b)', '\\x41\\u0041\\101\\0', '\\8', '\\q', '[a-\\d]', '[z-a]', '\\B', '(?<n>x)',
  '\\', '(', ')', '[', 'a|', '|b', '(?#x)*', '(?P<1>a)', 'ec2-54-214-.*compute-1', 'web|db', '[\\d-z]+', '[a\\-z]', '\\\\',
];

const atoms = ['a', 'b', 'w', 'e', '1', '.', '-', 'K', 'k', 'i', 'I', 's', 'é', 'İ', '\\d', '\\w', '\\s', '\\D', '\\W', '\\S',
  '\\.', '\\-', '\\x61', '\\u0062', '\\141', '\\0', '\\n', '[a-c]', '[^a]', '[]a]', '[\\d-]', '[a-]',
  '[\\w.]', '[^\\W]', '[\\s\\d]', '[^\\S]', '[h-k]', '[^K]', '[İ]', '{', '}', ']', ' ', '#'];
const anchors = ['^', '$', '\\b', '\\B', '\\A', '\\Z'];
// Rare on purpose: each makes most patterns invalid, and one seen is enough.
const rareAtoms = ['\\1', '(?P=g)', '\\2', '(?L)', '(?t)', '\\q', '[z-a]', '(?(1)a|b)', '(?<x>a)'];
const quantifiers = ['', '', '', '', '*', '+', '?', '{2}', '{,2}', '{1,}', '{', '{x}', '*?', '++', '{1,2}?', '?+', '{0}', '{,}'];
const globalFlags = ['', '', '', '(?i)', '(?m)', '(?s)', '(?x)', '(?a)', '(?ai)', '(?u)', '(?im)'];

function generatePattern(seed: number): string {
  const r = seeded(seed);
  let names = 0;
  const seq = (depth: number, fixed: boolean): string => {
    let out = '';
    const n = 1 + r.int(4);
    for (let i = 0; i < n; i++) {
      const kind = r.int(depth > 2 ? 14 : 20);
      if (kind < 10) out += r.pick(atoms) + (fixed ? r.pick(['', '{2}', '{0}']) : r.pick(quantifiers));
      else if (kind < 12) out += r.pick(anchors);
      else if (kind === 12) out += r.chance(0.2) ? r.pick(rareAtoms) : r.pick(['(?#c)', '(a)', '(?P=g1)', '\\1']);
      else if (kind === 13) out += r.pick(['(?P<g', '(?P<h']) + `${++names}>a)` + (fixed ? '' : r.pick(['', '?', '*', '+']));
      else if (kind < 17) out += `${r.pick(['(', '(?:', '(?P<g' + ++names + '>', '(?>', '(?i:', '(?-i:', '(?s:', '(?a:', '(?x:', '(?u:'])}${alt(depth + 1, fixed)})${fixed ? '' : r.pick(quantifiers)}`;
      else if (kind < 19) out += `${r.pick(['(?=', '(?!'])}${alt(depth + 1, fixed)})`;
      // Python wants a fixed width behind; mostly give it one.
      else out += `${r.pick(['(?<=', '(?<!'])}${alt(depth + 1, r.chance(0.9))})`;
    }
    return out;
  };
  const alt = (depth: number, fixed: boolean): string => (r.chance(0.25) && !fixed ? `${seq(depth, fixed)}|${seq(depth, fixed)}` : seq(depth, fixed));
  return r.pick(globalFlags) + alt(0, false);
}

const alphabet = ['a', 'b', 'w', 'e', '1', '2', '.', '-', '_', ' ', '\n', 'K', 'k', 'i', 'I', 'İ', 'ı', 's', 'ſ', 'é', '٣', '\u00a0', '\u0085', '\u212a', 'A', ']', '#'];

describe('Python patterns, against Python', { skip: skipWithoutPython('pattern comparison') }, () => {
  it('hand-picked patterns: same matches, same refusals', () => {
    const { refused } = check(handPicked, () => hosts);
    assert.ok(refused <= 8, `${refused} hand-picked patterns refused`);
  });

  it('4000 generated patterns on generated names (seeded): same matches, same invalid patterns, or a refusal', () => {
    const patterns = Array.from({ length: 4000 }, (_, i) => generatePattern(i + 1));
    const { refused, invalid } = check(patterns, (_p, i) => {
      const r = seeded(100_000 + i);
      return Array.from({ length: 12 }, () => Array.from({ length: r.int(7) }, () => r.pick(alphabet)).join(''));
    });
    // The comparison must be about matching, mostly: not about patterns either side refuses.
    assert.ok(invalid < 1600, `${invalid} of 4000 generated patterns are invalid in Python`);
    assert.ok(refused < 400, `${refused} of 4000 generated patterns refused as untranslatable`);
    process.stderr.write(`pyregex comparison: ${4000 - invalid - refused} compared, ${invalid} invalid in Python, ${refused} refused\n`);
  });
});

describe('compilePythonRegex', () => {
  it('names the construct it cannot translate exactly', () => {
    assert.throws(() => compilePythonRegex('(a)?\\1'), (e: Error) => e instanceof UnsupportedPattern && /back reference to group 1/.test(e.message));
    assert.throws(() => compilePythonRegex('(?(1)a|b)'), UnsupportedPattern);
    assert.throws(() => compilePythonRegex('(?i)é'), /case-insensitive non-ASCII letter 'é'/);
  });
});
