// Options ec2.py would never read. ec2.py asks configparser for the names it knows and ignores
// every other line, so a misspelt name (hostname_varible) or a switch it never had
// (group_by_tag_service, in published ec2.ini files) changes nothing there: here they change
// nothing either, but each gets a warning naming the nearest name that would have done something.
import { closest } from 'fastest-levenshtein';
import type { IniFile } from './configparser.js';
import { options, type OptionSpec } from './options.js';

/** The sections ec2.py reads; every other section is the user's own business, as it was there. */
const known: ReadonlyMap<string, readonly string[]> = new Map(
  (['ec2', 'credentials'] as const).map((section) => [section, (options as readonly OptionSpec[]).filter((o) => (o.section ?? 'ec2') === section).map((o) => o.name)]),
);

/**
 * One message per option of [ec2] or [credentials] that no option declares, in file order, each
 * with file, line and the nearest declared name. Names set in [DEFAULT] are left alone: they are
 * there to be interpolated (%(base)s), not read.
 */
export function unknownOptionWarnings(ini: IniFile, iniPath: string): string[] {
  const warnings: { line: number; text: string }[] = [];
  const defaults = new Set(Object.keys(ini.defaultValues()));
  for (const [section, names] of known) {
    if (!ini.hasSection(section)) continue;
    for (const name of ini.options(section)) {
      if (names.includes(name) || defaults.has(name)) continue;
      const line = ini.line(section, name) ?? 0;
      const where = line ? `${iniPath}:${line}` : iniPath;
      warnings.push({ line, text: `${where}: [${section}] option '${name}' is not an ec2.ini option and is ignored, as ec2.py ignores it (nearest known: '${closest(name, [...names])}')` });
    }
  }
  return warnings.sort((a, b) => a.line - b.line).map((w) => w.text);
}
