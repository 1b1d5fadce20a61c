// One reading per option type of the table in options.ts: parseSettings and the table's own defaults
// (laterDefaults) turn an option's text into its value here, so an option is read as its declared
// type says and nowhere by hand.
import os from 'node:os';
import path from 'node:path';
import type { OptionName, OptionSpec, OptionType, options } from './options.js';
import { compilePythonRegex, UnsupportedPattern } from './pyregex.js';
import { pathValue } from './paths.js';

export interface Pattern {
  source: string;
  regex: RegExp;
}

/** What each option type reads as. */
export interface OptionValues {
  bool: boolean;
  int: number;
  string: string;
  list: string[];
  /** ~ expanded. */
  path: string;
  /** undefined when empty: no pattern. */
  regex: Pattern | undefined;
  /** The raw Name=Value text; its grammar (entries, &) is the filters' own parser's. */
  filters: string;
}

type TypeOf<N extends OptionName> = (typeof options)[number] extends infer O
  ? O extends { readonly name: infer M; readonly type: infer T } ? (N extends M ? T : never) : never
  : never;

/** The value option N reads as, by the type the table declares for it. */
export type OptionValue<N extends OptionName> = OptionValues[TypeOf<N> & OptionType];

const truthy = new Set(['1', 'yes', 'true', 'on']);
const falsy = new Set(['0', 'no', 'false', 'off']);

/**
 * Reads the text of option `spec` as its declared type; `fail` stops with the reason (its caller
 * adds file, section, option and line).
 */
export function readValue(
  spec: OptionSpec, raw: string, fail: (why: string) => never, env: NodeJS.ProcessEnv,
): OptionValues[OptionType] {
  switch (spec.type) {
    case 'bool': {
      const v = raw.trim().toLowerCase();
      if (truthy.has(v)) return true;
      if (falsy.has(v)) return false;
      return fail(`must be a boolean (true/false, yes/no, on/off, 1/0), not '${v}'`);
    }
    case 'int': {
      const v = raw.trim();
      // Python's int(), which getint calls, also takes _ between digits.
      if (!/^[+-]?\d+(_\d+)*$/.test(v)) return fail(`must be a whole number, not '${v}'`);
      const n = Number(v.replaceAll('_', ''));
      if (n < 0) return fail(`must not be negative, not '${v}'`);
      if (spec.min !== undefined && n < spec.min) return fail(`must be at least ${spec.min}`);
      return n;
    }
    case 'string': {
      const v = raw.trim();
      if (spec.choices && !spec.choices.includes(v)) return fail(`must be one of ${spec.choices.join(', ')}, not '${v}'`);
      return v;
    }
    case 'list':
      return raw.split(',').map((x) => x.trim()).filter((x) => x.length > 0);
    case 'path': {
      return pathValue(raw, () => env['HOME'] || os.homedir(), path) ?? fail('is empty');
    }
    case 'regex':
      return readPattern(raw, fail);
    case 'filters':
      return raw.trim();
  }
}

function readPattern(source: string, fail: (why: string) => never): Pattern | undefined {
  if (source.length === 0) return undefined;
  try {
    return { source, regex: compilePythonRegex(source) };
  } catch (err) {
    if (err instanceof UnsupportedPattern) {
      return fail(`'${source}' uses ${err.message}; that cannot be matched here exactly as Python's re matches it`);
    }
    return fail(`is not a valid regular expression '${source}': ${(err as Error).message}`);
  }
}

