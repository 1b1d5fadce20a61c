// Identity at launch, the cloud way: cloud-init's NoCloud seed (meta-data, user-data,
// network-config on a volume labelled `cidata`) for KVM guests, and the same user-data as EC2
// UserData. Users' files are checked before anything is launched: a private key given where a
// public one belongs is refused and never copied, and user-data must be a cloud-config mapping or
// a script, the two forms cloud-init runs.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import { ProvisionError, errnoOf } from '../errors.js';
import { requireTools, run } from '../run.js';

export type CloudConfig = Record<string, unknown>;

export type UserData = { kind: 'cloud-config'; config: CloudConfig } | { kind: 'script'; text: string };

export interface IdentityOptions {
  /** The login user Ansible uses; it gets the keys and passwordless sudo. */
  user?: string;
  /** Public key lines (from readSshPublicKey). */
  sshKeys: readonly string[];
  /** A crypt(3) hash (e.g. from `mkpasswd -m sha-512`) for console logins; never a plain password. */
  passwordHash?: string;
  /** The user's own user-data, merged with (cloud-config) or run after (script) ours. */
  userData?: UserData;
}

export interface SeedNetwork {
  /** ADDR/PREFIX; without it the guest asks DHCP. */
  address?: string;
  /**
   * The NIC's MAC address, which the configuration is matched by: cloud-init's ifupdown renderer
   * (Debian's) names the interface after the v2 key unless a MAC lets it look the real name up.
   */
  mac?: string;
  gateway?: string;
  nameservers?: readonly string[];
}

export interface SeedOptions extends IdentityOptions {
  /** Guest name: local-hostname, and the stem of the instance id. */
  hostname: string;
  /** Default: `iid-HOSTNAME-RANDOM`, new per launch so cloud-init treats each guest as new. */
  instanceId?: string;
  network?: SeedNetwork;
}

export const DEFAULT_USER = 'ansible';

const KEY_TYPES = /^(ssh-(rsa|dss|ed25519)|ecdsa-sha2-nistp(256|384|521)|sk-ssh-ed25519@openssh\.com|sk-ecdsa-sha2-nistp256@openssh\.com)$/;
const userRe = /^[a-z_][a-z0-9_-]{0,31}$/;
const hostnameRe = /^(?=.{1,63}$)[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?$/;
const cryptRe = /^\$(1|5|6|y|gy|7|2[abxy]?)\$[./A-Za-z0-9$=,]{8,}$/;

/**
 * Reads an OpenSSH public key file (one key a line, comments allowed). A private key, or anything
 * that is not a public key, is refused with its path only: its content goes nowhere.
 */
export function readSshPublicKey(file: string): string[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new ProvisionError(`SSH public key ${file}: cannot read it (${errnoOf(err) ?? String(err)})`, 'ENOENT', 'sshKey');
  }
  if (/-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----|PuTTY-User-Key-File/.test(text)) {
    throw new ProvisionError(`SSH public key ${file} is a private key: give the public key (${file.endsWith('.pub') ? 'the .pub file' : `${file}.pub`}); nothing was copied`, 'EPRIVATEKEY', 'sshKey');
  }
  const keys: string[] = [];
  for (const [i, raw] of text.split('\n').entries()) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const [type, blob] = line.split(/\s+/);
    if (!KEY_TYPES.test(type ?? '') || !/^[A-Za-z0-9+/]+={0,3}$/.test(blob ?? '') || !keyBlobMatches(type!, blob!)) {
      throw new ProvisionError(`SSH public key ${file}: line ${i + 1} is not an OpenSSH public key (expected "ssh-ed25519 AAAA... comment")`, 'EBADKEY', 'sshKey');
    }
    keys.push(line);
  }
  if (keys.length === 0) throw new ProvisionError(`SSH public key ${file}: no public key in it`, 'EBADKEY', 'sshKey');
  return keys;
}

/** The key blob starts with its own type name, which catches a truncated or mangled paste. */
function keyBlobMatches(type: string, blob: string): boolean {
  const b = Buffer.from(blob, 'base64');
  if (b.length < 4) return false;
  const n = b.readUInt32BE(0);
  return b.subarray(4, 4 + n).toString('latin1') === type;
}

/** Classifies user-data: a `#cloud-config` YAML mapping, or a script (`#!`). Anything else is refused. */
export function parseUserData(text: string, source = 'user-data', field?: string): UserData {
  if (text.startsWith('#!')) return { kind: 'script', text };
  if (/^#cloud-config[ \t]*\r?\n/.test(text) || text.trim() === '#cloud-config') {
    let doc: unknown;
    try {
      doc = YAML.parse(text, { uniqueKeys: true });
    } catch (err) {
      const first = (err as Error).message.split('\n')[0];
      throw new ProvisionError(`${source}: #cloud-config is not valid YAML: ${first}`, 'EUSERDATA', field);
    }
    if (doc === null || doc === undefined) return { kind: 'cloud-config', config: {} };
    if (typeof doc !== 'object' || Array.isArray(doc)) throw new ProvisionError(`${source}: #cloud-config must be a YAML mapping (key: value), not a ${Array.isArray(doc) ? 'list' : typeof doc}`, 'EUSERDATA', field);
    return { kind: 'cloud-config', config: doc as CloudConfig };
  }
  throw new ProvisionError(`${source} is neither a cloud-config (first line "#cloud-config") nor a script (first line "#!")`, 'EUSERDATA', field);
}

export function readUserData(file: string): UserData {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new ProvisionError(`user-data ${file}: cannot read it (${errnoOf(err) ?? String(err)})`, 'ENOENT', 'userData');
  }
  return parseUserData(text, `user-data ${file}`, 'userData');
}

export function checkPasswordHash(hash: string): string {
  if (!cryptRe.test(hash)) throw new ProvisionError('password hash: expected a crypt(3) hash such as the output of "mkpasswd -m sha-512", never a plain password', 'EUSAGE', 'passwordHash');
  return hash;
}

/** The identity options of a launch, KVM or EC2 alike: files named, not yet read. */
export interface IdentityFiles {
  /** Public key file for the login user. */
  sshKey?: string;
  /** Login user (default `ansible`). */
  user?: string;
  /** The user's own user-data file. */
  userData?: string;
  /** crypt(3) hash of the login user's console password. */
  passwordHash?: string;
}

/** A launch's identity, read and checked: what the user-data is made of, and who Ansible logs in as. */
export interface LaunchIdentity extends IdentityOptions {
  /** The login user, registered as ansible_user; undefined with user-data alone (it makes its own users). */
  ansibleUser?: string;
}

/** A login user or password is made only beside a key: without one, nobody could log in as it. */
function checkLoginNeedsKey(o: { user?: string | undefined; passwordHash?: string | undefined }): void {
  if (o.user !== undefined || o.passwordHash !== undefined) {
    throw new ProvisionError('a login user or password hash needs an SSH public key (sshKey)', 'EUSAGE', o.user !== undefined ? 'user' : 'passwordHash');
  }
}

/**
 * The one identity builder of every launch: reads and checks the user's files before anything is
 * launched (a private key or bad user-data costs nothing, and a private key's content goes nowhere,
 * not even into the error). Undefined when no cloud-init identity was asked for.
 */
export function readIdentity(o: IdentityFiles): LaunchIdentity | undefined {
  if (o.sshKey === undefined) {
    checkLoginNeedsKey(o);
    if (o.userData === undefined) return undefined;
  }
  const sshKeys = o.sshKey !== undefined ? readSshPublicKey(o.sshKey) : [];
  return {
    sshKeys,
    ...(o.user !== undefined ? { user: o.user } : {}),
    ...(o.userData !== undefined ? { userData: readUserData(o.userData) } : {}),
    ...(o.passwordHash !== undefined ? { passwordHash: checkPasswordHash(o.passwordHash) } : {}),
    ...(sshKeys.length > 0 ? { ansibleUser: o.user ?? DEFAULT_USER } : {}),
  };
}

/**
 * Ours, then the user's: mappings merge key by key, lists are concatenated (their users, packages,
 * runcmd come after ours), and on any other conflict the user's value wins.
 */
export function mergeCloudConfig(base: CloudConfig, extra: CloudConfig): CloudConfig {
  const out: CloudConfig = { ...base };
  for (const [k, v] of Object.entries(extra)) {
    const b = out[k];
    if (Array.isArray(b) && Array.isArray(v)) out[k] = [...b, ...v];
    else if (isMapping(b) && isMapping(v)) out[k] = mergeCloudConfig(b, v);
    else out[k] = v;
  }
  return out;
}

function isMapping(v: unknown): v is CloudConfig {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Our cloud-config: the login user with its keys and sudo, /etc/hosts naming the guest, no locale step. */
export function identityConfig(o: IdentityOptions): CloudConfig {
  const user = o.user ?? DEFAULT_USER;
  if (!userRe.test(user)) throw new ProvisionError(`login user ${JSON.stringify(user)}: expected a login name (lower-case letters, digits, _ and -)`, 'EUSAGE', 'user');
  if (o.sshKeys.length === 0) {
    // User-data alone: the user's own cloud-config makes the users; we only name the guest in /etc/hosts.
    checkLoginNeedsKey({ user: o.user, passwordHash: o.passwordHash });
    return { manage_etc_hosts: true };
  }
  const entry: CloudConfig = {
    name: user,
    groups: ['sudo'],
    shell: '/bin/bash',
    sudo: 'ALL=(ALL) NOPASSWD:ALL',
    ssh_authorized_keys: [...o.sshKeys],
    lock_passwd: o.passwordHash === undefined,
    ...(o.passwordHash !== undefined ? { passwd: checkPasswordHash(o.passwordHash) } : {}),
  };
  return {
    users: [entry],
    // sudo warns "unable to resolve host" without an /etc/hosts line for the guest's name.
    manage_etc_hosts: true,
    ssh_pwauth: false,
    disable_root: true,
  };
}

/** The user-data document: one #cloud-config, or a MIME multipart when the user's is a script. */
export function userDataText(o: IdentityOptions): string {
  let config = identityConfig(o);
  if (o.userData?.kind === 'cloud-config') config = mergeCloudConfig(config, o.userData.config);
  const doc = `#cloud-config\n${YAML.stringify(config, { lineWidth: 0 })}`;
  if (o.userData?.kind !== 'script') return doc;
  // cloud-init runs each part of a multipart user-data by its type: the config, then the script.
  const boundary = `==ec2inv-${crypto.randomBytes(8).toString('hex')}==`;
  const part = (type: string, name: string, body: string) =>
    `--${boundary}\nContent-Type: ${type}; charset="utf-8"\nMIME-Version: 1.0\nContent-Transfer-Encoding: 7bit\nContent-Disposition: attachment; filename="${name}"\n\n${body.endsWith('\n') ? body : body + '\n'}`;
  return [
    `Content-Type: multipart/mixed; boundary="${boundary}"`,
    'MIME-Version: 1.0',
    '',
    part('text/cloud-config', 'cloud-config.yaml', doc) + part('text/x-shellscript', 'user-script', o.userData.text) + `--${boundary}--`,
    '',
  ].join('\n');
}

/**
 * network-config (version 2) for the NIC with this MAC: the static address when given, else DHCP.
 * Seeds without one leave the network to cloud-init's fallback, which asks DHCP on the first NIC.
 */
export function networkConfig(n: SeedNetwork & { mac: string }): string {
  if (!/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/.test(n.mac)) throw new ProvisionError(`MAC address ${JSON.stringify(n.mac)}: expected six lower-case hex pairs`, 'EUSAGE');
  const match = { macaddress: n.mac };
  if (n.address === undefined) return YAML.stringify({ version: 2, ethernets: { primary: { match, dhcp4: true } } });
  if (!/^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/.test(n.address)) throw new ProvisionError(`address ${JSON.stringify(n.address)}: expected ADDR/PREFIX`, 'EUSAGE');
  return YAML.stringify({
    version: 2,
    ethernets: {
      primary: {
        match,
        addresses: [n.address],
        ...(n.gateway ? { gateway4: n.gateway } : {}),
        ...(n.nameservers?.length ? { nameservers: { addresses: [...n.nameservers] } } : {}),
      },
    },
  });
}

export function metaData(hostname: string, instanceId: string): string {
  return YAML.stringify({ 'instance-id': instanceId, 'local-hostname': hostname });
}

export interface SeedFiles {
  'meta-data': string;
  'user-data': string;
  'network-config'?: string;
}

export function seedFiles(o: SeedOptions): SeedFiles {
  if (!hostnameRe.test(o.hostname)) throw new ProvisionError(`guest name ${JSON.stringify(o.hostname)} cannot be a hostname (letters, digits and -, at most 63)`, 'EUSAGE');
  const instanceId = o.instanceId ?? `iid-${o.hostname}-${crypto.randomBytes(4).toString('hex')}`;
  const net = o.network;
  if (net?.address !== undefined && net.mac === undefined) throw new ProvisionError('a static address in the seed needs the NIC\'s MAC address', 'EUSAGE');
  return {
    'meta-data': metaData(o.hostname, instanceId),
    'user-data': userDataText(o),
    ...(net?.mac !== undefined ? { 'network-config': networkConfig({ ...net, mac: net.mac }) } : {}),
  };
}

/** genisoimage, else xorriso (its mkisofs mode): both Debian packages; whichever is installed. */
function isoTool(): 'genisoimage' | 'xorriso' {
  for (const t of ['genisoimage', 'xorriso'] as const) {
    try {
      requireTools([t]);
      return t;
    } catch {
      // try the next one
    }
  }
  throw new ProvisionError('genisoimage not found: apt-get install genisoimage (or xorriso)', 'ETOOLMISSING');
}

/**
 * Writes the NoCloud seed as an ISO 9660 image labelled `cidata` (what cloud-init looks for) to
 * `out`, mode 0600 since user-data may hold a password hash.
 */
export async function buildSeedIso(files: SeedFiles, out: string): Promise<void> {
  const tool = isoTool();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ec2inv-seed-'));
  try {
    const names = (Object.keys(files) as (keyof SeedFiles)[]).filter((n) => files[n] !== undefined);
    for (const n of names) fs.writeFileSync(path.join(dir, n), files[n]!, { mode: 0o600 });
    const common = ['-volid', 'cidata', '-joliet', '-rock', '-quiet', '-output', out, ...names.map((n) => path.join(dir, n))];
    await run(tool, tool === 'xorriso' ? ['-as', 'mkisofs', ...common] : common, { timeoutMs: 60_000 });
    fs.chmodSync(out, 0o600);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
