// KVM guests as a desired state, for the Ansible modules: `count` guests named as a launch names
// them (NAME, or NAME-1 ... NAME-N), each launched at most once. A second request with the same
// options changes nothing; a different count launches or destroys the difference (exact_count);
// other groups are re-registered, other memory or vCPUs redefined for the next boot; check mode
// answers the plan and changes nothing; absent destroys every guest of that name.
import fs from 'node:fs';
import path from 'node:path';
import { XMLParser } from 'fast-xml-parser';
import { ProvisionError } from '../../errors.js';
import { parseSize } from '../image/size.js';
import { Virsh } from '../../sources/libvirt/virsh.js';
import { openRegistry } from '../../store/registry.js';
import type { RegisteredHost } from '../../records/inventory.js';
import { launchKvm, type LaunchKvmOptions } from './launch.js';
import { destroyKvm, type DestroyKvmResult } from './destroy.js';
import { applyKvmPush, initrdVolume, kernelVolume, planKvmPush, volumeName, type KvmPushPlan, type PushedVolume, type PushKvmOptions, type PushKvmResult, type VolumePlan } from './push.js';
import { readVolume } from '../../sources/libvirt/xml.js';

export type EnsureKvmOptions = LaunchKvmOptions & { registry: NonNullable<LaunchKvmOptions['registry']> };

interface Shape {
  memoryKiB: number;
  vcpus: number;
  groups: string[];
}

export interface GuestsPlan {
  launch: string[];
  destroy: string[];
  /** Guests that stay, with the fields that differ (before and after). */
  update: { name: string; before: Partial<Shape>; after: Partial<Shape> }[];
}

export interface EnsureKvmResult {
  changed: boolean;
  plan: GuestsPlan;
  /** The guests as registered after the request (before it, in check mode). */
  hosts: RegisteredHost[];
  diff?: { before: Record<string, Partial<Shape>>; after: Record<string, Partial<Shape>> };
  destroyed?: DestroyKvmResult[];
}

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The names a launch of `count` gives: NAME alone, or NAME-1 ... NAME-N. */
export function guestNames(name: string, count: number): string[] {
  return count === 1 ? [name] : Array.from({ length: count }, (_, i) => `${name}-${i + 1}`);
}

/** Registered guests of this name on this hypervisor: NAME or NAME-<n>, launched by launch kvm. */
function ours(hosts: RegisteredHost[], name: string, uri: string): RegisteredHost[] {
  const re = new RegExp(`^${escapeRe(name)}(-\\d+)?$`);
  return hosts.filter((h) => h.source === 'kvm' && h.hostvars['kvm_uri'] === uri && re.test(h.name));
}

const xml = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '@', parseTagValue: false });

/** Memory and vCPUs of the definition the next boot uses (a running guest's live values may differ). */
async function shapeOf(v: Virsh, name: string): Promise<Omit<Shape, 'groups'>> {
  const domain = (xml.parse(await v.text(['dumpxml', '--inactive', '--', name])) as { domain?: Record<string, unknown> }).domain ?? {};
  const text = (n: unknown) => (typeof n === 'object' && n !== null ? (n as Record<string, unknown>)['#text'] : n);
  const memory = domain['memory'] as { '@unit'?: string } | string | undefined;
  const unit = typeof memory === 'object' ? memory['@unit'] ?? 'KiB' : 'KiB';
  const kib = Number(text(memory)) * ({ b: 1 / 1024, bytes: 1 / 1024, KiB: 1, k: 1, MiB: 1024, M: 1024, GiB: 1024 ** 2, G: 1024 ** 2 }[unit] ?? NaN);
  return { memoryKiB: kib, vcpus: Number(text(domain['vcpu'])) };
}

async function plan(o: EnsureKvmOptions, v: Virsh, existing: RegisteredHost[]): Promise<GuestsPlan> {
  const wanted = guestNames(o.name, o.count ?? 1);
  const live = new Map<string, RegisteredHost>();
  for (const h of existing) if (await v.domainExists(h.name)) live.set(h.name, h);
  const launch = wanted.filter((n) => !live.has(n));
  for (const n of launch) {
    if (!existing.some((h) => h.name === n) && (await v.domainExists(n)) && !o.adopt) {
      throw new ProvisionError(`a domain named '${n}' already exists on ${o.uri} and was not launched here (adopt: true takes it over)`, 'EEXIST', 'name');
    }
  }
  const destroy = existing.map((h) => h.name).filter((n) => !wanted.includes(n));
  const want: Shape = { memoryKiB: Math.ceil(parseSize(o.memory ?? '256M') / 1024), vcpus: o.vcpus ?? 1, groups: [...o.groups].sort() };
  const update: GuestsPlan['update'] = [];
  for (const n of wanted.filter((w) => live.has(w))) {
    const have: Shape = { ...(await shapeOf(v, n)), groups: [...(live.get(n) as RegisteredHost).groups].sort() };
    const before: Partial<Shape> = {};
    const after: Partial<Shape> = {};
    for (const k of ['memoryKiB', 'vcpus', 'groups'] as const) {
      if (JSON.stringify(have[k]) !== JSON.stringify(want[k])) Object.assign(before, { [k]: have[k] }) && Object.assign(after, { [k]: want[k] });
    }
    if (Object.keys(after).length > 0) update.push({ name: n, before, after });
  }
  return { launch, destroy, update };
}

async function applyUpdates(o: EnsureKvmOptions, v: Virsh, updates: GuestsPlan['update']): Promise<void> {
  for (const u of updates) {
    // The definition changes for the next boot; a running guest is not restarted under its users.
    if (u.after.memoryKiB !== undefined) {
      await v.call(['setmaxmem', '--config', '--', u.name, `${u.after.memoryKiB}KiB`]);
      await v.call(['setmem', '--config', '--', u.name, `${u.after.memoryKiB}KiB`]);
    }
    if (u.after.vcpus !== undefined) {
      await v.call(['setvcpus', '--config', '--maximum', '--', u.name, String(u.after.vcpus)]);
      await v.call(['setvcpus', '--config', '--', u.name, String(u.after.vcpus)]);
    }
  }
  if (updates.some((u) => u.after.groups !== undefined)) {
    const registry = await openRegistry(o.registry);
    try {
      for (const u of updates) {
        const entry = u.after.groups && (await registry.get(u.name));
        if (entry) await registry.register({ ...entry, groups: o.groups, registeredAt: Date.now() });
      }
    } finally {
      await registry.close();
    }
  }
}

async function registered(o: Pick<EnsureKvmOptions, 'registry' | 'name' | 'uri'>): Promise<RegisteredHost[]> {
  const registry = await openRegistry(o.registry);
  try {
    return ours(await registry.list(), o.name, o.uri);
  } finally {
    await registry.close();
  }
}

function diffOf(p: GuestsPlan): EnsureKvmResult['diff'] {
  const before: Record<string, Partial<Shape>> = {};
  const after: Record<string, Partial<Shape>> = {};
  for (const n of p.destroy) before[n] = {};
  for (const n of p.launch) after[n] = {};
  for (const u of p.update) {
    before[u.name] = u.before;
    after[u.name] = u.after;
  }
  return { before, after };
}

export async function ensureKvmGuests(o: EnsureKvmOptions, check: boolean): Promise<EnsureKvmResult> {
  const v = new Virsh(o.uri);
  const existing = await registered(o);
  const p = await plan(o, v, existing);
  const changed = p.launch.length + p.destroy.length + p.update.length > 0;
  if (check || !changed) return { changed, plan: p, hosts: existing, ...(changed ? { diff: diffOf(p) } : {}) };
  if (p.launch.length > 0) {
    // A registered guest whose domain is gone is cleaned up (its overlay, its entry) and launched anew.
    for (const h of existing.filter((e) => p.launch.includes(e.name))) await destroyKvm({ uri: o.uri, name: h.name, registry: o.registry, ...(o.log ? { log: o.log } : {}) });
    // One launch of the whole count: it numbers addresses and ports by position and undoes all it
    // made if any guest fails; the guests already there are adopted (re-registered), not touched.
    await launchKvm({ ...o, adopt: true });
  }
  await applyUpdates(o, v, p.update.filter((u) => !p.launch.includes(u.name)));
  const destroyed: DestroyKvmResult[] = [];
  for (const n of p.destroy) destroyed.push(await destroyKvm({ uri: o.uri, name: n, registry: o.registry, ...(o.log ? { log: o.log } : {}) }));
  return { changed, plan: p, hosts: await registered(o), diff: diffOf(p), destroyed };
}

/** Destroys every guest registered under this name (NAME, NAME-<n>) on this hypervisor. */
export async function removeKvmGuests(o: Pick<EnsureKvmOptions, 'uri' | 'name' | 'registry' | 'log'>, check: boolean): Promise<EnsureKvmResult> {
  const existing = await registered(o);
  const p: GuestsPlan = { launch: [], destroy: existing.map((h) => h.name), update: [] };
  const changed = p.destroy.length > 0;
  if (check || !changed) return { changed, plan: p, hosts: existing, ...(changed ? { diff: diffOf(p) } : {}) };
  const destroyed: DestroyKvmResult[] = [];
  for (const n of p.destroy) destroyed.push(await destroyKvm({ uri: o.uri, name: n, registry: o.registry, ...(o.log ? { log: o.log } : {}) }));
  return { changed, plan: p, hosts: [], diff: diffOf(p), destroyed };
}

/** The volumes a push of `image` as `volume` makes: the image, and its kernel and initrd when pushed. */
function pushedVolumes(volume: string): string[] {
  return [volume, kernelVolume(volume), initrdVolume(volume)];
}

export interface EnsurePushResult extends Partial<Omit<PushKvmResult, 'image' | 'kernel' | 'initrd'>> {
  changed: boolean;
  /** Each volume as pushed; in check mode as planned, action then upload, replace or unchanged. */
  image?: PushedVolume | PlannedVolume;
  kernel?: PushedVolume | PlannedVolume;
  initrd?: PushedVolume | PlannedVolume;
  /** The volumes whose bytes change: sha256 and size before and after. */
  diff?: { before: Record<string, { sha256: string; bytes: number } | null>; after: Record<string, { sha256: string; bytes: number }> };
}

type PlannedVolume = Pick<VolumePlan, 'volume' | 'bytes' | 'sha256' | 'action'>;

function pushDiff(plan: KvmPushPlan): EnsurePushResult['diff'] {
  const changing = [plan.image, plan.kernel, plan.initrd].filter((p): p is VolumePlan => p !== undefined && p.action !== 'unchanged');
  if (changing.length === 0) return undefined;
  return {
    before: Object.fromEntries(changing.map((p) => [p.volume, p.before ?? null])),
    after: Object.fromEntries(changing.map((p) => [p.volume, { sha256: p.sha256, bytes: p.bytes }])),
  };
}

/**
 * present: the image's volumes hold its bytes. Check mode decides by the same plan as the push
 * (the bytes compared, other bytes refused without force) and uploads nothing.
 */
export async function ensurePushed(o: PushKvmOptions, check: boolean): Promise<EnsurePushResult> {
  // In check mode an earlier task may not have built the image yet: then it would be uploaded.
  if (check && !fs.existsSync(o.image)) return { changed: true, uri: o.uri, pool: o.pool, image: { volume: volumeName(o), bytes: 0, sha256: '', action: 'upload' } };
  const plan = await planKvmPush(o);
  const diff = pushDiff(plan);
  const changed = plan.createPool || diff !== undefined;
  if (check) {
    const planned = (p: VolumePlan | undefined) => p && { volume: p.volume, bytes: p.bytes, sha256: p.sha256, action: p.action };
    const kernel = planned(plan.kernel);
    const initrd = planned(plan.initrd);
    return { changed, uri: plan.uri, pool: plan.pool, poolCreated: plan.createPool, format: plan.format, image: planned(plan.image), ...(kernel ? { kernel } : {}), ...(initrd ? { initrd } : {}), ...(diff ? { diff } : {}) };
  }
  return { changed, ...(await applyKvmPush(o, plan)), ...(diff ? { diff } : {}) };
}

/**
 * absent: the image volume and its kernel and initrd volumes deleted, refused while a guest's
 * overlay is built on the image (destroy the guests first). The pool stays.
 */
export async function removePushed(o: Pick<PushKvmOptions, 'uri' | 'pool' | 'image' | 'volume' | 'log'>, check: boolean): Promise<{ changed: boolean; deleted: string[] }> {
  const v = new Virsh(o.uri);
  if (!(await v.poolExists(o.pool))) return { changed: false, deleted: [] };
  const present: string[] = [];
  for (const vol of pushedVolumes(volumeName(o))) if (await v.volumeExists(o.pool, vol)) present.push(vol);
  if (present.includes(volumeName(o))) {
    const base = await v.volumePath(o.pool, volumeName(o));
    const names = (await v.text(['vol-list', '--pool', o.pool])).split('\n').map((l) => l.trim().split(/\s+/)[0] ?? '').filter(Boolean);
    for (const n of names) {
      if (n === volumeName(o)) continue;
      const backing = readVolume(await v.text(['vol-dumpxml', '--pool', o.pool, '--', n])).backingPath;
      if (backing === base) throw new ProvisionError(`volume '${n}' in pool '${o.pool}' is built on '${volumeName(o)}': remove its guest first`, 'EBUSY', 'volume');
    }
  }
  if (!check) {
    for (const vol of present) {
      o.log?.(`deleting volume ${o.pool}/${vol}`);
      await v.call(['vol-delete', '--pool', o.pool, '--', vol]);
    }
  }
  return { changed: present.length > 0, deleted: present };
}
