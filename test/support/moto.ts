// Starts a real moto_server on a free loopback port for one test file and stops it by PID.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { repoRoot } from './paths.js';

export interface Moto {
  endpoint: string;
  port: number;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

// The reference's dispatcher adds Host-header routing that boto 2 needs for Route53; SDK v3 clients
// behave the same against it as against plain moto_server, so one server serves both sides.
export const hostDispatchScript = path.join(repoRoot, '..', 'shared', 'reference', 'moto_server_hostdispatch.py');

export async function startMoto(): Promise<Moto> {
  const port = await freePort();
  const args = ['-H', '127.0.0.1', '-p', String(port)];
  const child: ChildProcess = existsSync(hostDispatchScript)
    ? spawn('python3', [hostDispatchScript, ...args], { stdio: ['ignore', 'ignore', 'pipe'] })
    : spawn('moto_server', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => { stderr += d.toString(); if (stderr.length > 20000) stderr = stderr.slice(-10000); });
  const endpoint = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`moto_server exited (${child.exitCode}): ${stderr.slice(-2000)}`);
    try {
      const res = await fetch(`${endpoint}/moto-api/`);
      if (res.ok || res.status < 500) break;
    } catch { /* not listening yet */ }
    if (Date.now() > deadline) { child.kill('SIGKILL'); throw new Error(`moto_server did not start: ${stderr.slice(-2000)}`); }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    endpoint,
    port,
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}

export async function resetMoto(endpoint: string): Promise<void> {
  await fetch(`${endpoint}/moto-api/reset`, { method: 'POST' });
}
