// The later ec2.py's get_elasticache_clusters_by_region and get_elasticache_replication_groups_by_region:
// every page, nodes included (ShowCacheNodeInfo). Unlike RDS in 2014, a refusal is an error: the
// user turned elasticache on.
import { ElastiCacheClient, paginateDescribeCacheClusters, paginateDescribeReplicationGroups } from '@aws-sdk/client-elasticache';
import type { CacheClusterRecord, ReplicationGroupRecord } from '../inventory/elasticache.js';
import { clientOptions, type AuthSettings } from './clients.js';
import { awsError } from './errors.js';

export async function getElasticacheClustersByRegion(settings: AuthSettings, region: string): Promise<CacheClusterRecord[]> {
  const client = new ElastiCacheClient(clientOptions(settings, region));
  const records: CacheClusterRecord[] = [];
  try {
    for await (const page of paginateDescribeCacheClusters({ client }, { ShowCacheNodeInfo: true })) {
      for (const cluster of page.CacheClusters ?? []) records.push({ cluster, region });
    }
  } catch (err) {
    throw awsError('ElastiCache', 'DescribeCacheClusters', region, err);
  } finally {
    client.destroy();
  }
  return records;
}

export async function getElasticacheReplicationGroupsByRegion(settings: AuthSettings, region: string): Promise<ReplicationGroupRecord[]> {
  const client = new ElastiCacheClient(clientOptions(settings, region));
  const records: ReplicationGroupRecord[] = [];
  try {
    for await (const page of paginateDescribeReplicationGroups({ client }, {})) {
      for (const group of page.ReplicationGroups ?? []) records.push({ group, region });
    }
  } catch (err) {
    throw awsError('ElastiCache', 'DescribeReplicationGroups', region, err);
  } finally {
    client.destroy();
  }
  return records;
}
