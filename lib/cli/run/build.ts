// build rootfs, build template, build image, list steps: local work, no hypervisor, no AWS.
import type { Parsed } from '../declare.js';
import type { provisionCommands as C } from '../declarations.js';
import { templateSteps } from '../../provision/template/steps.js';
import { emit, progress } from './output.js';

// Each command loads its own builder: a template build has no use for the image builder's YAML.

export async function buildRootfsCommand({ options }: Parsed<typeof C.buildRootfs>): Promise<void> {
  const { buildRootfs } = await import('../../provision/rootfs/build.js');
  const r = await buildRootfs({
    ...options,
    // mmdebstrap's own progress is for a person watching; a script gets the summary only.
    progress: process.stderr.isTTY === true,
    log: process.stderr.isTTY ? progress : () => {},
  });
  emit({ command: 'build rootfs', ...r });
}

export async function buildTemplateCommand({ options, own }: Parsed<typeof C.buildTemplate>): Promise<void> {
  const { buildTemplate } = await import('../../provision/template/build.js');
  const r = await buildTemplate({ ...options, ownership: own['all-root'] ? 'all-root' : 'map-builder', log: progress });
  emit({ command: 'build template', ...r });
}

export async function buildImageCommand({ options }: Parsed<typeof C.buildImage>): Promise<void> {
  const { buildImage } = await import('../../provision/image/build.js');
  emit({ command: 'build image', ...(await buildImage({ ...options, log: progress })) });
}

export async function listStepsCommand(_: Parsed<typeof C.listSteps>): Promise<void> {
  emit(templateSteps.map((s) => ({ name: s.name, scope: s.scope, description: s.description })));
}
