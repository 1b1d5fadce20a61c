import fs from 'node:fs';
import net from 'node:net';
import { ProvisionError } from '../errors.js';
import type { Virsh } from '../kvm/virsh.js';

export interface ReadyCheck {
  /** A TCP port that answers: data arrives, or the connection stays open (a forward that only accepts and drops does not count). */
  port?: { host: string; port: number };
  /** Text the guest prints on its serial console, read from the log file libvirt writes (local hypervisors only). */
  line?: { text: string; logFile: string };
}

function portAnswers(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port });
    let done = false;
    const finish = (ok: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(hold);
      s.destroy();
      resolve(ok);
    };
    // qemu's user-mode forward accepts on the host side even when nothing listens in the guest,
    // then closes: an open connection only counts once it has survived a moment.
    const hold = setTimeout(() => finish(true), 700);
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
    const lineOk = check.line === undefined || lineSeen(check.line.text, check.line.logFile);
    const portOk = check.port === undefined || (lineOk && (await portAnswers(check.port.host, check.port.port)));
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
    await new Promise((r) => setTimeout(r, 250));
  }
}
