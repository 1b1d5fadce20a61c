// Where ec2.ini and the cache folder are: the rules both the full path (read.ts) and the cached
// --list (lib/cli/cached.ts) follow, so that the two can never look in different places. This
// module imports nothing: the cached --list hands it node:fs and node:path as it took them
// (process.getBuiltinModule, which builds no ESM namespace), the full path as it imported them.
import type * as Path from 'node:path';

type PathOps = Pick<typeof Path, 'join' | 'dirname'>;

/**
 * Where ec2.py looks for its ini: EC2_INI_PATH, else ec2.ini beside the real path of the
 * executable (symlinks resolved, so a link in /etc/ansible still finds the file beside the script).
 */
export function iniPathOf(executable: string, env: NodeJS.ProcessEnv, realpath: (p: string) => string, path: PathOps): string {
  const fromEnv = env['EC2_INI_PATH'];
  if (fromEnv) return fromEnv;
  let real = executable;
  try {
    real = realpath(executable);
  } catch {
    // a missing executable path still gives a sensible "ec2.ini not found" later
  }
  return path.join(path.dirname(real), 'ec2.ini');
}

/**
 * A path option's value (cache_path) as the settings hold it: trimmed, `~` and `~/...` under the
 * home folder, `~user` as written; undefined when empty.
 */
export function pathValue(raw: string, home: () => string, path: PathOps): string | undefined {
  const p = raw.trim();
  if (p === '') return undefined;
  if (p === '~' || p.startsWith('~/')) return path.join(home(), p.slice(1));
  return p;
}
