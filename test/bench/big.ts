// A refresh of 100,000 instances in its own process, as cron runs it (refreshInventory: fetch,
// rules, the cache file written): DescribeInstances answered in process by aws-sdk-client-mock
// (1,000 per page). Prints CPU, wall time and peak RSS.
import { mockClient } from 'aws-sdk-client-mock';
import { EC2Client, DescribeInstancesCommand, DescribeRegionsCommand } from '@aws-sdk/client-ec2';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { refreshInventory } from '../../lib/flow/request.js';
import { bigSettings, syntheticInstance } from './synthetic.js';

let COUNT = Number(process.env.BIG_COUNT ?? 100_000);
const PAGE = 1_000;
const ec2 = mockClient(EC2Client);
ec2.on(DescribeRegionsCommand).resolves({ Regions: [{ RegionName: 'us-east-1' }] });
ec2.on(DescribeInstancesCommand).callsFake(async (input: { NextToken?: string }) => {
  // The mock records every call and its answer; forgetting them keeps its memory out of the figure.
  // A real answer arrives in a later turn of the event loop, which is also when the reset can run.
  setImmediate(() => ec2.resetHistory());
  await new Promise((resolve) => setImmediate(resolve));
  const page = Number(input.NextToken ?? '0');
  const first = page * PAGE;
  const Instances = Array.from({ length: PAGE }, (_, i) => syntheticInstance(first + i, 'us-east-1'));
  return { Reservations: [{ Instances }], NextToken: first + PAGE < COUNT ? String(page + 1) : undefined };
});
const iniFor = bigSettings;

// Loading the SDK, the credential chain and our modules is a fixed cost of any refresh (the
// cold-refresh row measures it); a one-page refresh pays it before the clock starts, so the figure
// is the cost of building the inventory.
const warmDir = mkdtempSync(path.join(os.tmpdir(), 'ec2inv-big-'));
const total = COUNT;
COUNT = PAGE;
await refreshInventory(iniFor(warmDir));
rmSync(warmDir, { recursive: true, force: true });
COUNT = total;
const cacheDir = mkdtempSync(path.join(os.tmpdir(), 'ec2inv-big-'));
const settings = iniFor(cacheDir);
const cpu0 = process.cpuUsage();
const t0 = process.hrtime.bigint();
let instances = 0;
await refreshInventory(settings, { onProgress: (p) => { instances = p.instances; } });
const cpu = process.cpuUsage(cpu0);
const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
const bytes = statSync(path.join(cacheDir, 'ansible-ec2.cache')).size + statSync(path.join(cacheDir, 'ansible-ec2.index')).size;
rmSync(cacheDir, { recursive: true, force: true });
process.stdout.write(JSON.stringify({
  instances,
  cpuMs: (cpu.user + cpu.system) / 1000,
  wallMs,
  maxRssMb: process.resourceUsage().maxRSS / 1024,
  bytes,
}));
