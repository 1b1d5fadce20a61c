// ec2.py prints json.dumps(data, sort_keys=True, indent=2). Writing the same bytes (keys sorted by
// code point, ASCII-only with \uXXXX escapes, Python 3's separators) keeps `diff` against the
// original meaningful and keeps tools that compare cache files working.

type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

/** ec2.py json_format_dict(data, pretty=True). */
export function json_format_dict(data: unknown): string {
  const out: string[] = [];
  write(data as Json, '', out);
  return out.join('');
}

function write(value: Json, indent: string, out: string[]): void {
  if (value === null || typeof value !== 'object') {
    out.push(typeof value === 'string' ? quote(value) : JSON.stringify(value));
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
  const keys = Object.keys(value).sort(byCodePoint);
  if (keys.length === 0) { out.push('{}'); return; }
  out.push('{');
  keys.forEach((key, i) => {
    out.push(i === 0 ? '\n' : ',\n', inner, quote(key), ': ');
    write(value[key] as Json, inner, out);
  });
  out.push('\n', indent, '}');
}

function quote(s: string): string {
  // JSON.stringify escapes quotes, backslashes and control characters exactly as Python does;
  // ensure_ascii then escapes DEL and everything above it, surrogate pairs included.
  return JSON.stringify(s).replace(/[\u007f-\uffff]/g, (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'));
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
