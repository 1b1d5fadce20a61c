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
import { fileDigest } from '../digest.js';

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

/** The node's side of a template: how to reach it, and where the template goes. */
interface NodeTemplate {
  host: string;
  sshArgs: string[];
  remote: (command: string) => ReturnType<typeof run>;
  dir: string;
  final: string;
}

function nodeTemplate(o: PushTemplateOptions): NodeTemplate {
  const t = parseSshTarget(o.target);
  const node = o.node ?? 'openvz';
  if (!(node in templateNodes)) throw new ProvisionError(`unknown node kind ${JSON.stringify(node)} (use ${Object.keys(templateNodes).join(', ')})`, 'EUSAGE', 'node');
  const kind = templateNodes[node];
  const dir = o.dir ?? kind.dir;
  const name = path.basename(o.template);
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
  return { host: t.host, sshArgs, remote, dir, final: path.posix.join(dir, name) };
}

async function localTemplate(file: string): Promise<{ bytes: number; sha256: string }> {
  const st = fs.statSync(file, { throwIfNoEntry: false });
  if (st === undefined) throw new ProvisionError(`template ${file} does not exist`, 'ENOENT');
  if (st.isDirectory()) throw new ProvisionError(`template ${file} is a folder, not a file`, 'EISDIR');
  return fileDigest(file);
}

/** What the node holds under the template's name: nothing, or a file and its sha256. */
async function probe(n: NodeTemplate, target: string): Promise<string | undefined> {
  // One round trip tells whether the folder is there and what the final name already holds.
  const out = (await n.remote(`test -d ${shellQuote(n.dir)} || { echo NODIR; exit 0; }; if test -e ${shellQuote(n.final)}; then sha256sum -- ${shellQuote(n.final)}; else echo ABSENT; fi`)).stdout.trim();
  if (out === 'NODIR') throw new ProvisionError(`${target}: template folder ${n.dir} does not exist`, 'ENOENT');
  if (out === 'ABSENT') return undefined;
  return sha256Of(out) ?? '';
}

/** The digest sha256sum printed, if it printed one. */
const sha256Of = (out: string) => /^([0-9a-f]{64})\b/.exec(out)?.[1];

/** What a push does on the node: nothing (the same bytes), upload (no file), or replace (other bytes, force). */
export interface TemplatePlan {
  target: string;
  path: string;
  bytes: number;
  sha256: string;
  action: 'unchanged' | 'upload' | 'replace';
  /** sha256 of what the node holds under that name, when it holds a file. */
  before?: string;
}

/**
 * The one rule for a pushed template, for the push and for check mode alike: the node's file
 * under the template's name against the local bytes; other bytes are refused unless `force`.
 */
async function judgeTemplate(o: PushTemplateOptions, n: NodeTemplate): Promise<TemplatePlan> {
  const local = await localTemplate(o.template);
  const before = await probe(n, o.target);
  const plan = { target: o.target, path: n.final, ...local, ...(before !== undefined ? { before } : {}) };
  if (before === undefined) return { ...plan, action: 'upload' };
  if (before === local.sha256) return { ...plan, action: 'unchanged' };
  if (!o.force) throw new ProvisionError(`${o.target}: ${n.final} holds a different template (force replaces it)`, 'EEXIST', 'force');
  return { ...plan, action: 'replace' };
}

/** What pushTemplate would do, found without changing anything on the node (check mode). */
export async function planTemplatePush(o: PushTemplateOptions): Promise<TemplatePlan> {
  return judgeTemplate(o, nodeTemplate(o));
}

export async function pushTemplate(o: PushTemplateOptions): Promise<PushTemplateResult> {
  return applyTemplatePush(o, await planTemplatePush(o));
}

/** Carries out a plan of planTemplatePush: upload under a temporary name, verify, rename. */
export async function applyTemplatePush(o: PushTemplateOptions, plan: TemplatePlan): Promise<PushTemplateResult> {
  const log = o.log ?? (() => {});
  const n = nodeTemplate(o);
  const { bytes, sha256 } = plan;
  const final = n.final;
  if (plan.action === 'unchanged') {
    log(`${final} on ${n.host} already holds these bytes: nothing to do`);
    return { target: o.target, path: final, bytes, sha256, action: 'unchanged' };
  }
  const temp = path.posix.join(n.dir, `.${path.basename(o.template)}.tmp-${process.pid}-${crypto.randomBytes(4).toString('hex')}`);
  const remoteSha = async (file: string) => sha256Of((await n.remote(`sha256sum -- ${shellQuote(file)}`)).stdout);
  const undo = new Undo('push template', log);
  await undo.guard(async () => {
    undo.step('upload');
    log(`uploading ${o.template} (${bytes} bytes) to ${n.host}:${temp}`);
    undo.add(`temporary file ${temp}`, () => n.remote(`rm -f -- ${shellQuote(temp)}`));
    await runWithStdin('ssh', [...n.sshArgs, `umask 022 && cat > ${shellQuote(temp)}`], fs.createReadStream(o.template) as AsyncIterable<Buffer>, { label: `ssh ${n.host}`, timeoutMs: transferLimitMs(bytes) });
    undo.step('verify');
    const got = await remoteSha(temp);
    if (got !== sha256) throw new ProvisionError(`sha256 on ${n.host} is ${got ?? '(none)'}, expected ${sha256}`, 'EVERIFY');
    undo.step('rename');
    await n.remote(`mv -f -- ${shellQuote(temp)} ${shellQuote(final)}`);
  });
  return { target: o.target, path: final, bytes, sha256, action: 'uploaded' };
}

export interface RemoveTemplateResult {
  target: string;
  path: string;
  removed: boolean;
}

/**
 * Removes the template a push put on the node: the file under the template's name, when it holds
 * the local template's bytes. Another file under that name, or one that cannot be compared because
 * the local template is gone, is refused unless `force`: it may be a template someone else put there.
 */
export async function removeTemplate(o: PushTemplateOptions, check: boolean): Promise<RemoveTemplateResult> {
  const n = nodeTemplate(o);
  const there = await probe(n, o.target);
  if (there === undefined) return { target: o.target, path: n.final, removed: false };
  if (!o.force) {
    if (!fs.existsSync(o.template)) throw new ProvisionError(`${o.target}: ${n.final} cannot be compared with ${o.template}, which is gone (force removes it anyway)`, 'ENOENT', 'force');
    if ((await localTemplate(o.template)).sha256 !== there) throw new ProvisionError(`${o.target}: ${n.final} holds a different template than ${o.template} (force removes it anyway)`, 'EEXIST', 'force');
  }
  if (!check) {
    o.log?.(`removing ${n.final} on ${n.host}`);
    await n.remote(`rm -f -- ${shellQuote(n.final)}`);
  }
  return { target: o.target, path: n.final, removed: true };
}

export type EnsureTemplateResult = { changed: boolean; diff?: { before: Record<string, string | null>; after: Record<string, string> } }
  & (PushTemplateResult | Omit<TemplatePlan, 'before'> | { target: string; path: string });

/**
 * present: the node holds the template's bytes under its name. Check mode decides by the same
 * plan as the push (the sha256 on the node against the local one) and changes nothing.
 */
export async function ensureTemplate(o: PushTemplateOptions, check: boolean): Promise<EnsureTemplateResult> {
  const n = nodeTemplate(o);
  // In check mode an earlier task may not have built the template yet: then it would be uploaded.
  if (check && !fs.existsSync(o.template)) return { changed: true, target: o.target, path: n.final };
  const plan = await planTemplatePush(o);
  const changed = plan.action !== 'unchanged';
  const diff = changed ? { before: { [n.final]: plan.before ?? null }, after: { [n.final]: plan.sha256 } } : undefined;
  const { before: _, ...planned } = plan;
  const r = check ? planned : await applyTemplatePush(o, plan);
  return { changed, ...r, ...(diff ? { diff } : {}) };
}
