// A real redis-server (Debian's) on a free loopback port, for one test file; it can be stopped
// with SIGSTOP (a frozen server: the connection stays up, no answer comes) and resumed.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { freePort } from './moto.js';

export interface Redis {
  port: number;
  url: string;
  /** SIGSTOP: the server keeps its connections and answers nothing. */
  freeze(): void;
  thaw(): void;
  stop(): Promise<void>;
}

export async function startRedis(dir: string): Promise<Redis> {
  const port = await freePort();
  const child: ChildProcess = spawn('redis-server', [
    '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir,
  ], { stdio: 'ignore' });
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      execFileSync('redis-cli', ['-p', String(port), 'ping'], { stdio: 'pipe' });
      break;
    } catch {
      if (Date.now() > deadline) throw new Error('redis-server did not start');
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return {
    port,
    url: `redis://127.0.0.1:${port}/0`,
    freeze: () => void child.kill('SIGSTOP'),
    thaw: () => void child.kill('SIGCONT'),
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await exited;
    },
  };
}
