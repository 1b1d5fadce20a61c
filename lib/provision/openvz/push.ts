// Push an OpenVZ/Virtuozzo template cache, or a Proxmox VE container template, to a node over SSH
// (both keep templates as files in one folder that their tools list by name): upload under a temporary name,
// check the sha256 on the far side, rename into place. ssh runs a remote command through the
// remote user's shell, so every value in it is single-quoted (shellQuote), never pasted raw.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { ProvisionError } from '../../errors.js';
import { run, runWithStdin, transferLimitMs } from '../../run.js';
import { Undo, type Log } from '../undo.js';

/** Where each kind of node keeps its templates, and what it accepts as one. */
export const templateNodes = {
  openvz: { dir: '/vz/template/cache', name: /\.tar(\.(gz|xz|zst))?$/, expect: 'NAME.tar.gz (or .tar.xz / .tar.zst)' },
  // PVE::Storage takes vztmpl/NAME.tar.{gz,xz,zst,bz2}; Proxmox VE 9 also an OCI archive, NAME.tar.
  proxmox: { dir: '/var/lib/vz/template/cache', name: /\.tar(\.(gz|xz|zst|bz2))?$/, expect: 'NAME.tar.zst (or .tar.gz / .tar.xz, or an OCI archive NAME.oci.tar)' },
} as const;
export type TemplateNode = keyof typeof templateNodes;

export interface PushTemplateOptions {
  /** ssh://user@host[:port] */
  target: string;
  template: string;
  /** openvz (default) or proxmox: the template folder's default and the names it takes. */
  node?: TemplateNode;
  /** Template cache folder on the node (default: the node kind's own). */
  dir?: string;
  /** Private key for ssh -i. */
  identity?: string;
  /** known_hosts to check the node's key against (ssh's usual files otherwise); never trust-on-first-use. */
  knownHosts?: string;
  /** Replace a template of that name holding other bytes. */
  force?: boolean;
  /** Seconds for ssh to connect and exchange banners (ConnectTimeout; default 10). */
  connectTimeout?: number;
  log?: Log;
}

export interface PushTemplateResult {
  target: string;
  path: string;
  bytes: number;
  sha256: string;
  action: 'uploaded' | 'unchanged';
}

export function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

export function parseSshTarget(target: string): { user?: string; host: string; port?: number } {
  const m = /^ssh:\/\/(?:([^@/:]+)@)?(\[[^\]]+\]|[^:/@]+)(?::(\d{1,5}))?\/?$/.exec(target);
  if (!m) throw new ProvisionError(`target '${target}': expected ssh://user@host[:port]`, 'EUSAGE', 'target');
  return { ...(m[1] ? { user: m[1] } : {}), host: m[2]!.replace(/^\[|\]$/g, ''), ...(m[3] ? { port: Number(m[3]) } : {}) };
}

export async function pushTemplate(o: PushTemplateOptions): Promise<PushTemplateResult> {
  const log = o.log ?? (() => {});
  const t = parseSshTarget(o.target);
  const node = o.node ?? 'openvz';
  if (!(node in templateNodes)) throw new ProvisionError(`unknown node kind ${JSON.stringify(node)} (use ${Object.keys(templateNodes).join(', ')})`, 'EUSAGE', 'node');
  const kind = templateNodes[node];
  const dir = o.dir ?? kind.dir;
  const name = path.basename(o.template);
  const st = fs.statSync(o.template, { throwIfNoEntry: false });
  if (st === undefined) throw new ProvisionError(`template ${o.template} does not exist`, 'ENOENT');
  if (st.isDirectory()) throw new ProvisionError(`template ${o.template} is a folder, not a file`, 'EISDIR');
  if (!kind.name.test(name)) throw new ProvisionError(`${o.template}: a ${node} template is ${kind.expect}`, 'EUSAGE', 'template');
  // A node that stops answering: ConnectTimeout bounds the connection and the banner exchange,
  // ServerAliveInterval x CountMax (1 min) a session gone silent; the upload's own limit grows with
  // its size (transferLimitMs), every other command has two minutes.
  const sshArgs = [
    '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=yes',
    '-o', `ConnectTimeout=${o.connectTimeout ?? 10}`, '-o', 'ServerAliveInterval=15', '-o', 'ServerAliveCountMax=4',
    ...(o.knownHosts ? ['-o', `UserKnownHostsFile=${o.knownHosts}`, '-o', 'GlobalKnownHostsFile=/dev/null'] : []),
    ...(o.identity ? ['-i', o.identity, '-o', 'IdentitiesOnly=yes'] : []),
    ...(t.port ? ['-p', String(t.port)] : []),
    ...(t.user ? ['-l', t.user] : []),
    '--', t.host,
  ];
  const remote = (command: string) => run('ssh', [...sshArgs, command], { label: `ssh ${t.host}`, timeoutMs: 120_000 });
  const bytes = fs.statSync(o.template).size;
  const hash = crypto.createHash('sha256');
  for await (const c of fs.createReadStream(o.template)) hash.update(c as Buffer);
  const sha256 = hash.digest('hex');
  const final = path.posix.join(dir, name);
  const temp = path.posix.join(dir, `.${name}.tmp-${process.pid}-${crypto.randomBytes(4).toString('hex')}`);
  const remoteSha = async (file: string) => /^([0-9a-f]{64})\b/.exec((await remote(`sha256sum -- ${shellQuote(file)}`)).stdout)?.[1];

  // One round trip tells whether the folder is there and what the final name already holds.
  const probe = (await remote(`test -d ${shellQuote(dir)} || { echo NODIR; exit 0; }; if test -e ${shellQuote(final)}; then sha256sum -- ${shellQuote(final)}; else echo ABSENT; fi`)).stdout.trim();
  if (probe === 'NODIR') throw new ProvisionError(`${o.target}: template folder ${dir} does not exist`, 'ENOENT');
  if (probe !== 'ABSENT') {
    if (probe.startsWith(sha256)) {
      log(`${final} on ${t.host} already holds these bytes: nothing to do`);
      return { target: o.target, path: final, bytes, sha256, action: 'unchanged' };
    }
    if (!o.force) throw new ProvisionError(`${o.target}: ${final} holds a different template (force replaces it)`, 'EEXIST', 'force');
  }
  const undo = new Undo('push template', log);
  await undo.guard(async () => {
    undo.step('upload');
    log(`uploading ${o.template} (${bytes} bytes) to ${t.host}:${temp}`);
    undo.add(`temporary file ${temp}`, () => remote(`rm -f -- ${shellQuote(temp)}`));
    await runWithStdin('ssh', [...sshArgs, `umask 022 && cat > ${shellQuote(temp)}`], fs.createReadStream(o.template) as AsyncIterable<Buffer>, { label: `ssh ${t.host}`, timeoutMs: transferLimitMs(bytes) });
    undo.step('verify');
    const got = await remoteSha(temp);
    if (got !== sha256) throw new ProvisionError(`sha256 on ${t.host} is ${got ?? '(none)'}, expected ${sha256}`, 'EVERIFY');
    undo.step('rename');
    await remote(`mv -f -- ${shellQuote(temp)} ${shellQuote(final)}`);
  });
  return { target: o.target, path: final, bytes, sha256, action: 'uploaded' };
}
