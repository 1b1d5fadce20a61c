// Renders ec2.ini.example from the option table, so the documentation cannot drift from the parser.
// `npm run ini-example` rewrites the file; a test fails when the committed file is out of date.
import { accountSection, options, type OptionSpec } from './options.js';

export function renderExample(): string {
  const out: string[] = [
    '# ec2-inventory settings: the [ec2] section of the ec2.ini that Ansible\'s ec2.py reads.',
    '# bin/ec2-inventory reads EC2_INI_PATH, else ec2.ini beside the real path of the executable.',
    '# Generated from lib/settings/options.ts (npm run ini-example): edit the table, not this file.',
    '#',
    '# Read as Python\'s configparser read it for ec2.py: name = value or name: value; a line',
    '# indented under a value continues it; # and ; start a comment only at the start of a line;',
    '# quotes are part of the value; write %% for a literal % (%(name)s is the value of option name).',
    '',
    '[ec2]',
  ];
  // Options appended to the table later join their topic's heading, as the last ec2.ini groups
  // them; [credentials] options come last, under their own section header.
  const all = options as readonly OptionSpec[];
  const sections = ['ec2', 'credentials'] as const;
  for (const section of sections) {
    const inSection = all.filter((o) => (o.section ?? 'ec2') === section);
    if (section !== 'ec2') out.push('', '', `[${section}]`);
    const topics = [...new Set(inSection.map((o) => o.topic))];
    for (const topic of topics) {
      out.push('', `# ===== ${topic} =====`);
      for (const o of inSection.filter((x) => x.topic === topic)) render(o, out);
    }
  }
  renderAccounts(out);
  return out.join('\n') + '\n';
}

function render(o: OptionSpec, out: string[]): void {
  out.push('');
  for (const line of o.doc.split('\n')) out.push(`# ${line}`);
  const scope = o.scope === 'inventory' ? ' [ec2] only: one value for every account.' : '';
  out.push(`# Type: ${describeType(o)}. ${o.required ? 'Required: ec2.py stops without it.' : `Default: ${o.default === '' || o.default === undefined ? '(empty)' : o.default}.`}${scope}`);
  const value = o.example ?? o.default ?? '';
  out.push(value === '' && !o.required ? `#${o.name} =` : `${o.name} = ${value}`);
}

/** The [account NAME] sections, commented out: an ini without them lists the [ec2] identity alone. */
function renderAccounts(out: string[]): void {
  out.push('', '', '# ===== Accounts: [account NAME] sections =====', '#');
  for (const line of accountSection.doc.split('\n')) out.push(`# ${line}`);
  out.push('#');
  for (const line of accountSection.example) out.push(line === '' ? '#' : `#${line}`);
}

function describeType(o: OptionSpec): string {
  switch (o.type) {
    case 'bool': return 'boolean (True/False, yes/no, on/off, 1/0)';
    case 'int': return 'whole number';
    case 'list': return 'comma-separated list';
    case 'path': return 'folder path';
    case 'regex': return 'Python regular expression';
    case 'filters': return 'comma-separated Name=Value list';
    case 'string': return o.choices ? `one of ${o.choices.join(', ')}` : 'text';
  }
}
