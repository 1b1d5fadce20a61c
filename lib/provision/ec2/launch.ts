// Launches tagged instances from an AMI and registers them into the inventory groups asked for.
// Either the whole call succeeds, or nothing it started is left running or registered.
import crypto from 'node:crypto';
import {
  DescribeInstancesCommand,
  RunInstancesCommand,
  TerminateInstancesCommand,
  waitForInstanceRunning,
  type DescribeInstancesCommandOutput,
  type EC2Client,
  type Instance,
  type Tag,
} from '@aws-sdk/client-ec2';
import type { Settings } from '../../settings/read.js';
import { ec2Attribute } from '../../records/aws.js';
import { to_safe } from '../../ec2py/groups.js';
import { openRegistry, validateHost, type Registry, type RegistrySettings } from '../../store/registry.js';
import type { RegisteredValue } from '../../records/inventory.js';
import { type RegisteredHost } from '../../records/inventory.js';
import { readIdentity, userDataText, type IdentityFiles } from '../cloudinit.js';
import { ProvisionError } from '../../errors.js';
import { keyValues } from '../../settings/keyValue.js';
import { parseGroups } from '../hosts.js';
import { TAG_GROUPS, awsCode, awsFailure, ec2Client, waitFor, waitUntil, type CallTimeouts, type Ec2Clients } from './clients.js';
import { setupProblem } from '../../sources/aws/errors.js';
import { Undo } from '../undo.js';

export { parseGroups };

/** What launch needs from ec2.ini: where the registry lives and how the inventory names hosts. */
export type LaunchSettings = RegistrySettings & Pick<Settings, 'destinationVariable' | 'vpcDestinationVariable'>;

export interface Ec2LaunchOptions {
  region: string;
  ami: string;
  instanceType: string;
  count?: number;
  subnet?: string;
  /** Ids (sg-...) or names; names only work outside a VPC subnet, as in the EC2 API. */
  securityGroups?: string[];
  keyName?: string;
  /**
   * cloud-init identity, sent as UserData: the same cloud-config a KVM guest's seed carries (the
   * login user with this public key file and sudo, manage_etc_hosts), merged with `userData`.
   */
  sshKey?: string;
  /** Login user (default `ansible`), registered as ansible_user. */
  user?: string;
  /** The user's own user-data file: #cloud-config (merged) or a script (#!). */
  userData?: string;
  passwordHash?: string;
  /** Inventory groups the instances join (registry entry and the ec2-inventory:groups tag). */
  groups: string[];
  tags?: Record<string, string>;
  /** Seconds to wait until every instance is running with an address (default 600). */
  waitSeconds?: number;
  pollMs?: number;
  /**
   * Idempotence token for RunInstances (default: a fresh UUID). The SDK's own retries resend the
   * same token, so a retried call never launches twice; pass your own to make reruns idempotent.
   */
  clientToken?: string;
  settings: LaunchSettings;
  clients?: Ec2Clients;
  /** Per-attempt bounds of every AWS call (connect_timeout, request_timeout). */
  timeouts?: CallTimeouts;
  log?: (message: string) => void;
}

export interface LaunchedHost {
  instanceId: string;
  /** The inventory host name (also the registry name). */
  name: string;
  publicIp: string | undefined;
  privateIp: string | undefined;
}

export interface Ec2LaunchResult {
  region: string;
  ami: string;
  clientToken: string;
  groups: string[];
  instances: LaunchedHost[];
}

/** `key=value` strings into tags; the value may hold `=`, the key may not be empty. */
export function parseTags(pairs: readonly string[]): Record<string, string> {
  return keyValues(pairs, (why) => new ProvisionError(`tags: ${why}`, 'EUSAGE', 'tags'));
}

/** The name the inventory gives this instance (ec2.py's destination rule), else its public or private IP. */
export function inventoryName(instance: Instance, region: string, settings: Pick<Settings, 'destinationVariable' | 'vpcDestinationVariable'>): string | undefined {
  const variable = instance.SubnetId ? settings.vpcDestinationVariable : settings.destinationVariable;
  const dest = ec2Attribute({ instance, region }, variable);
  if (typeof dest === 'string' && dest !== '') return dest;
  return instance.PublicIpAddress || instance.PrivateIpAddress || undefined;
}

export function launchTags(opts: Pick<Ec2LaunchOptions, 'tags' | 'groups'>): Tag[] {
  const tags: Record<string, string> = { ...(opts.tags ?? {}), [TAG_GROUPS]: opts.groups.join(',') };
  return Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));
}

/**
 * Launches, waits, registers; on any failure, or a signal (interrupt.ts), terminates what it
 * launched and registers nothing.
 */
export async function launchEc2(opts: Ec2LaunchOptions): Promise<Ec2LaunchResult> {
  const { region } = opts;
  const count = opts.count ?? 1;
  if (!Number.isInteger(count) || count < 1) throw new ProvisionError(`count must be a positive integer, not ${count}`, 'EUSAGE', 'count');
  const groups = parseGroups(opts.groups);
  // The user's files are checked before any call: a private key or bad user-data costs nothing.
  const identity = launchIdentity(opts);
  const ec2 = ec2Client(region, opts.clients?.ec2, undefined, opts.timeouts);
  const token = opts.clientToken ?? crypto.randomUUID();
  const tags = launchTags({ ...opts, groups });
  // Opened before anything is launched: an unusable registry should cost no instance.
  const registry = await openRegistry(opts.settings);
  const undo = new Undo('launch', opts.log ?? (() => {}));
  const terminate = (ids: string[]) => undo.add(`instances ${ids.join(', ')} in ${region}`, () => ec2.send(new TerminateInstancesCommand({ InstanceIds: ids })));
  try {
    return await undo.guard(() => launchAndRegister(opts, { ec2, registry, undo, terminate, token, tags, groups, count, ...identity }));
  } finally {
    await registry.close();
  }
}

interface LaunchContext {
  ec2: EC2Client;
  registry: Registry;
  undo: Undo;
  /** Records instances as launched by this call: terminated if anything later fails. */
  terminate: (ids: string[]) => void;
  token: string;
  tags: Tag[];
  groups: string[];
  count: number;
  userData?: string;
  ansibleUser?: string;
}

/** UserData (plain text; base64 is added when sent) and the login user, from the identity options. */
export function launchIdentity(o: IdentityFiles): { userData?: string; ansibleUser?: string } {
  const identity = readIdentity(o);
  if (identity === undefined) return {};
  const text = userDataText(identity);
  // EC2 refuses UserData over 16 KiB (before base64); say so before launching anything.
  if (Buffer.byteLength(text) > 16384) throw new ProvisionError(`user-data is ${Buffer.byteLength(text)} bytes: EC2 takes at most 16384`, 'EUSERDATA', 'userData');
  return { userData: text, ...(identity.ansibleUser !== undefined ? { ansibleUser: identity.ansibleUser } : {}) };
}

async function launchAndRegister(opts: Ec2LaunchOptions, { ec2, registry, undo, terminate, token, tags, groups, count, userData, ansibleUser }: LaunchContext): Promise<Ec2LaunchResult> {
  const { region } = opts;
  undo.step('run instances');
  const sgIds = (opts.securityGroups ?? []).filter((g) => g.startsWith('sg-'));
  const sgNames = (opts.securityGroups ?? []).filter((g) => !g.startsWith('sg-'));
  let reservation;
  try {
    reservation = await ec2.send(new RunInstancesCommand({
      ImageId: opts.ami,
      InstanceType: opts.instanceType as RunInstancesCommand['input']['InstanceType'],
      MinCount: count,
      MaxCount: count,
      ClientToken: token,
      ...(opts.subnet ? { SubnetId: opts.subnet } : {}),
      ...(sgIds.length ? { SecurityGroupIds: sgIds } : {}),
      ...(sgNames.length ? { SecurityGroups: sgNames } : {}),
      ...(opts.keyName ? { KeyName: opts.keyName } : {}),
      ...(userData !== undefined ? { UserData: Buffer.from(userData, 'utf8').toString('base64') } : {}),
      TagSpecifications: [{ ResourceType: 'instance', Tags: tags }, { ResourceType: 'volume', Tags: tags }],
    }));
  } catch (err) {
    // The answer may have been lost after AWS launched: the client token finds what this call started.
    const failure = awsFailure(`RunInstances of ${opts.ami} (${count} x ${opts.instanceType})`, region, err);
    // No credentials or no valid endpoint: nothing was sent, so nothing can have been launched.
    if (setupProblem(err, '') !== undefined) throw failure;
    try {
      const found = await instancesByToken(ec2, token);
      if (found.length) terminate(found);
    } catch (lookup) {
      failure.message += `; could not look for instances launched under client token ${token} (${awsCode(lookup) ?? (lookup as Error).message}): check by hand`;
    }
    throw failure;
  }
  const launched = (reservation.Instances ?? []).map((i) => i.InstanceId).filter((id): id is string => !!id);
  if (launched.length) terminate(launched);
  if (launched.length !== count) {
    throw new ProvisionError(`RunInstances of ${opts.ami} in ${region} started ${launched.length} instances, not ${count}`, 'EAWS');
  }
  opts.log?.(`launched ${launched.join(', ')}; waiting until running with an address`);
  undo.step('wait until running');

  const seconds = opts.waitSeconds ?? 600;
  const waitStarted = Date.now();
  const running = await waitUntil(waitForInstanceRunning, ec2, { InstanceIds: launched }, {
    what: `${launched.join(', ')} in ${region} to run`, seconds, pollMs: opts.pollMs,
    failed: (last: DescribeInstancesCommandOutput | undefined) => {
      const i = (last?.Reservations ?? []).flatMap((x) => x.Instances ?? []).find((x) => x.State?.Name !== 'running' && x.State?.Name !== 'pending');
      return new ProvisionError(`instance ${i?.InstanceId ?? launched.join(', ')} in ${region} went to ${i?.State?.Name ?? 'a failed state'} instead of running: ${i?.StateReason?.Message ?? 'no reason given'}`, 'EAWS');
    },
  });
  const withAddress = (instances: Instance[]) => instances.filter((i) => i.State?.Name === 'running' && (i.PublicIpAddress || i.PrivateIpAddress));
  let ready = withAddress((running.Reservations ?? []).flatMap((x) => x.Instances ?? []));
  if (ready.length !== launched.length) {
    // No SDK waiter covers this: an instance may run a moment before its address is assigned.
    const left = Math.max(0.001, seconds - (Date.now() - waitStarted) / 1000);
    ready = await waitFor(`${launched.join(', ')} in ${region} to have an address`, left, async (abortSignal) => {
      const r = await ec2.send(new DescribeInstancesCommand({ InstanceIds: launched }), { abortSignal })
        .catch((err: unknown) => { throw awsFailure(`DescribeInstances of ${launched.join(', ')}`, region, err); });
      const ok = withAddress((r.Reservations ?? []).flatMap((x) => x.Instances ?? []));
      return ok.length === launched.length ? ok : undefined;
    }, opts.pollMs);
  }

  const hosts: RegisteredHost[] = ready.map((i) => {
    const name = inventoryName(i, region, opts.settings)!;
    const hostvars: Record<string, RegisteredValue> = {
      ec2_id: i.InstanceId!,
      ec2_region: region,
      ansible_host: i.PublicIpAddress || i.PrivateIpAddress!,
      ...(ansibleUser !== undefined ? { ansible_user: ansibleUser } : {}),
      ec2_image_id: opts.ami,
      ec2_instance_type: opts.instanceType,
      ec2_private_ip_address: i.PrivateIpAddress ?? '',
      ec2_ip_address: i.PublicIpAddress ?? '',
    };
    for (const t of tags) hostvars[`ec2_tag_${to_safe(t.Key!)}`] = t.Value!;
    return { name, groups, hostvars, source: 'ec2', registeredAt: Date.now() };
  });
  hosts.forEach(validateHost);
  for (const h of hosts) {
    undo.step(`register ${h.name}`);
    await registry.register(h);
    undo.add(`registry entry ${h.name}`, () => registry.deregister(h.name));
  }
  return {
    region, ami: opts.ami, clientToken: token, groups,
    instances: hosts.map((h) => ({
      instanceId: String(h.hostvars.ec2_id), name: h.name,
      publicIp: String(h.hostvars.ec2_ip_address) || undefined, privateIp: String(h.hostvars.ec2_private_ip_address) || undefined,
    })),
  };
}

async function instancesByToken(ec2: EC2Client, token: string): Promise<string[]> {
  // A filter rather than a tag: a per-launch tag would become one more ec2.py tag_* group per launch.
  const r = await ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: 'client-token', Values: [token] }] }));
  return (r.Reservations ?? []).flatMap((x) => x.Instances ?? [])
    .filter((i) => i.State?.Name !== 'terminated')
    .map((i) => i.InstanceId).filter((id): id is string => !!id);
}

