// lib/settings/configparser.ts against Python's configparser.ConfigParser() on the same text:
// hand-picked files from the issue, then generated ones. Same values, or the same error class (and line).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { IniError, IniFile } from '../../lib/settings/configparser.js';
import { askPython, seeded, skipWithoutPython, type IniAnswer } from '../support/oracle.js';

function portAnswer(text: string): IniAnswer {
  let ini: IniFile;
  try {
    ini = IniFile.parse(text);
  } catch (err) {
    if (!(err instanceof IniError)) throw err;
    return { error: err.kind, line: err.line ?? null };
  }
  const sections: Record<string, Record<string, string | { error: string }>> = {};
  for (const section of ini.sectionNames()) {
    const values: Record<string, string | { error: string }> = {};
    for (const option of ini.options(section)) {
      try {
        values[option] = ini.get(section, option);
      } catch (err) {
        if (!(err instanceof IniError)) throw err;
        values[option] = { error: err.kind };
      }
    }
    sections[section] = values;
  }
  return { sections, defaults: ini.defaultValues() };
}

const handPicked = [
  '[ec2]\nregions: us-east-1\nnested_groups: True\n',
  '[ec2]\ninstance_filters = tag:Discount=50%%\n',
  '[ec2]\nbase = 54\npattern_include = ^%(base)s\\.214\n',
  '[ec2]\npattern_include = "54"\npattern_exclude = \'54\'\n',
  '[ec2]\npattern_include = web#1\ninstance_filters = tag:x=a ; b\n',
  '[ec2]\nregions = us-east-1,\n  eu-west-1\nx = 1\n',
  '[ec2]\na = 1\n\n  b\n# comment\n  c\n\nd=2\n',
  '[ec2]\nbad = 50%\n',
  '[ec2]\nbad = %(nope)s\n',
  '[ec2]\nbad = %(bad)s\n',
  '[ec2]\nbad = %(open\n',
  '[DEFAULT]\nhome = /srv\n[ec2]\ncache_path = %(home)s/cache\n[DEFAULT]\nother = 1\n',
  '[ec2]\nRegions = a\nREGIONS = b\n',
  '[ec2]\na = 1\n[ec2]\nb = 2\n',
  'a = 1\n[ec2]\n',
  '\ufeff[ec2]\na = 1\n',
  '[ec2]\njust a line\nb = 2\n[ec2]\n',
  '[ec2]\n= value\n',
  '[ec2]\r\nwindows = yes\r\n  continued\r\n',
  '[ec2]\rold_mac = yes\r',
  ' [ec2] ; trailing\n  a:b = c\n',
  '[a]b]\nx=\n[]\n',
  '[ec2]\nx = 54\\\\.214\n',
  '[ec2]\n\tindented_first = 1\n\tsecond = 2\n',
  '[ec2]\nx = a\u00a0\n\u3000y = b\n',
];

const names = ['regions', 'Regions', 'REGIONS', 'cache_path', 'a', 'b', 'A', 'x y', 'home', 'pattern_include'];
const values = ['us-east-1', '50%%', '50%', '%(a)s', '%(b)s/x', '%(A)s', '%(home)s', '%(missing)s', '%(a', '%', '%%(a)s',
  '"54"', "'q'", 'web#1', 'a ; b', 'x=y', 'a:b', 'R&D / Ops', '', ' ', '^.{,3}\\.214\\.', '\\\\', 'é', '%(x y)s'];
const headers = ['[ec2]', '[DEFAULT]', '[other]', ' [ec2] ', '[EC2]', '[ec2] ; c', '[]', '[a]b]', '[credentials]'];
const delimiters = ['=', ':', ' = ', ': ', '\t=\t', '=:', ' :='];
const indents = [' ', '  ', '\t', '    '];
const endings = ['\n', '\n', '\n', '\r\n', '\r'];

function generate(seed: number): string {
  const r = seeded(seed);
  const lines: string[] = [];
  if (!r.chance(0.05)) lines.push(r.pick(headers));
  const count = 1 + r.int(12);
  for (let i = 0; i < count; i++) {
    const kind = r.int(20);
    if (kind < 9) lines.push(`${r.chance(0.1) ? r.pick(indents) : ''}${r.pick(names)}${r.pick(delimiters)}${r.pick(values)}`);
    else if (kind < 12) lines.push(`${r.pick(indents)}${r.pick(values) || 'more'}`);
    else if (kind < 14) lines.push(r.pick(headers));
    else if (kind < 16) lines.push(`${r.chance(0.5) ? r.pick(indents) : ''}${r.pick(['#', ';'])} ${r.pick(values)}`);
    else if (kind < 18) lines.push(r.chance(0.5) ? '' : r.pick(indents));
    else lines.push(r.pick(['novalue', '= v', r.pick(values)]));
  }
  const ending = r.pick(endings);
  return lines.join(ending) + (r.chance(0.8) ? ending : '');
}

describe('configparser port, against Python', { skip: skipWithoutPython('configparser comparison') }, () => {
  it('reads the hand-picked files as Python does', () => {
    const expected = askPython<IniAnswer>(handPicked.map((ini) => ({ ini })));
    handPicked.forEach((text, i) => assert.deepEqual(portAnswer(text), expected[i], JSON.stringify(text)));
  });

  it('reads 3000 generated files as Python does (seeded)', () => {
    const texts = Array.from({ length: 3000 }, (_, i) => generate(i + 1));
    const expected = askPython<IniAnswer>(texts.map((ini) => ({ ini })));
    const kinds = new Map<string, number>();
    texts.forEach((text, i) => {
      const answer = expected[i] as IniAnswer;
      const kind = 'error' in answer ? answer.error : 'read';
      kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
      assert.deepEqual(portAnswer(text), answer, `seed ${i + 1}: ${JSON.stringify(text)}`);
    });
    // The generator must reach every outcome, or the comparison says less than it claims.
    for (const kind of ['read', 'ParsingError', 'DuplicateSectionError', 'DuplicateOptionError', 'MissingSectionHeaderError']) {
      assert.ok((kinds.get(kind) ?? 0) > 20, `only ${kinds.get(kind) ?? 0} generated files end in ${kind}`);
    }
  });
});

describe('IniFile', () => {
  it('names the line of an option whose value has a bad %', () => {
    const ini = IniFile.parse('[ec2]\nregions = all\nbad = 50%\n');
    assert.throws(() => ini.get('ec2', 'bad'), (e: IniError) => e.kind === 'InterpolationSyntaxError' && e.line === 3 && /%%/.test(e.message));
    assert.equal(ini.get('ec2', 'regions'), 'all', 'a bad value is an error only when it is read, as in Python');
  });
});
