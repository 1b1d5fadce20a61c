// Route53 record sets, in a module of its own: only a route53 = True refresh loads the Route53 client.
import {
  Route53Client, paginateListHostedZones, ListResourceRecordSetsCommand, type ResourceRecordSet,
} from '@aws-sdk/client-route-53';
import type { Route53RecordSet } from '../../records/aws.js';
import { clientOptions, type AuthSettings } from './clients.js';
import { awsError } from './errors.js';

/** Every record set of every hosted zone not excluded, names without their trailing dot. */
export async function getRoute53Records(settings: AuthSettings, excludedZones: string[]): Promise<Route53RecordSet[]> {
  // Route53 is global; its API lives in us-east-1.
  const r53 = new Route53Client(clientOptions(settings, 'us-east-1'));
  const sets: Route53RecordSet[] = [];
  try {
    const zones: { id: string; name: string }[] = [];
    for await (const page of paginateListHostedZones({ client: r53 }, {})) {
      for (const zone of page.HostedZones ?? []) zones.push({ id: zone.Id ?? '', name: zone.Name ?? '' });
    }
    for (const zone of zones) {
      if (excludedZones.includes(zone.name.slice(0, -1))) continue;
      for await (const set of listResourceRecordSets(r53, zone.id)) {
        let name = set.Name ?? '';
        if (name.endsWith('.')) name = name.slice(0, -1);
        sets.push({ name, values: (set.ResourceRecords ?? []).map((r) => r.Value ?? '') });
      }
    }
  } catch (err) {
    throw awsError('Route53', 'ListResourceRecordSets', undefined, err);
  } finally {
    r53.destroy();
  }
  return sets;
}

// ListResourceRecordSets pages by (name, type, identifier) rather than a token, and the SDK ships
// no paginator for it.
async function* listResourceRecordSets(r53: Route53Client, zoneId: string): AsyncGenerator<ResourceRecordSet> {
  let start: { StartRecordName?: string; StartRecordType?: ResourceRecordSet['Type']; StartRecordIdentifier?: string } = {};
  for (;;) {
    const page = await r53.send(new ListResourceRecordSetsCommand({ HostedZoneId: zoneId, ...start }));
    yield* page.ResourceRecordSets ?? [];
    if (!page.IsTruncated) return;
    start = {
      StartRecordName: page.NextRecordName,
      StartRecordType: page.NextRecordType,
      StartRecordIdentifier: page.NextRecordIdentifier,
    };
  }
}
