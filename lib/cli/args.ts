// From a command's declarations (declarations.ts) to what its handler gets: each flag's text read as
// its declared type, the library options object built by field (nothing undefined in it, nested
// fields nested), and every refusal as an error naming the flag. Also the other way: a library
// error's `field` back to the flag a user typed. exitCodeOf is the one rule for what a refusal exits.
import { parseArgs as nodeParseArgs } from 'node:util';
import type { CommandDecl, Flag, Parsed } from './declare.js';
import { ProvisionError } from '../errors.js';

/**
 * Bad usage: the words cannot be read as the command (an unknown command or flag, a flag without
 * its value or with one it does not take, a stray argument, a required flag missing, flags that
 * exclude each other). `flag` is the flag without dashes.
 */
export class UsageError extends Error {
  override readonly name = 'UsageError';
  constructor(message: string, readonly flag?: string) {
    super(message);
  }
}

/**
 * Bad input through a flag read as it should be: a value its declared type refuses (not one of its
 * choices, not a whole number, below its minimum, not key=value).
 */
export class BadValueError extends Error {
  override readonly name = 'BadValueError';
  constructor(message: string, readonly flag: string) {
    super(message);
  }
}

/**
 * The exit code of a refusal: 2 for bad usage only, as getopt and argparse tools exit; a value the
 * command refuses, whether its flag's type or the library does (ProvisionError EUSAGE), is bad input
 * like a missing file: 1.
 */
export function exitCodeOf(err: unknown): 1 | 2 {
  return err instanceof UsageError ? 2 : 1;
}

/** A refusal of what was typed, which the command's --help explains: its line points there. */
export function isRefusalOfArgs(err: unknown): err is Error {
  return err instanceof UsageError || err instanceof BadValueError || (err instanceof ProvisionError && err.code === 'EUSAGE');
}

const bad = (f: Flag, why: string): never => {
  throw new BadValueError(`--${f.name}: ${why}`, f.name);
};
const shape = (f: Flag, why: string): never => {
  throw new UsageError(`--${f.name}: ${why}`, f.name);
};

function one(f: Flag, raw: unknown): string {
  // A flag given twice that takes one value: the last one wins, as with every getopt-style parser.
  const value = Array.isArray(raw) ? raw[raw.length - 1] : raw;
  return String(value ?? '');
}

/** The value of one flag as its type reads it; `raw` is what flagTexts collected (texts, or a boolean). */
export function readFlag(f: Flag, raw: unknown): unknown {
  switch (f.type) {
    case 'bool':
      if (typeof raw === 'boolean') return raw;
      return shape(f, `takes no value (--${f.name} or --no-${f.name}), not '${one(f, raw)}'`);
    case 'int': {
      const text = one(f, raw).trim();
      if (!/^\d+$/.test(text)) return bad(f, `expected a whole number, not '${text}'`);
      const n = Number(text);
      const min = f.min ?? 0;
      if (n < min) return bad(f, `must be at least ${min}, not ${n}`);
      return n;
    }
    case 'choice': {
      const text = one(f, raw);
      if (!f.choices?.includes(text)) return bad(f, `must be one of ${f.choices?.join(', ')}, not '${text}'`);
      return text;
    }
    case 'list': {
      const items = (Array.isArray(raw) ? raw : [raw]).map(String);
      const values = (f.comma === false ? items : items.flatMap((v) => v.split(','))).map((v) => v.trim()).filter((v) => v !== '');
      for (const v of values) {
        if (f.choices && !f.choices.includes(v)) bad(f, `'${v}' is not one of ${f.choices.join(', ')}`);
      }
      return values;
    }
    // Each item is read by the library's one key=value parser (settings/keyValue.ts), which names the field.
    case 'map':
      return (Array.isArray(raw) ? raw : [raw]).map(String);
    // A size is read by the library's own parser (image size, guest memory), which names the field.
    case 'size':
    case 'string':
    case 'path':
    case 'url': {
      const text = one(f, raw);
      if (text === '') return shape(f, 'needs a value');
      return f.escapes ? text.replace(/\\r/g, '\r').replace(/\\n/g, '\n') : text;
    }
  }
}

/**
 * The handler's input from what was typed (flagTexts, or a module's parameters): each declared flag
 * read as its type (its default when absent), required ones checked, then placed by field.
 * Undefined values are left out, so a library default is never overridden by "not given".
 */
export function collect<C extends CommandDecl>(cmd: C, parsed: Readonly<Record<string, unknown>>): Parsed<C> {
  const options: Record<string, unknown> = {};
  const own: Record<string, unknown> = {};
  // Values given are read first: a wrong one is named even while a required one is missing.
  const values = cmd.flags.map((f) => (parsed[f.name] !== undefined ? readFlag(f, parsed[f.name]) : f.default));
  cmd.flags.forEach((f, i) => {
    const value = values[i];
    if (value === undefined && f.required) throw new UsageError(`--${f.name} is required (${firstSentence(f.describe)})`, f.name);
    if (value === undefined) return;
    if (f.field === undefined) own[f.name] = value;
    else setField(options, f.field, value);
  });
  return { options, own } as Parsed<C>;
}

function setField(target: Record<string, unknown>, field: string, value: unknown): void {
  const [head, ...rest] = field.split('.') as [string, ...string[]];
  if (rest.length === 0) {
    target[head] = value;
    return;
  }
  const inner = (target[head] ??= {}) as Record<string, unknown>;
  setField(inner, rest.join('.'), value);
}

/** Objects without undefined values: what a library call gets from optional pieces of a handler. */
export function defined<T extends object>(o: T): { [K in keyof T]: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as { [K in keyof T]: Exclude<T[K], undefined> };
}

/** The flag (of this command) a library option came through: by its field, or its last part. */
export function flagOfField(cmd: CommandDecl, field: string): Flag | undefined {
  return cmd.flags.find((f) => f.field === field) ?? cmd.flags.find((f) => f.field?.split('.').at(-1) === field);
}

/** How a front end names a flag to its user: the CLI `--ssh-key`, the Ansible modules `ssh_key`. */
export type Terms = 'flags' | 'params';

export function termOf(f: Flag, terms: Terms): string {
  return terms === 'flags' ? `--${f.name}` : paramName(f);
}

/**
 * A library failure in the caller's words: `--count: must be at least 1, not 0` on the command
 * line, `wait_timeout: ...` in a module's task, when the error names the field a value came
 * through. A library field written inside the message (`needs an SSH public key (sshKey)`) is
 * named the caller's way too. A message that already names the flag is otherwise left as it is.
 */
export function inCallerTerms(cmd: CommandDecl, message: string, field: string | undefined, terms: Terms): string {
  const text = withFieldsNamed(cmd, message, terms);
  const f = field === undefined ? undefined : flagOfField(cmd, field);
  if (f === undefined) return text;
  const term = termOf(f, terms);
  const named = terms === 'flags' ? new RegExp(`(^|[^\\w-])${term}(?![\\w-])`).test(text) : text.startsWith(`${term}: `);
  if (named) return text;
  // A field the message names in parentheses ("... (force replaces it)") is a pointer to it, and
  // the caller's name goes there rather than in front as well.
  const pointer = new RegExp(`\\(${field}(?![\\w-])`);
  if (pointer.test(text)) return text.replace(pointer, `(${term}`);
  // The library's own sentence may start with its name for the value ("count must be ...",
  // "user-data x.yaml is ..."): the caller's name replaces it rather than repeating it.
  const lead = [`${field}: `, `${field} `, `${f.name} `, `${term} `].find((w) => text.startsWith(w));
  const rest = lead ? text.slice(lead.length) : text;
  return `${term}: ${rest}`;
}

/**
 * Library field names written in a message (`sshKey`, `timeouts.connectTimeout`), as the caller
 * calls them. Only names no prose uses: camelCase or dotted; a plain word (`count`, `out`) is
 * left alone, as it may be an ordinary word of the sentence.
 */
function withFieldsNamed(cmd: CommandDecl, message: string, terms: Terms): string {
  let text = message;
  for (const f of cmd.flags) {
    if (f.field === undefined) continue;
    for (const name of new Set([f.field, f.field.split('.').at(-1) as string])) {
      if (!/[a-z][A-Z]|\./.test(name)) continue;
      text = text.replace(new RegExp(`(?<![\\w.-])${name.replace(/\./g, '\\.')}(?![\\w-])`, 'g'), termOf(f, terms));
    }
  }
  return text;
}

/**
 * The Ansible parameter of a flag: the name its declaration gives for Ansible, else its library
 * field's last part in snake case, else the flag's name. KEYS maps it back to the field.
 */
export function paramName(f: Flag): string {
  if (f.ansible !== undefined) return f.ansible;
  const word = f.field !== undefined ? (f.field.split('.').at(-1) as string) : f.name;
  return word.replace(/-/g, '_').replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/** What a description starts with: up to its first '.', ':', ';' or '('. */
export function firstSentence(text: string): string {
  const end = text.search(/\.( |$)|[:;(]/);
  return end === -1 ? text : text.slice(0, end);
}

/** The first flag of `args` the command does not declare, as it was typed (`--no-such`, not `such`). */
export function unknownFlag(cmd: CommandDecl, args: readonly string[]): string | undefined {
  const names = new Set(cmd.flags.flatMap((f) => [f.name, ...(f.aliases ?? [])]));
  const negatable = new Set(cmd.flags.filter((f) => f.type === 'bool').flatMap((f) => [f.name, ...(f.aliases ?? [])]));
  for (const arg of args) {
    if (arg === '--') break;
    if (!arg.startsWith('-') || /^-\d/.test(arg)) continue;
    const name = arg.replace(/^--?/, '').split('=')[0] as string;
    if (!arg.startsWith('--') || !(names.has(name) || (name.startsWith('no-') && negatable.has(name.slice(3))))) return arg.split('=')[0];
  }
  return undefined;
}

/**
 * `--force=maybe`: only true and false are values of a flag that takes none.
 */
export function checkBooleanValues(cmd: CommandDecl, args: readonly string[]): void {
  for (const arg of args) {
    const m = /^--(?:no-)?([^=]+)=(.*)$/s.exec(arg);
    const f = m && cmd.flags.find((x) => x.type === 'bool' && (x.name === m[1] || x.aliases?.includes(m[1] as string)));
    if (f && m[2] !== 'true' && m[2] !== 'false') shape(f, `takes no value (--${f.name} or --no-${f.name}), not '${m[2]}'`);
  }
}

/**
 * What was typed for each flag, by its name, tokenised by node:util as ec2-inventory's flags are: a
 * boolean as true or false (`--no-X` and `--X=false` give false), other flags as the list of texts
 * given (a flag given twice keeps both; readFlag decides what that means), and the words after a
 * list or key=value flag up to the next flag as more of its items (`--tag a=1 b=2`). Any other
 * word is a stray argument. unknownFlag and checkBooleanValues have refused the rest already.
 */
export function flagTexts(cmd: CommandDecl, args: readonly string[]): Record<string, unknown> {
  const byName = new Map<string, Flag>();
  const options: Record<string, { type: 'string' | 'boolean' }> = {};
  for (const f of cmd.flags) {
    for (const name of [f.name, ...(f.aliases ?? [])]) {
      byName.set(name, f);
      options[name] = { type: f.type === 'bool' ? 'boolean' : 'string' };
      if (f.type === 'bool') options[`no-${name}`] = { type: 'boolean' };
    }
  }
  const { tokens } = nodeParseArgs({ args: [...args], options, strict: false, allowPositionals: true, tokens: true });
  const texts: Record<string, unknown> = {};
  let collecting: Flag | undefined;
  for (const t of tokens) {
    if (t.kind === 'option-terminator') collecting = undefined;
    else if (t.kind === 'positional') {
      if (collecting === undefined) throw new UsageError(`unexpected argument '${t.value}'`);
      (texts[collecting.name] as string[]).push(t.value);
    } else {
      const negated = !byName.has(t.name) && t.name.startsWith('no-');
      const f = byName.get(negated ? t.name.slice(3) : t.name);
      // `-5` where no flag takes it: a word, not a flag (unknownFlag lets it through).
      if (f === undefined) throw new UsageError(`unexpected argument '${t.rawName}'`);
      collecting = f.type === 'list' || f.type === 'map' ? f : undefined;
      if (f.type === 'bool') texts[f.name] = negated ? false : t.value !== 'false';
      else ((texts[f.name] ??= []) as string[]).push(t.value ?? '');
    }
  }
  return texts;
}
