// --help and docs/cli.md, written from the declarations (declarations.ts): every option with its
// type, default and meaning, an example per command. Loads nothing: --help answers before any
// command's code is imported.
import type { CommandDecl, Flag, ProgramDecl } from './declare.js';

const WIDTH = 100;

/** What stands after the flag: its type, as a user writes the value. */
export function metavar(f: Flag): string {
  switch (f.type) {
    case 'bool': return '';
    case 'int': return 'N';
    case 'size': return 'SIZE';
    case 'path': return 'PATH';
    case 'url': return 'URI';
    case 'list': return 'LIST';
    case 'map': return 'KEY=VALUE';
    case 'choice': return (f.choices ?? []).join('|');
    case 'string': return 'TEXT';
  }
}

function flagLabel(f: Flag): string {
  const names = [f.type === 'bool' && f.default === true ? `--[no-]${f.name}` : `--${f.name}`, ...(f.aliases ?? []).map((a) => `--${a}`)];
  const v = metavar(f);
  return v ? `${names.join(', ')} ${v}` : names.join(', ');
}

/** What the help says after the description: how the value is written, default, bounds, example. */
export function flagNotes(f: Flag): string[] {
  const notes: string[] = [];
  if (f.required) notes.push('required');
  if (f.type === 'list') notes.push(f.comma === false ? 'repeatable' : 'comma-separated or repeated');
  if (f.type === 'list' && f.choices) notes.push(`of: ${f.choices.join(', ')}`);
  if (f.type === 'map') notes.push('repeatable');
  if (f.type === 'size') notes.push('K, M, G or T');
  if (f.type === 'int' && f.min !== undefined && f.min > 0) notes.push(`at least ${f.min}`);
  const d = defaultText(f);
  if (d !== undefined) notes.push(`default: ${d}`);
  if (f.example !== undefined && f.type !== 'choice') notes.push(`e.g. ${f.example}`);
  return notes;
}

function defaultText(f: Flag): string | undefined {
  if (f.default === undefined) return undefined;
  if (Array.isArray(f.default)) return f.default.length === 0 ? undefined : f.default.join(',');
  if (f.type === 'bool') return f.default === true ? 'on' : undefined;
  return String(f.default);
}

function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line ? `${line} ${word}` : word;
    }
  }
  if (line) lines.push(line);
  return lines;
}

/** Two columns: labels, then text wrapped beside them (under them when a label is too long). */
function columns(rows: readonly (readonly [string, string])[]): string[] {
  const labelWidth = Math.min(30, Math.max(...rows.map(([l]) => l.length)));
  const out: string[] = [];
  for (const [label, text] of rows) {
    const body = wrap(text, WIDTH - labelWidth - 4);
    const pad = ' '.repeat(labelWidth + 4);
    if (label.length > labelWidth) {
      out.push(`  ${label}`);
      for (const l of body) out.push(pad + l);
    } else {
      out.push(`  ${label.padEnd(labelWidth)}  ${body[0] ?? ''}`);
      for (const l of body.slice(1)) out.push(pad + l);
    }
  }
  return out;
}

export function commandName(program: ProgramDecl, cmd: CommandDecl): string {
  return [program.name, ...cmd.words].join(' ');
}

function usageLine(program: ProgramDecl, cmd: CommandDecl): string {
  if (cmd.usage) return `${program.name} ${cmd.usage}`;
  const required = cmd.flags.filter((f) => f.required).map((f) => `--${f.name} ${metavar(f)}`);
  const optional = cmd.flags.some((f) => !f.required) ? ['[options]'] : [];
  return [commandName(program, cmd), ...required, ...optional].join(' ');
}

/** --help of one command. */
export function commandHelp(program: ProgramDecl, cmd: CommandDecl): string {
  const out = [`Usage: ${usageLine(program, cmd)}`, '', ...wrap(cmd.summary + '.', WIDTH)];
  if (cmd.details) out.push(...wrap(cmd.details, WIDTH));
  out.push('', 'Options:');
  const rows: [string, string][] = cmd.flags.map((f) => {
    const notes = flagNotes(f);
    return [flagLabel(f), notes.length ? `${f.describe} (${notes.join('; ')})` : f.describe];
  });
  rows.push(['--help', 'Show this help'], ...(cmd.words.length === 0 ? [['--version', 'Show the version'] as [string, string]] : []));
  out.push(...columns(rows));
  out.push('', 'Examples:');
  for (const e of cmd.examples) {
    out.push(`  ${[commandName(program, cmd), e.args].filter(Boolean).join(' ')}`, ...wrap(e.what, WIDTH - 6).map((l) => `      ${l}`));
  }
  for (const alias of cmd.aliases ?? []) out.push('', `Also accepted as: ${[program.name, ...alias].join(' ')}`);
  return out.join('\n') + '\n';
}

/** --help of the program, or of the commands starting with `prefix` (`push --help`). */
export function programHelp(program: ProgramDecl, prefix: readonly string[] = []): string {
  const commands = program.commands.filter((c) => prefix.every((w, i) => c.words[i] === w));
  const out = [
    `Usage: ${[program.name, ...prefix].join(' ')} ${prefix.length ? '<target>' : '<command>'} [options]`,
    ...(prefix.length ? [] : (program.otherUsage ?? []).map((u) => `       ${program.name} ${u}`)),
    '',
    ...wrap(program.summary, WIDTH),
    '',
    'Commands:',
    ...columns(commands.map((c) => [c.words.join(' '), c.summary])),
    '',
    `Run ${program.name} <command> --help for the options of a command and examples.`,
    'Options: --help, --version',
  ];
  return out.join('\n') + '\n';
}

// ---- docs/cli.md ----

const cell = (text: string) => text.replace(/\|/g, '\\|');

function markdownCommand(program: ProgramDecl, cmd: CommandDecl): string[] {
  const out = [`### ${commandName(program, cmd)}`, '', cmd.summary + '.' + (cmd.details ? ` ${cmd.details}` : ''), ''];
  if (cmd.aliases?.length) out.push(`Also accepted as: ${cmd.aliases.map((a) => `\`${[program.name, ...a].join(' ')}\``).join(', ')}.`, '');
  if (cmd.aws) out.push('Talks to AWS (credentials as for the AWS CLI: environment, profile, instance role).', '');
  if (cmd.flags.length) {
    out.push('| Option | Value | Meaning |', '| --- | --- | --- |');
    for (const f of cmd.flags) {
      const notes = flagNotes(f);
      const names = [`--${f.name}`, ...(f.aliases ?? []).map((a) => `--${a}`)].map((n) => `\`${n}\``).join(', ');
      const library = f.field && program.fieldsAre ? ` ${program.fieldsAre}: \`${f.field}\`.` : '';
      out.push(`| ${names} | ${cell(metavar(f) || 'flag')} | ${cell(f.describe)}${notes.length ? cell(` (${notes.join('; ')})`) : ''}.${library}${f.secret ? ' Secret: never logged.' : ''} |`);
    }
    out.push('');
  }
  out.push('Examples:', '', '```sh');
  for (const e of cmd.examples) out.push(`# ${e.what}`, [commandName(program, cmd), e.args].filter(Boolean).join(' '));
  out.push('```', '');
  return out;
}

export function markdownReference(programs: readonly ProgramDecl[]): string {
  const out = [
    '# Command-line reference',
    '',
    '<!-- Generated from lib/cli/declarations.ts by `npm run cli-docs`: edit the declarations, not this file. -->',
    '',
    'Every command prints one JSON document on stdout (ec2-inventory: the inventory; ec2-provision: a',
    'summary of what it did) and everything else on stderr. Every failure is one line on stderr starting',
    'with the program\'s name. Bad usage exits 2: an unknown command or option, an option without its',
    'value (or with one where it takes none), a stray argument, a required option missing, options that',
    'exclude each other. Everything else exits 1, a value an option refuses included (not one of its',
    'choices, not a number, a name or path the command cannot use), like a missing file or a failed call.',
    'Lists take comma-separated values or the flag repeated; `KEY=VALUE` flags are repeated.',
    '',
    'ec2-provision\'s commands are a verb and what it acts on (`build image`, `push kvm`, `launch ec2`).',
    'The spellings of earlier versions (`rootfs build`, `template build`, `image build`, `template steps`,',
    '`push template`, `list`) are still accepted. A failure that comes from one option names its flag:',
    '`ec2-provision: error: --count: must be at least 1, not 0 (see ec2-provision launch kvm --help)`.',
    'Programs can also send one JSON request on stdin with `ec2-provision --json` (see docs/collection.md).',
    '',
  ];
  for (const program of programs) {
    out.push(`## ${program.name}`, '');
    if (program.commands.some((c) => c.words.length > 0)) out.push(program.summary, '');
    for (const cmd of program.commands) out.push(...markdownCommand(program, cmd));
  }
  return out.join('\n').replace(/\n+$/, '\n');
}
