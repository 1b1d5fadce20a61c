// The later ec2.py's include_rds_clusters_by_region: every page of DescribeDBClusters. Tags come
// with each cluster (TagList), so the original's ListTagsForResource per cluster is not needed.
import { RDSClient, paginateDescribeDBClusters } from '@aws-sdk/client-rds';
import type { DBClusterRecord } from '../../records/aws.js';
import { clientOptions, type AuthSettings } from './clients.js';
import { allPages } from './pages.js';

export function include_rds_clusters_by_region(settings: AuthSettings, region: string): Promise<DBClusterRecord[]> {
  const client = new RDSClient(clientOptions(settings, region));
  return allPages({ service: 'RDS', call: 'DescribeDBClusters', region }, client, paginateDescribeDBClusters({ client }, {}),
    (page) => (page.DBClusters ?? []).map((cluster) => ({ cluster, region })));
}
