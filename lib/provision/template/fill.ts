import fs from 'node:fs';
import path from 'node:path';
import { ProvisionError } from '../../errors.js';
import { PLACEHOLDER_LIST, PLACEHOLDER_TEMPLATES, substitute, type NetworkValues } from './placeholders.js';

export interface FillResult {
  files: string[];
}

/**
 * Fills the placeholders offline in an unpacked template (for a container host that writes the
 * files itself instead of booting with ec2inv.* kernel parameters). Same contract as the boot hook:
 * the files listed in etc/ec2inv/placeholder-files are regenerated from their pristine copies.
 */
export function fillPlaceholders(root: string, values: NetworkValues): FillResult {
  const listFile = path.join(root, PLACEHOLDER_LIST);
  let list: string;
  try {
    list = fs.readFileSync(listFile, 'utf8');
  } catch {
    throw new ProvisionError(`${root} has no /${PLACEHOLDER_LIST}: not built by template build with the placeholder-hook step`, 'ENOENT');
  }
  const files = list.split('\n').filter((l) => l !== '');
  for (const f of files) {
    if (f.split('/').includes('..') || f.startsWith('/')) throw new ProvisionError(`bad path in /${PLACEHOLDER_LIST}: ${f}`, 'EINVAL');
    const text = fs.readFileSync(path.join(root, PLACEHOLDER_TEMPLATES, f), 'utf8');
    const target = path.join(root, f);
    // Write then rename, keeping the mode, so a reader never sees a half-filled file.
    const tmp = `${target}.ec2inv-tmp`;
    fs.writeFileSync(tmp, substitute(text, values), { mode: fs.statSync(target).mode & 0o7777 });
    fs.renameSync(tmp, target);
  }
  return { files };
}
