// The words of the degraded mode: Redis failures said without the client library's options, a
// non-AWS error answer by its status and an excerpt, and one line for everything an outage changed.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { redisWords } from '../../lib/store/redisWords.js';
import { foreignAnswer } from '../../lib/sources/aws/errors.js';
import { CacheError } from '../../lib/errors.js';
import { Outage, unreachable } from '../../lib/store/outage.js';

describe('redisWords', () => {
  it('says a lost connection without the client library\'s words', () => {
    const keyv = new Error('Redis client is not connected or has failed to connect. This is thrown because throwOnConnectError is set to true.');
    assert.equal(redisWords(keyv), 'the connection to the server is gone (it stopped, restarted or dropped the connection)');
    assert.equal(redisWords(Object.assign(new Error('The client is closed'), { name: 'ClientClosedError' })), redisWords(keyv));
    assert.equal(redisWords(new Error('Socket closed unexpectedly')), 'the server closed the connection unexpectedly (connection reset)');
  });

  it('says system errors in words with their code, and keeps our own bounds as they are', () => {
    assert.equal(redisWords(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' })), 'connection refused (ECONNREFUSED)');
    assert.equal(redisWords(new Error('GET: no answer within 2 s (request_timeout)')), 'GET: no answer within 2 s (request_timeout)');
  });
});

describe('foreignAnswer', () => {
  it('quotes the start of a body that is not AWS\'s, tags and runs of spaces left out', () => {
    assert.equal(foreignAnswer(503, 'no healthy upstream'), 'HTTP 503 Service Unavailable: "no healthy upstream"');
    assert.equal(foreignAnswer(502, '<html>\n<body><h1>502 Bad   Gateway</h1></body></html>'), 'HTTP 502 Bad Gateway: "502 Bad Gateway"');
    assert.equal(foreignAnswer(503, 'x'.repeat(200)), `HTTP 503 Service Unavailable: "${'x'.repeat(80)}..."`);
    assert.equal(foreignAnswer(599, '"quoted"\u0007'), 'HTTP 599: "\\"quoted\\"\\u0007"');
  });
});

describe('Outage', () => {
  it('survives unreachable stores only: not a planted cache, a busy lock or a lost one', () => {
    assert.ok(unreachable(new CacheError('Redis x: cannot connect', 'x')));
    assert.ok(unreachable(Object.assign(new Error('EACCES: permission denied'), { code: 'EACCES' })));
    for (const reason of ['untrusted', 'busy', 'lost'] as const) assert.ok(!unreachable(new CacheError('no', 'x', { reason })), reason);
    assert.ok(!unreachable(new Error('a bug')));
  });

  it('is one line: the first failure, whether the run refreshed alone, then the notes', () => {
    const o = new Outage();
    assert.equal(o.describe(), undefined);
    o.storeFailed(new Error('Redis a:1/0: cannot connect: connection refused (ECONNREFUSED)'));
    o.storeFailed(new Error('a second failure of the same store'));
    o.lockless = true;
    o.notes.push('2 registered hosts from the local copy /c/ec2-inventory.registry.copy.json');
    assert.equal(o.describe(), 'the cache is unreachable, so this run fetched from AWS without it and refreshed alone (no shared lock): Redis a:1/0: cannot connect: connection refused (ECONNREFUSED); 2 registered hosts from the local copy /c/ec2-inventory.registry.copy.json');
  });
});
