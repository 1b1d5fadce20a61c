// The collection's modules are generated from the option declarations (npm run modules): a module
// file that no longer matches what the declarations render fails here.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import YAML from 'yaml';
import type { Flag } from '../../lib/cli/declare.js';
import { fragmentsOf, moduleDecls, renderFragments, renderModules } from '../../lib/cli/ansible.js';
import { paramName } from '../../lib/cli/args.js';
import { repoRoot } from '../support/paths.js';

const pluginsDir = path.join(repoRoot, 'collection', 'plugins');

test('every module and doc fragment file is what the declarations render (run npm run modules after changing them)', () => {
  for (const [folder, rendered] of [['modules', renderModules()], ['doc_fragments', renderFragments()]] as const) {
    const dir = path.join(pluginsDir, folder);
    assert.deepEqual(fs.readdirSync(dir).filter((f) => f.endsWith('.py')).sort(), Object.keys(rendered).sort(), folder);
    for (const [file, text] of Object.entries(rendered)) {
      assert.equal(fs.readFileSync(path.join(dir, file), 'utf8'), text, `${folder}/${file} is stale: npm run modules`);
    }
  }
});

type Module = (typeof moduleDecls)[number];

/** A module's DOCUMENTATION as rendered, before Ansible merges its fragments in. */
function documented(m: Module): { options: Record<string, unknown>; extends_documentation_fragment?: string[] } {
  const text = /^DOCUMENTATION = r'''\n([\s\S]*?)^'''/m.exec(renderModules()[`${m.module}.py`] as string)?.[1] as string;
  return YAML.parse(text) as { options: Record<string, unknown>; extends_documentation_fragment?: string[] };
}

test('an option several modules share is documented once, in a doc fragment they extend', () => {
  // Flags are shared by being one declaration (declarations.ts mounts one object in several commands).
  const offeredBy = new Map<Flag, Module[]>();
  for (const m of moduleDecls) {
    for (const f of m.decl.flags.filter((x) => !(m.omit ?? []).includes(x.name))) offeredBy.set(f, [...(offeredBy.get(f) ?? []), m]);
  }
  const shared = [...offeredBy].filter(([, modules]) => modules.length > 1);
  assert.ok(shared.length >= 7, 'identity, region, the timeouts and ini are each offered by several modules');
  for (const [flag, modules] of shared) {
    for (const m of modules) assert.ok(!(paramName(flag) in documented(m).options), `${m.module} repeats the docs of ${paramName(flag)}`);
  }
  for (const m of moduleDecls) {
    const doc = documented(m);
    assert.deepEqual(doc.extends_documentation_fragment, fragmentsOf(m).map((fr) => `ec2inventory.provision.${fr.name}`));
    assert.ok(doc.extends_documentation_fragment?.includes('ec2inventory.provision.engine'), m.module);
    assert.ok(!('binary_path' in doc.options) && !('state' in doc.options), m.module);
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
