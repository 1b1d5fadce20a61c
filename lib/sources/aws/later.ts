// The per-region listings of the later ec2.py's services, as tasks beside the 2014 ones (they share
// max_concurrency) whose records follow the region's instances and DB instances.
import type { Settings } from '../../settings/read.js';
import type { RegionRecords } from '../../records/aws.js';
import { EUCALYPTUS_REGION, type AuthSettings } from './clients.js';

export type LaterFetchSettings = Partial<Pick<Settings, 'elasticache' | 'includeRdsClusters' | 'groupBy' | 'extraHostvars'>>;

export function laterListingsByRegion(settings: LaterFetchSettings & AuthSettings, region: string): (() => Promise<Partial<RegionRecords>>)[] {
  if (region === EUCALYPTUS_REGION) return [];
  const listings: (() => Promise<Partial<RegionRecords>>)[] = [];
  if (settings.elasticache) {
    // The ElastiCache client is loaded only when elasticache is on.
    listings.push(async () => ({ cacheClusters: await (await import('./elasticache.js')).getElasticacheClustersByRegion(settings, region) }));
    listings.push(async () => ({ replicationGroups: await (await import('./elasticache.js')).getElasticacheReplicationGroupsByRegion(settings, region) }));
  }
  if (settings.includeRdsClusters) {
    listings.push(async () => ({ dbClusters: await (await import('./rdsClusters.js')).include_rds_clusters_by_region(settings, region) }));
  }
  return listings;
}

/** Whether a refresh needs the account id (one STS GetCallerIdentity call). */
export function needsAccountId(settings: LaterFetchSettings): boolean {
  return Boolean(settings.groupBy?.aws_account || settings.extraHostvars);
}
