// What `npm pack` puts in the package (package.json "files", .gitignore): exactly the programs, the
// built library, the docs and the example ini. Never the user's own bin/ec2.ini, which the README's
// quick start creates and which may hold [credentials]; no install script for consumers; no source
// map pointing at a file the package does not hold. Packed from a copy of the built tree, with
// --ignore-scripts: prepack rebuilds dist/, which the running tests are loaded from.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { repoRoot } from '../support/paths.js';
import { tempDir } from '../support/run.js';

interface Packed {
  files: { path: string }[];
}

const manifest = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { scripts: Record<string, string> };

/** Every file under dir (relative, '/'-separated), recursively. */
function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)).split(path.sep).join('/'));
}

/** The package's file list as npm packs it, from a copy of the tree that holds a user's bin/ec2.ini. */
function pack(): { files: string[]; dir: string } {
  const dir = tempDir('ec2inv-pack-');
  for (const entry of ['package.json', 'README.md', 'LICENSE', 'ec2.ini.example', '.gitignore', 'bin', 'docs', 'lib', 'dist/lib', 'dist/bundle']) {
    const from = path.join(repoRoot, entry);
    if (existsSync(from)) cpSync(from, path.join(dir, entry), { recursive: true, verbatimSymlinks: true });
  }
  writeFileSync(path.join(dir, 'bin', 'ec2.ini'), '[ec2]\nregions = all\n[credentials]\naws_secret_access_key = not-for-the-package\n');
  const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  const [packed] = JSON.parse(out) as Packed[];
  return { files: (packed?.files ?? []).map((f) => f.path).sort(), dir };
}

describe('the npm package', () => {
  const { files, dir } = pack();

  it('holds exactly the programs, the built library and bundle, the docs and the example ini', () => {
    const modules = filesUnder(path.join(repoRoot, 'lib')).filter((f) => f.endsWith('.ts')).map((f) => f.slice(0, -'.ts'.length));
    const bundle = filesUnder(path.join(repoRoot, 'dist', 'bundle'));
    assert.ok(bundle.includes('inventory.js'), 'bin/ec2-inventory loads dist/bundle/inventory.js');
    const expected = [
      'LICENSE', 'README.md', 'package.json', 'ec2.ini.example', 'bin/ec2-inventory', 'bin/provision',
      ...filesUnder(path.join(repoRoot, 'docs')).map((f) => `docs/${f}`),
      ...modules.flatMap((m) => [`dist/lib/${m}.js`, `dist/lib/${m}.d.ts`]),
      ...bundle.map((f) => `dist/bundle/${f}`),
    ].sort();
    assert.deepEqual(files, expected);
    assert.ok(!files.includes('bin/ec2.ini'), "the user's ini is never packed");
  });

  it("keeps the user's bin/ec2.ini out of git", () => {
    const ignored = execFileSync('git', ['check-ignore', '--no-index', 'bin/ec2.ini'], { cwd: repoRoot, encoding: 'utf8' });
    assert.equal(ignored.trim(), 'bin/ec2.ini');
  });

  it('runs no script when a consumer installs it (it is built before packing)', () => {
    for (const hook of ['preinstall', 'install', 'postinstall', 'prepare']) assert.equal(manifest.scripts[hook], undefined, hook);
    assert.match(manifest.scripts['prepack'] ?? '', /npm run build/);
  });

  it('has no source map comment pointing at a file the package lacks', () => {
    const shipped = new Set(files);
    for (const file of files.filter((f) => f.endsWith('.js'))) {
      const text = readFileSync(path.join(dir, file), 'utf8');
      for (const m of text.matchAll(/^\/\/# sourceMappingURL=(\S+)$/gm)) {
        const target = path.posix.join(path.posix.dirname(file), m[1] as string);
        assert.ok(shipped.has(target), `${file} points at ${target}, which is not in the package`);
      }
    }
    for (const map of files.filter((f) => f.endsWith('.map'))) {
      const { sources = [], sourceRoot = '' } = JSON.parse(readFileSync(path.join(dir, map), 'utf8')) as { sources?: string[]; sourceRoot?: string };
      for (const source of sources) {
        const target = path.posix.join(path.posix.dirname(map), sourceRoot, source);
        assert.ok(shipped.has(target), `${map} names ${target}, which is not in the package`);
      }
    }
  });
});
