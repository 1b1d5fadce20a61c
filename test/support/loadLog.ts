// Preloaded with `node --import` by test/unit/loads.test.ts: writes every module a process loads to
// the file named by EC2INV_LOAD_LOG, one URL or path a line. ES modules are seen by a resolve hook
// (loadLogHooks.ts, on the loader's thread), CommonJS ones in require's cache at exit.
import { appendFileSync } from 'node:fs';
import { createRequire, register } from 'node:module';

register('./loadLogHooks.js', import.meta.url);
const log = process.env['EC2INV_LOAD_LOG'];
if (log) {
  const cache = createRequire(import.meta.url).cache;
  process.on('exit', () => appendFileSync(log, Object.keys(cache).map((f) => `${f}\n`).join('')));
}
