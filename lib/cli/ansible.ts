// Renders the collection's modules (collection/plugins/modules/*.py) and their doc fragments
// (collection/plugins/doc_fragments/*.py) from the option declarations: each module's
// DOCUMENTATION, EXAMPLES, RETURN and argument_spec come from the declaration of the command it
// runs through `ec2-provision --json`, so Ansible's docs and argument checks cannot drift from the
// CLI's. An option set several modules share (identity, AWS, ini, state, binary_path) is documented
// once, in a fragment the modules extend; each module's argument_spec stays whole, as Ansible does
// not build specs from fragments. `npm run modules` rewrites the files; a test fails when they are
// stale.
import YAML from 'yaml';
import { awsTimeouts, groups, identity, ini, libvirtUri, provisionCommands, region } from './declarations.js';
import type { CommandDecl, Flag } from './declare.js';
import { machineSupport } from './machine.js';
import { paramName } from './args.js';

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

/** A module parameter: its documentation and its argument_spec entry, the one made from the other. */
interface Param {
  name: string;
  doc: Record<string, unknown>;
  spec: Record<string, unknown>;
  /** What it comes from (a declared flag, or one of the modules' own parameters): fragments match by it. */
  origin: object;
}

const specKeys = ['type', 'elements', 'required', 'default', 'choices'];

/** The argument_spec entry of a documented option (list choices are the engine's to check). */
function specOf(doc: Record<string, unknown>, secret = false): Record<string, unknown> {
  const spec = Object.fromEntries(specKeys.filter((k) => doc[k] !== undefined && !(k === 'choices' && doc['type'] === 'list')).map((k) => [k, doc[k]]));
  return secret ? { ...spec, no_log: true } : spec;
}

function flagParam(f: Flag, conditional: boolean): Param {
  const doc: Record<string, unknown> = { description: [sentence(f.describe)] };
  if (conditional && f.required) (doc['description'] as string[]).push('Required when I(state=present).');
  doc['type'] = ansibleTypes[f.type];
  if (f.type === 'list') doc['elements'] = 'str';
  if (f.required && !conditional) doc['required'] = true;
  if (f.default !== undefined && !(Array.isArray(f.default) && f.default.length === 0)) doc['default'] = f.default;
  if (f.choices) doc['choices'] = [...f.choices];
  return { name: paramName(f), doc, spec: specOf(doc, f.secret), origin: f };
}

function ownParam(name: string, doc: Record<string, unknown>): Param {
  const p: Param = { name, doc, spec: specOf(doc), origin: {} };
  p.origin = p;
  return p;
}

const stateParam = ownParam('state', {
  description: ['C(present) makes it so (a second run with the same options changes nothing); C(absent) removes what C(present) made.'],
  type: 'str', choices: ['present', 'absent'], default: 'present',
});

const binaryPathParam = ownParam('binary_path', {
  description: ['The ec2-provision program (default: found on PATH, as after C(npm install -g ec2-inventory)).'],
  type: 'path',
});

/** Every parameter of a module, in the order its argument_spec lists them. */
function paramsOf(m: ModuleDecl): Param[] {
  const support = machineSupport(commandOf(m));
  return [...flagsOf(m).map((f) => flagParam(f, presentOnly(f, support))), ...(support.absent ? [stateParam] : []), binaryPathParam];
}

interface Fragment {
  /** ec2inventory.provision.NAME */
  name: string;
  /** What the set is, as a comment of its file. */
  about: string;
  /** The declared flags or own parameters it documents; a module offering all of them extends it. */
  members: readonly object[];
  /** Which modules extend it, where that is not said by parameters. */
  when?: (m: ModuleDecl) => boolean;
  /** More of the fragment's DOCUMENTATION (requirements, notes, attributes), merged into each module's by Ansible. */
  more?: Record<string, unknown>;
}

export const fragments: readonly Fragment[] = [
  {
    name: 'engine', about: 'The program every module runs.', members: [binaryPathParam],
    more: {
      requirements: ['ec2-provision on the controller (C(npm install -g ec2-inventory)), on PATH or given as I(binary_path).'],
      notes: ['The module sends one request to C(ec2-provision --json) and answers what it answers: the engine decides what changes, the module holds no logic. A failure is the engine\'s one-line error.'],
    },
  },
  {
    name: 'check_mode', about: 'For the modules whose engine command can say what it would change.', members: [],
    when: (m) => machineSupport(commandOf(m)).check,
    more: { attributes: { check_mode: { description: 'Can run in check mode: nothing is changed, the answer says what would be.', support: 'full' } } },
  },
  { name: 'state', about: 'present or absent, for the modules whose objects can be removed.', members: [stateParam] },
  { name: 'identity', about: 'The cloud-init identity of a launched machine (KVM guests, EC2 instances).', members: identity },
  { name: 'aws', about: 'The region and the bounds of every AWS call.', members: [region, ...awsTimeouts] },
  { name: 'registry', about: 'The inventory groups of a registered host, and the ec2.ini through which the registry is found.', members: [groups, ini] },
  { name: 'libvirt', about: 'The hypervisor a KVM module talks to.', members: [libvirtUri] },
];

function usesFragment(m: ModuleDecl, fr: Fragment): boolean {
  const origins = new Set(paramsOf(m).map((p) => p.origin));
  return (fr.when?.(m) ?? true) && fr.members.every((o) => origins.has(o));
}

/** The fragments a module extends. */
export function fragmentsOf(m: ModuleDecl): Fragment[] {
  return fragments.filter((fr) => usesFragment(m, fr));
}

/**
 * A fragment's options, the same for every module that extends it (a flag documented otherwise in
 * two of them, say required in one and not the other, cannot be shared and fails here).
 */
function fragmentOptions(fr: Fragment): Record<string, unknown> {
  const users = moduleDecls.filter((m) => usesFragment(m, fr));
  const optionsIn = (m: ModuleDecl) => Object.fromEntries(paramsOf(m).filter((p) => fr.members.includes(p.origin)).map((p) => [p.name, p.doc]));
  const first = users[0];
  if (first === undefined) throw new Error(`doc fragment ${fr.name}: no module offers all of its options`);
  const options = optionsIn(first);
  for (const m of users) {
    if (JSON.stringify(optionsIn(m)) !== JSON.stringify(options)) throw new Error(`doc fragment ${fr.name}: ${m.module} documents its options otherwise than ${first.module}`);
  }
  return options;
}

function documentation(m: ModuleDecl): Record<string, unknown> {
  const support = machineSupport(commandOf(m));
  const shared = new Set(fragmentsOf(m).flatMap((fr) => fr.members));
  const options = Object.fromEntries(paramsOf(m).filter((p) => !shared.has(p.origin)).map((p) => [p.name, p.doc]));
  return {
    module: m.module,
    short_description: m.short,
    author: ['ec2-inventory developers'],
    description: [sentence(m.decl.summary), ...(m.decl.details ? [m.decl.details] : []), `The engine command: C(ec2-provision ${commandOf(m)}).`],
    ...(support.check ? {} : { attributes: { check_mode: { description: 'Check mode is not supported: the task is skipped under --check.', support: 'none' } } }),
    options,
  };
}

/** The fragments a module extends, on one line (names of the form ns.coll.name need no quotes). */
function extendsLine(m: ModuleDecl): string {
  return `extends_documentation_fragment: [${fragmentsOf(m).map((fr) => `ec2inventory.provision.${fr.name}`).join(', ')}]`;
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
  return Object.fromEntries(paramsOf(m).map((p) => [p.name, p.spec]));
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
${extendsLine(m)}
'''

EXAMPLES = r'''
${examples(m).trimEnd()}
'''

RETURN = r'''
${yamlBlock(returns(m))}
'''

from ansible_collections.ec2inventory.provision.plugins.module_utils.ec2_provision import run_module

COMMAND = ${py(commandOf(m))}
CHECK_MODE = ${py(support.check)}
# Each parameter's key in the request: the library field it sets, or the command's own flag.
KEYS = ${py(keys)}
REQUIRED_WHEN_PRESENT = ${py(requiredPresent)}
ARGUMENT_SPEC = ${py(argumentSpec(m))}


def main():
    run_module(COMMAND, ARGUMENT_SPEC, KEYS, CHECK_MODE, REQUIRED_WHEN_PRESENT)


if __name__ == '__main__':
    main()
`;
}

/** Every module file, by name. */
export function renderModules(): Record<string, string> {
  return Object.fromEntries(moduleDecls.map((m) => [`${m.module}.py`, renderModule(m)]));
}

export function renderFragment(fr: Fragment): string {
  return `# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Generated by \`npm run modules\` from lib/cli/declarations.ts (lib/cli/ansible.ts): edit those, not this file.
from __future__ import absolute_import, division, print_function
__metaclass__ = type


class ModuleDocFragment(object):
    # ${fr.about}
    DOCUMENTATION = r'''
${yamlBlock({ options: fragmentOptions(fr), ...fr.more })}
'''
`;
}

/** Every doc fragment file, by name. */
export function renderFragments(): Record<string, string> {
  return Object.fromEntries(fragments.map((fr) => [`${fr.name}.py`, renderFragment(fr)]));
}
