// docs/development.md's table from a module to its tests: every folder of lib/ has a row, and every
// test file a row names exists, so a reader who starts from a module finds its tests.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { repoRoot } from '../support/paths.js';

const doc = readFileSync(path.join(repoRoot, 'docs', 'development.md'), 'utf8');
const section = doc.slice(doc.indexOf('## Where each module is tested'), doc.indexOf('\n## ', doc.indexOf('## Where each module is tested') + 1));
const rows = section.split('\n').filter((l) => /^\| `(lib|package)/.test(l)).map((l) => {
  const [module = '', tests = ''] = l.split('|').slice(1, 3);
  return { module, tests: [...tests.matchAll(/`(test\/[^`]+\.test\.ts)`/g)].map((m) => m[1] as string) };
});

describe('docs/development.md: where each module is tested', () => {
  it('names every folder of lib/', () => {
    const folders = readdirSync(path.join(repoRoot, 'lib'), { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => `lib/${e.name}/`);
    for (const folder of folders) assert.ok(rows.some((r) => r.module.includes(folder)), `${folder} has no row`);
  });
  it('names only test files that exist, at least one per row', () => {
    assert.ok(rows.length > 10);
    for (const r of rows) {
      assert.ok(r.tests.length > 0, `${r.module}: no test named`);
      for (const t of r.tests) assert.ok(existsSync(path.join(repoRoot, t)), `${r.module}: ${t} does not exist`);
    }
  });
});
