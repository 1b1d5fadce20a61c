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

test('parameters follow Ansible\'s names where its modules differ from the field, and KEYS maps them back', () => {
  const keysOf = (module: string) => {
    const line = /^KEYS = (.*)$/m.exec(renderModules()[`${module}.py`] as string)?.[1];
    return JSON.parse(line as string) as Record<string, string>;
  };
  assert.equal(keysOf('ec2_instance')['wait_timeout'], 'waitSeconds');
  assert.equal(keysOf('ec2_instance')['image_id'], 'ami');
  assert.equal(keysOf('ec2_instance')['vpc_subnet_id'], 'subnet');
  assert.equal(keysOf('kvm_guest')['wait_timeout'], 'waitSeconds');
  assert.equal(keysOf('kvm_guest')['hostvars'], 'vars');
  assert.equal(keysOf('template')['dest'], 'outDir');
  for (const module of ['rootfs', 'image']) assert.equal(keysOf(module)['dest'], 'out');
  for (const m of moduleDecls) {
    for (const f of m.decl.flags) {
      // An Ansible name that equals the derived one is noise in the declarations; one taken by the
      // modules' own parameters would shadow them.
      if (f.ansible !== undefined) assert.notEqual(f.ansible, paramName({ ...f, ansible: undefined }), `${m.module}: ${f.name}`);
      assert.ok(!['state', 'binary_path'].includes(paramName(f)), `${m.module}: ${f.name}`);
    }
  }
});
