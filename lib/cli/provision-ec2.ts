// The `ec2` subcommands of push, launch and destroy. Kept apart from cli.ts so each cloud's
// commands live in their own file and cli.ts only mounts them.
import type { Argv } from 'yargs';
import { numberOption } from './numbers.js';
import { provisionSettings } from './settings.js';
import { destroyEc2 } from '../provision/ec2/destroy.js';
import { launchEc2, parseGroups, parseTags } from '../provision/ec2/launch.js';
import { architectures, bootModes, pushEc2, type Architecture, type BootMode, type PushProgress } from '../provision/ec2/push.js';

type Say = (message: string) => void;
type Emit = (summary: unknown) => void;

const iniOption = {
  type: 'string',
  describe: 'ec2.ini whose cache_path/cache_connection holds the registry and whose destination_variable names hosts (default: $EC2_INI_PATH, else ec2.ini beside the executable)',
} as const;

// The bounds of every AWS call, as the inventory's connect_timeout and request_timeout.
function withTimeouts<T>(b: Argv<T>) {
  return b
    .option('connect-timeout', numberOption('connect-timeout', 1, { default: 5, describe: 'Seconds to open a connection to AWS (each attempt)' }))
    .option('request-timeout', numberOption('request-timeout', 1, { default: 60, describe: 'Seconds one attempt of an API call (one EBS block) may take, answer included; then it is retried' }));
}

const timeoutsOf = (a: { 'connect-timeout': number; 'request-timeout': number }) => ({ connectTimeout: a['connect-timeout'], requestTimeout: a['request-timeout'] });

function settingsFrom(ini: string | undefined) {
  return provisionSettings(ini);
}

// Scripts and Ansible read stdout and often capture stderr; what is only news to a person waiting
// goes to stderr when it is a terminal. Errors are printed either way (by the caller).
const tty = (say: Say): { log?: Say } => (process.stderr.isTTY ? { log: say } : {});

/** Progress on one rewritten stderr line, at most five times a second, and only for a person. */
function pushProgress(): ((p: PushProgress) => void) | undefined {
  if (!process.stderr.isTTY) return undefined;
  let last = 0;
  return (p) => {
    const now = Date.now();
    if (now - last < 200 && p.blocksSent !== p.blocksToSend) return;
    last = now;
    const mib = (n: number) => (n / 1024 / 1024).toFixed(0);
    const rate = p.elapsedMs > 0 ? (p.bytesSent / 1024 / 1024 / (p.elapsedMs / 1000)).toFixed(1) : '0';
    process.stderr.write(`\rec2-provision: ${p.blocksSent}/${p.blocksToSend} blocks sent, ${mib(p.bytesSkipped)} MiB of zeros skipped, ${rate} MiB/s${p.blocksSent === p.blocksToSend ? '\n' : ''}`);
  };
}

export function pushEc2Command(y: Argv, say: Say, emit: Emit): Argv {
  return y.command(
    'ec2',
    'Upload a raw or qcow2 disk image as an EC2 AMI through the EBS direct APIs (no S3, no vmimport role)',
    (b) =>
      withTimeouts(b)
        .option('region', { type: 'string', demandOption: true, describe: 'AWS region' })
        .option('image', { type: 'string', demandOption: true, describe: 'Disk image (raw or qcow2)' })
        .option('name', { type: 'string', demandOption: true, describe: 'AMI name; an AMI of this name holding the same disk is reused' })
        .option('architecture', { type: 'string', choices: architectures, default: 'x86_64' })
        .option('boot-mode', { type: 'string', choices: bootModes, default: 'legacy-bios' })
        .option('description', { type: 'string' })
        .option('concurrency', numberOption('concurrency', 1, { default: 32, describe: 'Blocks in flight at once' }))
        .strict(),
    async (a) => {
      const onProgress = pushProgress();
      const r = await pushEc2({
        region: a.region,
        image: a.image,
        name: a.name,
        architecture: a.architecture as Architecture,
        bootMode: a['boot-mode'] as BootMode,
        ...(a.description !== undefined ? { description: a.description } : {}),
        concurrency: a.concurrency,
        timeouts: timeoutsOf(a),
        warn: (m) => say(`warning: ${m}`),
        ...tty(say),
        ...(onProgress ? { onProgress } : {}),
      });
      emit({ command: 'push ec2', ...r });
    },
  );
}

export function launchEc2Command(y: Argv, say: Say, emit: Emit): Argv {
  return y.command(
    'ec2',
    'Launch tagged instances from an AMI and register them into inventory groups',
    (b) =>
      withTimeouts(b)
        .option('region', { type: 'string', demandOption: true })
        .option('ami', { type: 'string', demandOption: true })
        .option('instance-type', { type: 'string', demandOption: true })
        .option('count', numberOption('count', 1, { default: 1 }))
        .option('subnet', { type: 'string' })
        .option('security-group', { type: 'string', array: true, default: [] as string[], describe: 'Security group id (sg-...) or name; repeatable' })
        .option('key-name', { type: 'string' })
        .option('ssh-key', { type: 'string', describe: 'Public key file (.pub): cloud-init makes the login user with it and sudo (sent as UserData)' })
        .option('user', { type: 'string', describe: 'Login user made by cloud-init; registered as ansible_user (default: ansible)' })
        .option('user-data', { type: 'string', describe: 'Your own user-data: a #cloud-config merged with ours, or a script (#!)' })
        .option('password-hash', { type: 'string', describe: "crypt(3) hash of the login user's console password" })
        .option('groups', { type: 'string', array: true, demandOption: true, describe: 'Inventory groups, comma-separated: web,db' })
        .option('tag', { type: 'string', array: true, default: [] as string[], describe: 'key=value tag for the instances and volumes; repeatable' })
        .option('wait', numberOption('wait', 0, { default: 600, describe: 'Seconds to wait until running with an address' }))
        .option('client-token', { type: 'string', describe: 'RunInstances idempotence token (default: a new one per call)' })
        .option('ini', iniOption)
        .strict(),
    async (a) => {
      // Parsed before the settings are read or anything is launched: bad usage costs nothing.
      const groups = parseGroups(a.groups);
      const tags = parseTags(a.tag);
      const r = await launchEc2({
        region: a.region,
        ami: a.ami,
        instanceType: a['instance-type'],
        count: a.count,
        ...(a.subnet ? { subnet: a.subnet } : {}),
        securityGroups: a['security-group'],
        ...(a['key-name'] ? { keyName: a['key-name'] } : {}),
        ...(a['ssh-key'] !== undefined ? { sshKey: a['ssh-key'] } : {}),
        ...(a.user !== undefined ? { user: a.user } : {}),
        ...(a['user-data'] !== undefined ? { userData: a['user-data'] } : {}),
        ...(a['password-hash'] !== undefined ? { passwordHash: a['password-hash'] } : {}),
        groups,
        tags,
        waitSeconds: a.wait,
        timeouts: timeoutsOf(a),
        ...(a['client-token'] ? { clientToken: a['client-token'] } : {}),
        settings: settingsFrom(a.ini),
        ...tty(say),
      });
      emit({ command: 'launch ec2', ...r });
    },
  );
}

export function destroyEc2Command(y: Argv, say: Say, emit: Emit): Argv {
  return y.command(
    'ec2',
    'Terminate instances, wait, remove them from the registry; --image also deregisters the AMI and deletes its snapshot',
    (b) =>
      withTimeouts(b)
        .option('region', { type: 'string', demandOption: true })
        .option('instance-id', { type: 'string', array: true, default: [] as string[] })
        .option('name', { type: 'string', array: true, default: [] as string[], describe: 'Inventory host name registered by launch ec2' })
        .option('image', { type: 'string', describe: 'AMI id or name to deregister (its snapshot is deleted)' })
        .option('wait', numberOption('wait', 0, { default: 600, describe: 'Seconds to wait until terminated' }))
        .option('ini', iniOption)
        .strict(),
    async (a) => {
      const r = await destroyEc2({
        region: a.region,
        instanceIds: a['instance-id'],
        names: a.name,
        ...(a.image ? { image: a.image } : {}),
        waitSeconds: a.wait,
        timeouts: timeoutsOf(a),
        settings: settingsFrom(a.ini),
        ...tty(say),
      });
      emit({ command: 'destroy ec2', ...r });
    },
  );
}
