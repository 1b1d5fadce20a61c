// The per-region listings of the later ec2.py's services, as tasks beside the 2014 ones (they share
// max_concurrency) that fill in the region's records.
import type { Settings } from '../settings/read.js';
import type { RegionRecords } from '../inventory/rules.js';
import { EUCALYPTUS_REGION, type AuthSettings } from './clients.js';
import { include_rds_clusters_by_region } from './rdsClusters.js';

export type LaterFetchSettings = Partial<Pick<Settings, 'elasticache' | 'includeRdsClusters' | 'groupBy' | 'extraHostvars'>>;

export function laterTasksByRegion(settings: LaterFetchSettings & AuthSettings, records: RegionRecords): (() => Promise<void>)[] {
  const region = records.region;
  if (region === EUCALYPTUS_REGION) return [];
  const tasks: (() => Promise<void>)[] = [];
  if (settings.elasticache) {
    // The ElastiCache client is loaded only when elasticache is on.
    tasks.push(async () => { records.cacheClusters = await (await import('./elasticache.js')).getElasticacheClustersByRegion(settings, region); });
    tasks.push(async () => { records.replicationGroups = await (await import('./elasticache.js')).getElasticacheReplicationGroupsByRegion(settings, region); });
  }
  if (settings.includeRdsClusters) {
    tasks.push(async () => { records.dbClusters = await include_rds_clusters_by_region(settings, region); });
  }
  return tasks;
}

/** Whether a refresh needs the account id (one STS GetCallerIdentity call). */
export function needsAccountId(settings: LaterFetchSettings): boolean {
  return Boolean(settings.groupBy?.aws_account || settings.extraHostvars);
}
