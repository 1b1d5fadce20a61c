import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';

export interface Sshd {
  port: number;
  /** Private key whose public half is authorised for root. */
  key: string;
  /** An ssh wrapper that checks the host key against our own known_hosts (no silent trust). */
  sshCommand: string;
  /** qemu+ssh URI for libvirt through this sshd. */
  libvirtUri: string;
  stop(): void;
}

async function waitPort(port: number, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    const ok = await new Promise<boolean>((r) => {
      const s = net.connect({ host: '127.0.0.1', port }, () => { s.destroy(); r(true); });
      s.on('error', () => r(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`sshd does not listen on 127.0.0.1:${port}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * An sshd on loopback with its own host key, config and authorized_keys (root, key only), run in
 * the foreground and stopped by PID. The client side is a wrapper around ssh with its own
 * known_hosts holding that host key and StrictHostKeyChecking=yes: ssh reads ~ from the password
 * database, not $HOME, so libvirt's `command=` URI parameter is how it gets our options.
 */
export async function startSshd(dir: string, port: number): Promise<Sshd> {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const hostKey = path.join(dir, 'host_ed25519');
  const key = path.join(dir, 'id_ed25519');
  for (const k of [hostKey, key]) execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', k]);
  fs.copyFileSync(`${key}.pub`, path.join(dir, 'authorized_keys'));
  const config = path.join(dir, 'sshd_config');
  fs.writeFileSync(config, [
    `Port ${port}`, 'ListenAddress 127.0.0.1', `HostKey ${hostKey}`, `AuthorizedKeysFile ${path.join(dir, 'authorized_keys')}`,
    'PermitRootLogin prohibit-password', 'PasswordAuthentication no', 'KbdInteractiveAuthentication no', 'UsePAM no', 'StrictModes no',
    `PidFile ${path.join(dir, 'sshd.pid')}`, 'LogLevel ERROR', 'Subsystem sftp internal-sftp', '',
  ].join('\n'));
  fs.mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  const child: ChildProcess = spawn('/usr/sbin/sshd', ['-D', '-e', '-f', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  try {
    await waitPort(port, 10_000);
  } catch (err) {
    child.kill('SIGKILL');
    throw new Error(`${(err as Error).message}: ${stderr}`);
  }
  const hostPub = fs.readFileSync(`${hostKey}.pub`, 'utf8').trim().split(/\s+/).slice(0, 2).join(' ');
  const knownHosts = path.join(dir, 'known_hosts');
  fs.writeFileSync(knownHosts, `[127.0.0.1]:${port} ${hostPub}\n`);
  const clientConfig = path.join(dir, 'ssh_config');
  fs.writeFileSync(clientConfig, [
    'Host *', `  UserKnownHostsFile ${knownHosts}`, '  GlobalKnownHostsFile /dev/null', '  StrictHostKeyChecking yes',
    `  IdentityFile ${key}`, '  IdentitiesOnly yes', '  BatchMode yes', '',
  ].join('\n'));
  const sshCommand = path.join(dir, 'ssh');
  fs.writeFileSync(sshCommand, `#!/bin/sh\nexec ssh -F '${clientConfig}' "$@"\n`, { mode: 0o755 });
  return {
    port,
    key,
    sshCommand,
    libvirtUri: `qemu+ssh://root@127.0.0.1:${port}/system?command=${encodeURIComponent(sshCommand)}&keyfile=${encodeURIComponent(key)}`,
    stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
    },
  };
}
