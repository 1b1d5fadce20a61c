// ec2.ini patterns are Python regular expressions applied with re.match: anchored at the start of
// the host name only. This turns the Python syntax people actually write into an equivalent JS
// RegExp; the sticky flag gives the start-only anchoring without wrapping (and so without changing
// what alternations mean).

const inlineFlags = /^\(\?([aiLmsux]+)\)/;

export function compilePythonRegex(source: string): RegExp {
  let body = source;
  let flags = 'y';
  const m = inlineFlags.exec(body);
  if (m) {
    for (const f of m[1] as string) {
      if (f === 'i' || f === 'm' || f === 's') {
        if (!flags.includes(f)) flags += f;
      } else if (f === 'x' || f === 'L') {
        throw new SyntaxError(`inline flag (?${f}) is not supported`);
      }
      // a and u only pick ASCII or Unicode classes; JS classes are ASCII either way.
    }
    body = body.slice(m[0].length);
  }
  body = body
    .replace(/\(\?P<([A-Za-z_][A-Za-z0-9_]*)>/g, '(?<$1>')
    .replace(/\(\?P=([A-Za-z_][A-Za-z0-9_]*)\)/g, '\\k<$1>')
    .replace(/\\A/g, '^')
    .replace(/\\Z/g, '$');
  return new RegExp(body, flags);
}

/** Python's re.match(pattern, text) is not None. */
export function pythonMatch(re: RegExp, text: string): boolean {
  re.lastIndex = 0;
  return re.test(text);
}
