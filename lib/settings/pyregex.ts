// ec2.ini patterns are Python regular expressions, compiled by re.compile (Python 3, str pattern:
// Unicode classes) and applied with re.match: anchored at the start of the host name only. This
// parses a pattern as Python's re/_parser.py (3.11) does, with its errors, and writes a JavaScript
// RegExp (flags u and y, the sticky flag giving re.match's anchoring) that matches the same
// strings. What has no exact JavaScript equivalent is refused with UnsupportedPattern rather than
// approximated; test/unit/pyregex.test.ts compares the result with Python on generated patterns.
//
// Decisions: \w, \d and \b use Node's Unicode character database where Python 3.11 uses Unicode
// 14.0, so they differ only on characters assigned since (never in a DNS name or an address).
// Case-insensitive matching ((?i)) is spelled out letter by letter with Python's own case pairs for
// ASCII (k also matches the Kelvin sign, s the long s, i the dotted capital I and the dotless i);
// a cased non-ASCII letter or range under (?i) is refused.

/** Python's re.compile would raise re.error (or OverflowError) for this pattern. */
export class PatternError extends SyntaxError {
  override name = 'PatternError';
}

/** Valid in Python, but uses a construct this translation cannot reproduce exactly. */
export class UnsupportedPattern extends SyntaxError {
  override name = 'UnsupportedPattern';
}

const MAXREPEAT = 4294967295;

interface Flags {
  i: boolean;
  m: boolean;
  s: boolean;
  x: boolean;
  a: boolean;
  u: boolean;
}

type Category = 'd' | 'D' | 'w' | 'W' | 's' | 'S';
type ClassItem = { k: 'lit'; c: number } | { k: 'range'; lo: number; hi: number } | { k: 'cat'; cat: Category };
type At = 'begin' | 'end' | 'beginString' | 'endString' | 'boundary' | 'nonBoundary';
type Node =
  | { t: 'lit'; c: number; f: Flags }
  | { t: 'any'; f: Flags }
  | { t: 'in'; neg: boolean; items: ClassItem[]; f: Flags }
  | { t: 'at'; at: At; f: Flags }
  | { t: 'ref'; group: number; f: Flags; inLookbehind: boolean }
  | { t: 'repeat'; min: number; max: number; kind: 'greedy' | 'lazy' | 'possessive'; item: Node[] }
  | { t: 'group'; group: number | null; body: Node[] }
  | { t: 'branch'; alts: Node[][] }
  | { t: 'assert'; behind: boolean; neg: boolean; body: Node[] }
  | { t: 'atomic'; body: Node[] };

const flagLetters = 'iLmsxatu';
const whitespace = ' \t\n\r\v\f';
const digits = '0123456789';
const octdigits = '01234567';
const hexdigits = '0123456789abcdefABCDEF';
const asciiLetters = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';

class Source {
  index = 0;
  next: string | undefined;
  constructor(readonly text: string) {
    this.advance();
  }

  private advance(): void {
    // A token is one character (code point), or a backslash and the one after it.
    if (this.index >= this.text.length) {
      this.next = undefined;
      return;
    }
    let c = String.fromCodePoint(this.text.codePointAt(this.index) as number);
    if (c === '\\') {
      if (this.index + 1 >= this.text.length) throw new PatternError('bad escape (end of pattern)');
      c += String.fromCodePoint(this.text.codePointAt(this.index + 1) as number);
    }
    this.index += c.length;
    this.next = c;
  }

  match(c: string): boolean {
    if (c === this.next) {
      this.advance();
      return true;
    }
    return false;
  }

  get(): string | undefined {
    const t = this.next;
    this.advance();
    return t;
  }

  getwhile(n: number, charset: string): string {
    let result = '';
    for (let i = 0; i < n; i++) {
      const c = this.next;
      if (c === undefined || !charset.includes(c)) break;
      result += c;
      this.advance();
    }
    return result;
  }

  getuntil(terminator: string, name: string): string {
    let result = '';
    for (;;) {
      const c = this.next;
      this.advance();
      if (c === undefined) {
        if (!result) throw new PatternError(`missing ${name}`);
        throw new PatternError(`missing ${terminator}, unterminated name`);
      }
      if (c === terminator) {
        if (!result) throw new PatternError(`missing ${name}`);
        return result;
      }
      result += c;
    }
  }

  tell(): number {
    return this.index - (this.next?.length ?? 0);
  }

  seek(index: number): void {
    this.index = index;
    this.advance();
  }
}

interface State {
  groups: number;
  open: Set<number>;
  names: Map<string, number>;
  widths: [number, number][];
  lookbehind: number | undefined;
}

const isIdentifier = (name: string): boolean => /^[\p{ID_Start}_][\p{ID_Continue}]*$/u.test(name);

function classEscape(source: Source, escape: string): ClassItem {
  const simple = simpleEscapes[escape];
  if (simple !== undefined) return { k: 'lit', c: simple };
  if (escape === '\\b') return { k: 'lit', c: 8 };
  const cat = escape.slice(1);
  if ('dDwWsS'.includes(cat) && cat.length === 1) return { k: 'cat', cat: cat as Category };
  return { k: 'lit', c: codeEscape(source, escape, true) };
}

const simpleEscapes: Record<string, number> = { '\\a': 7, '\\f': 12, '\\n': 10, '\\r': 13, '\\t': 9, '\\v': 11, '\\\\': 92 };

/** \x, \u, \U, \N, octal, and escaped punctuation: a literal code point (or Python's error). */
function codeEscape(source: Source, escape: string, inClass: boolean): number {
  const c = escape.slice(1);
  const hex = (n: number): number => {
    const more = source.getwhile(n, hexdigits);
    if (more.length !== n) throw new PatternError(`incomplete escape ${escape}${more}`);
    return parseInt(more, 16);
  };
  if (c === 'x') return hex(2);
  if (c === 'u') return hex(4);
  if (c === 'U') {
    const v = hex(8);
    if (v > 0x10ffff) throw new PatternError(`bad escape ${escape}`);
    return v;
  }
  if (c === 'N') throw new UnsupportedPattern('the named character escape \\N{...}');
  if (inClass && octdigits.includes(c)) {
    const v = parseInt(c + source.getwhile(2, octdigits), 8);
    if (v > 0o377) throw new PatternError(`octal escape value ${escape} outside of range 0-0o377`);
    return v;
  }
  if (inClass && digits.includes(c)) throw new PatternError(`bad escape ${escape}`);
  if (asciiLetters.includes(c)) throw new PatternError(`bad escape ${escape}`);
  return c.codePointAt(0) as number;
}

function escapeNode(source: Source, escape: string, state: State, f: Flags): Node {
  const c = escape.slice(1);
  switch (escape) {
    case '\\A': return { t: 'at', at: 'beginString', f };
    case '\\Z': return { t: 'at', at: 'endString', f };
    case '\\b': return { t: 'at', at: 'boundary', f };
    case '\\B': return { t: 'at', at: 'nonBoundary', f };
  }
  if ('dDwWsS'.includes(c) && c.length === 1) return { t: 'in', neg: false, items: [{ k: 'cat', cat: c as Category }], f };
  const simple = simpleEscapes[escape];
  if (simple !== undefined) return { t: 'lit', c: simple, f };
  if (c === '0') return { t: 'lit', c: parseInt(source.getwhile(2, octdigits) || '0', 8), f };
  if (digits.includes(c)) {
    let ref = escape;
    if (source.next !== undefined && digits.includes(source.next)) {
      ref += source.get();
      if (octdigits.includes(ref[1] as string) && octdigits.includes(ref[2] as string) && source.next !== undefined && octdigits.includes(source.next)) {
        ref += source.get();
        const v = parseInt(ref.slice(1), 8);
        if (v > 0o377) throw new PatternError(`octal escape value ${ref} outside of range 0-0o377`);
        return { t: 'lit', c: v, f };
      }
    }
    const group = Number(ref.slice(1));
    if (group < state.groups) {
      if (state.open.has(group)) throw new PatternError('cannot refer to an open group');
      return groupRef(group, state, f);
    }
    throw new PatternError(`invalid group reference ${group}`);
  }
  return { t: 'lit', c: codeEscape(source, escape, false), f };
}

function groupRef(group: number, state: State, f: Flags): Node {
  if (state.lookbehind !== undefined && group >= state.lookbehind) {
    throw new PatternError('cannot refer to group defined in the same lookbehind subpattern');
  }
  return { t: 'ref', group, f, inLookbehind: state.lookbehind !== undefined };
}

function parseSub(source: Source, state: State, flags: Flags, nested: number): Node[] {
  const alts: Node[][] = [];
  let f = flags;
  for (;;) {
    const [items, after] = parseSeq(source, state, f, nested + 1, nested === 0 && alts.length === 0);
    alts.push(items);
    // Global flags found at the start apply to the rest of the top level.
    if (nested === 0) f = after;
    if (!source.match('|')) break;
  }
  return alts.length === 1 ? (alts[0] as Node[]) : [{ t: 'branch', alts }];
}

function parseSeq(source: Source, state: State, flagsIn: Flags, nested: number, first: boolean): [Node[], Flags] {
  let f = flagsIn;
  const seq: Node[] = [];
  for (;;) {
    const tok = source.next;
    if (tok === undefined || tok === '|' || tok === ')') break;
    source.get();
    if (f.x) {
      if (whitespace.includes(tok)) continue;
      if (tok === '#') {
        for (;;) {
          const c = source.get();
          if (c === undefined || c === '\n') break;
        }
        continue;
      }
    }
    if (tok[0] === '\\') {
      seq.push(escapeNode(source, tok, state, f));
    } else if (!'.\\[{()*+?^$|'.includes(tok)) {
      seq.push({ t: 'lit', c: tok.codePointAt(0) as number, f });
    } else if (tok === '[') {
      seq.push(parseClass(source, f));
    } else if ('*+?{'.includes(tok)) {
      const here = source.tell();
      let min: number;
      let max: number;
      if (tok === '?') [min, max] = [0, 1];
      else if (tok === '*') [min, max] = [0, MAXREPEAT];
      else if (tok === '+') [min, max] = [1, MAXREPEAT];
      else {
        if (source.next === '}') {
          seq.push({ t: 'lit', c: 0x7b, f });
          continue;
        }
        [min, max] = [0, MAXREPEAT];
        let lo = '';
        let hi = '';
        while (source.next !== undefined && digits.includes(source.next)) lo += source.get();
        if (source.match(',')) {
          while (source.next !== undefined && digits.includes(source.next)) hi += source.get();
        } else {
          hi = lo;
        }
        if (!source.match('}')) {
          seq.push({ t: 'lit', c: 0x7b, f });
          source.seek(here);
          continue;
        }
        if (lo) {
          min = Number(lo);
          if (min >= MAXREPEAT) throw new PatternError('the repetition number is too large');
        }
        if (hi) {
          max = Number(hi);
          if (max >= MAXREPEAT) throw new PatternError('the repetition number is too large');
          if (max < min) throw new PatternError('min repeat greater than max repeat');
        }
      }
      const last = seq[seq.length - 1];
      if (!last || last.t === 'at') throw new PatternError('nothing to repeat');
      if (last.t === 'repeat') throw new PatternError('multiple repeat');
      const kind = source.match('?') ? 'lazy' : source.match('+') ? 'possessive' : 'greedy';
      seq[seq.length - 1] = { t: 'repeat', min, max, kind, item: last.t === 'group' && last.group === null ? last.body : [last] };
    } else if (tok === '.') {
      seq.push({ t: 'any', f });
    } else if (tok === '(') {
      let capture = true;
      let atomic = false;
      let name: string | undefined;
      let inner = f;
      if (source.match('?')) {
        const char = source.get();
        if (char === undefined) throw new PatternError('unexpected end of pattern');
        if (char === 'P') {
          if (source.match('<')) {
            name = source.getuntil('>', 'group name');
            if (!isIdentifier(name)) throw new PatternError(`bad character in group name '${name}'`);
          } else if (source.match('=')) {
            const ref = source.getuntil(')', 'group name');
            if (!isIdentifier(ref)) throw new PatternError(`bad character in group name '${ref}'`);
            const gid = state.names.get(ref);
            if (gid === undefined) throw new PatternError(`unknown group name '${ref}'`);
            if (state.open.has(gid)) throw new PatternError('cannot refer to an open group');
            seq.push(groupRef(gid, state, f));
            continue;
          } else {
            const c = source.get();
            if (c === undefined) throw new PatternError('unexpected end of pattern');
            throw new PatternError(`unknown extension ?P${c}`);
          }
        } else if (char === ':') {
          capture = false;
        } else if (char === '#') {
          for (;;) {
            if (source.next === undefined) throw new PatternError('missing ), unterminated comment');
            if (source.get() === ')') break;
          }
          continue;
        } else if ('=!<'.includes(char)) {
          let behind = false;
          let kind = char;
          if (char === '<') {
            const c = source.get();
            if (c === undefined) throw new PatternError('unexpected end of pattern');
            if (c !== '=' && c !== '!') throw new PatternError(`unknown extension ?<${c}`);
            kind = c;
            behind = true;
          }
          const outer = state.lookbehind;
          if (behind && outer === undefined) state.lookbehind = state.groups;
          const body = parseSub(source, state, f, nested + 1);
          if (behind && outer === undefined) state.lookbehind = undefined;
          if (!source.match(')')) throw new PatternError('missing ), unterminated subpattern');
          if (behind) {
            const [lo, hi] = width(body, state);
            if (lo !== hi) throw new PatternError('look-behind requires fixed-width pattern');
          }
          seq.push({ t: 'assert', behind, neg: kind === '!', body });
          continue;
        } else if (char === '(') {
          source.getuntil(')', 'group name');
          throw new UnsupportedPattern('the conditional group (?(...)...)');
        } else if (char === '>') {
          capture = false;
          atomic = true;
        } else if (flagLetters.includes(char) || char === '-') {
          const parsed = parseFlags(source, char, f);
          if (parsed.global) {
            if (!first || seq.length > 0) throw new PatternError('global flags not at the start of the expression');
            f = parsed.flags;
            continue;
          }
          inner = parsed.flags;
          capture = false;
        } else {
          throw new PatternError(`unknown extension ?${char}`);
        }
      }
      let group: number | null = null;
      if (capture) {
        group = state.groups++;
        state.open.add(group);
        state.widths[group] = [0, 0];
        if (name !== undefined) {
          const was = state.names.get(name);
          if (was !== undefined) throw new PatternError(`redefinition of group name '${name}' as group ${group}; was group ${was}`);
          state.names.set(name, group);
        }
      }
      const body = parseSub(source, state, inner, nested + 1);
      if (!source.match(')')) throw new PatternError('missing ), unterminated subpattern');
      if (group !== null) {
        state.open.delete(group);
        state.widths[group] = width(body, state);
      }
      seq.push(atomic ? { t: 'atomic', body } : { t: 'group', group, body });
    } else if (tok === '^') {
      seq.push({ t: 'at', at: 'begin', f });
    } else if (tok === '$') {
      seq.push({ t: 'at', at: 'end', f });
    }
  }
  return [seq, f];
}

function parseFlags(source: Source, first: string, f: Flags): { global: boolean; flags: Flags } {
  const add = new Set<string>();
  const del = new Set<string>();
  let char: string | undefined = first;
  const typeFlags = (s: Set<string>) => [...s].filter((x) => 'aLu'.includes(x));
  if (char !== '-') {
    for (;;) {
      if (char === 'L') throw new PatternError("bad inline flags: cannot use 'L' flag with a str pattern");
      add.add(char as string);
      if (typeFlags(add).length > 1) throw new PatternError("bad inline flags: flags 'a', 'u' and 'L' are incompatible");
      char = source.get();
      if (char === undefined) throw new PatternError('missing -, : or )');
      if (')-:'.includes(char)) break;
      if (!flagLetters.includes(char)) throw new PatternError(/\p{L}/u.test(char) ? 'unknown flag' : 'missing -, : or )');
    }
  }
  if (char === ')') {
    if (add.has('t')) throw new UnsupportedPattern('the template flag (?t)');
    const flags = { ...f };
    for (const x of add) if (x in flags) flags[x as keyof Flags] = true;
    return { global: true, flags };
  }
  if (add.has('t')) throw new PatternError('bad inline flags: cannot turn on global flag');
  if (char === '-') {
    char = source.get();
    if (char === undefined) throw new PatternError('missing flag');
    if (!flagLetters.includes(char)) throw new PatternError(/\p{L}/u.test(char) ? 'unknown flag' : 'missing flag');
    for (;;) {
      if ('aLu'.includes(char)) throw new PatternError("bad inline flags: cannot turn off flags 'a', 'u' and 'L'");
      del.add(char);
      char = source.get();
      if (char === undefined) throw new PatternError('missing :');
      if (char === ':') break;
      if (!flagLetters.includes(char)) throw new PatternError(/\p{L}/u.test(char) ? 'unknown flag' : 'missing :');
    }
  }
  if (del.has('t')) throw new PatternError('bad inline flags: cannot turn off global flag');
  if ([...add].some((x) => del.has(x))) throw new PatternError('bad inline flags: flag turned on and off');
  const flags = { ...f };
  for (const x of add) if (x in flags) flags[x as keyof Flags] = true;
  for (const x of del) if (x in flags) flags[x as keyof Flags] = false;
  // A scoped type flag replaces the outer one (sre_compile's _combine_flags).
  if (add.has('u')) flags.a = false;
  return { global: false, flags };
}

function parseClass(source: Source, f: Flags): Node {
  const items: ClassItem[] = [];
  const neg = source.match('^');
  for (;;) {
    const tok = source.get();
    if (tok === undefined) throw new PatternError('unterminated character set');
    if (tok === ']' && items.length > 0) break;
    const code1: ClassItem = tok[0] === '\\' ? classEscape(source, tok) : { k: 'lit', c: tok.codePointAt(0) as number };
    if (source.match('-')) {
      const that = source.get();
      if (that === undefined) throw new PatternError('unterminated character set');
      if (that === ']') {
        items.push(code1, { k: 'lit', c: 0x2d });
        break;
      }
      const code2: ClassItem = that[0] === '\\' ? classEscape(source, that) : { k: 'lit', c: that.codePointAt(0) as number };
      if (code1.k !== 'lit' || code2.k !== 'lit' || code2.c < code1.c) throw new PatternError(`bad character range ${tok}-${that}`);
      items.push({ k: 'range', lo: code1.c, hi: code2.c });
    } else {
      items.push(code1);
    }
  }
  return { t: 'in', neg, items, f };
}

/** Python's SubPattern.getwidth: the least and most characters a match takes. */
function width(seq: Node[], state: State): [number, number] {
  let lo = 0;
  let hi = 0;
  for (const n of seq) {
    let w: [number, number];
    switch (n.t) {
      case 'lit': case 'any': case 'in': w = [1, 1]; break;
      case 'at': case 'assert': w = [0, 0]; break;
      case 'ref': w = state.widths[n.group] ?? [0, 0]; break;
      case 'group': case 'atomic': w = width(n.body, state); break;
      case 'branch': {
        const ws = n.alts.map((a) => width(a, state));
        w = [Math.min(MAXREPEAT - 1, ...ws.map((x) => x[0])), Math.max(0, ...ws.map((x) => x[1]))];
        break;
      }
      case 'repeat': {
        const [i, j] = width(n.item, state);
        w = [i * n.min, j * n.max];
        break;
      }
    }
    lo += w[0];
    hi += w[1];
  }
  return [Math.min(lo, MAXREPEAT - 1), Math.min(hi, MAXREPEAT)];
}

// ---- writing the JavaScript pattern ----

const pySpace = '\\t\\n\\v\\f\\r\\x1c-\\x20\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const categories: Record<Category, { unicode: [string, boolean]; ascii: [string, boolean] }> = {
  // [members, negated]
  d: { unicode: ['\\p{Nd}', false], ascii: ['0-9', false] },
  D: { unicode: ['\\P{Nd}', false], ascii: ['0-9', true] },
  w: { unicode: ['\\p{L}\\p{N}_', false], ascii: ['A-Za-z0-9_', false] },
  W: { unicode: ['\\p{L}\\p{N}_', true], ascii: ['A-Za-z0-9_', true] },
  s: { unicode: [pySpace, false], ascii: [' \\t\\n\\r\\f\\v', false] },
  S: { unicode: [pySpace, true], ascii: [' \\t\\n\\r\\f\\v', true] },
};

// Python's case-insensitive partners of the ASCII letters beyond their other case (Unicode mode).
const extraCase: Record<string, number[]> = { i: [0x130, 0x131], k: [0x212a], s: [0x17f] };

const hex = (c: number): string => `\\u{${c.toString(16)}}`;
const literal = (c: number): string => (/[A-Za-z0-9_]/.test(String.fromCharCode(c)) && c < 128 ? String.fromCharCode(c) : hex(c));

/** The code points Python's (?i) takes as equal to c (c itself when caseless). */
function caseVariants(c: number, f: Flags): number[] {
  if (!f.i) return [c];
  const ch = String.fromCodePoint(c);
  if (c < 128) {
    if (!/[A-Za-z]/.test(ch)) return [c];
    const lower = ch.toLowerCase();
    const out = [lower.charCodeAt(0), lower.toUpperCase().charCodeAt(0)];
    return f.a ? out : [...out, ...(extraCase[lower] ?? [])];
  }
  // (?ai) folds ASCII letters only; a caseless character is itself either way.
  if (f.a || (ch.toLowerCase() === ch && ch.toUpperCase() === ch)) return [c];
  throw new UnsupportedPattern(`the case-insensitive non-ASCII letter '${ch}'`);
}

class Writer {
  private jsGroups = 0;
  private readonly jsIndex = new Map<number, number>();

  constructor(private readonly sure: Set<number>, private readonly state: State) {}

  seq(nodes: Node[]): string {
    return nodes.map((n) => this.node(n)).join('');
  }

  private node(n: Node): string {
    switch (n.t) {
      case 'lit': {
        const cs = caseVariants(n.c, n.f);
        return cs.length === 1 ? literal(n.c) : `[${cs.map(literal).join('')}]`;
      }
      case 'any': return n.f.s ? '[^]' : '[^\\n]';
      case 'in': return this.charClass(n.items, n.neg, n.f);
      case 'at': return this.at(n.at, n.f);
      case 'ref': {
        if (n.f.i) throw new UnsupportedPattern('a back reference under (?i)');
        if (n.inLookbehind) throw new UnsupportedPattern('a back reference inside a look-behind');
        // JavaScript matches a reference to a group that did not take part as empty, and clears a
        // group's capture on each turn of a loop around it; Python fails the reference, and keeps it.
        if (!this.sure.has(n.group)) throw new UnsupportedPattern(`a back reference to group ${n.group}, which may not take part in the match (it is optional, repeated from zero, in an alternative or in a look-around)`);
        return `(?:\\${this.jsIndex.get(n.group) as number})`;
      }
      case 'repeat': {
        const q = n.min === 0 && n.max === MAXREPEAT ? '*'
          : n.min === 1 && n.max === MAXREPEAT ? '+'
            : n.min === 0 && n.max === 1 ? '?'
              : n.max === MAXREPEAT ? `{${n.min},}` : n.min === n.max ? `{${n.min}}` : `{${n.min},${n.max}}`;
        if (n.kind === 'possessive') {
          // Python takes each turn's first match and stops at an empty one; the emulation through
          // a look-ahead would backtrack into a turn that can be empty to make another turn.
          if (width(n.item, this.state)[0] === 0 || hasEmptyLoop(n.item, this.state)) {
            throw new UnsupportedPattern('a possessive repeat (*+, ++, ?+, {m,n}+) of something that can match empty');
          }
          const k = ++this.jsGroups;
          return `(?=((?:${this.seq(n.item)})${q}))(?:\\${k})`;
        }
        return `(?:${this.seq(n.item)})${q}${n.kind === 'lazy' ? '?' : ''}`;
      }
      case 'group': {
        if (n.group === null) return `(?:${this.seq(n.body)})`;
        this.jsIndex.set(n.group, ++this.jsGroups);
        return `(${this.seq(n.body)})`;
      }
      case 'atomic': {
        if (hasEmptyLoop(n.body, this.state)) throw new UnsupportedPattern('an atomic group (?>...) around a repeat of something that can match empty');
        // (?>X) as (?=(X))\k: a look-ahead is not backtracked into, and the reference consumes what it took.
        const k = ++this.jsGroups;
        return `(?=(${this.seq(n.body)}))(?:\\${k})`;
      }
      case 'branch': return `(?:${n.alts.map((a) => this.seq(a)).join('|')})`;
      case 'assert': return `(?${n.behind ? '<' : ''}${n.neg ? '!' : '='}${this.seq(n.body)})`;
    }
  }

  private at(at: At, f: Flags): string {
    const word = f.a ? '[A-Za-z0-9_]' : '[\\p{L}\\p{N}_]';
    switch (at) {
      case 'beginString': return '^';
      case 'endString': return '$';
      case 'begin': return f.m ? '(?<![^\\n])' : '^';
      // Python's $ also matches before a newline that ends the string.
      case 'end': return f.m ? '(?![^\\n])' : '(?=\\n?$)';
      case 'boundary': return `(?:(?<=${word})(?!${word})|(?<!${word})(?=${word}))`;
      // Python 3.11's \B never matches in an empty string.
      case 'nonBoundary': return `(?:(?<=${word})(?=${word})|(?<!${word})(?!${word})(?:(?<=[^])|(?=[^])))`;
    }
  }

  private charClass(items: ClassItem[], neg: boolean, f: Flags): string {
    let members = '';
    const negated: string[] = [];
    for (const item of items) {
      if (item.k === 'lit') {
        members += caseVariants(item.c, f).map(hex).join('');
      } else if (item.k === 'range') {
        members += `${hex(item.lo)}-${hex(item.hi)}`;
        if (f.i) {
          if (item.hi >= 128 && !f.a) throw new UnsupportedPattern(`the case-insensitive range ${String.fromCodePoint(item.lo)}-${String.fromCodePoint(item.hi)} beyond ASCII`);
          for (let c = item.lo; c <= Math.min(item.hi, 127); c++) members += caseVariants(c, f).map(hex).join('');
        }
      } else {
        const [set, isNeg] = categories[item.cat][f.a ? 'ascii' : 'unicode'];
        if (isNeg) negated.push(`[^${set}]`);
        else members += set;
      }
    }
    if (negated.length === 0) return `[${neg ? '^' : ''}${members}]`;
    const positive = `(?:${[...(members ? [`[${members}]`] : []), ...negated].join('|')})`;
    return neg ? `(?:(?!${positive})[^])` : positive;
  }
}

/** Whether a loop inside can take a turn that matches nothing: engines part ways there. */
function hasEmptyLoop(seq: Node[], state: State): boolean {
  return seq.some((n) => {
    switch (n.t) {
      case 'repeat': return width(n.item, state)[0] === 0 || hasEmptyLoop(n.item, state);
      case 'group': case 'atomic': case 'assert': return hasEmptyLoop(n.body, state);
      case 'branch': return n.alts.some((a) => hasEmptyLoop(a, state));
      default: return false;
    }
  });
}

/** Which groups surely took part by the time a later reference to them is reached. */
function sureGroups(seq: Node[], sure: boolean, out: Set<number>): Set<number> {
  for (const n of seq) {
    switch (n.t) {
      case 'group':
        if (n.group !== null && sure) out.add(n.group);
        sureGroups(n.body, sure, out);
        break;
      case 'atomic': sureGroups(n.body, sure, out); break;
      case 'repeat': sureGroups(n.item, sure && n.min > 0, out); break;
      case 'branch': for (const a of n.alts) sureGroups(a, false, out); break;
      case 'assert': sureGroups(n.body, false, out); break;
      default: break;
    }
  }
  return out;
}

/** The pattern as Python's re.compile reads it, for use with pythonMatch. */
export function compilePythonRegex(pattern: string): RegExp {
  const source = new Source(pattern);
  const state: State = { groups: 1, open: new Set(), names: new Map(), widths: [], lookbehind: undefined };
  const flags: Flags = { i: false, m: false, s: false, x: false, a: false, u: false };
  const seq = parseSub(source, state, flags, 0);
  if (source.next !== undefined) throw new PatternError('unbalanced parenthesis');
  const body = new Writer(sureGroups(seq, true, new Set()), state).seq(seq);
  return new RegExp(body, 'uy');
}

/** Python's re.match(pattern, text) is not None. */
export function pythonMatch(re: RegExp, text: string): boolean {
  re.lastIndex = 0;
  return re.test(text);
}
