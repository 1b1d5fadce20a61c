// Fetches the records one refresh needs: EC2 instances and RDS instances per region, Route53
// record sets once. Every list is read to its last page (ec2.py read only the first). Results are
// assembled in ec2.py's order whatever order the calls finish in, so output does not depend on
// timing.
import {
  EC2Client, DescribeRegionsCommand, paginateDescribeInstances, type Instance,
} from '@aws-sdk/client-ec2';
import { RDSClient, paginateDescribeDBInstances } from '@aws-sdk/client-rds';
import {
  Route53Client, paginateListHostedZones, ListResourceRecordSetsCommand, type ResourceRecordSet,
} from '@aws-sdk/client-route-53';
import type { Settings } from '../settings/read.js';
import type { FetchedData, RegionRecords, Route53RecordSet } from '../inventory/rules.js';
import type { EC2Record, RDSRecord } from '../inventory/hostvars.js';
import { SettingsError } from '../errors.js';
import { clientOptions, ec2ClientOptions, EUCALYPTUS_REGION, eucalyptusEndpoint } from './clients.js';
import { awsError, httpStatus } from './errors.js';
import { getAccountId, resolveAuth, type ClientAuth, type IdentitySettings } from './identity.js';
import { laterRecordsByRegion, needsAccountId, type LaterFetchSettings } from './later.js';

export type FetchSettings = Pick<
  Settings,
  'iniPath' | 'eucalyptus' | 'eucalyptusHost' | 'regions' | 'regionsExclude' | 'route53' |
  'route53ExcludedZones' | 'rds' | 'instanceFilters'
> & Partial<Pick<Settings, 'instanceFilterCalls'>> & IdentitySettings & LaterFetchSettings;

/** Regions and services fetched at once; pages of one list are read in order. */
const CONCURRENCY = 16;

/** Does every API call of one refresh and returns the records in ec2.py's order. */
export async function fetchRecords(settings: FetchSettings): Promise<FetchedData> {
  const auth = await resolveAuth(settings, probeRegionOf(settings));
  const regions = await resolveRegions(settings, auth);
  const route53 = settings.route53 ? getRoute53Records(settings.route53ExcludedZones, auth) : Promise.resolve(undefined);
  const accountId = needsAccountId(settings) ? getAccountId(auth, probeRegionOf(settings)) : Promise.resolve(undefined);
  const perRegion = mapLimit(regions, CONCURRENCY, async (region): Promise<RegionRecords> => {
    const [instances, dbInstances, later] = await Promise.all([
      getInstancesByRegion(settings, region, auth),
      settings.rds && region !== EUCALYPTUS_REGION ? getRdsInstancesByRegion(region, auth) : Promise.resolve([]),
      laterRecordsByRegion(settings, region, auth),
    ]);
    return { region, instances, dbInstances, ...later };
  });
  const [route53Records, regionRecords, account] = await Promise.all([route53, perRegion, accountId]);
  return { route53: route53Records, regions: regionRecords, ...(account ? { accountId: account } : {}) };
}

/** The region of calls that are not per region (DescribeRegions, STS). */
function probeRegionOf(settings: Pick<FetchSettings, 'regions'>): string {
  return settings.regions === 'all'
    ? process.env['AWS_REGION'] || process.env['AWS_DEFAULT_REGION'] || 'us-east-1'
    : (settings.regions[0] as string);
}

/**
 * The regions to walk. `all` is every region enabled for the account minus regions_exclude; named
 * regions must exist (ec2.py stopped with "likely not supported" on a name boto 2 did not know).
 */
export async function resolveRegions(settings: FetchSettings, auth: ClientAuth = {}): Promise<string[]> {
  if (settings.eucalyptus) {
    if (!eucalyptusEndpoint(settings)) {
      throw new SettingsError(
        `${settings.iniPath}: eucalyptus = True needs eucalyptus_host in [ec2] or the EC2_URL environment variable`,
        settings.iniPath, 'eucalyptus_host',
      );
    }
    return settings.regions === 'all' ? [EUCALYPTUS_REGION] : settings.regions;
  }
  const probeRegion = settings.regions === 'all'
    ? process.env['AWS_REGION'] || process.env['AWS_DEFAULT_REGION'] || 'us-east-1'
    : (settings.regions[0] as string);
  const named = settings.regions === 'all' ? undefined : settings.regions;
  const ec2 = new EC2Client(clientOptions(probeRegion, auth));
  try {
    const out = await ec2.send(new DescribeRegionsCommand(named ? { AllRegions: true } : {}));
    const known = (out.Regions ?? []).map((r) => r.RegionName ?? '').filter((r) => r !== '');
    if (!named) return known.filter((r) => !settings.regionsExclude.includes(r));
    const unknown = named.filter((r) => !known.includes(r));
    if (unknown.length > 0) {
      throw new SettingsError(
        `${settings.iniPath}: [ec2] option 'regions' names unknown region${unknown.length > 1 ? 's' : ''} ${unknown.map((r) => `'${r}'`).join(', ')} ` +
          `(DescribeRegions knows ${known.length} regions)`,
        settings.iniPath, 'regions',
      );
    }
    return named;
  } catch (err) {
    if (err instanceof SettingsError) throw err;
    throw awsError('EC2', 'DescribeRegions', probeRegion, err);
  } finally {
    ec2.destroy();
  }
}

/** All instances of a region: one paginated DescribeInstances per instance_filters name. */
export async function getInstancesByRegion(settings: FetchSettings, region: string, auth: ClientAuth = {}): Promise<EC2Record[]> {
  const ec2 = new EC2Client(ec2ClientOptions(settings, region, auth));
  const records: EC2Record[] = [];
  const collect = async (filters: { Name: string; Values: string[] }[] | undefined) => {
    for await (const page of paginateDescribeInstances({ client: ec2 }, filters ? { Filters: filters } : {})) {
      for (const reservation of page.Reservations ?? []) {
        for (const instance of reservation.Instances ?? []) records.push({ instance: instance as Instance, region });
      }
    }
  };
  try {
    // The later ec2.py's & and stack_filters decide the calls; without them, one call per name.
    const calls = settings.instanceFilterCalls ?? settings.instanceFilters.map((f) => [f]);
    if (calls.length === 0) await collect(undefined);
    for (const filters of calls) await collect(filters.map((f) => ({ Name: f.name, Values: f.values })));
  } catch (err) {
    throw awsError('EC2', 'DescribeInstances', region, err);
  } finally {
    ec2.destroy();
  }
  return records;
}

/** All DB instances of a region; an account without RDS permission (HTTP 403) has none. */
export async function getRdsInstancesByRegion(region: string, auth: ClientAuth = {}): Promise<RDSRecord[]> {
  const rds = new RDSClient(clientOptions(region, auth));
  const records: RDSRecord[] = [];
  try {
    for await (const page of paginateDescribeDBInstances({ client: rds }, {})) {
      for (const instance of page.DBInstances ?? []) records.push({ instance, region });
    }
  } catch (err) {
    if (httpStatus(err) === 403) return [];
    throw awsError('RDS', 'DescribeDBInstances', region, err);
  } finally {
    rds.destroy();
  }
  return records;
}

/** Every record set of every hosted zone not excluded, names without their trailing dot. */
export async function getRoute53Records(excludedZones: string[], auth: ClientAuth = {}): Promise<Route53RecordSet[]> {
  // Route53 is global; its API lives in us-east-1.
  const r53 = new Route53Client(clientOptions('us-east-1', auth));
  const sets: Route53RecordSet[] = [];
  try {
    const zones: { id: string; name: string }[] = [];
    for await (const page of paginateListHostedZones({ client: r53 }, {})) {
      for (const zone of page.HostedZones ?? []) zones.push({ id: zone.Id ?? '', name: zone.Name ?? '' });
    }
    for (const zone of zones) {
      if (excludedZones.includes(zone.name.slice(0, -1))) continue;
      for await (const set of listResourceRecordSets(r53, zone.id)) {
        let name = set.Name ?? '';
        if (name.endsWith('.')) name = name.slice(0, -1);
        sets.push({ name, values: (set.ResourceRecords ?? []).map((r) => r.Value ?? '') });
      }
    }
  } catch (err) {
    throw awsError('Route53', 'ListResourceRecordSets', undefined, err);
  } finally {
    r53.destroy();
  }
  return sets;
}

// ListResourceRecordSets pages by (name, type, identifier) rather than a token, and the SDK ships
// no paginator for it.
async function* listResourceRecordSets(r53: Route53Client, zoneId: string): AsyncGenerator<ResourceRecordSet> {
  let start: { StartRecordName?: string; StartRecordType?: ResourceRecordSet['Type']; StartRecordIdentifier?: string } = {};
  for (;;) {
    const page = await r53.send(new ListResourceRecordSetsCommand({ HostedZoneId: zoneId, ...start }));
    yield* page.ResourceRecordSets ?? [];
    if (!page.IsTruncated) return;
    start = {
      StartRecordName: page.NextRecordName,
      StartRecordType: page.NextRecordType,
      StartRecordIdentifier: page.NextRecordIdentifier,
    };
  }
}

/** Maps with at most `limit` calls in flight, results in input order. */
async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
