// The bench's replay server (test/bench/replayServer.ts) answers exactly what moto answered: the
// port's --list through it equals its --list against moto byte for byte, and so does the
// reference's (boto 2's proxy-style, SigV2-signed requests), with no request left unmatched.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { scenarioFixture } from '../support/fixture.js';
import { startProxy } from '../support/proxy.js';
import { referenceScript, run, runInventory, writeIni } from '../support/run.js';
import { skipUnless } from '../support/tools.js';
import { recordAnswers, requestKey, startReplay } from '../bench/replayServer.js';
import { execFileSync } from 'node:child_process';

const f = scenarioFixture('ec2inv-replay-');
const hasBoto = (() => {
  try { execFileSync('/usr/bin/python3', ['-c', 'import boto'], { stdio: 'ignore' }); return true; } catch { return false; }
})();

describe('the bench replay server', () => {
  it('matches requests without their timestamps and signatures, by the service and region they are for', () => {
    const form = { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' };
    const sdk = (date: string, region: string) => requestKey({
      method: 'POST', path: '/', body: 'Action=DescribeInstances&Version=2016-11-15',
      headers: { ...form, host: '127.0.0.1:1', 'x-amz-date': date, authorization: `AWS4-HMAC-SHA256 Credential=k/${date.slice(0, 8)}/${region}/ec2/aws4_request, Signature=${date}` },
    });
    assert.equal(sdk('20260101T000000Z', 'eu-west-1'), sdk('20260202T101010Z', 'eu-west-1'));
    assert.notEqual(sdk('20260101T000000Z', 'eu-west-1'), sdk('20260101T000000Z', 'us-east-1'));
    const boto2 = (ts: string, host: string) => requestKey({
      method: 'POST', path: `http://${host}/`, headers: { ...form, host },
      body: `AWSAccessKeyId=k&Action=DescribeInstances&SignatureMethod=HmacSHA256&SignatureVersion=2&Timestamp=${ts}&Version=2014-10-01&Signature=${ts}x`,
    });
    assert.equal(boto2('2026-01-01T00%3A00%3A00Z', 'ec2.eu-west-1.amazonaws.com'), boto2('2026-02-02T10%3A00%3A00Z', 'ec2.eu-west-1.amazonaws.com'));
    assert.notEqual(boto2('2026-01-01T00%3A00%3A00Z', 'ec2.eu-west-1.amazonaws.com'), boto2('2026-01-01T00%3A00%3A00Z', 'ec2.us-west-2.amazonaws.com'));
  });

  it("the port's --list through it equals its --list against moto", async () => {
    const proxy = await startProxy(f.moto.endpoint);
    const answers = recordAnswers(proxy);
    const ini = writeIni(f.dir, 'port', { cache_max_age: '0' });
    const live = await runInventory(ini, ['--list'], proxy.url);
    await proxy.close();
    assert.equal(live.code, 0, live.stderr);
    assert.ok(answers.byKey.size > 0);
    const replay = await startReplay(answers, 5);
    try {
      const replayed = await runInventory(ini, ['--list'], replay.url);
      assert.equal(replayed.code, 0, replayed.stderr);
      assert.deepEqual(replay.misses, []);
      assert.ok(replay.served >= answers.byKey.size, 'every recorded request was asked again');
      assert.equal(replayed.stdout, live.stdout);
    } finally {
      await replay.close();
    }
  });

  it("the reference's --list through it equals its --list against moto", { skip: hasBoto ? false : skipUnless('reference replay', 'python3-boto is not installed') }, async () => {
    const proxy = await startProxy(f.moto.endpoint);
    const answers = recordAnswers(proxy);
    const ini = writeIni(f.dir, 'reference', { cache_max_age: '0' });
    const env = { PATH: process.env['PATH'], HOME: process.env['HOME'] };
    const live = await run(referenceScript, [proxy.url, ini, '--list'], env);
    await proxy.close();
    assert.equal(live.code, 0, live.stderr);
    const replay = await startReplay(answers, 5);
    try {
      const replayed = await run(referenceScript, [replay.url, ini, '--list'], env);
      assert.equal(replayed.code, 0, replayed.stderr);
      assert.deepEqual(replay.misses, []);
      assert.equal(replayed.stdout, live.stdout);
    } finally {
      await replay.close();
    }
  });
});
