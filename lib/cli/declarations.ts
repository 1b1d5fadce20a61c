// Every option of ec2-provision and ec2-inventory, declared once (see declare.ts for what each
// property means). Nothing here is loaded at run time but these tables: a script that generates
// Ansible module specs or documentation imports this module alone.
//
// Choice lists repeat the library's constants (rootfsTargets, compressions, ...) because those live
// in modules that load the code of their command; test/unit/declarations.test.ts holds the two equal.
import type { CommandDecl, Flag, ProgramDecl } from './declare.js';

// ---- Shared sets, mounted where they apply (the Ansible modules document each once, in a doc
// fragment: lib/cli/ansible.ts) ----

const force = (what: string) => ({ name: 'force', field: 'force', type: 'bool', default: false, describe: what }) as const;

/** The registry (and for EC2 the naming of hosts) is found through the inventory's own ec2.ini. */
export const ini = {
  name: 'ini',
  type: 'path',
  describe: 'ec2.ini whose cache_path or cache_connection holds the registry, and whose destination_variable names EC2 hosts (default: $EC2_INI_PATH, else ec2.ini beside the program)',
  example: '/etc/ansible/ec2.ini',
} as const;

/** cloud-init identity of a launched machine: the same for KVM guests and EC2 instances. */
export const identity = [
  {
    name: 'ssh-key', field: 'sshKey', type: 'path',
    describe: 'Public key file (.pub) of the login user, whom cloud-init creates with sudo (images with cloud-init)',
    example: '~/.ssh/id_ed25519.pub',
  },
  {
    name: 'user', field: 'user', type: 'string',
    describe: 'Login user made by cloud-init, registered as ansible_user (default: ansible); needs --ssh-key or --user-data',
    example: 'deploy',
  },
  {
    name: 'user-data', field: 'userData', type: 'path',
    describe: 'Your own user-data file: a #cloud-config merged with ours, or a script (#!) run after it',
    example: 'site.yaml',
  },
  {
    name: 'password-hash', field: 'passwordHash', type: 'string', secret: true,
    describe: "crypt(3) hash of the login user's console password (mkpasswd -m sha-512); never a plain password",
    example: '$6$salt$hash',
  },
] as const satisfies readonly Flag[];

/** The bounds of every AWS call, as the inventory's connect_timeout and request_timeout. */
export const awsTimeouts = [
  {
    name: 'connect-timeout', field: 'timeouts.connectTimeout', type: 'int', min: 1, default: 5,
    describe: 'Seconds to open a connection to AWS, per attempt of a call',
  },
  {
    name: 'request-timeout', field: 'timeouts.requestTimeout', type: 'int', min: 1, default: 60,
    describe: 'Seconds one attempt of an AWS call may take, answer included, before it is retried',
  },
] as const satisfies readonly Flag[];

export const libvirtUri = { name: 'uri', field: 'uri', type: 'url', required: true, describe: 'libvirt URI', example: 'qemu:///system' } as const;

/** The inventory groups of a launched or registered host. */
export const groups = { name: 'groups', field: 'groups', type: 'list', required: true, describe: 'Inventory groups', example: 'web,prod' } as const;

export const region = { name: 'region', field: 'region', type: 'string', required: true, describe: 'AWS region', example: 'eu-west-1' } as const;

// ---- ec2-provision: verb, then what it acts on ----

const buildRootfs = {
  words: ['build', 'rootfs'],
  aliases: [['rootfs', 'build']],
  summary: 'Build a Debian root filesystem tarball with mmdebstrap: a cloud host (systemd, SSH, python3, sudo, cloud-init, kernel)',
  aws: false,
  flags: [
    { name: 'suite', field: 'suite', type: 'string', default: 'bookworm', describe: 'Debian suite or codename', example: 'trixie' },
    { name: 'mirror', field: 'mirror', type: 'url', describe: 'Debian mirror (default: the one apt uses here, else http://deb.debian.org/debian)', example: 'http://deb.debian.org/debian' },
    { name: 'include', field: 'include', type: 'list', default: [], describe: 'More packages to install', example: 'nginx,curl' },
    { name: 'out', field: 'out', ansible: 'dest', type: 'path', required: true, describe: 'Tarball to write: ROOT.tar, or .tar.gz, .tar.xz, .tar.zst', example: 'bookworm.tar' },
    { name: 'for', field: 'for', type: 'choice', choices: ['kvm', 'ec2'], default: 'kvm', describe: 'kvm: cloud-init reads NoCloud only; ec2: the EC2 metadata service too' },
    force('Replace an existing tarball'),
  ],
  examples: [
    { args: '--out bookworm.tar', what: 'a Debian 12 root for KVM guests' },
    { args: '--for ec2 --include nginx --out web.tar.zst', what: 'a root for EC2 with nginx, compressed' },
  ],
} as const satisfies CommandDecl;

const buildTemplate = {
  words: ['build', 'template'],
  aliases: [['template', 'build']],
  summary: 'Prepare a root filesystem once and package it: an OpenVZ template cache (the default), a Proxmox VE template, an Incus image, an OCI image or an nspawn machine (with a .sha256 and a manifest)',
  details: 'Every format gets the same cleanup (host keys, machine-id, leases, logs, histories, caches); OpenVZ also gets the network and hostname placeholders, fstab, mtab and the reboot flag, which the other platforms set up themselves. The same root and options give the same bytes. See docs/targets.md.',
  aws: false,
  flags: [
    { name: 'rootfs', field: 'rootfs', type: 'path', required: true, aliases: ['from'], describe: 'Root filesystem: a folder (only read, never changed) or a tarball (.tar, .tar.gz, .tar.xz, .tar.zst, a docker or podman export)', example: 'bookworm.tar' },
    { name: 'format', field: 'format', type: 'choice', choices: ['openvz', 'proxmox', 'incus', 'incus-split', 'oci', 'oci-tar', 'nspawn'], default: 'openvz',
      describe: 'What to make. openvz: NAME.tar.gz, an OpenVZ/Virtuozzo template cache. proxmox: ID-VERSION-FLAVOUR_VERSION-1_ARCH.tar.zst for pct create, named from /etc/os-release. incus: NAME.incus.tar.gz, a unified Incus/LXD image. incus-split: NAME.metadata.tar.gz beside NAME.squashfs (or NAME.rootfs.tar.gz, or NAME.qcow2 for a VM). oci: NAME.oci/, an OCI image layout. oci-tar: NAME.oci.tar, the same as one tar (podman load, Proxmox VE 9). nspawn: NAME.tar.gz for machinectl import-tar.',
      example: 'proxmox' },
    { name: 'name', field: 'name', type: 'string', describe: "Template name (required except for proxmox, where it is the flavour in the derived name, default 'standard')", example: 'debian-12-x86_64-minimal' },
    { name: 'out', field: 'outDir', ansible: 'dest', type: 'path', required: true, describe: 'Output folder', example: 'templates' },
    { name: 'skip', field: 'skip', type: 'list', default: [], choices: ['ssh-host-keys', 'ssh-user-keys', 'machine-id', 'logs', 'shell-history', 'package-caches', 'cloud-init-state', 'dhcp-leases', 'persistent-net', 'random-seed', 'tmp-files', 'fstab', 'mtab', 'reboot-flag', 'network', 'hostname', 'placeholder-hook'], describe: 'Preparation steps to leave out (list them with: ec2-provision list steps)', example: 'logs' },
    { name: 'all-root', type: 'bool', default: false, describe: 'Make every entry owned by 0:0 (default: only what the tree owner owns becomes root)' },
    { name: 'compress', field: 'compress', type: 'choice', choices: ['gzip', 'zstd', 'xz'], describe: "gzip (in parallel), zstd or xz (default: the format's own: zstd for proxmox, gzip for the others; oci and oci-tar take gzip or zstd)" },
    { name: 'compress-level', field: 'compressLevel', type: 'int', describe: "Compression level: gzip 1-9, zstd 1-19, xz 0-9 (default: the tool's own, gzip 6, zstd 3, xz 6; an OCI layer's gzip 4, about the size podman writes)", example: '9' },
    { name: 'arch', field: 'arch', type: 'string', describe: "The root's architecture, when the ELF header of its /sbin/init cannot tell (Debian's or the kernel's name)", example: 'arm64' },
    { name: 'split-root', field: 'splitRoot', type: 'choice', choices: ['squashfs', 'tar'], describe: 'incus-split: the root as NAME.squashfs (default: squashfs, made by mksquashfs) or NAME.rootfs.tar.gz (tar)' },
    { name: 'vm-disk', field: 'vmDisk', type: 'path', describe: 'incus-split: a virtual-machine image whose root is this qcow2 (build image --format qcow2 of the same root)', example: 'debian.qcow2' },
    force('Replace existing outputs'),
  ],
  examples: [
    { args: '--rootfs bookworm.tar --name debian-12-x86_64-minimal --out templates', what: 'a gzip template cache from a rootfs tarball' },
    { args: '--rootfs ./root --name debian-12-x86_64 --compress zstd --skip logs --out .', what: 'zstd, keeping the logs' },
    { args: '--rootfs bookworm.tar --format proxmox --out .', what: 'debian-12-standard_12.7-1_amd64.tar.zst for pct create' },
    { args: '--rootfs bookworm.tar --format incus-split --name debian12 --out .', what: 'debian12.metadata.tar.gz and debian12.squashfs for incus image import' },
    { args: '--rootfs bookworm.tar --format oci-tar --name debian12 --out .', what: 'debian12.oci.tar for podman load' },
  ],
} as const satisfies CommandDecl;

const listSteps = {
  words: ['list', 'steps'],
  aliases: [['template', 'steps']],
  summary: 'List the preparation steps of build template (JSON)',
  aws: false,
  flags: [],
  examples: [{ args: '', what: 'names and descriptions, for --skip' }],
} as const satisfies CommandDecl;

const buildImage = {
  words: ['build', 'image'],
  aliases: [['image', 'build']],
  summary: 'Turn a root filesystem or template cache into a partitioned disk image for KVM direct kernel boot (and, with --boot-loader grub, BIOS boot: EC2, plain VMs)',
  aws: false,
  flags: [
    { name: 'from', field: 'from', type: 'path', required: true, describe: 'Root filesystem folder or template cache (.tar.gz, .tar.zst, .tar.xz, .tar)', example: 'templates/debian-12-x86_64-minimal.tar.gz' },
    { name: 'kernel', field: 'kernel', type: 'path', describe: "Kernel image (vmlinuz), copied beside the image (default: the root's newest /boot/vmlinuz-* and its /boot/initrd.img-*)" },
    { name: 'initrd', field: 'initrd', type: 'path', describe: 'Initramfs, copied beside the image' },
    { name: 'size', field: 'size', type: 'size', default: '2G', describe: 'Size of the whole disk', example: '4G' },
    { name: 'format', field: 'format', type: 'choice', choices: ['qcow2', 'raw'], default: 'qcow2', describe: 'Image format' },
    { name: 'out', field: 'out', ansible: 'dest', type: 'path', required: true, describe: 'Image file to write', example: 'debian.qcow2' },
    { name: 'boot-loader', field: 'bootLoader', type: 'choice', choices: ['none', 'grub'], default: 'none', describe: 'grub: GRUB 2 in the MBR, kernel and initrd in /boot, so that the disk boots by itself (EC2 legacy-bios, BIOS VMs)' },
    { name: 'root', field: 'root', type: 'string', describe: 'root= for the kernel (default: /dev/vda1; PARTUUID=ec2e1e01-01 with --boot-loader grub, whatever the disk is called)' },
    { name: 'for', field: 'for', type: 'choice', choices: ['kvm', 'ec2'], default: 'kvm', describe: 'ec2: refuse a root that cannot boot as an EC2 Nitro instance boots it (no --boot-loader grub, root= a virtio disk, no NVMe driver before the root is mounted, no cloud-init Ec2 datasource)' },
    { name: 'grub-dir', field: 'grubDir', type: 'path', describe: "GRUB's i386-pc files (default: /usr/lib/grub/i386-pc, package grub-pc-bin)" },
    force('Replace existing outputs'),
  ],
  examples: [
    { args: '--from templates/debian-12-x86_64-minimal.tar.gz --out debian.qcow2', what: 'a qcow2 for direct kernel boot (kernel and initrd beside it)' },
    { args: '--from bookworm.tar --boot-loader grub --format raw --size 4G --out ec2.raw', what: 'a raw disk that boots by itself, for push ec2' },
  ],
} as const satisfies CommandDecl;

const pushKvm = {
  words: ['push', 'kvm'],
  summary: 'Upload a built image (and its kernel and initrd) as volumes of a libvirt storage pool; verified, idempotent',
  aws: false,
  flags: [
    libvirtUri,
    { name: 'pool', field: 'pool', type: 'string', required: true, describe: 'Storage pool', example: 'default' },
    { name: 'image', field: 'image', type: 'path', required: true, describe: 'Image file (qcow2 or raw) from build image', example: 'debian.qcow2' },
    { name: 'volume', field: 'volume', type: 'string', describe: 'Volume name (default: the image file name)' },
    { name: 'create-pool', field: 'createPool', type: 'path', describe: 'Create POOL as a directory pool at this path (on the hypervisor) when it does not exist', example: '/var/lib/libvirt/images' },
    { name: 'kernel', field: 'kernel', type: 'path', describe: 'Kernel for direct boot (default: NAME.vmlinuz beside the image)' },
    { name: 'initrd', field: 'initrd', type: 'path', describe: 'Initramfs (default: NAME.initrd beside the image)' },
    force('Replace a volume of that name holding a different image'),
  ],
  examples: [
    { args: '--uri qemu:///system --pool default --image debian.qcow2', what: 'upload into the default pool' },
    { args: '--uri qemu+ssh://root@hv1/system --pool vms --create-pool /srv/vms --image debian.qcow2', what: 'to a remote hypervisor, creating its pool' },
  ],
} as const satisfies CommandDecl;

/** How ec2-provision reaches a template node over SSH: the same for pushing and removing, OpenVZ or Proxmox VE. */
const nodeTarget = (example: string) => ({ name: 'target', field: 'target', type: 'url', required: true, describe: 'The node: ssh://user@host[:port]', example }) as const;
const nodeSsh = {
  identity: { name: 'identity', field: 'identity', type: 'path', describe: 'SSH private key (ssh -i)', example: '~/.ssh/id_ed25519' },
  knownHosts: { name: 'known-hosts', field: 'knownHosts', type: 'path', describe: "known_hosts holding the node's key (default: ssh's own files); an unknown key is refused" },
  connectTimeout: { name: 'connect-timeout', field: 'connectTimeout', type: 'int', min: 1, default: 10, describe: 'Seconds for ssh to connect to the node (ConnectTimeout)' },
} as const satisfies Record<string, Flag>;
const openvzDir = { name: 'dir', field: 'dir', type: 'string', default: '/vz/template/cache', describe: 'Template cache folder on the node' } as const;

const pushOpenvz = {
  words: ['push', 'openvz'],
  aliases: [['push', 'template']],
  summary: 'Upload an OpenVZ/Virtuozzo template cache to a node over SSH (temporary name, sha256 checked there, renamed into place)',
  aws: false,
  flags: [
    nodeTarget('ssh://root@node1'),
    { name: 'template', field: 'template', type: 'path', required: true, describe: 'NAME.tar.gz (.tar.zst, .tar.xz) from build template', example: 'templates/debian-12-x86_64-minimal.tar.gz' },
    openvzDir,
    nodeSsh.identity,
    nodeSsh.knownHosts,
    force('Replace a template of that name holding other bytes'),
    nodeSsh.connectTimeout,
  ],
  examples: [
    { args: '--target ssh://root@node1 --template templates/debian-12-x86_64-minimal.tar.gz', what: 'into /vz/template/cache on node1' },
  ],
} as const satisfies CommandDecl;

const destroyOpenvz = {
  words: ['destroy', 'openvz'],
  summary: "Remove a template cache that push openvz put on a node, when the node's file under its name holds the local template's bytes (idempotent)",
  aws: false,
  flags: [
    nodeTarget('ssh://root@node1'),
    { name: 'template', field: 'template', type: 'path', required: true, describe: "The local NAME.tar.gz (.tar.zst, .tar.xz) that was pushed: its name finds the node's file, its bytes prove it is that template", example: 'templates/debian-12-x86_64-minimal.tar.gz' },
    openvzDir,
    nodeSsh.identity,
    nodeSsh.knownHosts,
    force("Remove the node's file under that name even when it holds other bytes, or the local template is gone"),
    nodeSsh.connectTimeout,
  ],
  examples: [
    { args: '--target ssh://root@node1 --template templates/debian-12-x86_64-minimal.tar.gz', what: 'remove it from /vz/template/cache on node1' },
  ],
} as const satisfies CommandDecl;

const pushProxmox = {
  words: ['push', 'proxmox'],
  summary: "Upload a Proxmox VE container template to a node over SSH, into its local storage's template/cache (temporary name, sha256 checked there, renamed into place)",
  aws: false,
  flags: [
    nodeTarget('ssh://root@pve1'),
    { name: 'template', field: 'template', type: 'path', required: true, describe: 'The .tar.zst (.tar.gz, .tar.xz) from build template --format proxmox, or an OCI archive from --format oci-tar (Proxmox VE 9)', example: 'debian-12-standard_12.7-1_amd64.tar.zst' },
    { name: 'dir', field: 'dir', type: 'string', default: '/var/lib/vz/template/cache', describe: "Template folder on the node (the local storage's; another storage's is its path plus template/cache)" },
    nodeSsh.identity,
    nodeSsh.knownHosts,
    force('Replace a template of that name holding other bytes'),
    nodeSsh.connectTimeout,
  ],
  examples: [
    { args: '--target ssh://root@pve1 --template debian-12-standard_12.7-1_amd64.tar.zst', what: 'then: pct create 200 local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst' },
  ],
} as const satisfies CommandDecl;

const pushEc2 = {
  words: ['push', 'ec2'],
  summary: 'Upload a raw or qcow2 disk image as an EC2 AMI through the EBS direct APIs (no S3, no vmimport role)',
  aws: true,
  flags: [
    region,
    { name: 'image', field: 'image', type: 'path', required: true, describe: 'Disk image (raw or qcow2) that boots by itself (build image --boot-loader grub)', example: 'ec2.raw' },
    { name: 'name', field: 'name', type: 'string', required: true, describe: 'AMI name; an AMI of this name holding the same disk is reused', example: 'debian-12-web' },
    { name: 'architecture', field: 'architecture', type: 'choice', choices: ['x86_64', 'arm64'], default: 'x86_64', describe: 'CPU architecture of the image' },
    { name: 'boot-mode', field: 'bootMode', type: 'choice', choices: ['legacy-bios', 'uefi'], default: 'legacy-bios', describe: 'How EC2 boots the AMI' },
    { name: 'description', field: 'description', type: 'string', describe: 'AMI description' },
    { name: 'concurrency', field: 'concurrency', type: 'int', min: 1, default: 32, describe: 'EBS blocks in flight at once' },
    ...awsTimeouts,
  ],
  examples: [
    { args: '--region eu-west-1 --image ec2.raw --name debian-12-web', what: 'an AMI from a raw disk (zero blocks are skipped)' },
  ],
} as const satisfies CommandDecl;

const launchKvm = {
  words: ['launch', 'kvm'],
  summary: 'Start guests from a pushed volume (one overlay each), wait until they are ready, register them',
  details: 'With --ssh-key or --user-data each guest gets a cloud-init NoCloud seed, and with user networking a free loopback port forwarded to its port 22.',
  aws: false,
  flags: [
    libvirtUri,
    { name: 'pool', field: 'pool', type: 'string', required: true, describe: 'Storage pool holding the pushed volume', example: 'default' },
    { name: 'volume', field: 'volume', type: 'string', required: true, describe: 'The pushed image volume', example: 'debian.qcow2' },
    { name: 'name', field: 'name', type: 'string', required: true, describe: 'Guest name (NAME-1 ... NAME-N with --count above 1)', example: 'web' },
    { name: 'count', field: 'count', type: 'int', min: 1, default: 1, describe: 'Guests to start' },
    { name: 'memory', field: 'memory', type: 'size', default: '256M', describe: 'Memory of each guest' },
    { name: 'vcpus', field: 'vcpus', type: 'int', min: 1, default: 1, describe: 'Virtual CPUs of each guest' },
    { name: 'network', field: 'network', type: 'string', default: 'user', describe: 'user, bridge:BRIDGE or network:NAME', example: 'network:default' },
    { name: 'ip', field: 'ip', type: 'string', describe: 'Address of the first guest, ADDR/PREFIX (the next guests count up)', example: '192.168.122.10/24' },
    { name: 'gateway', field: 'gateway', type: 'string', describe: 'Default gateway of guests given --ip', example: '192.168.122.1' },
    { name: 'forward', field: 'forwards', type: 'list', default: [], describe: 'User network port forward [ADDR:]HOSTPORT:GUESTPORT (the host port grows by one per guest)', example: '8080:80' },
    groups,
    { name: 'var', field: 'vars', ansible: 'hostvars', type: 'map', default: [], describe: 'Host variable key=value', example: 'role=frontend' },
    { name: 'wait', field: 'waitSeconds', ansible: 'wait_timeout', type: 'int', default: 120, describe: 'Seconds to wait until the guests are ready (0: do not wait)' },
    { name: 'ready-line', field: 'readyLine', type: 'string', describe: 'Text on the serial console that means ready (local URIs)', example: 'login:' },
    { name: 'ready-port', field: 'readyPort', type: 'int', min: 1, describe: 'Port on ansible_host that answers when ready (default: the first forward)' },
    { name: 'ready-send', field: 'readySend', type: 'string', escapes: true, describe: 'Sent on the ready port first, \\r and \\n understood; SSH needs none', example: 'HEAD / HTTP/1.0\\r\\n\\r\\n' },
    { name: 'accel', field: 'accel', type: 'choice', choices: ['auto', 'kvm', 'qemu'], default: 'auto', describe: 'kvm: hardware virtualisation; qemu: emulation; auto: kvm when /dev/kvm is usable' },
    { name: 'cmdline', field: 'cmdline', type: 'string', describe: 'Kernel command line before the guest values (default: root=/dev/vda1 rw console=ttyS0)' },
    { name: 'adopt', field: 'adopt', type: 'bool', default: false, describe: 'Register (and start) an existing domain of that name instead of refusing' },
    ...identity,
    { name: 'address-source', field: 'addressSource', type: 'choice', choices: ['auto', 'lease', 'agent', 'arp'], default: 'auto', describe: 'How the address of a network: or bridge: guest without --ip is found (virsh domifaddr --source); auto tries lease, agent, arp' },
    { name: 'restrict', field: 'restrictNetwork', type: 'bool', default: false, describe: 'User networking reaches nothing but the forwards (qemu restrict=on)' },
    { name: 'register', type: 'bool', default: true, describe: 'Record the guests in the registry (--no-register: do not)' },
    ini,
  ],
  examples: [
    { args: '--uri qemu:///system --pool default --volume debian.qcow2 --name web --count 2 --groups web --ssh-key ~/.ssh/id_ed25519.pub', what: 'two guests web-1 and web-2, reachable over SSH' },
    { args: '--uri qemu:///system --pool default --volume debian.qcow2 --name db --network network:default --groups db --var role=primary --ssh-key key.pub', what: 'on a libvirt network, with a host variable' },
  ],
} as const satisfies CommandDecl;

const launchEc2 = {
  words: ['launch', 'ec2'],
  summary: 'Launch tagged instances from an AMI and register them in inventory groups',
  details: 'With --ssh-key or --user-data the instances get cloud-init user-data (at most 16 KiB).',
  aws: true,
  flags: [
    region,
    { name: 'ami', field: 'ami', ansible: 'image_id', type: 'string', required: true, describe: 'AMI id', example: 'ami-0123456789abcdef0' },
    { name: 'instance-type', field: 'instanceType', type: 'string', required: true, describe: 'Instance type', example: 't3.small' },
    { name: 'count', field: 'count', type: 'int', min: 1, default: 1, describe: 'Instances to launch' },
    { name: 'subnet', field: 'subnet', ansible: 'vpc_subnet_id', type: 'string', describe: 'Subnet id (default: the default VPC)', example: 'subnet-0123456789abcdef0' },
    { name: 'security-group', field: 'securityGroups', type: 'list', comma: false, default: [], describe: 'Security group id (sg-...) or name', example: 'sg-0123456789abcdef0' },
    { name: 'key-name', field: 'keyName', type: 'string', describe: 'EC2 key pair name', example: 'ops' },
    ...identity,
    groups,
    { name: 'tag', field: 'tags', type: 'map', default: [], describe: 'Tag key=value of the instances and volumes', example: 'Env=prod' },
    { name: 'wait', field: 'waitSeconds', ansible: 'wait_timeout', type: 'int', default: 600, describe: 'Seconds to wait until the instances are running with an address' },
    { name: 'client-token', field: 'clientToken', type: 'string', describe: 'RunInstances idempotence token (default: a new one per run)' },
    ...awsTimeouts,
    ini,
  ],
  examples: [
    { args: '--region eu-west-1 --ami ami-0123456789abcdef0 --instance-type t3.small --count 2 --groups web --ssh-key ~/.ssh/id_ed25519.pub', what: 'two web hosts with a login user' },
  ],
} as const satisfies CommandDecl;

const destroyKvm = {
  words: ['destroy', 'kvm'],
  summary: 'Stop and undefine a guest, delete its overlay volume, deregister it (idempotent)',
  aws: false,
  flags: [
    libvirtUri,
    { name: 'name', field: 'name', type: 'string', required: true, describe: 'Guest name', example: 'web-1' },
    force('Also stop and undefine a domain ec2-provision did not launch (its disks are kept)'),
    ini,
  ],
  examples: [{ args: '--uri qemu:///system --name web-1', what: 'remove one guest and its registry entry' }],
} as const satisfies CommandDecl;

const destroyEc2 = {
  words: ['destroy', 'ec2'],
  summary: 'Terminate instances, wait, remove them from the registry; --image also deregisters the AMI and deletes its snapshot',
  aws: true,
  flags: [
    region,
    { name: 'instance-id', field: 'instanceIds', type: 'list', default: [], describe: 'Instance id', example: 'i-0123456789abcdef0' },
    { name: 'name', field: 'names', type: 'list', default: [], describe: 'Inventory host name registered by launch ec2', example: 'ec2-3-250-1-2.eu-west-1.compute.amazonaws.com' },
    { name: 'image', field: 'image', type: 'string', describe: 'AMI id or name to deregister (its snapshot is deleted)', example: 'debian-12-web' },
    { name: 'wait', field: 'waitSeconds', type: 'int', default: 600, describe: 'Seconds to wait until the instances are terminated' },
    ...awsTimeouts,
    ini,
  ],
  examples: [
    { args: '--region eu-west-1 --instance-id i-0123456789abcdef0', what: 'terminate one instance' },
    { args: '--region eu-west-1 --image debian-12-web', what: 'deregister an AMI and delete its snapshot' },
  ],
} as const satisfies CommandDecl;

const register = {
  words: ['register'],
  summary: 'Record a host in the registry (ec2-inventory --list then shows it)',
  aws: false,
  flags: [
    { name: 'name', field: 'name', type: 'string', required: true, describe: 'Host name', example: 'db1.example.com' },
    groups,
    { name: 'var', field: 'hostvars', type: 'map', default: [], describe: 'Host variable key=value (numbers and true/false keep their type)', example: 'ansible_host=10.0.0.5' },
    { name: 'source', field: 'source', type: 'string', default: 'manual', describe: 'Who registered it (kvm and ec2 are the launches\')' },
    ini,
  ],
  examples: [{ args: '--name db1.example.com --groups db --var ansible_host=10.0.0.5', what: 'a host made by other means' }],
} as const satisfies CommandDecl;

const deregister = {
  words: ['deregister'],
  summary: 'Remove a host from the registry',
  aws: false,
  flags: [
    { name: 'name', field: 'name', type: 'string', required: true, describe: 'Host name', example: 'db1.example.com' },
    ini,
  ],
  examples: [{ args: '--name db1.example.com', what: 'forget a registered host' }],
} as const satisfies CommandDecl;

const listHosts = {
  words: ['list', 'hosts'],
  aliases: [['list']],
  summary: 'The registered hosts (JSON)',
  aws: false,
  flags: [ini],
  examples: [{ args: '', what: 'every host of the registry beside the cache of $EC2_INI_PATH' }],
} as const satisfies CommandDecl;

export const provisionCommands = {
  buildRootfs, buildTemplate, buildImage, listSteps,
  pushKvm, pushOpenvz, pushProxmox, pushEc2,
  launchKvm, launchEc2,
  destroyKvm, destroyEc2, destroyOpenvz,
  register, deregister, listHosts,
} as const;

export const provisionProgram: ProgramDecl = {
  name: 'ec2-provision',
  fieldsAre: 'Library option',
  otherUsage: ['--json < REQUEST.json    one JSON request on stdin, one JSON answer on stdout (for programs: the Ansible modules)'],
  summary: 'Build root filesystems, OpenVZ template caches and disk images without root, push them to KVM hosts, OpenVZ nodes or EC2, launch and register machines.',
  commands: Object.values(provisionCommands),
};

// ---- ec2-inventory: ec2.py's flags ----

export const inventoryCommand = {
  words: [],
  usage: '[--list | --host HOST] [--refresh-cache] | --refresh-only [--profile PROFILE]',
  summary: 'Produce an Ansible inventory from EC2, RDS, ElastiCache, Route53 and libvirt (ec2.ini: $EC2_INI_PATH, else ec2.ini beside this program)',
  aws: true,
  flags: [
    { name: 'list', type: 'bool', describe: 'List instances (the default)' },
    { name: 'host', field: 'host', type: 'string', describe: 'Get all the variables about a specific instance', example: 'web1.example.com' },
    { name: 'refresh-cache', field: 'refreshCache', type: 'bool', default: false, describe: 'Force refresh of cache by making API requests to EC2 (default: use the cache files)' },
    { name: 'refresh-only', field: 'refreshOnly', type: 'bool', default: false, describe: 'Refresh the cache and print nothing (for cron); a failure is one line on stderr and a non-zero exit' },
    { name: 'profile', field: 'profile', type: 'string', aliases: ['boto-profile'], describe: 'Use this AWS profile (wins over AWS_PROFILE and boto_profile in ec2.ini)', example: 'prod' },
  ],
  examples: [
    { args: '--list', what: 'what ansible-playbook -i ec2-inventory asks for' },
    { args: '--host web1.example.com', what: 'the variables of one host' },
    { args: '--refresh-only', what: 'refresh the cache from cron' },
  ],
} as const satisfies CommandDecl;

export const inventoryProgram: ProgramDecl = {
  name: 'ec2-inventory',
  summary: inventoryCommand.summary,
  commands: [inventoryCommand],
};
