// Undoes launch (and optionally push): terminate, wait, deregister from the registry; with an image,
// deregister the AMI and delete its snapshot. Running it twice does nothing the second time.
import { DeleteSnapshotCommand, DeregisterImageCommand, DescribeImagesCommand, TerminateInstancesCommand, waitForInstanceTerminated, type DescribeInstancesCommandOutput, type EC2Client } from '@aws-sdk/client-ec2';
import { openRegistry, type RegistrySettings } from '../../store/registry.js';
import { ProvisionError } from '../../errors.js';
import { TAG_SNAPSHOT, awsCode, awsFailure, ec2Client, waitUntil, type CallTimeouts, type Ec2Clients } from './clients.js';
import { findImageByName } from './push.js';

export interface Ec2DestroyOptions {
  region: string;
  instanceIds?: string[];
  /** Inventory host names registered by launch (their ec2_id says which instance). */
  names?: string[];
  /** An AMI id or name: deregistered, and its snapshot deleted. */
  image?: string;
  /** Seconds to wait until the instances are terminated (default 600). */
  waitSeconds?: number;
  pollMs?: number;
  settings: RegistrySettings;
  clients?: Ec2Clients;
  /** Per-attempt bounds of every AWS call (connect_timeout, request_timeout). */
  timeouts?: CallTimeouts;
  log?: (message: string) => void;
}

export interface Ec2DestroyResult {
  region: string;
  terminated: string[];
  deregistered: string[];
  /** Names given that the registry did not hold (already destroyed, or a typo). */
  unknownNames: string[];
  image?: { imageId: string | undefined; snapshotId: string | undefined; deregistered: boolean };
}

export async function destroyEc2(opts: Ec2DestroyOptions): Promise<Ec2DestroyResult> {
  const { region } = opts;
  if (!opts.instanceIds?.length && !opts.names?.length && !opts.image) {
    throw new ProvisionError('name what to destroy: instanceIds, names or image', 'EUSAGE', 'instanceIds');
  }
  const ec2 = ec2Client(region, opts.clients?.ec2, undefined, opts.timeouts);
  const registry = await openRegistry(opts.settings);
  try {
    const hosts = await registry.list();
    const ids = new Set(opts.instanceIds ?? []);
    const unknownNames: string[] = [];
    for (const name of opts.names ?? []) {
      const h = hosts.find((x) => x.name === name);
      if (!h || h.source !== 'ec2' || typeof h.hostvars.ec2_id !== 'string') { unknownNames.push(name); continue; }
      if (h.hostvars.ec2_region !== region) {
        throw new ProvisionError(`host ${name} is instance ${h.hostvars.ec2_id} in ${String(h.hostvars.ec2_region)}, not in ${region}`, 'EUSAGE', 'region');
      }
      ids.add(h.hostvars.ec2_id);
    }
    const terminated = await terminate(ec2, region, [...ids], opts);
    const deregistered: string[] = [];
    for (const h of hosts) {
      if (h.source === 'ec2' && h.hostvars.ec2_region === region && typeof h.hostvars.ec2_id === 'string' && ids.has(h.hostvars.ec2_id)) {
        if (await registry.deregister(h.name)) deregistered.push(h.name);
      }
    }
    // Instances terminated by id alone were in the cached listing too (a deregistration drops it).
    if (terminated.length > 0 && deregistered.length === 0) await registry.hostsChanged();
    const result: Ec2DestroyResult = { region, terminated, deregistered, unknownNames };
    if (opts.image) result.image = await destroyImage(ec2, region, opts.image, opts.log);
    return result;
  } finally {
    await registry.close();
  }
}

async function terminate(ec2: EC2Client, region: string, ids: string[], opts: Ec2DestroyOptions): Promise<string[]> {
  if (ids.length === 0) return [];
  // One call per instance: a batch with one unknown id fails whole, and unknown means already gone.
  const known: string[] = [];
  for (const id of ids) {
    try {
      await ec2.send(new TerminateInstancesCommand({ InstanceIds: [id] }));
      known.push(id);
    } catch (err) {
      if (awsCode(err) === 'InvalidInstanceID.NotFound') { opts.log?.(`${id} does not exist in ${region}; nothing to terminate`); continue; }
      throw awsFailure(`TerminateInstances of ${id}`, region, err);
    }
  }
  if (known.length === 0) return [];
  await waitUntil(waitForInstanceTerminated, ec2, { InstanceIds: known }, {
    what: `${known.join(', ')} in ${region} to terminate`, seconds: opts.waitSeconds ?? 600, pollMs: opts.pollMs,
    failed: (last: DescribeInstancesCommandOutput | undefined) => {
      const stuck = (last?.Reservations ?? []).flatMap((x) => x.Instances ?? []).filter((i) => i.State?.Name !== 'terminated');
      return new ProvisionError(`${stuck.map((i) => `${i.InstanceId} is ${i.State?.Name}`).join(', ') || 'an instance'} in ${region}: it cannot terminate from there`, 'EAWS');
    },
  });
  return known;
}

export async function destroyImage(ec2: EC2Client, region: string, image: string, log?: (m: string) => void): Promise<NonNullable<Ec2DestroyResult['image']>> {
  let found: { imageId: string; snapshotId: string | undefined } | undefined;
  if (/^ami-[0-9a-f]+$/.test(image)) {
    const r = await ec2.send(new DescribeImagesCommand({ ImageIds: [image] })).catch((err: unknown) => {
      if (awsCode(err) === 'InvalidAMIID.NotFound' || awsCode(err) === 'InvalidAMIID.Unavailable') return { Images: [] };
      throw awsFailure(`DescribeImages of ${image}`, region, err);
    });
    const img = r.Images?.find((i) => i.ImageId === image && i.State !== 'deregistered');
    if (img) {
      const tag = img.Tags?.find((t) => t.Key === TAG_SNAPSHOT)?.Value;
      found = { imageId: image, snapshotId: tag ?? img.BlockDeviceMappings?.find((b) => b.Ebs?.SnapshotId)?.Ebs?.SnapshotId };
    }
  } else {
    found = await findImageByName(ec2, region, image);
  }
  if (!found) {
    log?.(`no AMI ${image} in ${region}; nothing to deregister`);
    return { imageId: undefined, snapshotId: undefined, deregistered: false };
  }
  await ec2.send(new DeregisterImageCommand({ ImageId: found.imageId })).catch((err: unknown) => {
    if (awsCode(err) !== 'InvalidAMIID.NotFound') throw awsFailure(`DeregisterImage of ${found!.imageId}`, region, err);
  });
  // After the AMI: AWS refuses to delete a snapshot a registered AMI still uses.
  if (found.snapshotId) {
    await ec2.send(new DeleteSnapshotCommand({ SnapshotId: found.snapshotId })).catch((err: unknown) => {
      if (awsCode(err) !== 'InvalidSnapshot.NotFound') throw awsFailure(`DeleteSnapshot of ${found!.snapshotId} (AMI ${found!.imageId} is deregistered)`, region, err);
    });
  }
  return { imageId: found.imageId, snapshotId: found.snapshotId, deregistered: true };
}
