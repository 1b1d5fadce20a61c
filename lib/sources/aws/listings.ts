// The listings of one account: which calls a region needs, how they are made, and the bounded,
// ordered wave they run in (max_concurrency listings at once, records handed on in ec2.py's order).
// fetch.ts runs them for the inventory's one identity, accounts.ts for [account NAME] sections.
import {
  EC2Client, DescribeRegionsCommand, paginateDescribeInstances, type Instance,
} from '@aws-sdk/client-ec2';
import type { Settings } from '../../settings/read.js';
import type { FetchedData, RegionRecords, Route53RecordSet } from '../../records/aws.js';
import type { EC2Record } from '../../records/aws.js';
import { SettingsError } from '../../errors.js';
import { clientOptions, ec2ClientOptions, EUCALYPTUS_REGION, eucalyptusEndpoint, type AuthSettings } from './clients.js';
import { awsError } from './errors.js';
import type { IdentitySettings } from './identity.js';
import { laterListingsByRegion, type LaterFetchSettings } from './later.js';

export type FetchSettings = Pick<
  Settings,
  'iniPath' | 'eucalyptus' | 'eucalyptusHost' | 'regions' | 'regionsExclude' | 'route53' |
  'route53ExcludedZones' | 'rds' | 'instanceFilters' | 'maxConcurrency' | 'maxAttempts'
> & Partial<Pick<Settings, 'instanceFilterCalls' | 'accounts'>> & IdentitySettings & LaterFetchSettings & AuthSettings;

export interface FetchProgress {
  regionsDone: number;
  regionsTotal: number;
  instances: number;
}

/** Part of one region's records: one page of one listing (of account `account`, with [account] sections). */
export type RecordBatch = Partial<RegionRecords> & { region: string; account?: number };

/** One [account NAME] section as the rules see it (lib/sources/aws/accounts.ts). */
export interface AccountContext {
  name: string;
  /** Undefined only for an account that failed before its id was known (account_errors = warn). */
  id: string | undefined;
  route53?: Route53RecordSet[];
  /** Its settings: the inventory's, with what its section changes. */
  settings: Settings;
}

/** What a refresh hands its records to, as they can be applied in ec2.py's order. */
export interface RecordSink {
  /**
   * Once, before any record: the regions walked, and what every record's rules need; with account
   * sections, every account's part of that too.
   */
  begin(context: { regions: string[]; accounts?: AccountContext[] } & Pick<FetchedData, 'route53' | 'accountId'>): void;
  /**
   * The next batch in ec2.py's order: regions as configured; in each, instances, DB instances, the
   * later listings. With account sections: accounts in file order, each in that order.
   */
  add(batch: RecordBatch): void;
  /**
   * account_errors = warn: account `account` failed, none of its records were or will be added;
   * called where its records would have come.
   */
  accountFailed?(account: number, error: Error): void;
}

/**
 * Hands batches from listings that finish in any order to a consumer in listing order: a
 * listing's batches pass straight through while it is the oldest unfinished one, and wait in a
 * queue otherwise. Nothing passes before start().
 */
export class InOrder<T> {
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

export type Listing = (emit: (batch: Partial<RegionRecords>) => void) => Promise<void>;

/** A region's listings, in the order ec2.py applies their records; `counted` ones make up its progress. */
export function regionListings(settings: FetchSettings, region: string): { region: string; list: Listing; counted: boolean }[] {
  const listings: { region: string; list: Listing; counted: boolean }[] = [];
  listings.push({ region, counted: true, list: (emit) => listInstancesByRegion(settings, region, (instances) => emit({ instances })) });
  if (wantsRds(settings, region)) {
    listings.push({ region, counted: true, list: async (emit) => emit({ dbInstances: await (await import('./rds.js')).getRdsInstancesByRegion(settings, region) }) });
  }
  for (const later of laterListingsByRegion(settings, region)) listings.push({ region, counted: false, list: async (emit) => emit(await later()) });
  return listings;
}

export const wantsRds = (settings: Pick<FetchSettings, 'rds'>, region: string) => settings.rds && region !== EUCALYPTUS_REGION;

/** The region of calls that are not per region (STS). */
export function probeRegionOf(settings: Pick<FetchSettings, 'regions'>): string {
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
        // The owner: ec2_account_id of each host when one inventory lists several accounts.
        const ownerId = reservation.OwnerId;
        for (const instance of reservation.Instances ?? []) records.push(ownerId ? { instance: instance as Instance, region, ownerId } : { instance: instance as Instance, region });
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
export async function runLimited(tasks: (() => Promise<void>)[], limit: number): Promise<void> {
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
