// Loopback peers that misbehave the way dead proxies, black-holed endpoints and overloaded
// servers do, to show that no call waits for them without a bound:
//   silent   accepts the connection and the request, and never answers
//   trickle  sends the headers of an answer, then one byte a second
//   reset    resets the connection (TCP RST) as soon as the request arrives
// With a `target`, requests the `when` test does not pick are forwarded there (moto), so one call
// of a flow can misbehave while the rest work.
import http from 'node:http';
import net, { type AddressInfo, type Socket } from 'node:net';

export type Fault = 'silent' | 'trickle' | 'reset';
export const faults: readonly Fault[] = ['silent', 'trickle', 'reset'];

export interface FaultServer {
  url: string;
  port: number;
  /** Requests that met the fault. */
  faulted: number;
  /** False: every request is forwarded to the target (the same endpoint, so the same cache key). */
  active: boolean;
  /** Connections still open (the client's side must have let them go once it gave up). */
  open(): number;
  close(): Promise<void>;
}

export interface FaultOptions {
  fault: Fault;
  target?: string;
  /** Which requests meet the fault (default: all); given the method, URL and body. */
  when?: (method: string, url: string, body: string) => boolean;
}

export async function startFaultServer(opts: FaultOptions): Promise<FaultServer> {
  const to = opts.target ? new URL(opts.target) : undefined;
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  let faulted = 0;
  let active = true;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      if (!to || (active && (!opts.when || opts.when(req.method ?? '', req.url ?? '', body.toString('utf8'))))) {
        faulted++;
        if (opts.fault === 'reset') {
          req.socket.resetAndDestroy();
        } else if (opts.fault === 'trickle') {
          res.writeHead(200, { 'content-type': 'text/xml', 'content-length': String(1 << 20) });
          res.write('<');
          const timer = setInterval(() => { if (!res.destroyed) res.write(' '); }, 1000);
          timers.add(timer);
          res.on('close', () => { clearInterval(timer); timers.delete(timer); });
        }
        // silent: nothing at all
        return;
      }
      const upstream = http.request({ host: to.hostname, port: to.port, method: req.method, path: req.url, headers: req.headers }, (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      });
      upstream.on('error', (err) => res.writeHead(502).end(String(err)));
      upstream.end(body);
    });
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    get faulted() { return faulted; },
    get active() { return active; },
    set active(a) { active = a; },
    open: () => sockets.size,
    close: () => new Promise<void>((r) => {
      for (const t of timers) clearInterval(t);
      server.closeAllConnections();
      for (const s of sockets) s.destroy();
      server.close(() => r());
    }),
  };
}

/** A TCP peer that accepts and never sends a byte, whatever the protocol (ssh waits for a banner). */
export async function startSilentTcp(): Promise<{ port: number; open(): number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {});
    s.resume(); // read and drop what the client sends, so its close is seen
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as AddressInfo).port,
    open: () => sockets.size,
    close: () => new Promise<void>((r) => { for (const s of sockets) s.destroy(); server.close(() => r()); }),
  };
}
