// ec2.ini as Python 3's configparser.ConfigParser() reads it (defaults: strict, `=` and `:`,
// full-line `#`/`;` comments, empty lines kept inside values, BasicInterpolation), because ec2.py
// read it that way and users keep their file. A port of RawConfigParser._read and
// BasicInterpolation._interpolate_some (Python 3.11); test/unit/configparser.test.ts compares it
// with Python itself on generated files. No npm ini package reads this dialect: they strip quotes
// and inline comments, know no `:` or continuation lines and no %-interpolation.
//
// It imports nothing, so that the cached --list fast path (lib/cli/cached.ts) can load it cheaply.

/** Python's error class names, so that tests can compare them with Python's. */
export type IniErrorKind =
  | 'MissingSectionHeaderError'
  | 'ParsingError'
  | 'DuplicateSectionError'
  | 'DuplicateOptionError'
  | 'NoSectionError'
  | 'NoOptionError'
  | 'InterpolationSyntaxError'
  | 'InterpolationMissingOptionError'
  | 'InterpolationDepthError';

export class IniError extends Error {
  override name = 'IniError';
  constructor(
    readonly kind: IniErrorKind,
    message: string,
    /** The 1-based line the error is about: the bad line, or the line of the option being read. */
    readonly line?: number,
    readonly section?: string,
    readonly option?: string,
  ) {
    super(message);
  }
}

interface Entry {
  /** The raw value: lines joined with "\n", trailing whitespace removed, not interpolated. */
  value: string;
  line: number;
  /** While reading: the value's lines, joined at the end (_join_multiline_values). */
  lines?: string[];
}

type Options = Map<string, Entry>;

// Character loops rather than regular expressions: the cached --list fast path parses the ini on
// every run, and this is most of what it costs.

/** Python's str.isspace(), which str.strip() and re's \s use. */
function isSpace(c: number): boolean {
  if (c <= 0x20) return c === 0x20 || (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x1f);
  if (c < 0x85) return false;
  return c === 0x85 || c === 0xa0 || c === 0x1680 || (c >= 0x2000 && c <= 0x200a) || c === 0x2028 || c === 0x2029 ||
    c === 0x202f || c === 0x205f || c === 0x3000;
}

function firstNonSpace(s: string): number {
  let i = 0;
  while (i < s.length && isSpace(s.charCodeAt(i))) i++;
  return i;
}

function endOfNonSpace(s: string, from = 0): number {
  let j = s.length;
  while (j > from && isSpace(s.charCodeAt(j - 1))) j--;
  return j;
}

/** Python's str.strip(). */
export function pyStrip(s: string): string {
  const i = firstNonSpace(s);
  return s.slice(i, endOfNonSpace(s, i));
}

function pyRstrip(s: string): string {
  return s.slice(0, endOfNonSpace(s));
}

const interpolationKey = /^%\(([^)]+)\)s/;
const maxInterpolationDepth = 10;

/** Python's repr() of a str, near enough for messages that quote a line. */
function repr(s: string): string {
  return `'${s.replaceAll('\\', '\\\\').replaceAll("'", "\\'").replaceAll('\n', '\\n').replaceAll('\t', '\\t')}'`;
}

const defaultSection = 'DEFAULT';

export class IniFile {
  private constructor(
    private readonly sections: Map<string, Options>,
    private readonly defaults: Options,
    private readonly headers: ReadonlyMap<string, number> = new Map(),
  ) {}

  /** Parses text as ConfigParser.read_string would; throws IniError as it raises. */
  static parse(text: string): IniFile {
    const sections = new Map<string, Options>();
    const defaults: Options = new Map();
    const added = new Set<string>();
    const headers = new Map<string, number>();
    const entries: Entry[] = [];
    let current: Options | undefined;
    let sectionName: string | undefined;
    let option: Entry | undefined;
    let indentLevel = 0;
    let parseError: IniError | undefined;
    // Python reads the file with universal newlines: \r\n, \r and \n all end a line.
    const lines = text.includes('\r') ? text.split(/\r\n|\r|\n/) : text.split('\n');
    if (lines.length > 1 && lines[lines.length - 1] === '') lines.pop();
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i] as string;
      const lineno = i + 1;
      const indent = firstNonSpace(line);
      if (indent === line.length) {
        // empty_lines_in_values: a blank line (not a comment) may belong to a value continued below.
        if (option) option.lines?.push('');
        continue;
      }
      const first = line.charCodeAt(indent);
      if (first === 0x23 || first === 0x3b) continue; // # or ; : a comment
      const stripped = line.slice(indent, endOfNonSpace(line, indent));
      if (current && option && indent > indentLevel) {
        option.lines?.push(stripped);
        continue;
      }
      indentLevel = indent;
      // SECTCRE, \[(?P<header>.+)\] matched at the start: up to the last ].
      const close = stripped.charCodeAt(0) === 0x5b ? stripped.lastIndexOf(']') : -1;
      if (close > 1) {
        const name = stripped.slice(1, close);
        const existing = sections.get(name);
        if (existing) {
          // strict=True: a section may not appear twice in one file (DEFAULT is not a section).
          if (added.has(`s:${name}`)) throw new IniError('DuplicateSectionError', `section [${name}] appears a second time`, lineno, name);
          current = existing;
        } else if (name === defaultSection) {
          current = defaults;
        } else {
          current = new Map();
          sections.set(name, current);
        }
        added.add(`s:${name}`);
        if (!headers.has(name)) headers.set(name, lineno);
        sectionName = name;
        option = undefined;
        continue;
      }
      if (!current) {
        const bom = lineno === 1 && line.startsWith('\ufeff') ? ' (the file starts with a byte order mark; save it without one)' : '';
        throw new IniError('MissingSectionHeaderError', `${repr(line)} comes before any [section] header${bom}`, lineno);
      }
      // OPTCRE: the option name ends at the first = or :.
      const eq = stripped.indexOf('=');
      const colon = stripped.indexOf(':');
      const delimiter = eq === -1 ? colon : colon === -1 ? eq : Math.min(eq, colon);
      if (delimiter === -1) {
        // Python reports every such line at the end of the file, and keeps the option it was
        // reading: an indented line further down still continues it.
        parseError ??= new IniError('ParsingError', `${repr(line)} is neither a [section] header nor name = value (or name: value)`, lineno, sectionName);
        continue;
      }
      const rawName = pyRstrip(stripped.slice(0, delimiter));
      if (rawName === '') {
        parseError ??= new IniError('ParsingError', `${repr(line)} has a value but no option name`, lineno, sectionName);
      }
      const name = rawName.toLowerCase();
      const key = `o:${sectionName}\u0000${name}`;
      if (added.has(key)) {
        throw new IniError('DuplicateOptionError', `option '${name}' appears a second time in [${sectionName}]`, lineno, sectionName, name);
      }
      added.add(key);
      const value = pyStrip(stripped.slice(delimiter + 1));
      const entry: Entry = { value, line: lineno, lines: [value] };
      entries.push(entry);
      current.set(name, entry);
      // Python keeps appending to an option named '' after reporting it; nothing reads it.
      option = rawName === '' ? undefined : entry;
    }
    for (const entry of entries) {
      if ((entry.lines as string[]).length > 1) entry.value = pyRstrip((entry.lines as string[]).join('\n'));
      delete entry.lines;
    }
    if (parseError) throw parseError;
    return new IniFile(sections, defaults, headers);
  }

  /** The section names in file order, DEFAULT not among them. */
  sectionNames(): string[] {
    return [...this.sections.keys()];
  }

  /** [DEFAULT]'s options and their raw values. */
  defaultValues(): Record<string, string> {
    return Object.fromEntries([...this.defaults].map(([name, e]) => [name, e.value]));
  }

  hasSection(section: string): boolean {
    return this.sections.has(section);
  }

  /** has_option: the section's options and DEFAULT's; false when the section is missing. */
  hasOption(section: string, option: string): boolean {
    const own = this.sections.get(section);
    if (!own) return false;
    const name = option.toLowerCase();
    return own.has(name) || this.defaults.has(name);
  }

  /** The option names of a section, DEFAULT's included, lower-cased. */
  options(section: string): string[] {
    const own = this.sections.get(section);
    if (!own) throw new IniError('NoSectionError', `no section [${section}]`, undefined, section);
    return [...new Set([...own.keys(), ...this.defaults.keys()])];
  }

  /** The options written in the section itself (not DEFAULT's), lower-cased, in file order. */
  ownOptions(section: string): string[] {
    return [...(this.sections.get(section)?.keys() ?? [])];
  }

  /** The line a section's header is on. */
  sectionLine(section: string): number | undefined {
    return this.headers.get(section);
  }

  /** The line an option's value starts on (in its section, else in DEFAULT). */
  line(section: string, option: string): number | undefined {
    return this.entry(section, option.toLowerCase())?.line;
  }

  /** get(section, option, raw=True). */
  raw(section: string, option: string): string | undefined {
    return this.entry(section, option.toLowerCase())?.value;
  }

  /** get(section, option): the value with %(name)s and %% expanded, or Python's error. */
  get(section: string, option: string): string {
    if (!this.sections.has(section)) throw new IniError('NoSectionError', `no section [${section}]`, undefined, section);
    const name = option.toLowerCase();
    const entry = this.entry(section, name);
    if (!entry) throw new IniError('NoOptionError', `no option '${name}' in section [${section}]`, undefined, section, name);
    if (!entry.value.includes('%')) return entry.value;
    const out: string[] = [];
    this.interpolate(section, name, entry, out, entry.value, 1);
    return out.join('');
  }

  private entry(section: string, name: string): Entry | undefined {
    return this.sections.get(section)?.get(name) ?? this.defaults.get(name);
  }

  private interpolate(section: string, option: string, entry: Entry, out: string[], value: string, depth: number): void {
    const fail = (kind: IniErrorKind, why: string): never => {
      throw new IniError(kind, why, entry.line, section, option);
    };
    if (depth > maxInterpolationDepth) {
      fail('InterpolationDepthError', `refers to options that refer back (more than ${maxInterpolationDepth} levels of %(name)s)`);
    }
    let rest = value;
    while (rest !== '') {
      const p = rest.indexOf('%');
      if (p < 0) {
        out.push(rest);
        return;
      }
      if (p > 0) {
        out.push(rest.slice(0, p));
        rest = rest.slice(p);
      }
      const c = rest.slice(1, 2);
      if (c === '%') {
        out.push('%');
        rest = rest.slice(2);
      } else if (c === '(') {
        const m = interpolationKey.exec(rest);
        if (!m) fail('InterpolationSyntaxError', `has a bad %(name)s reference at ${repr(rest)} (write %% for a literal %)`);
        const ref = (m![1] as string).toLowerCase();
        rest = rest.slice(m![0].length);
        const target = this.entry(section, ref);
        if (!target) fail('InterpolationMissingOptionError', `refers to %(${ref})s, which is not an option of [${section}] or [DEFAULT] (write %% for a literal %)`);
        if (target!.value.includes('%')) this.interpolate(section, option, entry, out, target!.value, depth + 1);
        else out.push(target!.value);
      } else {
        fail('InterpolationSyntaxError', `has a % not followed by % or (name)s at ${repr(rest)} (write %% for a literal %)`);
      }
    }
  }
}
