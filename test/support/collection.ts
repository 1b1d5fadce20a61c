// Builds the collection in collection/ with ansible-galaxy and installs it into a folder of the
// test's own, as a user would install the released tarball; ANSIBLE_COLLECTIONS_PATH points there.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { repoRoot } from './paths.js';

export const collectionDir = path.join(repoRoot, 'collection');
export const collectionName = 'ec2inventory.provision';

export interface InstalledCollection {
  /** The folder to give as ANSIBLE_COLLECTIONS_PATH. */
  collectionsPath: string;
  /** A folder holding ec2-inventory and ec2-provision, as `npm install -g` puts them on PATH. */
  binDir: string;
  /** The environment Ansible runs with: the collection found, nothing from the user's ~/.ansible. */
  env: NodeJS.ProcessEnv;
}

export function installCollection(dir: string): InstalledCollection {
  const built = path.join(dir, 'built');
  const collectionsPath = path.join(dir, 'collections');
  const galaxyEnv = { ...process.env, ANSIBLE_HOME: path.join(dir, 'ansible-home'), ANSIBLE_NOCOLOR: '1' };
  execFileSync('ansible-galaxy', ['collection', 'build', collectionDir, '--output-path', built, '--force'], { env: galaxyEnv, stdio: 'pipe' });
  const tarball = readdirSync(built).find((f) => f.endsWith('.tar.gz'));
  if (!tarball) throw new Error(`ansible-galaxy collection build wrote no tarball in ${built}`);
  execFileSync('ansible-galaxy', ['collection', 'install', path.join(built, tarball), '-p', collectionsPath, '--force'], { env: galaxyEnv, stdio: 'pipe' });
  const binDir = path.join(dir, 'bin');
  mkdirSync(binDir, { recursive: true });
  symlinkSync(path.join(repoRoot, 'bin', 'ec2-inventory'), path.join(binDir, 'ec2-inventory'));
  symlinkSync(path.join(repoRoot, 'bin', 'provision'), path.join(binDir, 'ec2-provision'));
  return {
    collectionsPath,
    binDir,
    env: {
      ANSIBLE_COLLECTIONS_PATH: collectionsPath,
      ANSIBLE_HOME: path.join(dir, 'ansible-home'),
      ANSIBLE_LOCAL_TEMP: path.join(dir, 'ansible-tmp'),
      ANSIBLE_NOCOLOR: '1',
      ANSIBLE_HOST_KEY_CHECKING: 'False',
      ANSIBLE_PYTHON_INTERPRETER: 'auto_silent',
      LANG: 'C.UTF-8',
    },
  };
}

/** PLAY RECAP's counters, per host (`ok`, `changed`, `failed`, ...). */
export function playRecap(stdout: string): Record<string, Record<string, number>> {
  const at = stdout.lastIndexOf('PLAY RECAP');
  const out: Record<string, Record<string, number>> = {};
  for (const line of stdout.slice(at).split('\n').slice(1)) {
    const m = /^(\S+)\s*:\s*(.*)$/.exec(line);
    if (m) out[m[1] as string] = Object.fromEntries([...(m[2] as string).matchAll(/(\w+)=(\d+)/g)].map((x) => [x[1] as string, Number(x[2])]));
  }
  return out;
}

/** PLAY RECAP's counters for localhost, where the provisioning modules run. */
export const localRecap = (stdout: string): Record<string, number> => playRecap(stdout)['localhost'] ?? {};
