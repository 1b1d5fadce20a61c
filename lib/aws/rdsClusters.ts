// The later ec2.py's include_rds_clusters_by_region: every page of DescribeDBClusters. Tags come
// with each cluster (TagList), so the original's ListTagsForResource per cluster is not needed.
import { RDSClient, paginateDescribeDBClusters } from '@aws-sdk/client-rds';
import type { DBClusterRecord } from '../inventory/rdsClusters.js';
import { clientOptions, type AuthSettings } from './clients.js';
import { awsError } from './errors.js';

export async function include_rds_clusters_by_region(settings: AuthSettings, region: string): Promise<DBClusterRecord[]> {
  const rds = new RDSClient(clientOptions(settings, region));
  const records: DBClusterRecord[] = [];
  try {
    for await (const page of paginateDescribeDBClusters({ client: rds }, {})) {
      for (const cluster of page.DBClusters ?? []) records.push({ cluster, region });
    }
  } catch (err) {
    throw awsError('RDS', 'DescribeDBClusters', region, err);
  } finally {
    rds.destroy();
  }
  return records;
}
