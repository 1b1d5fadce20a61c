// push ec2, launch ec2, destroy ec2: the only commands that load the AWS SDK.
import type { Parsed } from '../declare.js';
import type { provisionCommands as C } from '../declarations.js';
import { destroyEc2 } from '../../provision/ec2/destroy.js';
import { launchEc2, parseTags } from '../../provision/ec2/launch.js';
import { pushEc2, type PushProgress } from '../../provision/ec2/push.js';
import { emit, forPerson, progress } from './output.js';
import { provisionSettings } from '../settings.js';

/** Progress on one rewritten stderr line, at most five times a second, and only for a person. */
function pushProgress(): { onProgress?: (p: PushProgress) => void } {
  if (!process.stderr.isTTY) return {};
  let last = 0;
  return {
    onProgress: (p) => {
      const now = Date.now();
      if (now - last < 200 && p.blocksSent !== p.blocksToSend) return;
      last = now;
      const mib = (n: number) => (n / 1024 / 1024).toFixed(0);
      const rate = p.elapsedMs > 0 ? (p.bytesSent / 1024 / 1024 / (p.elapsedMs / 1000)).toFixed(1) : '0';
      process.stderr.write(`\rec2-provision: ${p.blocksSent}/${p.blocksToSend} blocks sent, ${mib(p.bytesSkipped)} MiB of zeros skipped, ${rate} MiB/s${p.blocksSent === p.blocksToSend ? '\n' : ''}`);
    },
  };
}

export async function pushEc2Command({ options }: Parsed<typeof C.pushEc2>): Promise<void> {
  const r = await pushEc2({ ...options, warn: (m) => progress(`warning: ${m}`), ...forPerson(), ...pushProgress() });
  emit({ command: 'push ec2', ...r });
}

export async function launchEc2Command({ options, own }: Parsed<typeof C.launchEc2>): Promise<void> {
  // Checked before the settings are read or anything is launched: bad usage costs nothing.
  const tags = parseTags(options.tags);
  const r = await launchEc2({ ...options, tags, settings: provisionSettings(own.ini), ...forPerson() });
  emit({ command: 'launch ec2', ...r });
}

export async function destroyEc2Command({ options, own }: Parsed<typeof C.destroyEc2>): Promise<void> {
  emit({ command: 'destroy ec2', ...(await destroyEc2({ ...options, settings: provisionSettings(own.ini), ...forPerson() })) });
}
