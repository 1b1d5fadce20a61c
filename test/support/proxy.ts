// A loopback HTTP proxy in front of moto: counts requests (to prove what did or did not call AWS),
// adds latency per request (to measure refreshes as a real region's round trip would), and
// accepts the absolute-URI requests boto 2 sends through its proxy setting.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Proxy {
  url: string;
  port: number;
  requests: number;
  delayMs: number;
  /** Answer every request with this HTTP status instead of forwarding (0: forward). */
  failWith: number;
  /**
   * When set, failures answer this plain text (what a load balancer or proxy in front of an
   * endpoint sends) instead of AWS's XML error.
   */
  failText: string | undefined;
  /** When set, only requests it accepts are failed with failWith (the rest are forwarded). */
  failWhen: ((method: string, url: string, body: string) => boolean) | undefined;
  /** When set, every request is appended to it as it arrives (the bench replays them). */
  recorded: RecordedRequest[] | undefined;
  /** When set, the delay for one request (undefined: delayMs), from its body (EC2's Action=...) or URL (EBS). */
  delayFor: ((body: string, url: string) => number | undefined) | undefined;
  /** When set, told every forwarded request with the answer moto gave it (the replay server records them). */
  answered: ((request: RecordedRequest, answer: RecordedAnswer) => void) | undefined;
  close(): Promise<void>;
}

export interface RecordedRequest {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export interface RecordedAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

export async function startProxy(target: string, delayMs = 0): Promise<Proxy> {
  const to = new URL(target);
  const state: { requests: number; delayMs: number; failWith: number; failText: string | undefined; failWhen: Proxy['failWhen']; recorded: Proxy['recorded']; delayFor: Proxy['delayFor']; answered: Proxy['answered'] } = {
    requests: 0, delayMs, failWith: 0, failText: undefined, failWhen: undefined, recorded: undefined, delayFor: undefined, answered: undefined,
  };
  const server = http.createServer((req, res) => {
    state.requests++;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const recorded: RecordedRequest = { method: req.method ?? 'GET', path: req.url ?? '/', headers: req.headers, body: body.toString('utf8') };
      state.recorded?.push(recorded);
      setTimeout(() => {
        if (state.failWith && (!state.failWhen || state.failWhen(req.method ?? '', req.url ?? '', body.toString('utf8')))) {
          if (state.failText !== undefined) {
            res.writeHead(state.failWith, { 'content-type': 'text/plain' }).end(state.failText);
            return;
          }
          res.writeHead(state.failWith, { 'content-type': 'text/xml' }).end(
            `<Response><Errors><Error><Code>InternalError</Code><Message>injected ${state.failWith}</Message></Error></Errors></Response>`);
          return;
        }
        const upstream = http.request({
          host: to.hostname, port: to.port, method: req.method, path: req.url, headers: req.headers,
        }, (up) => {
          res.writeHead(up.statusCode ?? 502, up.headers);
          const answered = state.answered;
          if (answered) {
            const parts: Buffer[] = [];
            up.on('data', (c: Buffer) => parts.push(c));
            up.on('end', () => answered(recorded, { status: up.statusCode ?? 502, headers: up.headers, body: Buffer.concat(parts) }));
          }
          up.pipe(res);
        });
        upstream.on('error', (err) => res.writeHead(502).end(String(err)));
        upstream.end(body);
      }, state.delayFor?.(body.toString('utf8'), req.url ?? '/') ?? state.delayMs);
    });
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  const proxy: Proxy = {
    url: `http://127.0.0.1:${port}`,
    port,
    get requests() { return state.requests; },
    set requests(n) { state.requests = n; },
    get delayMs() { return state.delayMs; },
    set delayMs(n) { state.delayMs = n; },
    get failWith() { return state.failWith; },
    set failWith(n) { state.failWith = n; },
    get failText() { return state.failText; },
    set failText(t) { state.failText = t; },
    get failWhen() { return state.failWhen; },
    set failWhen(f) { state.failWhen = f; },
    get recorded() { return state.recorded; },
    set recorded(r) { state.recorded = r; },
    get delayFor() { return state.delayFor; },
    set delayFor(f) { state.delayFor = f; },
    get answered() { return state.answered; },
    set answered(f) { state.answered = f; },
    close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
  return proxy;
}
