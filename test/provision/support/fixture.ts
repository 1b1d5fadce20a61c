import type { TestContext } from 'node:test';
import { buildGuestRootfs, buildInitramfs, cloudKernel, type Kernel } from './guest.js';
import { inCI } from './tools.js';
import { tempDir } from '../../support/run.js';

/** A fresh scratch folder removed when the test process ends. */
export function scratch(prefix: string): string {
  return tempDir(`ec2inv-${prefix}-`);
}

/** Builds the busybox guest rootfs, or skips (outside CI) when the Debian packages cannot be fetched. */
export function guestRootfs(t: TestContext, dir: string): boolean {
  try {
    buildGuestRootfs(dir);
    return true;
  } catch (err) {
    if (inCI) throw err;
    t.skip(`cannot fetch busybox-static with apt-get download: ${(err as Error).message.split('\n')[0]}`);
    return false;
  }
}

export function guestKernel(t: TestContext): { kernel: Kernel; initrd: string } | undefined {
  try {
    const kernel = cloudKernel();
    return { kernel, initrd: buildInitramfs(kernel) };
  } catch (err) {
    if (inCI) throw err;
    t.skip(`cannot fetch linux-image-cloud-amd64 with apt-get download: ${(err as Error).message.split('\n')[0]}`);
    return undefined;
  }
}
