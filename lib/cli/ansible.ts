// Renders the collection's modules (collection/plugins/modules/*.py) from the option declarations:
// each module's DOCUMENTATION, EXAMPLES, RETURN and argument_spec come from the declaration of the
// command it runs through `ec2-provision --json`, so Ansible's docs and argument checks cannot
// drift from the CLI's. `npm run modules` rewrites the files; a test fails when they are stale.
import YAML from 'yaml';
import { provisionCommands } from './declarations.js';
import type { CommandDecl, Flag } from './declare.js';
import { machineSupport } from './machine.js';

interface Returned {
  description: string;
  type: 'str' | 'int' | 'bool' | 'list' | 'dict';
  sample?: unknown;
}

interface ModuleDecl {
  module: string;
  decl: CommandDecl;
  short: string;
  /** Flags the module does not offer: a desired state has no use for them. */
  omit?: readonly string[];
  returns: Record<string, Returned>;
}

const paths = (what: string): Returned => ({ description: what, type: 'str' });

export const moduleDecls: readonly ModuleDecl[] = [
  {
    module: 'rootfs', decl: provisionCommands.buildRootfs, omit: ['force'],
    short: 'A Debian root filesystem tarball, built with mmdebstrap when its inputs changed',
    returns: {
      out: paths('The tarball.'), sha256: { description: 'sha256 of the tarball.', type: 'str' },
      kernelVersion: { description: 'Newest kernel in /boot, or null.', type: 'str' }, packages: { description: 'Installed packages.', type: 'int' },
    },
  },
  {
    module: 'template', decl: provisionCommands.buildTemplate, omit: ['force'],
    short: 'A container template (OpenVZ, Proxmox, Incus, OCI, nspawn) built from a root filesystem, rebuilt only when its inputs changed',
    returns: {
      archive: paths('The template NAME.tar.gz (.tar.zst, .tar.xz; the folder NAME.oci for oci); for proxmox the file named from the root, which check mode cannot know before a build.'), sha256: { description: 'sha256 of the archive.', type: 'str' },
      sha256File: paths('NAME.tar.gz.sha256 beside it.'), manifestFile: paths('The manifest beside it.'),
    },
  },
  {
    module: 'image', decl: provisionCommands.buildImage, omit: ['force'],
    short: 'A bootable disk image built from a root filesystem or template cache, rebuilt only when its inputs changed',
    returns: {
      image: paths('The disk image.'), kernel: paths('The kernel beside it.'), initrd: paths('The initramfs beside it, when there is one.'),
      cmdline: { description: 'Kernel command line for a direct kernel boot of this image.', type: 'str' },
      biosBootable: { description: 'Whether the disk boots by itself (boot_loader grub).', type: 'bool' },
    },
  },
  {
    module: 'kvm_volume', decl: provisionCommands.pushKvm,
    short: 'A built image (with its kernel and initrd) as volumes of a libvirt storage pool, uploaded only when the bytes differ',
    returns: {
      image: { description: 'The image volume: volume, path, bytes, sha256, action (uploaded or unchanged; in check mode upload, replace or unchanged, decided by the same comparison of bytes).', type: 'dict' },
      poolCreated: { description: 'Whether the pool was created (in check mode: would be).', type: 'bool' },
    },
  },
  {
    module: 'kvm_guest', decl: provisionCommands.launchKvm, omit: ['register'],
    short: 'KVM guests launched from a pushed volume and registered in the inventory, count kept exact',
    returns: {
      hosts: { description: 'The registered guests after the task: name, groups, hostvars (ansible_host, ansible_port, ansible_user, kvm_*).', type: 'list' },
      plan: { description: 'Guests launched (launch), destroyed (destroy) and redefined (update, with the fields before and after).', type: 'dict' },
    },
  },
  {
    module: 'openvz_template', decl: provisionCommands.pushOpenvz,
    short: 'An OpenVZ template cache on a node, uploaded over SSH only when the node does not hold the same bytes',
    returns: {
      path: paths('The template cache on the node.'), sha256: { description: 'sha256 of the template cache.', type: 'str' },
      action: { description: 'uploaded or unchanged (in check mode: upload, replace or unchanged).', type: 'str' },
      removed: { description: 'state absent: whether the template was removed from the node (in check mode: would be).', type: 'bool' },
    },
  },
  {
    module: 'ec2_ami', decl: provisionCommands.pushEc2,
    short: 'An EC2 AMI holding a disk image, uploaded through the EBS direct APIs only when no AMI of that name holds it',
    returns: {
      imageId: { description: 'The AMI id.', type: 'str', sample: 'ami-0123456789abcdef0' }, snapshotId: { description: 'Its snapshot.', type: 'str' },
      reused: { description: 'Whether an AMI of this name already held the disk.', type: 'bool' }, diskSha256: { description: 'Digest of the disk content.', type: 'str' },
    },
  },
  {
    module: 'ec2_instance', decl: provisionCommands.launchEc2,
    short: 'EC2 instances known by their Name tag, count kept exact, registered in the inventory',
    returns: {
      hosts: { description: 'The registered instances after the task: name, groups, hostvars (ansible_host, ec2_id, ...).', type: 'list' },
      plan: { description: 'Instances launched (launch: how many), terminated (terminate: ids) and re-grouped (update).', type: 'dict' },
    },
  },
  {
    module: 'host', decl: provisionCommands.register,
    short: 'A host recorded in the registry, so that ec2-inventory lists it',
    returns: { host: { description: 'The registered host: name, groups, hostvars, source.', type: 'dict' } },
  },
];

const ansibleTypes: Record<Flag['type'], string> = {
  string: 'str', path: 'path', url: 'str', int: 'int', bool: 'bool', list: 'list', choice: 'str', size: 'str', map: 'dict',
};

/**
 * The Ansible parameter of a flag: the name its declaration gives for Ansible, else its library
 * field's last part in snake case, else the flag's name. KEYS maps it back to the field.
 */
export function paramName(f: Flag): string {
  if (f.ansible !== undefined) return f.ansible;
  const word = f.field !== undefined ? (f.field.split('.').at(-1) as string) : f.name;
  return word.replace(/-/g, '_').replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

function flagsOf(m: ModuleDecl): Flag[] {
  return m.decl.flags.filter((f) => !(m.omit ?? []).includes(f.name));
}

function commandOf(m: ModuleDecl): string {
  return m.decl.words.join(' ');
}

function sentence(text: string): string {
  return /[.!?)]$/.test(text) ? text : `${text}.`;
}

/** Whether a parameter is required only when I(state=present): absent takes every other one as optional. */
function presentOnly(f: Flag, support: ReturnType<typeof machineSupport>): boolean {
  return f.required === true && support.absent && !(f.field !== undefined && support.absentNeeds.includes(f.field));
}

function optionDoc(f: Flag, conditional: boolean): Record<string, unknown> {
  const doc: Record<string, unknown> = { description: [sentence(f.describe)] };
  if (conditional && f.required) (doc['description'] as string[]).push('Required when I(state=present).');
  doc['type'] = ansibleTypes[f.type];
  if (f.type === 'list') doc['elements'] = 'str';
  if (f.required && !conditional) doc['required'] = true;
  if (f.default !== undefined && !(Array.isArray(f.default) && f.default.length === 0)) doc['default'] = f.default;
  if (f.choices) doc['choices'] = [...f.choices];
  return doc;
}

function documentation(m: ModuleDecl): Record<string, unknown> {
  const support = machineSupport(commandOf(m));
  const options: Record<string, unknown> = {};
  for (const f of flagsOf(m)) options[paramName(f)] = optionDoc(f, presentOnly(f, support));
  if (support.absent) {
    options['state'] = {
      description: ['C(present) makes it so (a second run with the same options changes nothing); C(absent) removes what C(present) made.'],
      type: 'str', choices: ['present', 'absent'], default: 'present',
    };
  }
  options['binary_path'] = { description: ['The ec2-provision program (default: found on PATH, as after C(npm install -g ec2-inventory)).'], type: 'path' };
  return {
    module: m.module,
    short_description: m.short,
    description: [sentence(m.decl.summary), ...(m.decl.details ? [m.decl.details] : []),
      `Runs C(ec2-provision --json) (command C(${commandOf(m)})); the engine decides what changes, this module holds no logic.`],
    options,
    notes: [support.check ? 'Supports check mode: nothing is changed, the answer says what would be.' : 'Check mode is not supported: the task is skipped under --check.'],
    author: ['ec2-inventory developers'],
  };
}

function exampleValue(f: Flag): unknown {
  const text = f.example ?? '';
  if (f.type === 'list') return text.split(',');
  if (f.type === 'map') {
    const [k, v] = text.split('=');
    return { [k ?? 'key']: v ?? '' };
  }
  if (f.type === 'int') return Number(text || 1);
  return text;
}

function examples(m: ModuleDecl): string {
  const args: Record<string, unknown> = {};
  for (const f of flagsOf(m)) if (f.required) args[paramName(f)] = exampleValue(f);
  const task = [{ name: m.short.split(',')[0], [`ec2inventory.provision.${m.module}`]: args }];
  return YAML.stringify(task, { lineWidth: 0 });
}

function returns(m: ModuleDecl): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, r] of Object.entries(m.returns)) out[key] = { description: r.description, returned: 'success', type: r.type };
  return out;
}

/** A Python literal of a JSON value. */
function py(v: unknown): string {
  if (v === null || v === undefined) return 'None';
  if (v === true) return 'True';
  if (v === false) return 'False';
  if (typeof v === 'number') return String(v);
  if (typeof v === 'string') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(py).join(', ')}]`;
  return `{${Object.entries(v as Record<string, unknown>).map(([k, x]) => `${JSON.stringify(k)}: ${py(x)}`).join(', ')}}`;
}

function argumentSpec(m: ModuleDecl): Record<string, Record<string, unknown>> {
  const support = machineSupport(commandOf(m));
  const spec: Record<string, Record<string, unknown>> = {};
  for (const f of flagsOf(m)) {
    const s: Record<string, unknown> = { type: ansibleTypes[f.type] };
    if (f.type === 'list') s['elements'] = 'str';
    if (f.required && !presentOnly(f, support)) s['required'] = true;
    if (f.default !== undefined && !(Array.isArray(f.default) && f.default.length === 0)) s['default'] = f.default;
    if (f.choices && f.type === 'choice') s['choices'] = [...f.choices];
    if (f.secret) s['no_log'] = true;
    spec[paramName(f)] = s;
  }
  return spec;
}

function yamlBlock(value: unknown): string {
  return YAML.stringify(value, { lineWidth: 100 }).trimEnd();
}

export function renderModule(m: ModuleDecl): string {
  const support = machineSupport(commandOf(m));
  const keys = Object.fromEntries(flagsOf(m).map((f) => [paramName(f), f.field ?? f.name]));
  const requiredPresent = flagsOf(m).filter((f) => presentOnly(f, support)).map(paramName);
  return `#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Generated by \`npm run modules\` from lib/cli/declarations.ts (lib/cli/ansible.ts): edit those, not this file.
from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
${yamlBlock(documentation(m))}
'''

EXAMPLES = r'''
${examples(m).trimEnd()}
'''

RETURN = r'''
${yamlBlock(returns(m))}
'''

from ansible_collections.ec2inventory.provision.plugins.module_utils.ec2_provision import run_module

COMMAND = ${py(commandOf(m))}
STATES = ${py(support.absent ? ['present', 'absent'] : ['present'])}
CHECK_MODE = ${py(support.check)}
# Each parameter's key in the request: the library field it sets, or the command's own flag.
KEYS = ${py(keys)}
REQUIRED_WHEN_PRESENT = ${py(requiredPresent)}
ARGUMENT_SPEC = ${py(argumentSpec(m))}


def main():
    run_module(COMMAND, ARGUMENT_SPEC, KEYS, STATES, CHECK_MODE, REQUIRED_WHEN_PRESENT)


if __name__ == '__main__':
    main()
`;
}

/** Every module file, by name. */
export function renderModules(): Record<string, string> {
  return Object.fromEntries(moduleDecls.map((m) => [`${m.module}.py`, renderModule(m)]));
}
