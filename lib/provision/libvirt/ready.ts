import fs from 'node:fs';
import net from 'node:net';
import { ProvisionError } from '../../errors.js';
import { checkInterrupted, pause } from '../interrupt.js';
import type { Virsh } from '../../sources/libvirt/virsh.js';

export interface ReadyCheck {
  /** A TCP port that answers with some bytes, unasked (SSH) or after `send` (e.g. an HTTP request). */
  port?: { host: string; port: number; send?: string };
  /** Text the guest prints on its serial console, read from the log file libvirt writes (local hypervisors only). */
  line?: { text: string; logFile: string };
}

// "Answers" means bytes come back. qemu's user-mode forward accepts on the host side at once and
// holds the connection while the guest is still booting, so an open connection proves nothing.
// SSH sends its banner unasked; a service that waits for a request gets `send` (an HTTP request).
function portAnswers(host: string, port: number, send: string | undefined): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port });
    let done = false;
    const finish = (ok: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(limit);
      s.destroy();
      resolve(ok);
    };
    const limit = setTimeout(() => finish(false), 2000);
    s.on('connect', () => { if (send) s.write(send); });
    s.on('data', () => finish(true));
    s.on('error', () => finish(false));
    s.on('close', () => finish(false));
  });
}

function lineSeen(text: string, file: string): boolean {
  try {
    return fs.readFileSync(file, 'utf8').includes(text);
  } catch {
    return false;
  }
}

/** Polls until every check passes; fails when the guest stops or `timeoutMs` passes, with what was last seen. */
export async function waitReady(v: Virsh, domain: string, check: ReadyCheck, timeoutMs: number): Promise<number> {
  const started = Date.now();
  for (;;) {
    checkInterrupted();
    const lineOk = check.line === undefined || lineSeen(check.line.text, check.line.logFile);
    const portOk = check.port === undefined || (lineOk && (await portAnswers(check.port.host, check.port.port, check.port.send)));
    if (lineOk && portOk) return Date.now() - started;
    const state = (await v.text(['domstate', '--', domain])).trim();
    if (state !== 'running') throw new ProvisionError(`guest '${domain}' is ${state} before it became ready`, 'ENOTREADY');
    if (Date.now() - started > timeoutMs) {
      const what = [
        check.line && !lineOk ? `no '${check.line.text}' on its serial console (${check.line.logFile})` : '',
        check.port && !portOk ? `port ${check.port.host}:${check.port.port} does not answer` : '',
      ].filter(Boolean).join(' and ');
      throw new ProvisionError(`guest '${domain}' not ready after ${Math.round(timeoutMs / 1000)} s: ${what}`, 'ETIMEDOUT');
    }
    await pause(250);
  }
}
