import yargs, { type Argv } from 'yargs';
import { hideBin } from 'yargs/helpers';
import { numberOption } from './numbers.js';
import { UsageError, collect, yargsOptions } from './args.js';
import { provisionCommands } from './declarations.js';
import { ProvisionError, failureLine } from '../errors.js';
import { removeLeftoversSync } from '../provision/outputs.js';
import { interrupt, interruptedBy } from '../provision/interrupt.js';
import { bootLoaders, type BootLoader } from '../provision/image/bootloader.js';
import { ROOT_PARTUUID, buildImage, imageFormats, type ImageFormat } from '../provision/image/build.js';
import { buildTemplate } from '../provision/template/build.js';
import { buildRootfs, rootfsTargets, type RootfsTarget } from '../provision/rootfs/build.js';
import { templateSteps } from '../provision/template/steps.js';
import { pushKvm } from '../provision/libvirt/push.js';
import { pushTemplate } from '../provision/openvz/push.js';
import { addressSources, launchKvm, parseVars, type Accel, type AddressSource } from '../provision/libvirt/launch.js';
import { DEFAULT_USER } from '../provision/cloudinit.js';
import { destroyKvm } from '../provision/libvirt/destroy.js';
import { provisionSettings } from './settings.js';
import { launchOwnedSources, launchOwnedVar, openRegistry, type RegistrySettings } from '../store/registry.js';
import type { RegisteredValue } from '../records/inventory.js';
import { destroyEc2Command, launchEc2Command, pushEc2Command } from './provision-ec2.js';

const buildTemplateDecl = provisionCommands.buildTemplate;

// stdout carries exactly one JSON document (the summary) so scripts can parse it; everything a
// human should see while waiting goes to stderr.
const progress = (message: string) => process.stderr.write(`ec2-provision: ${message}\n`);

function emit(summary: unknown): void {
  process.stdout.write(JSON.stringify(summary, null, 2) + '\n');
}

function rootfsCommands(y: Argv): Argv {
  return y
    .command(
      'build',
      'Build a Debian root filesystem tarball with mmdebstrap: a cloud host (systemd, SSH, python3, sudo, cloud-init, kernel)',
      (b) =>
        b
          .option('suite', { type: 'string', default: 'bookworm', describe: 'Debian suite or codename' })
          .option('mirror', { type: 'string', describe: 'Debian mirror (default: the one apt uses here, else http://deb.debian.org/debian)' })
          .option('include', { type: 'string', array: true, default: [] as string[], describe: 'More packages, comma-separated or repeated' })
          .option('out', { type: 'string', demandOption: true, describe: 'Tarball to write: ROOT.tar (or .tar.gz, .tar.xz, .tar.zst)' })
          .option('for', { type: 'string', default: 'kvm', choices: rootfsTargets as string[], describe: 'kvm: cloud-init reads NoCloud only; ec2: the EC2 metadata service too' })
          .option('force', { type: 'boolean', default: false, describe: 'Replace an existing tarball' })
          .strict(),
      async (a) => {
        const r = await buildRootfs({
          suite: a.suite,
          ...(a.mirror !== undefined ? { mirror: a.mirror } : {}),
          include: a.include.flatMap((i) => i.split(',')).map((i) => i.trim()).filter(Boolean),
          out: a.out,
          for: a.for as RootfsTarget,
          force: a.force,
          // mmdebstrap's own progress is for a person watching; a script gets the summary only.
          progress: process.stderr.isTTY === true,
          log: process.stderr.isTTY ? progress : () => {},
        });
        emit({ command: 'rootfs build', ...r });
      },
    )
    .demandCommand(1, 'name a rootfs command: build');
}

function templateCommands(y: Argv): Argv {
  return y
    .command(
      'build',
      buildTemplateDecl.summary,
      (b) => b.options(yargsOptions(buildTemplateDecl)).strict(),
      async (a) => {
        const { options, own } = collect(buildTemplateDecl, a);
        const r = await buildTemplate({ ...options, ownership: own['all-root'] ? 'all-root' : 'map-builder', log: progress });
        emit({ command: 'template build', ...r });
      },
    )
    .command(
      'steps',
      'List the preparation steps (JSON)',
      (b) => b.strict(),
      () => emit(templateSteps.map((s) => ({ name: s.name, description: s.description }))),
    )
    .demandCommand(1, 'name a template command: build or steps');
}

function imageCommands(y: Argv): Argv {
  return y
    .command(
      'build',
      'Turn a root filesystem or template cache into a partitioned disk image for KVM direct kernel boot (and, with --boot-loader grub, BIOS boot: EC2, plain VMs)',
      (b) =>
        b
          .option('from', { type: 'string', demandOption: true, describe: 'Root filesystem folder or TEMPLATE.tar.gz' })
          .option('kernel', { type: 'string', describe: "Kernel image (vmlinuz), copied beside the image (default: the root's newest /boot/vmlinuz-* and its /boot/initrd.img-*)" })
          .option('initrd', { type: 'string', describe: 'Initramfs, copied beside the image' })
          .option('size', { type: 'string', default: '2G', describe: 'Disk size (K, M, G, T)' })
          .option('format', { type: 'string', default: 'qcow2', describe: `Image format: ${imageFormats.join(' or ')}` })
          .option('out', { type: 'string', demandOption: true, describe: 'Image file to write' })
          .option('boot-loader', { type: 'string', default: 'none', choices: bootLoaders as string[], describe: 'grub: GRUB 2 in the MBR, kernel and initrd in /boot, so the disk boots by itself (EC2 legacy-bios, BIOS VMs)' })
          .option('root', { type: 'string', describe: `root= for the kernel (default: /dev/vda1; ${ROOT_PARTUUID} with --boot-loader grub, any disk name)` })
          .option('grub-dir', { type: 'string', describe: "GRUB's i386-pc files (default: /usr/lib/grub/i386-pc, package grub-pc-bin)" })
          .option('force', { type: 'boolean', default: false, describe: 'Replace existing outputs' })
          .strict(),
      async (a) => {
        const r = await buildImage({
          bootLoader: a['boot-loader'] as BootLoader,
          ...(a.root !== undefined ? { root: a.root } : {}),
          ...(a['grub-dir'] !== undefined ? { grubDir: a['grub-dir'] } : {}),
          from: a.from,
          ...(a.kernel !== undefined ? { kernel: a.kernel } : {}),
          ...(a.initrd !== undefined ? { initrd: a.initrd } : {}),
          size: a.size,
          format: a.format as ImageFormat,
          out: a.out,
          force: a.force,
          log: progress,
        });
        emit({ command: 'image build', ...r });
      },
    )
    .demandCommand(1, 'name an image command: build');
}

// The registry lives beside the inventory's cache, so it is found through the same ec2.ini:
// --ini, else EC2_INI_PATH, else ec2.ini beside the executable (bin/, where ec2-inventory is).
function registrySettings(ini: string | undefined): RegistrySettings {
  return provisionSettings(ini);
}

const iniOption = { type: 'string', describe: 'ec2.ini whose cache_path / cache_connection holds the registry (default: EC2_INI_PATH, or ec2.ini beside the program)' } as const;

function pushCommands(y: Argv): Argv {
  return y
    .command(
      'kvm',
      'Upload a built image (and its kernel and initrd) as volumes of a libvirt storage pool; verified, idempotent',
      (b) =>
        b
          .option('uri', { type: 'string', demandOption: true, describe: 'libvirt URI, e.g. qemu:///system or qemu+ssh://user@host/system' })
          .option('pool', { type: 'string', demandOption: true, describe: 'Storage pool' })
          .option('image', { type: 'string', demandOption: true, describe: 'Image file (qcow2 or raw) from image build' })
          .option('volume', { type: 'string', describe: 'Volume name (default: the image file name)' })
          .option('create-pool', { type: 'string', describe: 'Create POOL as a directory pool at this path when it does not exist' })
          .option('kernel', { type: 'string', describe: 'Kernel for direct boot (default: NAME.vmlinuz beside the image)' })
          .option('initrd', { type: 'string', describe: 'Initramfs (default: NAME.initrd beside the image)' })
          .option('force', { type: 'boolean', default: false, describe: 'Replace a volume of that name holding a different image' })
          .strict(),
      async (a) => {
        const r = await pushKvm({
          uri: a.uri, pool: a.pool, image: a.image, force: a.force, log: progress,
          ...(a.volume !== undefined ? { volume: a.volume } : {}),
          ...(a['create-pool'] !== undefined ? { createPool: a['create-pool'] } : {}),
          ...(a.kernel !== undefined ? { kernel: a.kernel } : {}),
          ...(a.initrd !== undefined ? { initrd: a.initrd } : {}),
        });
        emit({ command: 'push kvm', ...r });
      },
    )
    .command(
      'template',
      'Upload an OpenVZ/Virtuozzo template cache to a node over SSH (temporary name, sha256 checked there, renamed into place)',
      (b) =>
        b
          .option('target', { type: 'string', demandOption: true, describe: 'ssh://user@host[:port]' })
          .option('template', { type: 'string', demandOption: true, describe: 'NAME.tar.gz from template build' })
          .option('dir', { type: 'string', default: '/vz/template/cache', describe: 'Template cache folder on the node' })
          .option('identity', { type: 'string', describe: 'ssh private key' })
          .option('known-hosts', { type: 'string', describe: "known_hosts holding the node's key (default: ssh's own); unknown keys are refused" })
          .option('force', { type: 'boolean', default: false, describe: 'Replace a template of that name holding other bytes' })
          .option('connect-timeout', numberOption('connect-timeout', 1, { default: 10, describe: 'Seconds for ssh to connect to the node (ConnectTimeout)' }))
          .strict(),
      async (a) => {
        const r = await pushTemplate({
          target: a.target, template: a.template, dir: a.dir, force: a.force, log: progress, connectTimeout: a['connect-timeout'],
          ...(a.identity !== undefined ? { identity: a.identity } : {}),
          ...(a['known-hosts'] !== undefined ? { knownHosts: a['known-hosts'] } : {}),
        });
        emit({ command: 'push template', ...r });
      },
    )
    .demandCommand(1, 'name a push target: kvm, template or ec2');
}

function launchCommands(y: Argv): Argv {
  return y
    .command(
      'kvm',
      'Start guests from a pushed volume (one overlay each), wait until ready, register them',
      (b) =>
        b
          .option('uri', { type: 'string', demandOption: true, describe: 'libvirt URI' })
          .option('pool', { type: 'string', demandOption: true, describe: 'Storage pool holding the pushed volume' })
          .option('volume', { type: 'string', demandOption: true, describe: 'The pushed image volume' })
          .option('name', { type: 'string', demandOption: true, describe: 'Guest name (NAME-1 ... NAME-N with --count)' })
          .option('count', numberOption('count', 1, { default: 1 }))
          .option('memory', { type: 'string', default: '256M' })
          .option('vcpus', numberOption('vcpus', 1, { default: 1 }))
          .option('network', { type: 'string', default: 'user', describe: 'user | bridge:BRIDGE | network:NAME' })
          .option('ip', { type: 'string', describe: 'First guest address ADDR/PREFIX (the next guests count up)' })
          .option('gateway', { type: 'string' })
          .option('forward', { type: 'string', array: true, default: [] as string[], describe: '[ADDR:]HOSTPORT:GUESTPORT (user network; +1 per guest)' })
          .option('groups', { type: 'string', demandOption: true, describe: 'Inventory groups, comma-separated' })
          .option('var', { type: 'string', array: true, default: [] as string[], describe: 'key=value host variable (repeatable)' })
          .option('wait', numberOption('wait', 0, { default: 120, describe: 'Seconds to wait for readiness (0: do not wait)' }))
          .option('ready-line', { type: 'string', describe: 'Text on the serial console that means ready (local URIs)' })
          .option('ready-port', numberOption('ready-port', 1, { describe: 'Port on ansible_host that answers when ready (default: the first forward)' }))
          .option('ready-send', { type: 'string', describe: 'Sent on the ready port first, \\r and \\n understood (e.g. "HEAD / HTTP/1.0\\r\\n\\r\\n"); SSH needs none' })
          .option('accel', { type: 'string', default: 'auto', choices: ['auto', 'kvm', 'qemu'] })
          .option('cmdline', { type: 'string', describe: 'Kernel command line before the guest values (default: root=/dev/vda1 rw console=ttyS0)' })
          .option('adopt', { type: 'boolean', default: false, describe: 'Register (and start) an existing domain of that name instead of refusing' })
          .option('ssh-key', { type: 'string', describe: 'Public key file (.pub) for the login user: each guest gets a cloud-init NoCloud seed (images with cloud-init); with user networking a free loopback port goes to 22' })
          .option('user', { type: 'string', describe: `Login user made by cloud-init, with sudo; registered as ansible_user (default: ${DEFAULT_USER})` })
          .option('user-data', { type: 'string', describe: 'Your own user-data: a #cloud-config merged with ours, or a script (#!) run after it' })
          .option('password-hash', { type: 'string', describe: 'crypt(3) hash (mkpasswd -m sha-512) of the login user\'s console password; never a plain password' })
          .option('address-source', { type: 'string', default: 'auto', choices: addressSources as string[], describe: 'How the address of a network:/bridge: guest without --ip is found (virsh domifaddr --source); auto: lease, agent, arp' })
          .option('restrict', { type: 'boolean', default: false, describe: 'User networking reaches nothing but the forwards (qemu restrict=on)' })
          .option('register', { type: 'boolean', default: true, describe: 'Record the guests in the registry (--no-register: do not)' })
          .option('ini', iniOption)
          .strict(),
      async (a) => {
        const r = await launchKvm({
          uri: a.uri, pool: a.pool, volume: a.volume, name: a.name, count: a.count, memory: a.memory, vcpus: a.vcpus,
          network: a.network, forwards: a.forward, groups: a.groups.split(',').map((g) => g.trim()).filter(Boolean),
          vars: parseVars(a.var), waitSeconds: a.wait, accel: a.accel as Accel, adopt: a.adopt, log: progress,
          ...(a.ip !== undefined ? { ip: a.ip } : {}),
          ...(a.gateway !== undefined ? { gateway: a.gateway } : {}),
          ...(a['ready-line'] !== undefined ? { readyLine: a['ready-line'] } : {}),
          ...(a['ready-port'] !== undefined ? { readyPort: a['ready-port'] } : {}),
          ...(a['ready-send'] !== undefined ? { readySend: a['ready-send'].replace(/\\r/g, '\r').replace(/\\n/g, '\n') } : {}),
          ...(a.cmdline !== undefined ? { cmdline: a.cmdline } : {}),
          ...(a['ssh-key'] !== undefined ? { sshKey: a['ssh-key'] } : {}),
          ...(a.user !== undefined ? { user: a.user } : {}),
          ...(a['user-data'] !== undefined ? { userData: a['user-data'] } : {}),
          ...(a['password-hash'] !== undefined ? { passwordHash: a['password-hash'] } : {}),
          addressSource: a['address-source'] as AddressSource,
          restrictNetwork: a.restrict,
          ...(a.register ? { registry: registrySettings(a.ini) } : {}),
        });
        emit({ command: 'launch kvm', ...r });
      },
    )
    .demandCommand(1, 'name a launch target: kvm or ec2');
}

function destroyCommands(y: Argv): Argv {
  return y
    .command(
      'kvm',
      'Stop and undefine a guest, delete its overlay volume, deregister it (idempotent)',
      (b) =>
        b
          .option('uri', { type: 'string', demandOption: true, describe: 'libvirt URI' })
          .option('name', { type: 'string', demandOption: true, describe: 'Guest name' })
          .option('force', { type: 'boolean', default: false, describe: 'Also stop and undefine a domain ec2-provision did not launch (its disks are kept)' })
          .option('ini', iniOption)
          .strict(),
      async (a) => emit({ command: 'destroy kvm', ...(await destroyKvm({ uri: a.uri, name: a.name, force: a.force, registry: registrySettings(a.ini), log: progress })) }),
    )
    .demandCommand(1, 'name a destroy target: kvm or ec2');
}

function parseValue(text: string): RegisteredValue {
  return /^-?\d+$/.test(text) && String(Number(text)) === text ? Number(text) : text === 'true' ? true : text === 'false' ? false : text;
}

async function withRegistry<T>(ini: string | undefined, work: (r: Awaited<ReturnType<typeof openRegistry>>) => Promise<T>): Promise<T> {
  const registry = await openRegistry(registrySettings(ini));
  try {
    return await work(registry);
  } finally {
    await registry.close();
  }
}

// The library names the option a bad value came through (ProvisionError.field); the flag is that
// name in kebab case, or the word the command line uses where it differs.
const flagWords: Readonly<Record<string, string>> = {
  forwards: 'forward', vars: 'var', tags: 'tag', waitSeconds: 'wait', outDir: 'out', restrictNetwork: 'restrict',
  instanceIds: 'instance-id', names: 'name', securityGroups: 'security-group',
};
function flagOf(err: unknown): string {
  if (!(err instanceof ProvisionError) || err.field === undefined) return '';
  return `--${flagWords[err.field] ?? err.field.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}: `;
}

// As a shell reports a command killed by the signal: 128 + its number.
const signalExitCode = { SIGINT: 130, SIGTERM: 143 } as const;

export async function main(argv: string[] = hideBin(process.argv)): Promise<void> {
  // As bin/ec2-inventory does: the SDK's Node 20 notice is about our runtime, and would otherwise
  // be the only stderr output of every push/launch/destroy run from a script.
  process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] ??= 'true';
  // A push or launch in progress is stopped and undone through its own failure path (interrupt.ts);
  // anything else, or a second signal, exits at once once temporary files are removed.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (interrupt(signal)) {
        progress(`${signal}: stopping and undoing what this run created (${signal} again to exit at once)`);
        return;
      }
      removeLeftoversSync();
      progress(`interrupted by ${signal}; temporary files removed`);
      process.exit(signalExitCode[signal]);
    });
  }
  await yargs(argv)
    .scriptName('ec2-provision')
    .usage('$0 <command>\n\nBuild OpenVZ template caches and disk images without root, push them to KVM hosts, OpenVZ nodes or EC2, launch and register machines.')
    .command('rootfs', 'Debian root filesystems (mmdebstrap)', rootfsCommands)
    .command('template', 'OpenVZ template caches', templateCommands)
    .command('image', 'Bootable disk images', imageCommands)
    .command('push', 'Upload an image to a hypervisor (kvm), an OpenVZ node (template) or EC2 (ec2)', (y) => pushEc2Command(pushCommands(y), progress, emit))
    .command('launch', 'Start machines from a pushed image and register them in the inventory', (y) => launchEc2Command(launchCommands(y), progress, emit))
    .command('destroy', 'Stop and remove launched machines (and images)', (y) => destroyEc2Command(destroyCommands(y), progress, emit))
    .command(
      'register',
      'Record a host in the registry (it appears in ec2-inventory --list)',
      (b) =>
        b
          .option('name', { type: 'string', demandOption: true })
          .option('groups', { type: 'string', demandOption: true, describe: 'comma-separated' })
          .option('var', { type: 'string', array: true, default: [] as string[], describe: 'key=value (repeatable; numbers and true/false keep their type)' })
          .option('source', { type: 'string', default: 'manual' })
          .option('ini', iniOption)
          .strict(),
      async (a) => {
        const hostvars: Record<string, RegisteredValue> = {};
        for (const item of a.var) {
          const at = item.indexOf('=');
          if (at < 1) throw new ProvisionError(`--var '${item}': expected key=value`, 'EUSAGE');
          const key = item.slice(0, at);
          if (launchOwnedVar(key)) throw new ProvisionError(`--var '${key}': kvm_*, ec2_* and registry_source are written by launch and used by destroy; register cannot set them`, 'EUSAGE');
          hostvars[key] = parseValue(item.slice(at + 1));
        }
        if (launchOwnedSources.includes(a.source)) throw new ProvisionError(`--source '${a.source}' is what launch ${a.source} records; register by hand with another source (default: manual)`, 'EUSAGE');
        const host = { name: a.name, groups: a.groups.split(',').map((g) => g.trim()).filter(Boolean), hostvars, source: a.source, registeredAt: Date.now() };
        await withRegistry(a.ini, (r) => r.register(host));
        emit({ command: 'register', host });
      },
    )
    .command(
      'deregister',
      'Remove a host from the registry',
      (b) => b.option('name', { type: 'string', demandOption: true }).option('ini', iniOption).strict(),
      async (a) => emit({ command: 'deregister', name: a.name, removed: await withRegistry(a.ini, (r) => r.deregister(a.name)) }),
    )
    .command(
      'list',
      'The registered hosts (JSON)',
      (b) => b.option('ini', iniOption).strict(),
      async (a) => emit(await withRegistry(a.ini, (r) => r.list())),
    )
    .demandCommand(1, 'name a command: rootfs, template, image, push, launch, destroy, register, deregister or list')
    .strict()
    .help()
    .fail((msg, err, y) => {
      // Any failure is one line (InventoryError: a bad ec2.ini or an unusable registry, which launch
      // and destroy read; a system error: a sentence naming the path). Exit 2 for bad usage, as
      // the README says, 1 for everything else.
      // yargs reports a failed check of an option's value (numbers.ts) as its own YError: usage.
      if (err && err.name !== 'YError') {
        progress(`error: ${err instanceof UsageError ? err.message : `${flagOf(err)}${failureLine(err)}`}`);
        const signal = interruptedBy();
        if (signal) removeLeftoversSync();
        const usage = err instanceof UsageError || (err instanceof ProvisionError && err.code === 'EUSAGE');
        process.exit(signal ? signalExitCode[signal as keyof typeof signalExitCode] ?? 1 : usage ? 2 : 1);
      }
      y.showHelp((s: string) => process.stderr.write(s + '\n'));
      progress(`error: ${msg ?? err?.message}`);
      process.exit(2);
    })
    .parseAsync();
}
