// EC2 instances and AMIs as a desired state, for the Ansible modules. Instances are known by their
// Name tag in a region (as amazon.aws ec2_instance knows them by name): `count` of them exist
// after a request (exact_count: the difference is launched or terminated), a second request with
// the same options changes nothing, other groups are re-registered, check mode answers the plan
// and changes nothing, absent terminates them all. An AMI is known by its name: present pushes
// unless the AMI of that name holds the same disk (by digest, in check mode too), absent deregisters
// it and deletes its snapshot.
import fs from 'node:fs';
import { DescribeInstancesCommand } from '@aws-sdk/client-ec2';
import { ProvisionError } from '../../errors.js';
import { openRegistry } from '../../store/registry.js';
import type { RegisteredHost } from '../../records/inventory.js';
import { awsFailure } from './clients.js';
import { ec2Client } from './clients.js';
import { destroyEc2, destroyImage, type Ec2DestroyResult } from './destroy.js';
import { launchEc2, type Ec2LaunchOptions } from './launch.js';
import { findImageByName, planEc2Push, pushEc2, type Ec2PushOptions, type Ec2PushResult } from './push.js';

export interface InstancesPlan {
  launch: number;
  terminate: string[];
  /** Instances that stay, whose groups change. */
  update: { name: string; before: { groups: string[] }; after: { groups: string[] } }[];
}

export interface EnsureEc2Result {
  changed: boolean;
  plan: InstancesPlan;
  /** The instances as registered after the request (before it, in check mode). */
  hosts: RegisteredHost[];
  diff?: { before: Record<string, unknown>; after: Record<string, unknown> };
  terminated?: Ec2DestroyResult;
}

/** The Name tag that identifies the instances of a desired state. */
function nameOf(o: Pick<Ec2LaunchOptions, 'tags'>): string {
  const name = o.tags?.['Name'];
  if (!name) throw new ProvisionError('instances as a desired state are known by their Name tag: give tags.Name', 'EUSAGE', 'tags');
  return name;
}

/** Registered instances of that Name in the region that EC2 still runs (or can run again). */
async function current(o: Ec2LaunchOptions, check: boolean): Promise<RegisteredHost[]> {
  const name = nameOf(o);
  const registry = await openRegistry(o.settings);
  try {
    const ours = (await registry.list()).filter((h) => h.source === 'ec2' && h.hostvars['ec2_region'] === o.region && h.hostvars['ec2_tag_Name'] === name && typeof h.hostvars['ec2_id'] === 'string');
    if (ours.length === 0) return [];
    const ec2 = ec2Client(o.region, o.clients?.ec2, undefined, o.timeouts);
    const ids = ours.map((h) => h.hostvars['ec2_id'] as string);
    const out = await ec2.send(new DescribeInstancesCommand({ InstanceIds: ids })).catch((err: unknown) => {
      throw awsFailure(`DescribeInstances of ${ids.join(', ')}`, o.region, err);
    });
    const alive = new Set((out.Reservations ?? []).flatMap((r) => r.Instances ?? [])
      .filter((i) => !['terminated', 'shutting-down'].includes(i.State?.Name ?? '')).map((i) => i.InstanceId));
    // An entry whose instance is gone (terminated elsewhere) is stale: it goes, and counts for nothing.
    for (const h of ours) if (!alive.has(h.hostvars['ec2_id'] as string) && !check) await registry.deregister(h.name);
    return ours.filter((h) => alive.has(h.hostvars['ec2_id'] as string));
  } finally {
    await registry.close();
  }
}

function planFor(o: Ec2LaunchOptions, live: RegisteredHost[]): InstancesPlan {
  const count = o.count ?? 1;
  const sorted = [...live].sort((a, b) => a.registeredAt - b.registeredAt || a.name.localeCompare(b.name));
  // The newest go first when there are too many: the oldest have had their configuration longest.
  const terminate = sorted.slice(count).map((h) => h.hostvars['ec2_id'] as string);
  const want = [...o.groups].sort();
  const update = sorted.slice(0, count)
    .filter((h) => JSON.stringify([...h.groups].sort()) !== JSON.stringify(want))
    .map((h) => ({ name: h.name, before: { groups: [...h.groups].sort() }, after: { groups: want } }));
  return { launch: Math.max(0, count - live.length), terminate, update };
}

function diffOf(p: InstancesPlan, live: RegisteredHost[]): EnsureEc2Result['diff'] {
  const before: Record<string, unknown> = {};
  const after: Record<string, unknown> = {};
  for (const id of p.terminate) before[live.find((h) => h.hostvars['ec2_id'] === id)?.name ?? id] = { instance: id };
  for (let i = 0; i < p.launch; i++) after[`(new instance ${i + 1})`] = {};
  for (const u of p.update) {
    before[u.name] = u.before;
    after[u.name] = u.after;
  }
  return { before, after };
}

async function ours(o: Ec2LaunchOptions): Promise<RegisteredHost[]> {
  const name = nameOf(o);
  const registry = await openRegistry(o.settings);
  try {
    return (await registry.list()).filter((h) => h.source === 'ec2' && h.hostvars['ec2_region'] === o.region && h.hostvars['ec2_tag_Name'] === name);
  } finally {
    await registry.close();
  }
}

export async function ensureEc2Instances(o: Ec2LaunchOptions, check: boolean): Promise<EnsureEc2Result> {
  const live = await current(o, check);
  const p = planFor(o, live);
  const changed = p.launch > 0 || p.terminate.length > 0 || p.update.length > 0;
  if (check || !changed) return { changed, plan: p, hosts: live, ...(changed ? { diff: diffOf(p, live) } : {}) };
  if (p.launch > 0) await launchEc2({ ...o, count: p.launch });
  const terminated = p.terminate.length > 0
    ? await destroyEc2({ region: o.region, instanceIds: p.terminate, settings: o.settings, ...(o.waitSeconds !== undefined ? { waitSeconds: o.waitSeconds } : {}), ...(o.clients ? { clients: o.clients } : {}), ...(o.timeouts ? { timeouts: o.timeouts } : {}), ...(o.log ? { log: o.log } : {}) })
    : undefined;
  if (p.update.length > 0) {
    const registry = await openRegistry(o.settings);
    try {
      for (const u of p.update) {
        const entry = await registry.get(u.name);
        if (entry) await registry.register({ ...entry, groups: o.groups, registeredAt: entry.registeredAt });
      }
    } finally {
      await registry.close();
    }
  }
  return { changed, plan: p, hosts: await ours(o), diff: diffOf(p, live), ...(terminated ? { terminated } : {}) };
}

export async function removeEc2Instances(o: Ec2LaunchOptions, check: boolean): Promise<EnsureEc2Result> {
  const live = await current(o, check);
  const p: InstancesPlan = { launch: 0, terminate: live.map((h) => h.hostvars['ec2_id'] as string), update: [] };
  const changed = p.terminate.length > 0;
  if (check || !changed) return { changed, plan: p, hosts: live, ...(changed ? { diff: diffOf(p, live) } : {}) };
  const terminated = await destroyEc2({ region: o.region, instanceIds: p.terminate, settings: o.settings, ...(o.waitSeconds !== undefined ? { waitSeconds: o.waitSeconds } : {}), ...(o.clients ? { clients: o.clients } : {}), ...(o.timeouts ? { timeouts: o.timeouts } : {}), ...(o.log ? { log: o.log } : {}) });
  return { changed, plan: p, hosts: [], diff: diffOf(p, live), terminated };
}

export type EnsureAmiResult = { changed: boolean; diff?: { before: Record<string, unknown>; after: Record<string, unknown> } }
  & (Partial<Ec2PushResult> | { imageId?: string; snapshotId?: string; deregistered?: boolean });

/**
 * present: pushed unless the AMI of this name holds the same disk (its digest tag against the local
 * disk's). Check mode decides by the same rule as the push (planEc2Push) and uploads nothing.
 */
export async function ensureAmi(o: Ec2PushOptions, check: boolean): Promise<EnsureAmiResult> {
  // In check mode an earlier task may not have built the image yet: then it would be pushed.
  if (check && !fs.existsSync(o.image)) return { changed: true, name: o.name };
  const plan = check ? await planEc2Push(o) : undefined;
  if (plan) {
    const diskSha256 = plan.scan.diskSha256;
    return plan.existing
      ? { changed: false, name: o.name, imageId: plan.existing.imageId, snapshotId: plan.existing.snapshotId ?? '', reused: true, diskSha256 }
      : { changed: true, name: o.name, diskSha256, diff: amiDiff(o.name, diskSha256) };
  }
  const r = await pushEc2(o);
  return { changed: !r.reused, ...r, ...(r.reused ? {} : { diff: amiDiff(o.name, r.diskSha256) }) };
}

const amiDiff = (name: string, diskSha256: string) => ({ before: { [name]: null }, after: { [name]: { diskSha256 } } });

/** absent: the AMI of this name deregistered and its snapshot deleted; nothing when there is none. */
export async function removeAmi(o: Pick<Ec2PushOptions, 'region' | 'name' | 'clients' | 'timeouts' | 'log'>, check: boolean): Promise<EnsureAmiResult> {
  const ec2 = ec2Client(o.region, o.clients?.ec2, undefined, o.timeouts);
  const found = await findImageByName(ec2, o.region, o.name);
  if (!found) return { changed: false, name: o.name };
  if (check) return { changed: true, name: o.name, imageId: found.imageId };
  const r = await destroyImage(ec2, o.region, o.name, o.log);
  return { changed: r.deregistered, name: o.name, ...r };
}
