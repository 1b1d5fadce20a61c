// Provisioning as the package offers it (lib/index.ts): root filesystem → OpenVZ template cache →
// bootable disk image → pushed to KVM, an OpenVZ node or EC2 → launched, registered, destroyed.
// Everything else in lib/provision is internal.
export { ProvisionError } from '../errors.js';
export { Interrupted, interrupt } from './interrupt.js';
export { buildRootfs, type RootfsBuildOptions, type RootfsBuildResult, type RootfsTarget } from './rootfs/build.js';
export { buildTemplate, type StepReport, type TemplateBuildOptions, type TemplateBuildResult } from './template/build.js';
export { templateStepNames } from './template/steps.js';
export type { Compression } from './template/compress.js';
export { buildImage, type BootLoaderResult, type ImageBuildOptions, type ImageBuildResult, type ImageFormat } from './image/build.js';
export type { BootLoader } from './image/bootloader.js';
export { pushKvm, type PushKvmOptions, type PushKvmResult, type PushedVolume } from './libvirt/push.js';
export { pushTemplate, type PushTemplateOptions, type PushTemplateResult } from './openvz/push.js';
export { pushEc2, type Architecture, type BootMode, type Ec2PushOptions, type Ec2PushResult, type PushProgress } from './ec2/push.js';
export type { CallTimeouts, Ec2Clients } from './ec2/clients.js';
export { launchKvm, type Accel, type AddressSource, type LaunchKvmOptions, type LaunchKvmResult, type LaunchedGuest } from './libvirt/launch.js';
export { launchEc2, type Ec2LaunchOptions, type Ec2LaunchResult, type LaunchSettings, type LaunchedHost } from './ec2/launch.js';
export { destroyKvm, type DestroyKvmOptions, type DestroyKvmResult } from './libvirt/destroy.js';
export { destroyEc2, type Ec2DestroyOptions, type Ec2DestroyResult } from './ec2/destroy.js';
export { deregister, register, type RegisterOptions } from './hosts.js';
