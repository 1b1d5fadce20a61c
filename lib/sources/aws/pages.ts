// One listing read to its last page: what every per-region Describe call of a refresh does.
import type { AwsError } from '../../errors.js';
import { awsError } from './errors.js';

export interface AwsCall {
  service: AwsError['service'];
  call: string;
  region: string;
}

/**
 * Every record of every page, in order. The client is destroyed afterwards; a failure is reported
 * with service, call and region named, unless `refused` (given the error) answers instead.
 */
export async function allPages<P, R>(
  call: AwsCall, client: { destroy(): void }, pages: AsyncIterable<P>, records: (page: P) => R[],
  refused?: (err: unknown) => R[] | undefined,
): Promise<R[]> {
  const all: R[] = [];
  try {
    for await (const page of pages) all.push(...records(page));
  } catch (err) {
    const answer = refused?.(err);
    if (answer) return answer;
    throw awsError(call.service, call.call, call.region, err);
  } finally {
    client.destroy();
  }
  return all;
}
