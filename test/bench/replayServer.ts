// A loopback server that answers like AWS regions do, for the cold-refresh rows: every answer is one
// moto gave (recorded once through test/support/proxy.ts), and every request is answered after the
// same delay however many are in flight. moto answers one request at a time, so behind it a client
// that asks everything at once waits for moto, not for the wire; here it waits only for itself.
//
// Requests are matched without what changes from one run to the next: timestamps, signatures and
// credentials (SigV2 form fields, SigV4 headers or query fields). The service and region come from
// the SigV4 credential scope (SDK v3 and botocore, whose requests all go to one endpoint URL) or
// from the AWS host name (boto 2, whose requests arrive proxy-style as absolute URIs).
import { readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { Proxy, RecordedAnswer, RecordedRequest } from '../support/proxy.js';

/** Request fields that differ between two sends of the same request. */
const volatile = new Set([
  'Timestamp', 'Signature', 'SignatureMethod', 'SignatureVersion', 'AWSAccessKeyId', 'Expires', 'SecurityToken',
  'X-Amz-Date', 'X-Amz-Signature', 'X-Amz-Credential', 'X-Amz-Algorithm', 'X-Amz-SignedHeaders', 'X-Amz-Security-Token',
  'X-Amz-Expires',
]);

function stableParams(text: string): string {
  const kept = [...new URLSearchParams(text)].filter(([k]) => !volatile.has(k));
  kept.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
  return new URLSearchParams(kept).toString();
}

function header(headers: http.IncomingHttpHeaders, name: string): string {
  const v = headers[name];
  return Array.isArray(v) ? (v[0] ?? '') : (v ?? '');
}

/** `service region`: Route53 is global whichever region its client signs for. */
function target(url: URL, headers: http.IncomingHttpHeaders): string {
  const scope = /Credential=[^/]+\/\d{8}\/([^/]+)\/([^/]+)\//.exec(header(headers, 'authorization'));
  let service: string;
  let region: string;
  if (scope) {
    [, region, service] = scope as unknown as [string, string, string];
  } else {
    const host = /^([a-z0-9-]+)\.(?:([a-z0-9-]+)\.)?amazonaws\.com/.exec(url.hostname);
    if (!host) return `? ${url.hostname}`;
    service = host[1] as string;
    region = host[2] ?? 'us-east-1';
  }
  return service === 'route53' ? 'route53 global' : `${service} ${region}`;
}

/**
 * The session key a request is signed with (ASIA...): the credentials of an assumed role, which say
 * the account the request acts in. They are stable across runs, since the AssumeRole answer that
 * handed them out is itself replayed; long-term keys are not part of the key.
 */
function sessionKey(url: URL, headers: http.IncomingHttpHeaders, body: string): string {
  const credential = /Credential=(ASIA[A-Z0-9]+)\//.exec(header(headers, 'authorization'))?.[1]
    ?? /^(ASIA[A-Z0-9]+)\//.exec(url.searchParams.get('X-Amz-Credential') ?? new URLSearchParams(body).get('X-Amz-Credential') ?? '')?.[1];
  return credential ? ` as ${credential}` : '';
}

/** What identifies a request across runs and clients. */
export function requestKey(r: RecordedRequest): string {
  // boto 2 sends absolute URIs (proxy style); SDKs send a path with the endpoint in Host.
  const url = new URL(r.path, `http://${header(r.headers, 'host') || 'localhost'}`);
  const type = header(r.headers, 'content-type');
  const form = type.startsWith('application/x-www-form-urlencoded');
  const body = form ? stableParams(r.body) : r.body;
  return `${target(url, r.headers)}${sessionKey(url, r.headers, form ? r.body : '')} ${r.method} ${url.pathname} ${stableParams(url.search)} ${body}`;
}

export interface Answers {
  byKey: Map<string, RecordedAnswer>;
}

/** Records every answer that passes through the proxy (the first one, when a request repeats). */
export function recordAnswers(proxy: Proxy, into: Answers = { byKey: new Map() }): Answers {
  proxy.answered = (request, answer) => {
    const key = requestKey(request);
    if (!into.byKey.has(key)) into.byKey.set(key, answer);
  };
  return into;
}

export interface ReplayServer {
  url: string;
  /** Requests answered, and those that matched no recorded answer (a bench with any is void). */
  served: number;
  misses: string[];
  close(): Promise<void>;
}

/** Hop-by-hop and per-response headers that a replay must set itself. */
const dropped = new Set(['date', 'connection', 'keep-alive', 'transfer-encoding', 'content-length']);

export async function startReplay(answers: Answers, delayMs: number): Promise<ReplayServer> {
  const stats = { served: 0, misses: [] as string[] };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const key = requestKey({ method: req.method ?? 'GET', path: req.url ?? '/', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      const answer = answers.byKey.get(key);
      setTimeout(() => {
        stats.served++;
        if (!answer) {
          stats.misses.push(key);
          res.writeHead(500, { 'content-type': 'text/xml' }).end(
            '<Response><Errors><Error><Code>InternalError</Code><Message>no recorded answer</Message></Error></Errors></Response>');
          return;
        }
        const headers: http.OutgoingHttpHeaders = {};
        for (const [k, v] of Object.entries(answer.headers)) if (!dropped.has(k) && v !== undefined) headers[k] = v;
        headers['content-length'] = answer.body.length;
        res.writeHead(answer.status, headers).end(answer.body);
      }, delayMs);
    });
  });
  server.keepAliveTimeout = 5000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    get served() { return stats.served; },
    get misses() { return stats.misses; },
    close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}

/** Answers kept in a file, so a replay server can run on its own (to profile a client against it). */
export function saveAnswers(answers: Answers, file: string): void {
  const entries = [...answers.byKey].map(([key, a]) => [key, { status: a.status, headers: a.headers, body: a.body.toString('base64') }]);
  writeFileSync(file, JSON.stringify(entries));
}

export function loadAnswers(file: string): Answers {
  const entries = JSON.parse(readFileSync(file, 'utf8')) as [string, { status: number; headers: http.IncomingHttpHeaders; body: string }][];
  return { byKey: new Map(entries.map(([key, a]) => [key, { ...a, body: Buffer.from(a.body, 'base64') }])) };
}

// node dist/test/bench/replayServer.js ANSWERS.json [DELAY_MS]: serves the answers until stopped.
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [file, delay] = process.argv.slice(2);
  if (!file) {
    process.stderr.write('usage: replayServer.js ANSWERS.json [DELAY_MS]\n');
    process.exit(2);
  }
  const server = await startReplay(loadAnswers(file), Number(delay ?? 100));
  process.stdout.write(`${server.url}\n`);
  process.on('SIGTERM', () => {
    if (server.misses.length > 0) process.stderr.write(`${server.misses.length} unmatched requests, e.g. ${server.misses[0]}\n`);
    void server.close().then(() => process.exit(0));
  });
}
