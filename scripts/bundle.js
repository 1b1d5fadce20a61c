// npm run build, after tsc: bin/ec2-inventory's code as one ESM bundle in dist/bundle/.
// Why: a cold refresh spent most of its time resolving and compiling the AWS SDK's hundreds of
// small CommonJS files. The SDK's ESM builds, tree-shaken down to the commands we send, load in a
// fraction of that. Splitting keeps what only a refresh needs (SDK clients, credential providers,
// proper-lockfile, @keyv/redis) in chunks that a cached answer never reads.
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
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

/**
 * The modules every refresh runs, which lib/ loads with import() so that --help and a cached
 * answer never read them. In the single CommonJS script (below) an import() can only become a
 * require() of a module esbuild wraps and keeps whole, with all it imports: the EC2 client with
 * every command's schemas (900 kB of the 2.3 MB), run at every refresh. There, these are
 * imported statically instead, so esbuild keeps only what is used; what a refresh rarely needs
 * (Redis, libvirt, spilling, registered hosts) stays behind a require().
 */
const refreshPath = [
  'lib/flow/request.ts', 'lib/sources/aws/fetch.ts', 'lib/ec2py/rules.ts', 'lib/sources/aws/http.ts',
  'lib/sources/aws/rds.ts', 'lib/sources/aws/rdsClusters.ts', 'lib/sources/aws/route53.ts', 'lib/sources/aws/elasticache.ts',
];
const staticRefreshPath = {
  name: 'static-refresh-path',
  setup(b) {
    const rewritten = new Set();
    b.onLoad({ filter: /[\\/]lib[\\/].*\.ts$/ }, async ({ path: file }) => {
      const source = await readFile(file, 'utf8');
      const hoisted = [];
      // Not `typeof import(...)`, a type that names the module without loading it.
      const contents = source.replace(/(?<!typeof\s*)\bimport\((['"])(\.{1,2}\/[^'"]+)\1\)/g, (whole, quote, spec) => {
        const target = path.relative(process.cwd(), path.resolve(path.dirname(file), spec.replace(/\.js$/, '.ts'))).split(path.sep).join('/');
        if (!refreshPath.includes(target)) return whole;
        rewritten.add(target);
        const name = `__ec2invStatic${hoisted.length}`;
        hoisted.push(`import * as ${name} from ${quote}${spec}${quote};`);
        return `Promise.resolve(${name})`;
      });
      return hoisted.length === 0 ? undefined : { contents: `${hoisted.join(' ')}${contents}`, loader: 'ts' };
    });
    b.onEnd(() => {
      const missed = refreshPath.filter((m) => !rewritten.has(m));
      if (missed.length > 0) return { errors: [{ text: `no import() of ${missed.join(', ')} left to make static: update refreshPath in scripts/bundle.js` }] };
      return undefined;
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
  plugins: [staticRefreshPath, literalSchemaKeys],
  supported: { 'dynamic-import': false },
  define: { 'import.meta.url': '__ec2invImportMetaUrl' },
  banner: { js: '(function (exports, require, module, __filename, __dirname, __ec2invImportMetaUrl) {' },
  footer: { js: '})' },
});
const cjsText = await readFile(cjs, 'utf8');
if (/\bimport\(/.test(cjsText)) throw new Error(`${cjs} still has an import(): vm.Script cannot run it`);
// lib/cli/fullPath.ts reads it as Latin-1, one byte a character (esbuild escapes non-ASCII by default).
if (/[^\x00-\x7f]/.test(cjsText)) throw new Error(`${cjs} is not ASCII: lib/cli/fullPath.ts would read it wrong`);
