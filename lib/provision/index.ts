// Provisioning: root filesystem -> OpenVZ template cache -> bootable KVM disk image.
export { ProvisionError } from '../errors.js';
export { buildRootfs, aptMirror, datasourceConfig, DEFAULT_PACKAGES, rootfsTargets, type RootfsBuildOptions, type RootfsBuildResult, type RootfsTarget } from './rootfs/build.js';
export { scanTar, readTarball, detectCompression, compareKernelVersions, type TarScan, type Compression as TarballCompression } from './rootfs/scan.js';
export { Interrupted, interrupt, interruptedBy } from './interrupt.js';
export { requireTools, run, toolPackages, type RunOptions, type RunResult } from '../run.js';
export {
  buildTemplate,
  prepareTree,
  selectSteps,
  templateOutputs,
  type StepReport,
  type TemplateBuildOptions,
  type TemplateBuildResult,
} from './template/build.js';
export { templateSteps, type Step, type StepContext } from './template/steps.js';
export { compressions, type Compression } from './template/compress.js';
export { OverlayTree, type Change } from './template/tree.js';
export {
  PLACEHOLDERS,
  kernelCmdlineParams,
  netmaskToPrefix,
  normaliseValues,
  prefixToNetmask,
  substitute,
  type NetworkValues,
} from './template/placeholders.js';
export { fillPlaceholders, type FillResult } from './template/fill.js';
export { buildImage, imageFormats, imageOutputs, DISK_ID, ROOT_PARTUUID, type BootLoaderResult, type ImageBuildOptions, type ImageBuildResult, type ImageFormat } from './image/build.js';
export { bootLoaders, embedBootCode, GRUB_MODULES, GRUB_PC_DIR, MAX_CORE_SECTORS, type BootLoader, type EmbeddedCore } from './image/bootloader.js';
export { parseSize } from './image/size.js';
export {
  EBS_BLOCK_SIZE,
  aggregateChecksum,
  architectures,
  bootModes,
  diskDigest,
  pushEc2,
  scanDisk,
  type Architecture,
  type BootMode,
  type DiskBlock,
  type DiskScan,
  type Ec2PushOptions,
  type Ec2PushResult,
  type PushProgress,
} from './ec2/push.js';
export type { Ec2Clients } from './ec2/clients.js';
export {
  inventoryName,
  launchEc2,
  parseGroups,
  parseTags,
  type Ec2LaunchOptions,
  type Ec2LaunchResult,
  type LaunchSettings,
  type LaunchedHost,
} from './ec2/launch.js';
export { destroyEc2, type Ec2DestroyOptions, type Ec2DestroyResult } from './ec2/destroy.js';
export { pushKvm, kernelVolume, initrdVolume, type PushKvmOptions, type PushKvmResult, type PushedVolume } from './libvirt/push.js';
export { launchKvm, detectDomainType, parseVars, parseNetwork, parseForward, discoverAddress, parseDomifaddr, freeLoopbackPorts, seedVolume, addressSources, type AddressSource, type Accel, type LaunchKvmOptions, type LaunchKvmResult, type LaunchedGuest } from './libvirt/launch.js';
export { waitReady, type ReadyCheck } from './libvirt/ready.js';
export { destroyKvm, type DestroyKvmOptions, type DestroyKvmResult } from './libvirt/destroy.js';
export { Virsh, uriHost, type Log } from '../sources/libvirt/virsh.js';
export { parseMetadata, METADATA_NS, type GuestMetadata } from '../sources/libvirt/xml.js';
export { domainXml, metadataXml, xmlEscape, type DomainSpec, type Forward, type NetworkSpec } from './libvirt/xml.js';
export { pushTemplate, shellQuote, parseSshTarget, type PushTemplateOptions, type PushTemplateResult } from './openvz/push.js';
export {
  buildSeedIso,
  checkPasswordHash,
  identityConfig,
  mergeCloudConfig,
  metaData,
  networkConfig,
  parseUserData,
  readSshPublicKey,
  readUserData,
  seedFiles,
  userDataText,
  DEFAULT_USER,
  type CloudConfig,
  type IdentityOptions,
  type SeedFiles,
  type SeedNetwork,
  type SeedOptions,
  type UserData,
} from './cloudinit.js';
