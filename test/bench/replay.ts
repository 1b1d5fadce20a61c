// The cold-refresh floor: a bare node process that sends requests recorded from a real refresh
// (already built and signed) all at once, and waits for every answer. No SDK, no settings, no
// rules: what any client would pay here for node's start, the proxy's latency and moto's work.
// Usage: node replay.js REQUESTS.json PROXY_URL
import http from 'node:http';
import { readFileSync } from 'node:fs';
import type { RecordedRequest } from '../support/proxy.js';

const [file, target] = process.argv.slice(2) as [string, string];
const requests = JSON.parse(readFileSync(file, 'utf8')) as RecordedRequest[];
const to = new URL(target);
const agent = new http.Agent({ keepAlive: true, maxSockets: requests.length });
await Promise.all(requests.map((r) => new Promise<void>((resolve, reject) => {
  const req = http.request({ host: to.hostname, port: to.port, method: r.method, path: r.path, headers: { ...r.headers, host: to.host }, agent }, (res) => {
    if ((res.statusCode ?? 500) >= 400) reject(new Error(`replayed ${r.method} ${r.path}: HTTP ${res.statusCode}`));
    res.resume();
    res.on('end', () => resolve());
  });
  req.on('error', reject);
  req.end(r.body);
})));
agent.destroy();
