// DescribeDBInstances per region, in a module of its own: fetch.ts loads it when the first RDS
// listing starts, so the EC2 listings' requests are already on their way while the RDS client's
// code is compiled, and an rds = False refresh never compiles it.
import { RDSClient, paginateDescribeDBInstances } from '@aws-sdk/client-rds';
import type { RDSRecord } from '../../records/aws.js';
import { clientOptions, type AuthSettings } from './clients.js';
import { httpStatus } from './errors.js';
import { allPages } from './pages.js';

/** All DB instances of a region; an account without RDS permission (HTTP 403) has none. */
export function getRdsInstancesByRegion(settings: AuthSettings, region: string): Promise<RDSRecord[]> {
  const client = new RDSClient(clientOptions(settings, region));
  return allPages({ service: 'RDS', call: 'DescribeDBInstances', region }, client, paginateDescribeDBInstances({ client }, {}),
    (page) => (page.DBInstances ?? []).map((instance) => ({ instance, region })),
    (err) => (httpStatus(err) === 403 ? [] : undefined));
}
