import yargs, { type Argv } from 'yargs';
import { hideBin } from 'yargs/helpers';
import { ProvisionError } from './errors.js';
import { removeLeftoversSync } from './outputs.js';
import { buildImage, imageFormats, type ImageFormat } from './image/build.js';
import { buildTemplate } from './template/build.js';
import { templateSteps } from './template/steps.js';
import { InventoryError } from '../errors.js';
import { destroyEc2Command, launchEc2Command, pushEc2Command } from './cli-ec2.js';

// stdout carries exactly one JSON document (the summary) so scripts can parse it; everything a
// human should see while waiting goes to stderr.
const progress = (message: string) => process.stderr.write(`ec2-provision: ${message}\n`);

function emit(summary: unknown): void {
  process.stdout.write(JSON.stringify(summary, null, 2) + '\n');
}

function templateCommands(y: Argv): Argv {
  return y
    .command(
      'build',
      'Turn a root filesystem into an OpenVZ template cache NAME.tar.gz (+ .sha256 and manifest)',
      (b) =>
        b
          .option('rootfs', { type: 'string', demandOption: true, describe: 'Root filesystem folder (only read, never changed)' })
          .option('name', { type: 'string', demandOption: true, describe: 'Template name, e.g. debian-12-x86_64-minimal' })
          .option('out', { type: 'string', demandOption: true, describe: 'Output folder' })
          .option('skip', { type: 'string', array: true, default: [] as string[], describe: `Preparation steps to leave out (${templateSteps.map((s) => s.name).join(', ')})` })
          .option('all-root', { type: 'boolean', default: false, describe: 'Make every entry 0:0 (default: only the tree owner becomes root)' })
          .option('force', { type: 'boolean', default: false, describe: 'Replace existing outputs' })
          .strict(),
      async (a) => {
        const r = await buildTemplate({
          rootfs: a.rootfs,
          name: a.name,
          outDir: a.out,
          skip: a.skip,
          force: a.force,
          ownership: a['all-root'] ? 'all-root' : 'map-builder',
          log: progress,
        });
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
      'Turn a root filesystem or template cache into a partitioned disk image for KVM direct kernel boot',
      (b) =>
        b
          .option('from', { type: 'string', demandOption: true, describe: 'Root filesystem folder or TEMPLATE.tar.gz' })
          .option('kernel', { type: 'string', demandOption: true, describe: 'Kernel image (vmlinuz), copied beside the image' })
          .option('initrd', { type: 'string', describe: 'Initramfs, copied beside the image' })
          .option('size', { type: 'string', default: '2G', describe: 'Disk size (K, M, G, T)' })
          .option('format', { type: 'string', default: 'qcow2', describe: `Image format: ${imageFormats.join(' or ')}` })
          .option('out', { type: 'string', demandOption: true, describe: 'Image file to write' })
          .option('force', { type: 'boolean', default: false, describe: 'Replace existing outputs' })
          .strict(),
      async (a) => {
        const r = await buildImage({
          from: a.from,
          kernel: a.kernel,
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

export async function main(argv: string[] = hideBin(process.argv)): Promise<void> {
  // As bin/ec2-inventory does: the SDK's Node 20 notice is about our runtime, and would otherwise
  // be the only stderr output of every push/launch/destroy run from a script.
  process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] ??= 'true';
  for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
    process.once(signal, () => {
      removeLeftoversSync();
      progress(`interrupted by ${signal}; temporary files removed`);
      process.exit(code);
    });
  }
  await yargs(argv)
    .scriptName('ec2-provision')
    .usage('$0 <command>\n\nBuild OpenVZ template caches and KVM disk images without root.')
    .command('template', 'OpenVZ template caches', templateCommands)
    .command('image', 'Bootable disk images', imageCommands)
    .command('push', 'Upload a disk image to a cloud', (y) => pushEc2Command(y, progress, emit).demandCommand(1, 'name a target: ec2'))
    .command('launch', 'Start machines from a pushed image and register them in the inventory', (y) => launchEc2Command(y, progress, emit).demandCommand(1, 'name a target: ec2'))
    .command('destroy', 'Stop and remove launched machines (and images)', (y) => destroyEc2Command(y, progress, emit).demandCommand(1, 'name a target: ec2'))
    .demandCommand(1, 'name a command: template or image')
    .strict()
    .help()
    .fail((msg, err, y) => {
      // InventoryError: a bad ec2.ini or an unusable registry, which launch and destroy read.
      if (err instanceof ProvisionError || err instanceof InventoryError) {
        progress(`error: ${err.message}`);
        process.exit(1);
      }
      if (err) throw err;
      y.showHelp((s: string) => process.stderr.write(s + '\n'));
      progress(`error: ${msg}`);
      process.exit(2);
    })
    .parseAsync();
}
