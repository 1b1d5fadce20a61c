// Fetches the records one refresh needs: EC2 instances and RDS instances per region, Route53
// record sets once. Every list is read to its last page (ec2.py read only the first). Results are
// assembled in ec2.py's order whatever order the calls finish in, so output does not depend on
// timing. The RDS and Route53 listings (rds.ts, route53.ts) are loaded when first needed; the
// listings themselves and their wave are in listings.ts, several accounts' in accounts.ts.
import type { Settings } from '../../settings/read.js';
import type { FetchedData, RegionRecords, Route53RecordSet } from '../../records/aws.js';
import { getAccountId, resolveAuth } from './identity.js';
import { needsAccountId } from './later.js';
import { streamAccounts } from './accounts.js';
import {
  InOrder, probeRegionOf, regionListings, resolveRegions, runLimited, wantsRds,
  type FetchProgress, type FetchSettings, type RecordBatch, type RecordSink,
} from './listings.js';

export {
  getInstancesByRegion, listInstancesByRegion, resolveRegions,
  type AccountContext, type FetchProgress, type FetchSettings, type RecordBatch, type RecordSink,
} from './listings.js';

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
  if (given.accounts?.length) return streamAccounts(given as Settings, sink, onProgress);
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

async function fetchRegions(settings: FetchSettings, regions: string[], sink: RecordSink, onProgress?: (p: FetchProgress) => void): Promise<void> {
  const progress: FetchProgress = { regionsDone: 0, regionsTotal: regions.length, instances: 0 };
  const pending = new Map(regions.map((r) => [r, wantsRds(settings, r) ? 2 : 1]));
  const taskDone = (region: string) => {
    const left = (pending.get(region) ?? 1) - 1;
    pending.set(region, left);
    if (left === 0) progress.regionsDone++;
    onProgress?.({ ...progress });
  };
  onProgress?.({ ...progress });

  // Every region's listings, in the order ec2.py applies their records.
  const listings = regions.flatMap((region) => regionListings(settings, region));
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

