// The fault cases of issue 23's probe, as functions: test/moto/faults.test.ts runs a few trials of
// each, `npm run bench faults` the long sweeps. Loopback only: moto, the proxy and the fault
// server run on 127.0.0.1.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { CreateTagsCommand, EC2Client } from '@aws-sdk/client-ec2';
import { startFaultServer } from './faults.js';
import { type Proxy } from './proxy.js';
import { clientConfig } from './scenario.js';
import { awsEnv, run, runInventory, type RunResult } from './run.js';
import { inventoryBin, repoRoot } from './paths.js';
import { openRegistry } from '../../lib/store/registry.js';

const provisionBin = path.join(repoRoot, 'bin', 'provision');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Settings with no value that moves between two refreshes of the same AWS state (moto's RDS restore time). */
export const stableIni = { rds: 'False', cache_max_age: '3600' };

/** Changes what AWS answers (a tag on one instance), so that the inventory before and after differ. */
export async function retag(endpoint: string, region: string, instanceId: string, value: string): Promise<void> {
  const ec2 = new EC2Client(clientConfig(endpoint, region));
  try {
    await ec2.send(new CreateTagsCommand({ Resources: [instanceId], Tags: [{ Key: 'FaultTrial', Value: value }] }));
  } finally {
    ec2.destroy();
  }
}

export interface KillOutcome {
  /** What the cache file held after the kill: the inventory before the refresh, the one after, or neither. */
  cache: 'old' | 'new' | 'other';
  /** A cached --list right after the kill printed that file (the pair is whole, not mixed). */
  listMatches: boolean;
  /** Proxy requests the refresh had made when it was killed. */
  killedAfter: number;
}

/**
 * One kill -9 of a --refresh-cache at a random point (after 1..`requests` API requests, or while it
 * writes), with AWS changed just before, so the cache can be told old from new. `reference` is an
 * ini with another cache_path: its refresh after the kill is the "new" inventory.
 */
export async function killTrial(o: {
  ini: string; reference: string; cacheDir: string; proxy: Proxy; endpoint: string; requests: number;
  change: () => Promise<void>;
}): Promise<KillOutcome> {
  const file = path.join(o.cacheDir, 'ansible-ec2.cache');
  const old = readFileSync(file, 'utf8');
  await o.change();
  const killAt = 1 + Math.floor(Math.random() * (o.requests + 1));
  o.proxy.requests = 0;
  o.proxy.delayMs = 20 + Math.floor(Math.random() * 60);
  const child = spawn(inventoryBin, ['--refresh-cache'], { env: awsEnv(o.proxy.url, { EC2_INI_PATH: o.ini }), stdio: 'ignore' });
  const exited = new Promise((r) => child.once('exit', r));
  while (o.proxy.requests < Math.min(killAt, o.requests) && child.exitCode === null) await sleep(5);
  // Past the last request: somewhere in building and writing the cache.
  if (killAt > o.requests) await sleep(Math.floor(Math.random() * 40));
  const killedAfter = o.proxy.requests;
  child.kill('SIGKILL');
  await exited;
  o.proxy.delayMs = 0;
  const now = readFileSync(file, 'utf8');
  const listed = await runInventory(o.ini, ['--list'], o.proxy.url);
  const fresh = await runInventory(o.reference, ['--refresh-cache'], o.proxy.url);
  const cache = now === old ? 'old' : now + '\n' === fresh.stdout ? 'new' : 'other';
  return { cache, listMatches: listed.code === 0 && listed.stdout === now + '\n', killedAfter };
}

export type WireFault = 'plain 503' | 'xml 500' | 'throttling 429' | 'reset' | 'delay';
export const wireFaults: readonly WireFault[] = ['plain 503', 'xml 500', 'throttling 429', 'reset', 'delay'];

/**
 * A --refresh-cache whose every distinct request meets `fault` on its first attempt (delays: on
 * every attempt): each call is retried and succeeds, so the output must be the clean one, byte for
 * byte. Keyed by the request, not by a counter, so that concurrent calls cannot line up their
 * retries with each other's failures.
 */
export async function wireFaultRefresh(fault: WireFault, ini: string, proxy: Proxy, endpoint: string): Promise<RunResult> {
  const attempts = new Map<string, number>();
  const firstAttempt = (method: string, url: string, body: string): boolean => {
    const key = `${method} ${url} ${body}`;
    const n = attempts.get(key) ?? 0;
    attempts.set(key, n + 1);
    return n === 0;
  };
  if (fault === 'reset') {
    const server = await startFaultServer({ fault: 'reset', target: endpoint, when: firstAttempt });
    try {
      return await runInventory(ini, ['--refresh-cache'], server.url);
    } finally {
      await server.close();
    }
  }
  if (fault === 'delay') proxy.delayFor = () => Math.floor(Math.random() * 150);
  else {
    proxy.failWith = fault === 'plain 503' ? 503 : fault === 'xml 500' ? 500 : 429;
    proxy.failText = fault === 'plain 503' ? 'no healthy upstream' : undefined;
    proxy.failWhen = firstAttempt;
  }
  try {
    return await runInventory(ini, ['--refresh-cache'], proxy.url);
  } finally {
    proxy.failWith = 0;
    proxy.failText = undefined;
    proxy.failWhen = undefined;
    proxy.delayFor = undefined;
  }
}

/**
 * `count` ec2-provision register processes, `width` at a time, against one registry; returns the
 * failures (one line each) and the names the registry holds afterwards.
 */
export async function registerMany(o: {
  ini: string; endpoint: string; count: number; width: number; prefix: string;
  registry: { cachePath: string; cacheConnection: string };
}): Promise<{ failures: string[]; registered: string[] }> {
  const failures: string[] = [];
  let next = 0;
  await Promise.all(Array.from({ length: o.width }, async () => {
    while (next < o.count) {
      const name = `${o.prefix}-${next++}`;
      const r = await run(provisionBin, ['register', '--name', name, '--groups', 'concurrent', '--var', `ansible_host=10.1.0.${next % 250}`, '--ini', o.ini], awsEnv(o.endpoint));
      if (r.code !== 0) failures.push(`${name}: ${r.stderr.trim()}`);
    }
  }));
  const registry = await openRegistry({ ...o.registry, registryLockTimeout: 30 });
  try {
    const registered = (await registry.list()).map((h) => h.name).filter((n) => n.startsWith(`${o.prefix}-`));
    return { failures, registered };
  } finally {
    await registry.close();
  }
}
