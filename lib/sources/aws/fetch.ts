// Fetches the records one refresh needs: EC2 instances and RDS instances per region, Route53
// record sets once. Every list is read to its last page (ec2.py read only the first). Results are
// assembled in ec2.py's order whatever order the calls finish in, so output does not depend on
// timing. The RDS and Route53 listings (rds.ts, route53.ts) are loaded when first needed.
import {
  EC2Client, DescribeRegionsCommand, paginateDescribeInstances, type Instance,
} from '@aws-sdk/client-ec2';
import type { Settings } from '../../settings/read.js';
import type { FetchedData, RegionRecords, Route53RecordSet } from '../../records/aws.js';
import type { EC2Record } from '../../records/aws.js';
import { SettingsError } from '../../errors.js';
import { clientOptions, ec2ClientOptions, EUCALYPTUS_REGION, eucalyptusEndpoint, type AuthSettings } from './clients.js';
import { awsError } from './errors.js';
import { getAccountId, resolveAuth, type IdentitySettings } from './identity.js';
import { laterListingsByRegion, needsAccountId, type LaterFetchSettings } from './later.js';

export type FetchSettings = Pick<
  Settings,
  'iniPath' | 'eucalyptus' | 'eucalyptusHost' | 'regions' | 'regionsExclude' | 'route53' |
  'route53ExcludedZones' | 'rds' | 'instanceFilters' | 'maxConcurrency' | 'maxAttempts'
> & Partial<Pick<Settings, 'instanceFilterCalls'>> & IdentitySettings & LaterFetchSettings & AuthSettings;

export interface FetchProgress {
  regionsDone: number;
  regionsTotal: number;
  instances: number;
}

/** Part of one region's records: one page of one listing. */
export type RecordBatch = Partial<RegionRecords> & { region: string };

/** What a refresh hands its records to, as they can be applied in ec2.py's order. */
export interface RecordSink {
  /** Once, before any record: the regions walked, and what every record's rules need. */
  begin(context: { regions: string[] } & Pick<FetchedData, 'route53' | 'accountId'>): void;
  /** The next batch in ec2.py's order: regions as configured; in each, instances, DB instances, the later listings. */
  add(batch: RecordBatch): void;
}

/**
 * Does every API call of one refresh and returns the records in ec2.py's order. Each listing (a
 * service in a region, or Route53) is one task; at most max_concurrency tasks run at once, and the
 * pages of one listing are read in order.
 */
export async function fetchRecords(given: FetchSettings, onProgress?: (p: FetchProgress) => void): Promise<FetchedData> {
  let data: FetchedData | undefined;
  const byRegion = new Map<string, RegionRecords>();
  await streamRecords(given, {
    begin({ regions, route53, accountId }) {
      data = { route53, regions: regions.map((region) => ({ region, instances: [], dbInstances: [] })), ...(accountId ? { accountId } : {}) };
      for (const r of data.regions) byRegion.set(r.region, r);
    },
    add(batch) {
      const r = byRegion.get(batch.region) as RegionRecords;
      if (batch.instances) r.instances.push(...batch.instances);
      if (batch.dbInstances) r.dbInstances.push(...batch.dbInstances);
      if (batch.cacheClusters) (r.cacheClusters ??= []).push(...batch.cacheClusters);
      if (batch.replicationGroups) (r.replicationGroups ??= []).push(...batch.replicationGroups);
      if (batch.dbClusters) (r.dbClusters ??= []).push(...batch.dbClusters);
    },
  }, onProgress);
  return data as FetchedData;
}

/**
 * fetchRecords without holding the records: each page goes to the sink as soon as everything
 * before it in ec2.py's order has gone, so a large refresh keeps about one page per listing in
 * memory (more only while an earlier listing is still being read).
 */
export async function streamRecords(given: FetchSettings, sink: RecordSink, onProgress?: (p: FetchProgress) => void): Promise<void> {
  // The later ec2.py's profile / iam_role / [credentials], resolved once for every client.
  const settings: FetchSettings = { ...given, clientAuth: await resolveAuth(given, probeRegionOf(given)) };
  // Named regions are checked against DescribeRegions while they are already being read: the
  // check costs no extra round trip, and its verdict wins over whatever the reads ran into.
  const named = settings.regions !== 'all' && !settings.eucalyptus;
  const checked = resolveRegions(settings);
  if (!named) return fetchRegions(settings, await checked, sink, onProgress);
  const data = fetchRegions(settings, settings.regions as string[], sink, onProgress);
  data.catch(() => { /* reported below, after the region check */ });
  await checked;
  return data;
}

/**
 * Hands batches from listings that finish in any order to a consumer in listing order: a
 * listing's batches pass straight through while it is the oldest unfinished one, and wait in a
 * queue otherwise. Nothing passes before start().
 */
class InOrder<T> {
  private next = -1;
  private readonly queued: T[][];
  private readonly done: boolean[];

  constructor(private readonly count: number, private readonly deliver: (item: T) => void) {
    this.queued = Array.from({ length: count }, () => []);
    this.done = new Array<boolean>(count).fill(false);
  }

  push(slot: number, item: T): void {
    if (slot === this.next) this.deliver(item);
    else (this.queued[slot] as T[]).push(item);
  }

  finish(slot: number): void {
    this.done[slot] = true;
    if (slot === this.next) this.advance();
  }

  start(): void {
    this.next = 0;
    this.advance();
  }

  private advance(): void {
    while (this.next < this.count) {
      const queue = this.queued[this.next] as T[];
      for (const item of queue.splice(0)) this.deliver(item);
      if (!this.done[this.next]) return;
      this.next++;
    }
  }
}

type Listing = (emit: (batch: Partial<RegionRecords>) => void) => Promise<void>;

async function fetchRegions(settings: FetchSettings, regions: string[], sink: RecordSink, onProgress?: (p: FetchProgress) => void): Promise<void> {
  const wantsRds = (region: string) => settings.rds && region !== EUCALYPTUS_REGION;
  const progress: FetchProgress = { regionsDone: 0, regionsTotal: regions.length, instances: 0 };
  const pending = new Map(regions.map((r) => [r, wantsRds(r) ? 2 : 1]));
  const taskDone = (region: string) => {
    const left = (pending.get(region) ?? 1) - 1;
    pending.set(region, left);
    if (left === 0) progress.regionsDone++;
    onProgress?.({ ...progress });
  };
  onProgress?.({ ...progress });

  // Every region's listings, in the order ec2.py applies their records.
  const listings: { region: string; list: Listing; counted: boolean }[] = [];
  for (const region of regions) {
    listings.push({ region, counted: true, list: (emit) => listInstancesByRegion(settings, region, (instances) => emit({ instances })) });
    if (wantsRds(region)) {
      listings.push({ region, counted: true, list: async (emit) => emit({ dbInstances: await (await import('./rds.js')).getRdsInstancesByRegion(settings, region) }) });
    }
    for (const later of laterListingsByRegion(settings, region)) listings.push({ region, counted: false, list: async (emit) => emit(await later()) });
  }
  const inOrder = new InOrder<RecordBatch>(listings.length, (batch) => sink.add(batch));

  // Route53 names and the account id go into every record's rules: records wait for them.
  let route53: Route53RecordSet[] | undefined;
  let accountId: string | undefined;
  const prerequisites: (() => Promise<void>)[] = [];
  if (settings.route53) {
    prerequisites.push(async () => {
      route53 = await (await import('./route53.js')).getRoute53Records(settings, settings.route53ExcludedZones);
      onProgress?.({ ...progress });
    });
  }
  if (needsAccountId(settings)) prerequisites.push(async () => { accountId = await getAccountId(settings, probeRegionOf(settings)); });
  let waiting = prerequisites.length;
  const begin = () => {
    sink.begin({ regions, route53, ...(accountId ? { accountId } : {}) });
    inOrder.start();
  };
  if (waiting === 0) begin();

  const tasks: (() => Promise<void>)[] = prerequisites.map((task) => async () => {
    await task();
    if (--waiting === 0) begin();
  });
  listings.forEach(({ region, list, counted }, slot) => {
    tasks.push(async () => {
      await list((batch) => {
        progress.instances += (batch.instances?.length ?? 0) + (batch.dbInstances?.length ?? 0);
        inOrder.push(slot, { ...batch, region });
      });
      inOrder.finish(slot);
      if (counted) taskDone(region);
    });
  });
  await runLimited(tasks, settings.maxConcurrency);
}

/** The region of calls that are not per region (STS). */
function probeRegionOf(settings: Pick<FetchSettings, 'regions'>): string {
  return settings.regions === 'all'
    ? process.env['AWS_REGION'] || process.env['AWS_DEFAULT_REGION'] || 'us-east-1'
    : (settings.regions[0] as string);
}

/**
 * The regions to walk. `all` is every region enabled for the account minus regions_exclude; named
 * regions must exist (ec2.py stopped with "likely not supported" on a name boto 2 did not know).
 */
export async function resolveRegions(settings: FetchSettings): Promise<string[]> {
  if (settings.eucalyptus) {
    if (!eucalyptusEndpoint(settings)) {
      throw new SettingsError(
        `${settings.iniPath}: eucalyptus = True needs eucalyptus_host in [ec2] or the EC2_URL environment variable`,
        settings.iniPath, 'eucalyptus_host',
      );
    }
    return settings.regions === 'all' ? [EUCALYPTUS_REGION] : settings.regions;
  }
  const probeRegion = probeRegionOf(settings);
  const named = settings.regions === 'all' ? undefined : settings.regions;
  const ec2 = new EC2Client(clientOptions(settings, probeRegion));
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
export async function getInstancesByRegion(settings: FetchSettings, region: string): Promise<EC2Record[]> {
  const records: EC2Record[] = [];
  await listInstancesByRegion(settings, region, (page) => { records.push(...page); });
  return records;
}

/** getInstancesByRegion, a page at a time. */
export async function listInstancesByRegion(settings: FetchSettings, region: string, onPage: (records: EC2Record[]) => void): Promise<void> {
  const ec2 = new EC2Client(ec2ClientOptions(settings, region));
  const collect = async (filters: { Name: string; Values: string[] }[] | undefined) => {
    for await (const page of paginateDescribeInstances({ client: ec2 }, filters ? { Filters: filters } : {})) {
      const records: EC2Record[] = [];
      for (const reservation of page.Reservations ?? []) {
        for (const instance of reservation.Instances ?? []) records.push({ instance: instance as Instance, region });
      }
      onPage(records);
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
}

/**
 * Runs tasks with at most `limit` in flight; the first failure stops new tasks from starting.
 * Workers start one event-loop turn apart, so each listing's first request is on the wire before
 * the next client is built; started together, no request left before every worker had built its
 * client and signed its request.
 */
async function runLimited(tasks: (() => Promise<void>)[], limit: number): Promise<void> {
  let next = 0;
  let failed = false;
  const worker = async () => {
    while (next < tasks.length && !failed) {
      const task = tasks[next++] as () => Promise<void>;
      try {
        await task();
      } catch (err) {
        failed = true;
        throw err;
      }
    }
  };
  const workers: Promise<void>[] = [];
  for (let i = 0; i < Math.min(limit, tasks.length); i++) {
    if (i > 0) await new Promise((resolve) => setImmediate(resolve));
    const started = worker();
    started.catch(() => { /* reported by Promise.all below */ });
    workers.push(started);
  }
  await Promise.all(workers);
}
