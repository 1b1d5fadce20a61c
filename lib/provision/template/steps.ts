import path from 'node:path';
import { hookScript, rebootFlagSysv, rebootFlagUnit, systemdUnit, sysvScript } from './hook.js';
import { HOOK_PATH, PLACEHOLDERS, PLACEHOLDER_LIST, PLACEHOLDER_TEMPLATES, hasPlaceholder } from './placeholders.js';
import type { Change, OverlayTree } from './tree.js';

// The preparation a template cache needs (as OpenVZ's template-cache recipe describes), as named steps that can be switched off one
// by one. Each step reads the tree through the overlay and records changes; none touches the source.

export interface StepContext {
  tree: OverlayTree;
  change(c: Change): void;
}

export interface Step {
  name: string;
  description: string;
  /**
   * `all`: what every image of a root needs (no host keys, no machine-id, no leases, no logs).
   * `openvz`: what an OpenVZ node needs because it does not configure the guest itself (network and
   * hostname placeholders, fstab, mtab, the reboot flag); Proxmox, Incus, OCI runtimes and nspawn
   * set these up themselves.
   */
  scope: 'all' | 'openvz';
  /** Returns a reason when the step does not apply to this tree. */
  run(ctx: StepContext): string | void;
}

const { ip: IP, netmask: MASK, gateway: GW, hostname: HOST } = PLACEHOLDERS;

function file(p: string, content: string, mode = 0o644): Change {
  return { kind: 'file', path: p, content: Buffer.from(content, 'utf8'), mode };
}

/** Paths below `dir` (recursively) whose last component matches, in the overlay view. */
function findFiles(tree: OverlayTree, dir: string, match: (name: string, rel: string) => boolean): string[] {
  const out: string[] = [];
  const visit = (d: string) => {
    for (const n of tree.list(d)) {
      const rel = `${d}/${n}`;
      const k = tree.kind(rel);
      if (k === 'dir') visit(rel);
      else if (match(n, rel)) out.push(rel);
    }
  };
  if (tree.kind(dir) === 'dir') visit(dir);
  return out;
}

function homeDirs(tree: OverlayTree): string[] {
  return ['root', ...tree.list('home').map((n) => `home/${n}`)].filter((d) => tree.kind(d) === 'dir');
}

function isBusyboxInit(tree: OverlayTree): boolean {
  return /^[^#\n]*::sysinit:/m.test(tree.readText('etc/inittab') ?? '');
}

function hasSystemd(tree: OverlayTree): boolean {
  return ['lib/systemd/systemd', 'usr/lib/systemd/systemd'].some((p) => tree.exists(p));
}

function sysvRcDir(tree: OverlayTree, level: string): string | undefined {
  return [`etc/rc${level}.d`, `etc/rc.d/rc${level}.d`].find((d) => tree.kind(d) === 'dir');
}

/** cloud-init configures network and hostname at first boot from its datasource (the NoCloud seed, EC2). */
export function hasCloudInit(tree: OverlayTree): boolean {
  return tree.kind('etc/cloud/cloud.cfg') === 'file' && ['usr/bin/cloud-init', 'bin/cloud-init'].some((p) => tree.exists(p));
}

const PRIVATE_KEY_RE = /^-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/;

const sshUserKeys: Step = {
  name: 'ssh-user-keys',
  scope: 'all',
  description:
    "Remove authorized_keys (and authorized_keys2) and private keys from /root/.ssh and /home/*/.ssh: a template must not let the builder's keys in, nor carry anyone's private key.",
  run({ tree, change }) {
    const victims: string[] = [];
    for (const home of homeDirs(tree)) {
      for (const f of findFiles(tree, `${home}/.ssh`, () => true)) {
        const name = path.posix.basename(f);
        if (name === 'authorized_keys' || name === 'authorized_keys2') victims.push(f);
        else if (tree.kind(f) === 'file' && (PRIVATE_KEY_RE.test((tree.read(f) ?? Buffer.alloc(0)).subarray(0, 64).toString('latin1')) || /^id_[a-z0-9_-]+$/.test(name))) victims.push(f);
      }
    }
    if (victims.length === 0) return 'no authorized_keys or private keys in /root/.ssh or /home/*/.ssh';
    for (const p of victims) change({ kind: 'remove', path: p });
  },
};

/** Removes what is inside `dir` (the folder itself stays, with its mode): */
function emptyDir(tree: OverlayTree, change: StepContext['change'], dir: string): number {
  const names = tree.list(dir);
  for (const n of names) change({ kind: 'remove', path: `${dir}/${n}` });
  return names.length;
}

const cloudInitState: Step = {
  name: 'cloud-init-state',
  scope: 'all',
  description: 'Empty /var/lib/cloud, so cloud-init treats the first boot of each guest as a new instance and reads its seed again.',
  run({ tree, change }) {
    if (emptyDir(tree, change, 'var/lib/cloud') === 0) return 'no /var/lib/cloud state';
  },
};

const dhcpLeases: Step = {
  name: 'dhcp-leases',
  scope: 'all',
  description: 'Remove DHCP leases (dhclient, dhcpcd, NetworkManager, systemd-networkd), so a guest does not ask for the builder\'s address.',
  run({ tree, change }) {
    const victims = [
      ...findFiles(tree, 'var/lib/dhcp', (n) => /\.leases?$|^dhclient/.test(n)),
      ...findFiles(tree, 'var/lib/dhclient', () => true),
      ...findFiles(tree, 'var/lib/dhcpcd', (n) => /\.lease6?$/.test(n)),
      ...findFiles(tree, 'var/lib/NetworkManager', (n) => /\.lease$/.test(n)),
      ...findFiles(tree, 'var/lib/systemd/network', () => true),
    ];
    if (victims.length === 0) return 'no DHCP leases';
    for (const p of victims) change({ kind: 'remove', path: p });
  },
};

const persistentNet: Step = {
  name: 'persistent-net',
  scope: 'all',
  description: "Remove /etc/udev/rules.d/70-persistent-net.rules: it ties interface names to the builder's MAC addresses.",
  run({ tree, change }) {
    const p = 'etc/udev/rules.d/70-persistent-net.rules';
    if (!tree.exists(p)) return 'no 70-persistent-net.rules';
    change({ kind: 'remove', path: p });
  },
};

const randomSeed: Step = {
  name: 'random-seed',
  scope: 'all',
  description: 'Remove saved random seeds (systemd, sysvinit urandom), so guests do not start from the same entropy.',
  run({ tree, change }) {
    const victims = ['var/lib/systemd/random-seed', 'var/lib/urandom/random-seed', 'var/lib/random-seed', 'var/lib/systemd/credential.secret'].filter((p) => tree.exists(p));
    if (victims.length === 0) return 'no random seed';
    for (const p of victims) change({ kind: 'remove', path: p });
  },
};

const tmpFiles: Step = {
  name: 'tmp-files',
  scope: 'all',
  description: 'Empty /tmp and /var/tmp (the folders stay, with their sticky mode).',
  run({ tree, change }) {
    if (emptyDir(tree, change, 'tmp') + emptyDir(tree, change, 'var/tmp') === 0) return 'no temporary files';
  },
};

const sshHostKeys: Step = {
  name: 'ssh-host-keys',
  scope: 'all',
  description: 'Remove SSH host keys so every container or guest generates its own.',
  run({ tree, change }) {
    const keys = tree.list('etc/ssh').filter((n) => /^ssh_host_.*key/.test(n));
    if (keys.length === 0) return 'no /etc/ssh/ssh_host_*key*';
    for (const k of keys) change({ kind: 'remove', path: `etc/ssh/${k}` });
  },
};

const machineId: Step = {
  name: 'machine-id',
  scope: 'all',
  description: 'Empty /etc/machine-id (systemd and dbus generate a new one at first boot) and remove the dbus copy.',
  run({ tree, change }) {
    let did = false;
    if (tree.kind('etc/machine-id') === 'file') {
      change(file('etc/machine-id', '', tree.mode('etc/machine-id') ?? 0o444));
      did = true;
    }
    if (tree.kind('var/lib/dbus/machine-id') === 'file') {
      change({ kind: 'remove', path: 'var/lib/dbus/machine-id' });
      did = true;
    }
    if (!did) return 'no machine-id';
  },
};

const logs: Step = {
  name: 'logs',
  scope: 'all',
  description: 'Empty the files under /var/log and delete rotated ones; directories stay because daemons expect them.',
  run({ tree, change }) {
    const files = findFiles(tree, 'var/log', () => true);
    if (files.length === 0) return 'no files under /var/log';
    for (const f of files) {
      if (/(\.\d+|\.gz|\.xz|\.bz2|\.zst|\.old|-\d{8})$/.test(f) || tree.kind(f) !== 'file') change({ kind: 'remove', path: f });
      else if ((tree.read(f)?.length ?? 0) > 0) change({ kind: 'file', path: f, content: Buffer.alloc(0), mode: tree.mode(f) ?? 0o640 });
    }
  },
};

const histories = ['.bash_history', '.ash_history', '.sh_history', '.zsh_history', '.python_history', '.lesshst', '.viminfo', '.mysql_history', '.psql_history'];

const shellHistory: Step = {
  name: 'shell-history',
  scope: 'all',
  description: 'Remove shell and tool histories from /root and /home/*.',
  run({ tree, change }) {
    const found = homeDirs(tree).flatMap((h) => histories.map((n) => `${h}/${n}`)).filter((p) => tree.exists(p));
    if (found.length === 0) return 'no shell history';
    for (const p of found) change({ kind: 'remove', path: p });
  },
};

const packageCaches: Step = {
  name: 'package-caches',
  scope: 'all',
  description: 'Remove downloaded packages and package index caches (apt, yum, dnf); they are re-fetched on demand.',
  run({ tree, change }) {
    const victims = [
      ...findFiles(tree, 'var/cache/apt', (n) => n.endsWith('.deb') || n.endsWith('.bin')),
      ...findFiles(tree, 'var/lib/apt/lists', (n) => n !== 'lock'),
      ...findFiles(tree, 'var/cache/yum', () => true),
      ...findFiles(tree, 'var/cache/dnf', () => true),
    ];
    if (victims.length === 0) return 'no package caches';
    for (const p of victims) change({ kind: 'remove', path: p });
  },
};

const fstab: Step = {
  name: 'fstab',
  scope: 'openvz',
  description: 'Write /etc/fstab with only proc and devpts: a container gets its root from the host.',
  run({ change }) {
    change(file('etc/fstab', 'proc     /proc      proc     defaults    0  0\ndevpts   /dev/pts   devpts   mode=0620   0  0\n'));
  },
};

const mtab: Step = {
  name: 'mtab',
  scope: 'openvz',
  description: 'Make /etc/mtab a link to /proc/mounts so OpenVZ and mount(8) see the real mounts.',
  run({ change }) {
    change({ kind: 'symlink', path: 'etc/mtab', target: '/proc/mounts' });
  },
};

const rebootFlag: Step = {
  name: 'reboot-flag',
  scope: 'openvz',
  description: 'Create /reboot when the system reboots (sysvinit runlevel 6 or systemd reboot.target), the flag OpenVZ needs to start it again.',
  run({ tree, change }) {
    let did = false;
    const rc6 = sysvRcDir(tree, '6');
    if (rc6 && tree.kind('etc/init.d') === 'dir') {
      change(file('etc/init.d/vzreboot', rebootFlagSysv, 0o755));
      change({ kind: 'symlink', path: `${rc6}/S00vzreboot`, target: '../init.d/vzreboot' });
      did = true;
    }
    if (hasSystemd(tree)) {
      change(file('etc/systemd/system/vz-reboot-flag.service', rebootFlagUnit));
      change({ kind: 'symlink', path: 'etc/systemd/system/reboot.target.wants/vz-reboot-flag.service', target: '../vz-reboot-flag.service' });
      did = true;
    }
    if (!did) return 'no runlevel 6 or systemd: this init cannot tell a reboot from a halt';
  },
};

function debianInterfaces(tree: OverlayTree, change: StepContext['change']): boolean {
  const text = tree.readText('etc/network/interfaces');
  if (text === undefined) return false;
  const ifaceRe = /^\s*iface\s+(\S+)\s+inet6?\s+\S+/gm;
  const names = [...text.matchAll(ifaceRe)].map((m) => m[1]!).filter((n) => n !== 'lo');
  const name = names[0] ?? 'eth0';
  const keep = text.split('\n').filter((l) => /^\s*(source|source-directory)\s/.test(l));
  change(
    file(
      'etc/network/interfaces',
      [
        '# Written by ec2-provision: the placeholders are filled at boot (see /etc/ec2inv/fill-placeholders).',
        ...keep,
        'auto lo',
        'iface lo inet loopback',
        '',
        `auto ${name}`,
        `iface ${name} inet static`,
        `    address ${IP}`,
        `    netmask ${MASK}`,
        `    gateway ${GW}`,
        '',
      ].join('\n'),
      tree.mode('etc/network/interfaces') ?? 0o644,
    ),
  );
  // A stanza for the same interface in interfaces.d would fight the placeholder one.
  for (const f of findFiles(tree, 'etc/network/interfaces.d', () => true)) {
    if (new RegExp(`^\\s*iface\\s+${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s`, 'm').test(tree.readText(f) ?? '')) {
      change({ kind: 'remove', path: f });
    }
  }
  return true;
}

function rhelIfcfg(tree: OverlayTree, change: StepContext['change']): boolean {
  const dir = 'etc/sysconfig/network-scripts';
  const cfg = tree.list(dir).find((n) => n.startsWith('ifcfg-') && n !== 'ifcfg-lo');
  if (!cfg) return false;
  const p = `${dir}/${cfg}`;
  const drop = /^\s*(HWADDR|MACADDR|UUID|IPADDR\d*|PREFIX\d*|NETMASK\d*|GATEWAY\d*|BOOTPROTO|ONBOOT|DHCP_HOSTNAME)\s*=/;
  const lines = (tree.readText(p) ?? '').split('\n').filter((l) => l.trim() !== '' && !drop.test(l));
  lines.push('BOOTPROTO=none', 'ONBOOT=yes', `IPADDR=${IP}`, `NETMASK=${MASK}`, `GATEWAY=${GW}`, '');
  change(file(p, lines.join('\n'), tree.mode(p) ?? 0o644));
  return true;
}

function slackwareInet1(tree: OverlayTree, change: StepContext['change']): boolean {
  const p = 'etc/rc.d/rc.inet1.conf';
  const text = tree.readText(p);
  if (text === undefined) return false;
  const out = text
    .replace(/^IPADDR\[0\]=.*$/m, `IPADDR[0]="${IP}"`)
    .replace(/^NETMASK\[0\]=.*$/m, `NETMASK[0]="${MASK}"`)
    .replace(/^USE_DHCP\[0\]=.*$/m, 'USE_DHCP[0]=""')
    .replace(/^GATEWAY=.*$/m, `GATEWAY="${GW}"`);
  change(file(p, out, tree.mode(p) ?? 0o644));
  return true;
}

const network: Step = {
  name: 'network',
  scope: 'openvz',
  description:
    'Replace the network configuration with __IPADDRESS__/__NETMASK__/__GATEWAY__ placeholders: ifupdown and busybox ' +
    '/etc/network/interfaces, RHEL /etc/sysconfig/network-scripts/ifcfg-*, Slackware /etc/rc.d/rc.inet1.conf.',
  run({ tree, change }) {
    if (hasCloudInit(tree)) return 'left to cloud-init: it writes the network configuration at first boot (DHCP, or the seed\'s network-config)';
    const done = [debianInterfaces, rhelIfcfg, slackwareInet1].map((f) => f(tree, change));
    if (!done.some(Boolean)) return 'no known network configuration layout';
  },
};

/** The root's old host name, as /etc/hostname (or /etc/HOSTNAME) gives it, without the domain. */
export function oldHostname(tree: OverlayTree): string {
  return (tree.readText('etc/hostname') ?? tree.readText('etc/HOSTNAME') ?? '').trim().split('.')[0] ?? '';
}

/**
 * /etc/hosts naming the machine `name`: the old host name replaced where it stands as a word, else a
 * `127.0.1.1 name` line added (Debian's convention). `name` is inserted as given (a placeholder).
 */
export function hostsNaming(hosts: string | undefined, old: string, name: string): string {
  const text = hosts ?? '127.0.0.1\tlocalhost\n';
  const wordRe = old && old !== 'localhost' ? new RegExp(`(?<=\\s)${old.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?=[\\s.]|$)`, 'gm') : undefined;
  if (wordRe && wordRe.test(text)) return text.replace(wordRe, () => name);
  return `${text.replace(/\n?$/, '\n')}127.0.1.1\t${name}\n`;
}

const hostname: Step = {
  name: 'hostname',
  scope: 'openvz',
  description: 'Replace the hostname with __HOSTNAME__ in /etc/hostname, /etc/HOSTNAME, /etc/hosts and RHEL /etc/sysconfig/network.',
  run({ tree, change }) {
    if (tree.kind('etc') !== 'dir') return 'no /etc';
    if (hasCloudInit(tree)) {
      // The builder's own name (mmdebstrap copies the host's) would otherwise be every guest's until
      // cloud-init renames it; cloud-init sets the real one from its seed at first boot.
      if ((tree.readText('etc/hostname') ?? '').trim() !== 'localhost') change(file('etc/hostname', 'localhost\n', 0o644));
      return 'left to cloud-init: it sets the hostname (local-hostname) and /etc/hosts at first boot';
    }
    const old = oldHostname(tree);
    change(file('etc/hostname', `${HOST}\n`, tree.mode('etc/hostname') ?? 0o644));
    if (tree.kind('etc/HOSTNAME') === 'file') change(file('etc/HOSTNAME', `${HOST}\n`, tree.mode('etc/HOSTNAME') ?? 0o644));
    const hosts = tree.readText('etc/hosts');
    if (hosts !== undefined || tree.kind('etc/hosts') === undefined) {
      change(file('etc/hosts', hostsNaming(hosts, old, HOST), tree.mode('etc/hosts') ?? 0o644));
    }
    const net = tree.readText('etc/sysconfig/network');
    if (net !== undefined && /^HOSTNAME=/m.test(net)) {
      change(file('etc/sysconfig/network', net.replace(/^HOSTNAME=.*$/m, `HOSTNAME=${HOST}`), tree.mode('etc/sysconfig/network') ?? 0o644));
    }
  },
};

const placeholderHook: Step = {
  name: 'placeholder-hook',
  scope: 'openvz',
  description:
    'Install /etc/ec2inv/fill-placeholders and run it before networking at every boot (busybox inittab, systemd, ' +
    'sysvinit rcS), so a guest takes its address, netmask, gateway and hostname from ec2inv.* kernel parameters.',
  run({ tree, change }) {
    const files = [...tree.changes.values()]
      .filter((c) => c.kind === 'file' && hasPlaceholder(c.content.toString('utf8')))
      .map((c) => c.path)
      .sort();
    if (files.length === 0) return 'no file carries placeholders';
    for (const f of files) change({ kind: 'file', path: `${PLACEHOLDER_TEMPLATES}/${f}`, content: tree.read(f)!, mode: 0o644 });
    change(file(PLACEHOLDER_LIST, files.join('\n') + '\n'));
    change(file(HOOK_PATH, hookScript, 0o755));
    const hooked: string[] = [];
    if (isBusyboxInit(tree)) {
      // busybox init runs sysinit entries in file order and waits for each, so going first is enough.
      const inittab = tree.readText('etc/inittab')!;
      const at = inittab.search(/^[^#\n]*::sysinit:/m);
      change(file('etc/inittab', `${inittab.slice(0, at)}::sysinit:/${HOOK_PATH}\n${inittab.slice(at)}`, tree.mode('etc/inittab') ?? 0o644));
      hooked.push('inittab');
    }
    if (hasSystemd(tree)) {
      change(file('etc/systemd/system/ec2inv-placeholders.service', systemdUnit));
      change({ kind: 'symlink', path: 'etc/systemd/system/sysinit.target.wants/ec2inv-placeholders.service', target: '../ec2inv-placeholders.service' });
      hooked.push('systemd');
    }
    const rcS = sysvRcDir(tree, 'S');
    if (rcS && tree.kind('etc/init.d') === 'dir') {
      change(file('etc/init.d/ec2inv-placeholders', sysvScript, 0o755));
      change({ kind: 'symlink', path: `${rcS}/S01ec2inv-placeholders`, target: path.posix.relative(rcS, 'etc/init.d/ec2inv-placeholders') });
      hooked.push('sysvinit');
    }
    if (hooked.length === 0) return 'installed the hook, but found no init to run it (no busybox inittab, systemd or rcS.d)';
  },
};

/** All steps, in the order they run. The network and hostname steps must precede the hook. */
export const templateSteps: readonly Step[] = [
  sshHostKeys,
  sshUserKeys,
  machineId,
  logs,
  shellHistory,
  packageCaches,
  cloudInitState,
  dhcpLeases,
  persistentNet,
  randomSeed,
  tmpFiles,
  fstab,
  mtab,
  rebootFlag,
  network,
  hostname,
  placeholderHook,
];

/** The preparation steps a template build runs, by name and meaning: what `skip` may name. */
export function templateStepNames(): { name: string; description: string }[] {
  return templateSteps.map(({ name, description }) => ({ name, description }));
}
