// Throttling through the SDK's real retry middleware: a loopback HTTP server answers EC2 requests
// with RequestLimitExceeded, as AWS does under load.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { getInstancesByRegion, type FetchSettings } from '../../lib/sources/aws/fetch.js';
import { AwsError } from '../../lib/errors.js';

const throttled = `<?xml version="1.0" encoding="UTF-8"?>
<Response><Errors><Error><Code>RequestLimitExceeded</Code><Message>Request limit exceeded.</Message></Error></Errors><RequestID>r</RequestID></Response>`;
const empty = `<?xml version="1.0" encoding="UTF-8"?>
<DescribeInstancesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>r</requestId><reservationSet><item><reservationId>r-1</reservationId><instancesSet><item><instanceId>i-0123</instanceId></item></instancesSet></item></reservationSet></DescribeInstancesResponse>`;

const settings: FetchSettings = {
  iniPath: 'test.ini', eucalyptus: false, eucalyptusHost: undefined, regions: ['us-east-1'], regionsExclude: [],
  route53: false, route53ExcludedZones: [], rds: false, instanceFilters: [], maxConcurrency: 16, maxAttempts: 3,
};

describe('throttling', () => {
  let server: http.Server;
  let failuresLeft = 0;
  let requests = 0;
  let failure = { status: 503, body: throttled };
  const saved = { ...process.env };
  before(async () => {
    server = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        requests++;
        if (failuresLeft-- > 0) {
          res.writeHead(failure.status, { 'content-type': 'text/xml' }).end(failure.body);
        } else {
          res.writeHead(200, { 'content-type': 'text/xml' }).end(empty);
        }
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    process.env['AWS_ENDPOINT_URL'] = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    process.env['AWS_ACCESS_KEY_ID'] = 'x';
    process.env['AWS_SECRET_ACCESS_KEY'] = 'y';
  });
  after(() => {
    server.close();
    process.env = saved;
  });

  it('is retried with backoff and then succeeds', async () => {
    failuresLeft = 2;
    requests = 0;
    const records = await getInstancesByRegion(settings, 'ap-south-1');
    assert.deepEqual(records.map((r) => r.instance.InstanceId), ['i-0123']);
    assert.equal(requests, 3);
  });

  it('a burst of 500 InternalError answers is retried too', async () => {
    failure = { status: 500, body: throttled.replace('RequestLimitExceeded', 'InternalError').replace('Request limit exceeded.', 'An internal error has occurred') };
    failuresLeft = 2;
    requests = 0;
    const records = await getInstancesByRegion(settings, 'ap-south-1');
    assert.equal(records.length, 1);
    assert.equal(requests, 3);
    failuresLeft = 1000;
    await assert.rejects(getInstancesByRegion(settings, 'eu-south-2'), /^AwsError: EC2 DescribeInstances in eu-south-2 failed \(HTTP 500\) after 3 attempts: InternalError: An internal error has occurred$/);
    failure = { status: 503, body: throttled };
  });

  it('that never stops is reported with service, region and AWS code after the last attempt', async () => {
    failuresLeft = 1000;
    requests = 0;
    await assert.rejects(getInstancesByRegion(settings, 'ap-south-1'), (err: unknown) => {
      assert.ok(err instanceof AwsError);
      assert.match(err.message, /^EC2 DescribeInstances in ap-south-1 failed \(HTTP 503\) after 3 attempts: RequestLimitExceeded: Request limit exceeded\.$/);
      return true;
    });
    assert.equal(requests, 3, 'three attempts, the SDK default');
  });
});
