// The floor under big.js's CPU figure, in its own process: what a refresh of the same 100,000
// instances costs before any rule runs and with V8's own serialiser. Timed: generating the SDK
// answers page by page as big.js's mock does, then JSON.stringify (native, indent 2) of the
// finished inventory and writing it to a file. Not timed: building that inventory.
import { closeSync, fsyncSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildInventory } from '../../lib/ec2py/rules.js';
import { bigSettings, syntheticInstance, syntheticRecords } from './synthetic.js';

const COUNT = Number(process.env['BIG_COUNT'] ?? 100_000);
const PAGE = 1_000;
const cpuMs = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; };

let t = cpuMs();
let kept = 0;
for (let first = 0; first < COUNT; first += PAGE) {
  const page = Array.from({ length: Math.min(PAGE, COUNT - first) }, (_, i) => syntheticInstance(first + i, 'us-east-1'));
  kept += page.length;
}
const generateMs = cpuMs() - t;

// big.js's settings (nothing is written to the cache folder here).
const settings = bigSettings(os.tmpdir());
const { inventory } = buildInventory(syntheticRecords(COUNT, 'us-east-1'), settings);

const dir = mkdtempSync(path.join(os.tmpdir(), 'ec2inv-floor-'));
t = cpuMs();
const text = JSON.stringify(inventory, null, 2);
const stringifyMs = cpuMs() - t;
t = cpuMs();
const fd = openSync(path.join(dir, 'inventory.json'), 'w', 0o600);
const bytes = Buffer.from(text, 'latin1');
for (let off = 0; off < bytes.length;) off += writeSync(fd, bytes, off);
fsyncSync(fd);
closeSync(fd);
const writeMs = cpuMs() - t;
rmSync(dir, { recursive: true, force: true });
process.stdout.write(JSON.stringify({ instances: kept, generateMs, stringifyMs, writeMs, bytes: bytes.length }));
