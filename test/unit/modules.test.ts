// The collection's modules are generated from the option declarations (npm run modules): a module
// file that no longer matches what the declarations render fails here.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { moduleDecls, paramName, renderModules } from '../../lib/cli/ansible.js';
import { repoRoot } from '../support/paths.js';

const modulesDir = path.join(repoRoot, 'collection', 'plugins', 'modules');

test('every module file is what the declarations render (run npm run modules after changing them)', () => {
  const rendered = renderModules();
  assert.deepEqual(fs.readdirSync(modulesDir).filter((f) => f.endsWith('.py')).sort(), Object.keys(rendered).sort());
  for (const [file, text] of Object.entries(rendered)) {
    assert.equal(fs.readFileSync(path.join(modulesDir, file), 'utf8'), text, `${file} is stale: npm run modules`);
  }
});

test('module parameters are unique snake_case names, one per declared flag offered', () => {
  for (const m of moduleDecls) {
    const names = m.decl.flags.filter((f) => !(m.omit ?? []).includes(f.name)).map(paramName);
    assert.equal(new Set(names).size, names.length, `${m.module}: two flags map to one parameter`);
    for (const n of names) assert.match(n, /^[a-z][a-z0-9_]*$/, `${m.module}: ${n}`);
  }
});
