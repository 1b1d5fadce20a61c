// Runs bin/ec2-inventory (or the reference ec2.py) as Ansible would: a child process, JSON on stdout.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { inventoryBin, repoRoot, sharedDir } from './paths.js';

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * bin/ec2-inventory keeps a V8 code cache in the user's cache folder (lib/cli/fullPath.ts): the runs
 * of one test process share one of their own, never the machine's ~/.cache.
 */
let codeCacheHome: string | undefined;
function withCodeCacheHome(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  if (env['XDG_CACHE_HOME'] !== undefined) return env;
  codeCacheHome ??= tempDir('ec2inv-xdg-');
  return { ...env, XDG_CACHE_HOME: codeCacheHome };
}

/** stderr without the code cache's trace lines (EC2_INVENTORY_TRACE=1), which every full-path run prints. */
export function withoutCodeCacheTrace(stderr: string): string {
  return stderr.split(/(?<=\n)/).filter((l) => !l.startsWith('ec2-inventory: trace: code cache ')).join('');
}

export function run(file: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs = 120_000): Promise<RunResult> {
  return new Promise((resolve) => {
    execFile(file, args, { env: withCodeCacheHome(env), timeout: timeoutMs, maxBuffer: 512 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as NodeJS.ErrnoException).code === 'number' ? Number((err as NodeJS.ErrnoException).code) : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** A clean environment: moto credentials, no proxies or profiles leaking in from the machine. */
export function awsEnv(endpoint: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return {
    PATH: process.env['PATH'],
    HOME: process.env['HOME'],
    AWS_ACCESS_KEY_ID: 'testing',
    AWS_SECRET_ACCESS_KEY: 'testing',
    AWS_ENDPOINT_URL: endpoint,
    AWS_EC2_METADATA_DISABLED: 'true',
    ...extra,
  };
}

export function runInventory(iniPath: string, args: string[], endpoint: string, extraEnv: NodeJS.ProcessEnv = {}): Promise<RunResult> {
  return run(inventoryBin, args, awsEnv(endpoint, { EC2_INI_PATH: iniPath, ...extraEnv }));
}

/**
 * The full path alone (lib/cli/inventory.ts main) in a process of its own, as bin/ec2-inventory
 * ran before the cached --list fast path existed: what the fast path must match.
 */
export function runFullPath(args: string[], env: NodeJS.ProcessEnv): Promise<RunResult> {
  const main = path.join(repoRoot, 'dist', 'lib', 'cli', 'inventory.js');
  const code = `const { main } = await import(${JSON.stringify(main)}); process.exitCode = await main(${JSON.stringify(args)});`;
  return run(process.execPath, ['--input-type=module', '-e', code], env);
}

export const referenceScript = path.join(sharedDir, 'reference', 'run-reference.sh');

export function runReference(iniPath: string, args: string[], endpoint: string): Promise<RunResult> {
  return run(referenceScript, [endpoint, iniPath, ...args], { PATH: process.env['PATH'], HOME: process.env['HOME'] });
}

const madeDirs: string[] = [];

/** A fresh folder under the system's temporary folder, removed when the test process ends. */
export function tempDir(prefix = 'ec2inv-'): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  if (madeDirs.push(dir) === 1) {
    process.once('exit', () => {
      for (const d of madeDirs) {
        try {
          rmSync(d, { recursive: true, force: true });
        } catch {
          // Still a mount point, or held by a process the test left: the system's cleaning will do.
        }
      }
    });
  }
  return dir;
}

export const baseIni: Record<string, string> = {
  regions: 'us-east-1,us-west-2,eu-west-1',
  regions_exclude: 'us-gov-west-1,cn-north-1',
  destination_variable: 'public_dns_name',
  vpc_destination_variable: 'ip_address',
  route53: 'True',
  route53_excluded_zones: 'hidden.example.net',
  rds: 'True',
  all_instances: 'False',
  all_rds_instances: 'False',
  cache_max_age: '300',
  nested_groups: 'False',
};

/** Writes an ec2.ini with its own cache folder; `null` leaves an option out. */
export function writeIni(dir: string, name: string, overrides: Record<string, string | null> = {}): string {
  const values: Record<string, string | null> = { ...baseIni, cache_path: path.join(dir, `${name}-cache`), ...overrides };
  const lines = ['[ec2]'];
  for (const [k, v] of Object.entries(values)) if (v !== null) lines.push(`${k} = ${v}`);
  const file = path.join(dir, `${name}.ini`);
  writeFileSync(file, lines.join('\n') + '\n');
  return file;
}
