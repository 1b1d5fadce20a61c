// npm run build, after tsc: bin/ec2-inventory's code as one ESM bundle in dist/bundle/.
// Why: a cold refresh spent most of its time resolving and compiling the AWS SDK's hundreds of
// small CommonJS files. The SDK's ESM builds, tree-shaken down to the commands we send, load in a
// fraction of that. Splitting keeps what only a refresh needs (SDK clients, credential providers,
// proper-lockfile, @keyv/redis) in chunks that a cached answer never reads.
import { readFile, writeFile } from 'node:fs/promises';
import { build } from 'esbuild';

/**
 * The SDK's generated schemas write trait keys as computed keys (`{ [_eQN]: ... }`), which esbuild
 * must assume have side effects, so it keeps every schema of a client: all of EC2's 550 kB for
 * the three commands we send (aws/aws-sdk-js-v3#7607). The upstream fix emits literal keys
 * (smithy-lang/smithy-typescript#1889); until it is released, the same rewrite is done here, for
 * keys that name a string constant of the same file only.
 */
const literalSchemaKeys = {
  name: 'literal-schema-keys',
  setup(b) {
    b.onLoad({ filter: /[\\/]@aws-sdk[\\/]client-[^\\/]+[\\/]dist-es[\\/]schemas[\\/]schemas_\d+\.js$/ }, async ({ path }) => {
      const source = await readFile(path, 'utf8');
      const strings = new Map();
      for (const m of source.matchAll(/^const (_\w+) = ("(?:[^"\\]|\\.)*");$/gm)) strings.set(m[1], m[2]);
      const contents = source.replace(/([{,]\s*)\[(_\w+)\]:/g, (whole, before, name) => strings.has(name) ? `${before}${strings.get(name)}:` : whole);
      return { contents, loader: 'js' };
    });
  },
};

const shared = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  mainFields: ['module', 'main'],
  minify: true,
  plugins: [literalSchemaKeys],
  logLevel: 'warning',
};

const esm = await build({
  ...shared,
  entryPoints: { inventory: 'lib/cli/inventory.ts' },
  outdir: 'dist/bundle',
  splitting: true,
  format: 'esm',
  // CommonJS dependencies call require() for node builtins; an ESM bundle has no require of its own.
  banner: { js: "import { createRequire as __ec2invCreateRequire } from 'node:module'; const require = __ec2invCreateRequire(import.meta.url);" },
  metafile: true,
});
// Which sources each chunk holds: test/unit/loads.test.ts proves from it what a run loads.
// Beside the bundle, not in it: the package does not ship it.
await writeFile('dist/bundle.meta.json', JSON.stringify(esm.metafile));

// The same code as one CommonJS script for lib/cli/fullPath.ts, which compiles it with vm.Script
// from a V8 code cache (ES modules cannot take one on Node 20). The file is the text of one function
// expression, so the script's source is the file's bytes as they are. A script compiled by vm has
// no import() (Node 20 has no loader for it without an experimental flag), so esbuild turns every
// import() into a require(). Nothing is left outside the bundle (ec2-inventory reads its flags with
// node:util, not yargs), so the script requires no ES module at run time.
const cjs = 'dist/bundle/inventory.cjs';
await build({
  ...shared,
  entryPoints: ['lib/cli/fullPathEntry.ts'],
  outfile: cjs,
  format: 'cjs',
  supported: { 'dynamic-import': false },
  define: { 'import.meta.url': '__ec2invImportMetaUrl' },
  banner: { js: '(function (exports, require, module, __filename, __dirname, __ec2invImportMetaUrl) {' },
  footer: { js: '})' },
});
const cjsText = await readFile(cjs, 'utf8');
if (/\bimport\(/.test(cjsText)) throw new Error(`${cjs} still has an import(): vm.Script cannot run it`);
// lib/cli/fullPath.ts reads it as Latin-1, one byte a character (esbuild escapes non-ASCII by default).
if (/[^\x00-\x7f]/.test(cjsText)) throw new Error(`${cjs} is not ASCII: lib/cli/fullPath.ts would read it wrong`);
