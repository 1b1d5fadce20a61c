// DescribeDBInstances per region, in a module of its own: fetch.ts loads it when the first RDS
// listing starts, so the EC2 listings' requests are already on their way while the RDS client's
// code is compiled, and an rds = False refresh never compiles it.
import { RDSClient, paginateDescribeDBInstances } from '@aws-sdk/client-rds';
import type { RDSRecord } from '../inventory/hostvars.js';
import { clientOptions, type AuthSettings } from './clients.js';
import { awsError, httpStatus } from './errors.js';

/** All DB instances of a region; an account without RDS permission (HTTP 403) has none. */
export async function getRdsInstancesByRegion(settings: AuthSettings, region: string): Promise<RDSRecord[]> {
  const rds = new RDSClient(clientOptions(settings, region));
  const records: RDSRecord[] = [];
  try {
    for await (const page of paginateDescribeDBInstances({ client: rds }, {})) {
      for (const instance of page.DBInstances ?? []) records.push({ instance, region });
    }
  } catch (err) {
    if (httpStatus(err) === 403) return [];
    throw awsError('RDS', 'DescribeDBInstances', region, err);
  } finally {
    rds.destroy();
  }
  return records;
}
