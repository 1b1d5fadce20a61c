// The merged --list: the cached inventory with the registered hosts merged in, kept beside the file
// cache as ansible-ec2.merged so that a cached --list with registered hosts is a file copy too
// (lib/cli/cached.ts), not a parse of the whole inventory on every Ansible run.
//
// The file is one header line, then the output bytes as the full path prints them (without the
// final newline). The header holds the exact texts the output was made from: ansible-ec2.meta
// (whose nonce changes with every cache write) and the registry file. A reader serves the file
// only while both are still those texts; anything else (a refresh, a registration, a file being
// replaced) makes it stale, and the next full-path --list writes it again.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { writeAtomic } from './atomic.js';
import { cacheFiles } from './fileStore.js';
import { registryFile } from './registry.js';
import { MERGED_FILE } from './layout.js';

export const mergedListName = MERGED_FILE;

/** What a merged output was made from: the cache's meta and the registry file, as text. */
export interface MergedStamp {
  meta: string;
  registry: string;
}

/** The current stamp, or undefined when there is no cache meta or no registry file. */
export function mergedStamp(cachePath: string): MergedStamp | undefined {
  try {
    return { meta: readFileSync(cacheFiles(cachePath).meta, 'utf8'), registry: readFileSync(registryFile(cachePath), 'utf8') };
  } catch {
    return undefined;
  }
}

/**
 * Stores `output` (made from the cache entry and registry that `stamp` describes) when neither has
 * changed since; a failure to store is no failure of the --list, which has its answer.
 */
export function keepMergedList(cachePath: string, stamp: MergedStamp, output: string): void {
  const now = mergedStamp(cachePath);
  if (!now || now.meta !== stamp.meta || now.registry !== stamp.registry) return;
  try {
    writeAtomic(path.join(cachePath, mergedListName), `${JSON.stringify({ v: 1, ...stamp })}\n${output}`);
  } catch {
    // the next full-path --list tries again
  }
}
