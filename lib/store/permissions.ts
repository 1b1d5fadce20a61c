// The cache decides what Ansible connects to (ansible_host): a cache folder that another user can
// write lets that user plant a cache pair that redirects every host. As ssh does with ~/.ssh, the
// folder and the files in it must belong to the user running the inventory (or to root) and be
// writable by nobody else; otherwise the run stops and says how to fix it.
import fs from 'node:fs';
import { CacheError } from '../errors.js';
import { untrusted } from './layout.js';

/** Throws a CacheError naming `dir` and the fix when it may not hold a cache. */
export function checkPrivateDir(dir: string, what = 'cache_path'): void {
  const st = fs.statSync(dir, { throwIfNoEntry: false });
  if (st === undefined) return; // nothing in it to trust or not
  const why = untrusted(st);
  if (why === 'owner') {
    throw new CacheError(`${what} ${dir} is owned by another user (uid ${st.uid}): another user could plant a cache there; use a folder of your own`, dir, { reason: 'untrusted' });
  }
  if (why === 'mode') {
    throw new CacheError(`${what} ${dir} is writable by its group or by others (mode ${(st.mode & 0o777).toString(8)}): another user could plant a cache there; run chmod 700 ${dir}`, dir, { reason: 'untrusted' });
  }
}

/** Throws a CacheError when `file` exists and is a link, another user's, or writable by others. */
export function checkPrivateFile(file: string): void {
  const st = fs.lstatSync(file, { throwIfNoEntry: false });
  if (st === undefined) return;
  if (st.isSymbolicLink()) throw new CacheError(`cache file ${file} is a symbolic link: refusing to follow it; remove it`, file, { reason: 'untrusted' });
  const why = untrusted(st);
  if (why === 'owner') throw new CacheError(`cache file ${file} is owned by another user (uid ${st.uid}): refusing to read it; remove it`, file, { reason: 'untrusted' });
  if (why === 'mode') throw new CacheError(`cache file ${file} is writable by its group or by others (mode ${(st.mode & 0o777).toString(8)}): run chmod 600 ${file}`, file, { reason: 'untrusted' });
}
