// /etc/os-release (os-release(5)): what Proxmox reads to pick its setup code, and what Incus
// metadata and template names describe the image with.
import { ProvisionError } from '../../errors.js';
import type { OverlayTree } from './tree.js';

export interface OsRelease {
  /** Lower-case distribution id, e.g. `debian`. */
  id: string;
  /** e.g. `12`; empty for rolling releases. */
  versionId: string;
  /** e.g. `bookworm`. */
  codename: string;
  prettyName: string;
  /** The point release when the root records one (Debian's /etc/debian_version `12.7`), else versionId. */
  fullVersion: string;
  /** Where it was read, inside the tree. */
  path: string;
}

/** The values of an os-release file: KEY=value lines, values optionally quoted with shell escapes. */
export function parseOsRelease(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^\s*([A-Z0-9_]+)=(.*?)\s*$/.exec(line);
    if (!m) continue;
    let v = m[2]!;
    const q = v[0];
    if ((q === '"' || q === "'") && v.endsWith(q) && v.length >= 2) {
      v = v.slice(1, -1);
      if (q === '"') v = v.replace(/\\([$"\\`])/g, '$1');
    }
    out.set(m[1]!, v);
  }
  return out;
}

/** os-release(5): /etc/os-release, else /usr/lib/os-release; undefined when the root has neither. */
export function readOsRelease(tree: OverlayTree): OsRelease | undefined {
  for (const p of ['etc/os-release', 'usr/lib/os-release']) {
    const real = tree.resolve(p);
    const text = real === undefined ? undefined : tree.readText(real);
    if (text === undefined) continue;
    const v = parseOsRelease(text);
    const id = (v.get('ID') ?? 'linux').toLowerCase();
    const versionId = v.get('VERSION_ID') ?? '';
    const debian = id === 'debian' ? tree.readText(tree.resolve('etc/debian_version') ?? 'etc/debian_version')?.trim() : undefined;
    const fullVersion = debian !== undefined && versionId !== '' && debian.startsWith(`${versionId}.`) && /^[0-9.]+$/.test(debian) ? debian : versionId;
    return { id, versionId, codename: v.get('VERSION_CODENAME') ?? '', prettyName: v.get('PRETTY_NAME') ?? v.get('NAME') ?? id, fullVersion, path: `/${p}` };
  }
  return undefined;
}

export function requireOsRelease(tree: OverlayTree, what: string): OsRelease {
  const os = readOsRelease(tree);
  if (!os) throw new ProvisionError(`${tree.root} has no /etc/os-release (nor /usr/lib/os-release): ${what}`, 'ENOOSRELEASE', 'rootfs');
  return os;
}
