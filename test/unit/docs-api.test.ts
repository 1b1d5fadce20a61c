// docs/api.md shows every export with a typed example; this compiles each example against the
// package as a user imports it (by its name, through dist/lib/index.d.ts), so the page cannot
// drift from the API.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import * as api from 'ec2-inventory';
import { repoRoot } from '../support/paths.js';

/** The types the examples name (the values are every value export of the package). */
const types = ['Settings', 'AccountSettings', 'Inventory', 'HostVars', 'Progress', 'RegisteredHost', 'LaunchKvmResult'];

it('every example in docs/api.md type-checks against the package', () => {
  const page = fs.readFileSync(path.join(repoRoot, 'docs', 'api.md'), 'utf8');
  const blocks = [...page.matchAll(/```ts\n([^]*?)```/g)].map((m) => m[1] as string);
  assert.ok(blocks.length >= 20, `${blocks.length} examples`);
  // `settings` and `inv` are what the page's examples assume the reader already has.
  const source = [
    `import { ${Object.keys(api).join(', ')}, ${types.map((t) => `type ${t}`).join(', ')} } from 'ec2-inventory';`,
    ...blocks.map((b, i) => [
      `export async function example${i}(settingsIn: Settings, invIn: Inventory): Promise<void> {`,
      '  const settings = settingsIn; const inv = invIn; void settings; void inv;',
      `  {\n${b.split('\n').filter((l) => !l.startsWith('import ')).join('\n')}\n  }`,
      '}',
    ].join('\n')),
  ].join('\n');
  const dir = fs.mkdtempSync(path.join(repoRoot, 'dist', 'docs-api-'));
  try {
    fs.writeFileSync(path.join(dir, 'examples.ts'), source);
    fs.writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify({
      extends: path.join(repoRoot, 'tsconfig.json'),
      compilerOptions: { noEmit: true, rootDir: repoRoot },
      files: ['examples.ts'],
    }));
    try {
      execFileSync(path.join(repoRoot, 'node_modules', '.bin', 'tsc'), ['-p', path.join(dir, 'tsconfig.json')], { encoding: 'utf8', stdio: 'pipe' });
    } catch (err) {
      assert.fail(`docs/api.md examples do not compile:\n${(err as { stdout?: string }).stdout ?? String(err)}`);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
