// The package API: the same work as bin/ec2-inventory, as typed functions. Nothing here exits the
// process or writes to the console; failures are thrown as the typed errors below.
export { readSettings, parseSettings, defaultIniPath } from './settings/read.js';
export type { Settings, InstanceFilter, Pattern, SettingsOverrides, AccountSettings, AccountIdentity } from './settings/read.js';
export type { LaterSettings, StaticCredentials, HostnameVariable, DestinationFormat } from './settings/later.js';
export { options as iniOptions } from './settings/options.js';
export type { OptionSpec } from './settings/options.js';
export { fetchInventory, listInventory, hostInventory, refreshInventory, hostVars } from './flow/request.js';
export type { RequestOptions, Progress } from './flow/request.js';
export { buildInventory } from './ec2py/rules.js';
export { to_safe } from './ec2py/groups.js';
export type { Inventory, Group, HostVars, Index } from './records/inventory.js';
export type { FetchedData, RegionRecords, Route53RecordSet } from './records/aws.js';
export type { EC2Record, RDSRecord } from './records/aws.js';
export type { CacheClusterRecord, ReplicationGroupRecord } from './records/aws.js';
export type { DBClusterRecord } from './records/aws.js';
export { json_format_dict as formatInventory } from './ec2py/format.js';
export { InventoryError, SettingsError, AwsError, CacheError } from './errors.js';

// Provisioning: root filesystem → OpenVZ template cache → bootable disk image.
export {
  buildTemplate, templateSteps, compressions, buildImage, imageFormats, bootLoaders, ROOT_PARTUUID, fillPlaceholders, kernelCmdlineParams, PLACEHOLDERS, ProvisionError,
  pushKvm, launchKvm, destroyKvm, detectDomainType, domainXml, xmlEscape, parseMetadata,
} from './provision/index.js';
export type {
  TemplateBuildOptions, TemplateBuildResult, Compression, StepReport, Step, ImageBuildOptions, ImageBuildResult, ImageFormat, BootLoader, BootLoaderResult,
  NetworkValues, FillResult,
  PushKvmOptions, PushKvmResult, PushedVolume, LaunchKvmOptions, LaunchKvmResult, LaunchedGuest, DestroyKvmOptions, DestroyKvmResult,
  DomainSpec, GuestMetadata, Accel,
} from './provision/index.js';

// The registry of hosts launched outside the AWS listings (KVM guests, instances with chosen groups).
export { openRegistry, registeredHosts, registryFile } from './store/registry.js';
export type { Registry } from './store/registry.js';
export type { RegisteredValue } from './records/inventory.js';
export type { RegisteredHost } from './records/inventory.js';

// EC2 provisioning: push a disk image as an AMI, launch instances into inventory groups, destroy.
export { pushEc2, launchEc2, destroyEc2, scanDisk } from './provision/index.js';
// A signal during a push or launch: stop it and undo what it created (see interrupt.ts).
export { interrupt, interruptedBy, Interrupted } from './provision/index.js';
export type {
  Ec2PushOptions, Ec2PushResult, PushProgress, Ec2LaunchOptions, Ec2LaunchResult, LaunchedHost, Ec2DestroyOptions, Ec2DestroyResult,
  Ec2Clients, Architecture, BootMode,
} from './provision/index.js';
