// `key=value`, the one way this project reads a pair from text: instance_filters entries, launch
// variables and tags, registered host variables. The first '=' separates (a value may hold more
// of them); the key may not be empty. What a key may be beyond that is each caller's rule.

/** The key and value of `item`, or undefined when it has no '=' or nothing before it. */
export function keyValue(item: string): [key: string, value: string] | undefined {
  const at = item.indexOf('=');
  return at > 0 ? [item.slice(0, at), item.slice(at + 1)] : undefined;
}

/**
 * Many `key=value` items into one map (a later key replaces an earlier one). `bad` makes the error
 * thrown, given why an item is refused in one line: it is not key=value, or `check` refuses its key
 * (`check` answers why). The caller's error names its option: `tags: expected key=value, not 'x'`.
 */
export function keyValues(
  items: readonly string[],
  bad: (why: string) => Error,
  check?: (key: string) => string | undefined,
): Record<string, string> {
  const map: Record<string, string> = {};
  for (const item of items) {
    const pair = keyValue(item);
    if (pair === undefined) throw bad(`expected key=value, not '${item}'`);
    const why = check?.(pair[0]);
    if (why !== undefined) throw bad(`'${item}': ${why}`);
    // Defined, not assigned: a key `__proto__` is a key like any other here.
    Object.defineProperty(map, pair[0], { value: pair[1], enumerable: true, writable: true, configurable: true });
  }
  return map;
}
