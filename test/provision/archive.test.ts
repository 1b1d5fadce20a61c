// The tar stream of a prepared tree takes each entry's lstat once, when preparation (or the default
// time) first looks at it, and archives the file later: a file that is not the size it had then
// must stop the build, never give an archive whose headers and contents disagree.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { newestMtime, tarStream } from '../../lib/provision/template/archive.js';
import { prepareTree } from '../../lib/provision/template/build.js';
import { scratch } from './support/fixture.js';

const MiB = 1 << 20;

async function collect(source: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  // Copied: the stream reuses its pieces once the next is asked for.
  for await (const b of source) parts.push(Buffer.from(b));
  return Buffer.concat(parts);
}

/**
 * A root whose file `f` ends exactly where the archive's first 1 MiB piece ends (its header is the
 * stream's first block), so the read that finds one byte too many starts a piece; `g` spans pieces.
 */
function root(dir: string): string {
  const rootfs = path.join(dir, 'rootfs');
  fs.mkdirSync(rootfs, { recursive: true });
  fs.writeFileSync(path.join(rootfs, 'f'), Buffer.alloc(MiB - 512, 'f'));
  fs.writeFileSync(path.join(rootfs, 'g'), Buffer.alloc(2 * MiB + 100, 'g'));
  return rootfs;
}

test('tar stream: a file that grew, shrank or went since preparation looked at it is refused', async () => {
  const dir = scratch('archive-changed');
  const changes: [string, string, (file: string) => void][] = [
    ['f', 'grew by a byte past a piece end', (file) => fs.appendFileSync(file, 'x')],
    ['g', 'grew', (file) => fs.appendFileSync(file, 'more')],
    ['g', 'shrank', (file) => fs.truncateSync(file, MiB)],
    ['f', 'went', (file) => fs.rmSync(file)],
    // The same size, so only the open can tell: a file outside the tree must not be archived as it.
    ['g', 'became a link out', (file) => {
      const outside = path.join(path.dirname(path.dirname(file)), 'outside');
      fs.writeFileSync(outside, Buffer.alloc(fs.statSync(file).size, 'o'));
      fs.rmSync(file);
      fs.symlinkSync(outside, file);
    }],
  ];
  for (const [name, what, change] of changes) {
    const rootfs = root(path.join(dir, what.replace(/ /g, '-')));
    const { tree } = prepareTree(rootfs, []);
    // As build does for the default time: every entry's lstat is taken here, before archiving.
    newestMtime(tree);
    change(path.join(rootfs, name));
    await assert.rejects(collect(tarStream(tree, { generatedMtime: 0, prefix: '' })),
      (err: Error & { code?: string }) => {
        assert.equal(err.code, what === 'went' || what === 'became a link out' ? 'EREAD' : 'ECHANGED', `${name} ${what}: ${err.message}`);
        assert.ok(err.message.includes(path.join(rootfs, name)), `${name} ${what}: the message names the file: ${err.message}`);
        return true;
      }, `${name} ${what}: archived anyway`);
  }
});

test('tar stream: an unchanged tree whose file ends at a piece end is archived whole', async () => {
  const rootfs = root(scratch('archive-unchanged'));
  const { tree } = prepareTree(rootfs, []);
  newestMtime(tree);
  const x = path.join(path.dirname(rootfs), 'x');
  fs.mkdirSync(x);
  execFileSync('tar', ['-xf', '-', '-C', x], { input: await collect(tarStream(tree, { generatedMtime: 0, prefix: '' })) });
  for (const name of ['f', 'g']) assert.ok(fs.readFileSync(path.join(x, name)).equals(fs.readFileSync(path.join(rootfs, name))), `${name} differs`);
});
