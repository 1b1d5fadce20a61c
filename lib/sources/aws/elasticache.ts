// The later ec2.py's get_elasticache_clusters_by_region and get_elasticache_replication_groups_by_region:
// every page, nodes included (ShowCacheNodeInfo). Unlike RDS in 2014, a refusal is an error: the
// user turned elasticache on.
import { ElastiCacheClient, paginateDescribeCacheClusters, paginateDescribeReplicationGroups } from '@aws-sdk/client-elasticache';
import type { CacheClusterRecord, ReplicationGroupRecord } from '../../records/aws.js';
import { clientOptions, type AuthSettings } from './clients.js';
import { allPages } from './pages.js';

export function getElasticacheClustersByRegion(settings: AuthSettings, region: string): Promise<CacheClusterRecord[]> {
  const client = new ElastiCacheClient(clientOptions(settings, region));
  return allPages({ service: 'ElastiCache', call: 'DescribeCacheClusters', region }, client,
    paginateDescribeCacheClusters({ client }, { ShowCacheNodeInfo: true }),
    (page) => (page.CacheClusters ?? []).map((cluster) => ({ cluster, region })));
}

export function getElasticacheReplicationGroupsByRegion(settings: AuthSettings, region: string): Promise<ReplicationGroupRecord[]> {
  const client = new ElastiCacheClient(clientOptions(settings, region));
  return allPages({ service: 'ElastiCache', call: 'DescribeReplicationGroups', region }, client,
    paginateDescribeReplicationGroups({ client }, {}),
    (page) => (page.ReplicationGroups ?? []).map((group) => ({ group, region })));
}
