// An EC2 instance metadata service (IMDSv2 only) on loopback, for a guest whose qemu user network
// forwards 169.254.169.254:80 here: a token from PUT /latest/api/token, then meta-data, user-data
// and the identity document, each GET refused (401) without a valid token, as on an instance with
// HttpTokens=required.
import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ImdsData {
  instanceId: string;
  amiId: string;
  instanceType: string;
  /** local-hostname: what cloud-init names the guest after. */
  localHostname: string;
  localIpv4: string;
  mac: string;
  region: string;
  availabilityZone: string;
  /** public-keys/N=NAME with its openssh-key. */
  publicKeys: { name: string; key: string }[];
  userData?: string;
}

export interface ImdsRequest {
  method: string;
  path: string;
  /** A valid token came with it. */
  token: boolean;
  status: number;
}

export interface Imds {
  port: number;
  requests: ImdsRequest[];
  stop(): Promise<void>;
}

type Tree = { [name: string]: string | Tree };

function metaData(d: ImdsData): Tree {
  const keys: Tree = {};
  d.publicKeys.forEach((k, i) => { keys[`${i}=${k.name}`] = { 'openssh-key': `${k.key}\n` }; });
  return {
    'ami-id': d.amiId,
    'ami-launch-index': '0',
    'block-device-mapping': { ami: '/dev/xvda', root: '/dev/xvda' },
    hostname: d.localHostname,
    'instance-id': d.instanceId,
    'instance-type': d.instanceType,
    'local-hostname': d.localHostname,
    'local-ipv4': d.localIpv4,
    mac: d.mac,
    placement: { 'availability-zone': d.availabilityZone, region: d.region },
    // An instance launched without a key pair has no public-keys at all.
    ...(d.publicKeys.length > 0 ? { 'public-keys': keys } : {}),
    services: { domain: 'amazonaws.com', partition: 'aws' },
  };
}

/** A folder's listing as IMDS gives it: one name a line, folders with a trailing slash (public-keys: N=NAME). */
function listing(t: Tree): string {
  return Object.entries(t).map(([k, v]) => (typeof v === 'string' || /^\d+=/.test(k) ? k : `${k}/`)).join('\n');
}

function lookup(tree: Tree, parts: string[]): string | Tree | undefined {
  let at: string | Tree = tree;
  for (const p of parts) {
    if (typeof at === 'string') return undefined;
    // public-keys/0/ names the entry listed as 0=NAME.
    const key: string | undefined = p in at ? p : Object.keys(at).find((k) => k.startsWith(`${p}=`));
    if (key === undefined) return undefined;
    at = at[key]!;
  }
  return at;
}

export async function startImds(data: ImdsData): Promise<Imds> {
  const tokens = new Set<string>();
  const requests: ImdsRequest[] = [];
  const tree = metaData(data);
  const server = http.createServer((req, res) => {
    const url = (req.url ?? '/').split('?')[0]!;
    const send = (status: number, body = '', type = 'text/plain') => {
      requests.push({ method: req.method ?? '', path: url, token: tokens.has(String(req.headers['x-aws-ec2-metadata-token'] ?? '')), status });
      res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
      res.end(body);
    };
    if (url === '/latest/api/token') {
      const ttl = Number(req.headers['x-aws-ec2-metadata-token-ttl-seconds']);
      if (req.method !== 'PUT') return send(405);
      if (!Number.isInteger(ttl) || ttl < 1 || ttl > 21600) return send(400);
      const token = crypto.randomBytes(24).toString('base64url');
      tokens.add(token);
      return send(200, token);
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405);
    if (!tokens.has(String(req.headers['x-aws-ec2-metadata-token'] ?? ''))) return send(401);
    // /latest/... or /2021-03-23/...: every version answers the same here.
    const m = /^\/(latest|\d{4}-\d{2}-\d{2})(?:\/(.*))?$/.exec(url);
    if (!m) return send(404);
    const rest = (m[2] ?? '').replace(/\/+$/, '');
    if (rest === '') return send(200, 'dynamic\nmeta-data\nuser-data');
    if (rest === 'user-data') return data.userData === undefined ? send(404) : send(200, data.userData, 'application/octet-stream');
    if (rest === 'dynamic/instance-identity/document') {
      return send(200, JSON.stringify({
        accountId: '123456789012', architecture: 'x86_64', availabilityZone: data.availabilityZone, imageId: data.amiId,
        instanceId: data.instanceId, instanceType: data.instanceType, privateIp: data.localIpv4, region: data.region, version: '2017-09-30',
      }), 'application/json');
    }
    if (rest === 'dynamic') return send(200, 'instance-identity/');
    if (rest === 'dynamic/instance-identity') return send(200, 'document');
    const parts = rest.split('/');
    if (parts[0] !== 'meta-data') return send(404);
    const found = lookup(tree, parts.slice(1));
    if (found === undefined) return send(404);
    return send(200, typeof found === 'string' ? found : listing(found));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    requests,
    stop: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}
