// Numbers on the command line are checked, not passed on as NaN: `--count abc` is a usage error
// that says what was expected. yargs' own type 'number' turns "abc" into NaN before anyone sees it,
// so these options are read as text and converted here.
import { ProvisionError } from '../errors.js';

/** yargs `coerce` for a whole number of at least `min`: a usage error (exit 2) otherwise. */
export function wholeNumber(option: string, min = 0): (value: unknown) => number {
  return (value) => {
    const text = String(Array.isArray(value) ? value[value.length - 1] : value).trim();
    if (!/^\d+$/.test(text)) throw new ProvisionError(`--${option}: expected a whole number, not '${text}'`, 'EUSAGE');
    const n = Number(text);
    if (n < min) throw new ProvisionError(`--${option}: must be at least ${min}, not ${n}`, 'EUSAGE');
    return n;
  };
}

/** A whole-number option: `.option('count', numberOption('count', 1, { default: 1 }))`. */
export function numberOption<T extends object>(option: string, min: number, rest: T) {
  return { type: 'string' as const, coerce: wholeNumber(option, min), ...rest };
}
