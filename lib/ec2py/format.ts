// ec2.py prints json.dumps(data, sort_keys=True, indent=2). Writing the same bytes (keys sorted by
// code point, ASCII-only with \uXXXX escapes, Python 3's separators) keeps `diff` against the
// original meaningful and keeps tools that compare cache files working.

/** ec2.py json_format_dict(data, pretty=True). */
export function json_format_dict(data: unknown): string {
  // JSON.stringify writes Python 3's separators and indentation; it only needs the keys in
  // Python's order, which a plain object cannot hold for integer-like keys ("10" before "9").
  const sorted = sortedCopy(data);
  return escapeNonAscii(sorted === undefined ? slowFormat(data) : JSON.stringify(sorted, null, 2));
}

/** Python's ensure_ascii on JSON text: every unit outside printable ASCII as \uXXXX. */
export function escapeNonAscii(text: string): string {
  return /[^\x00-\x7e]/.test(text) ? text.replace(/[\u007f-\uffff]/g, escapeUnit) : text;
}

const integerLike = /^(0|[1-9][0-9]*)$/;

/** A copy with keys inserted in code-point order, or undefined if some key is integer-like. */
function sortedCopy(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) {
    // An array holds no keys to order: copied only when an item had to be (the index's 100,000
    // [region, id] pairs are used as they are).
    let out: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const item = sortedCopy(value[i]);
      if (item === undefined) return undefined;
      if (item !== value[i] && out === undefined) out = value.slice(0, i);
      if (out !== undefined) out[i] = item;
    }
    return out ?? value;
  }
  const record = value as Record<string, unknown>;
  const original = Object.keys(record);
  const keys = sortKeys([...original]);
  // A flat object whose keys are already in order (hostvars are built that way) is used as it is:
  // copying 100,000 of them would double the memory of a large refresh.
  let reuse = true;
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i] as string;
    if (integerLike.test(key) && Number(key) < 2 ** 32 - 1) return undefined;
    const v = record[key];
    if (key !== original[i] || (v !== null && typeof v === 'object')) reuse = false;
  }
  if (reuse) return record;
  const out: Record<string, unknown> = {};
  for (const key of keys) {
    const item = sortedCopy(record[key]);
    if (item === undefined) return undefined;
    out[key] = item;
  }
  return out;
}

/** Keys in Python's order (code points). Sorts in place. */
export function sortKeys(keys: string[]): string[] {
  // UTF-16 order equals code-point order unless a surrogate meets a unit above it.
  return keys.some((k) => /[\ud800-\udfff]/.test(k)) ? keys.sort(byCodePoint) : keys.sort();
}

function escapeUnit(c: string): string {
  return '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0');
}

type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

// The exact writer for the rare inventory with integer-like keys.
function slowFormat(data: unknown): string {
  const out: string[] = [];
  write(data as Json, '', out);
  return out.join('');
}

function write(value: Json, indent: string, out: string[]): void {
  if (value === null || typeof value !== 'object') {
    out.push(JSON.stringify(value));
    return;
  }
  const inner = indent + '  ';
  if (Array.isArray(value)) {
    if (value.length === 0) { out.push('[]'); return; }
    out.push('[');
    value.forEach((item, i) => {
      out.push(i === 0 ? '\n' : ',\n', inner);
      write(item, inner, out);
    });
    out.push('\n', indent, ']');
    return;
  }
  const keys = sortKeys(Object.keys(value));
  if (keys.length === 0) { out.push('{}'); return; }
  out.push('{');
  keys.forEach((key, i) => {
    out.push(i === 0 ? '\n' : ',\n', inner, JSON.stringify(key), ': ');
    write(value[key] as Json, inner, out);
  });
  out.push('\n', indent, '}');
}

/** Python sorts str keys by code point; JS's default sort compares UTF-16 units. */
export function byCodePoint(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return rank(x) - rank(y);
  }
  return a.length - b.length;
}

// A surrogate stands for a code point above U+FFFF, so it sorts after every other BMP unit.
function rank(unit: number): number {
  return unit >= 0xd800 && unit <= 0xdfff ? unit + 0x10000 : unit;
}
