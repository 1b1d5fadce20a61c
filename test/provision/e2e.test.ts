// A real Debian root as EC2 boots it: rootfs build --for ec2 (mmdebstrap, from the mirror apt uses)
// → image build --for ec2 → push ec2 → launch ec2 → a Nitro-like boot (support/nitro.ts) of the very
// image pushed. The KVM path of a real Debian root (template → image → push → two guests → Ansible
// over SSH → nothing left) is the example playbook, run by playbook.test.ts.
// Guests use qemu user networking with restrict=on: they reach nothing but the loopback forwards.
// It boots one TCG guest (about a minute to SSH): run it under a lock of its own on shared machines.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { run } from '../support/run.js';
import { scratch } from './support/fixture.js';
import { provisionBin } from './support/inspect.js';
import { needTools } from './support/tools.js';
import { bootLikeNitro, nitroTools } from './support/nitro.js';

/**
 * The Debian root: built here by `rootfs build` unless EC2INV_DEBIAN_ROOT names a tarball that
 * exists (a development cache; when it names a missing file, the build goes there).
 */
async function debianRoot(dir: string): Promise<string> {
  const cached = process.env['EC2INV_DEBIAN_ROOT'];
  if (cached && fs.existsSync(cached)) return cached;
  const out = cached || path.join(dir, 'bookworm-root.tar');
  // --for ec2: cloud-init reads NoCloud first (the KVM guests' seeds) and the EC2 metadata service
  // after it, so the same root also boots as an EC2 instance below.
  const r = await provision(['rootfs', 'build', '--suite', 'bookworm', '--for', 'ec2', '--out', out], 30 * 60_000);
  const summary = JSON.parse(r.stdout) as { kernelVersion: string | null; packages: number; initrd: boolean };
  assert.match(summary.kernelVersion ?? '', /-cloud-amd64$/);
  assert.ok(summary.initrd, 'the root has an initramfs for its kernel');
  assert.ok(summary.packages > 100);
  return out;
}

async function provision(args: string[], timeoutMs: number, env: NodeJS.ProcessEnv = process.env): Promise<{ stdout: string; stderr: string }> {
  const r = await run(process.execPath, [provisionBin, ...args], env, timeoutMs);
  assert.equal(r.code, 0, `ec2-provision ${args.slice(0, 2).join(' ')} failed:\n${r.stderr}`);
  return r;
}

describe('a real Debian root, end to end as EC2 boots it', { concurrency: 1 }, () => {
  it('the image push ec2 uploads, on NVMe, BIOS, DHCP and IMDSv2; cloud-init takes what launch ec2 sent; Ansible logs in', { timeout: 60 * 60_000 }, async (t) => {
    if (!needTools(t, ['mmdebstrap', 'fakeroot', ...nitroTools])) return;
    const dir = scratch('e2e');
    await bootLikeNitro(t, await debianRoot(dir), dir);
  });
});
