// The per-region records of the later ec2.py's services, fetched beside the 2014 ones.
import type { Settings } from '../settings/read.js';
import type { RegionRecords } from '../inventory/rules.js';
import { EUCALYPTUS_REGION } from './clients.js';
import { getElasticacheClustersByRegion, getElasticacheReplicationGroupsByRegion } from './elasticache.js';
import { include_rds_clusters_by_region } from './rdsClusters.js';
import type { ClientAuth } from './identity.js';

export type LaterFetchSettings = Partial<Pick<Settings, 'elasticache' | 'includeRdsClusters' | 'groupBy' | 'extraHostvars'>>;

type LaterRecords = Pick<RegionRecords, 'cacheClusters' | 'replicationGroups' | 'dbClusters'>;

export async function laterRecordsByRegion(settings: LaterFetchSettings, region: string, auth: ClientAuth): Promise<LaterRecords> {
  if (region === EUCALYPTUS_REGION) return {};
  const [clusters, groups, dbClusters] = await Promise.all([
    settings.elasticache ? getElasticacheClustersByRegion(region, auth) : undefined,
    settings.elasticache ? getElasticacheReplicationGroupsByRegion(region, auth) : undefined,
    settings.includeRdsClusters ? include_rds_clusters_by_region(region, auth) : undefined,
  ]);
  const out: LaterRecords = {};
  if (clusters) out.cacheClusters = clusters;
  if (groups) out.replicationGroups = groups;
  if (dbClusters) out.dbClusters = dbClusters;
  return out;
}

/** Whether a refresh needs the account id (one STS GetCallerIdentity call). */
export function needsAccountId(settings: LaterFetchSettings): boolean {
  return Boolean(settings.groupBy?.aws_account || settings.extraHostvars);
}
