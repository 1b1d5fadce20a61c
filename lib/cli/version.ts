// --version of both commands: this package's version, from the package.json of the installation the
// running file belongs to (found from the file, never from the working directory, which may be any
// other project's).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ownName = 'ec2-inventory';

/** The version in the nearest package.json above `from` that is this package's. */
export function packageVersion(from: string = fileURLToPath(import.meta.url)): string {
  for (let dir = path.dirname(from); ; dir = path.dirname(dir)) {
    try {
      const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name?: unknown; version?: unknown };
      if (pkg.name === ownName && typeof pkg.version === 'string') return pkg.version;
    } catch {
      // no package.json here, or not JSON: look further up
    }
    if (path.dirname(dir) === dir) return 'unknown';
  }
}
