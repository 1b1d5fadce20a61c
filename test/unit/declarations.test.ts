// The option declarations against what they describe: the library's own option names and choice
// lists, the error mapping back to flags, and docs/cli.md generated from them.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { inventoryCommand, inventoryProgram, provisionCommands, provisionProgram } from '../../lib/cli/declarations.js';
import type { Flag, Parsed } from '../../lib/cli/declare.js';
import { BadValueError, collect, exitCodeOf, inCallerTerms, UsageError } from '../../lib/cli/args.js';
import { cliReference } from '../../lib/cli/reference.js';
import { repoRoot } from '../support/paths.js';
import { rootfsTargets, type RootfsBuildOptions } from '../../lib/provision/rootfs/build.js';
import { compressions } from '../../lib/provision/template/compress.js';
import { templateSteps } from '../../lib/provision/template/steps.js';
import type { TemplateBuildOptions } from '../../lib/provision/template/build.js';
import { imageFormats, type ImageBuildOptions } from '../../lib/provision/image/build.js';
import { bootLoaders } from '../../lib/provision/image/bootloader.js';
import { addressSources, type LaunchKvmOptions } from '../../lib/provision/libvirt/launch.js';
import type { PushKvmOptions } from '../../lib/provision/libvirt/push.js';
import type { DestroyKvmOptions } from '../../lib/provision/libvirt/destroy.js';
import type { PushTemplateOptions } from '../../lib/provision/openvz/push.js';
import { architectures, bootModes, type Ec2PushOptions } from '../../lib/provision/ec2/push.js';
import type { Ec2LaunchOptions } from '../../lib/provision/ec2/launch.js';
import type { Ec2DestroyOptions } from '../../lib/provision/ec2/destroy.js';
import type { RegisteredHost } from '../../lib/records/inventory.js';
import { DEFAULT_USER } from '../../lib/provision/cloudinit.js';

// Compile-time: every declared field is an option of the library call its command makes (a
// misspelt field would otherwise pass unseen through the spread into the call).
type Extra<O, L> = Exclude<keyof O, keyof L>;
type Fits<C extends keyof typeof provisionCommands, L> = [Extra<Parsed<(typeof provisionCommands)[C]>['options'], L>] extends [never] ? true : false;
const fits: Record<string, true> = {
  buildRootfs: true satisfies Fits<'buildRootfs', RootfsBuildOptions>,
  buildTemplate: true satisfies Fits<'buildTemplate', TemplateBuildOptions>,
  buildImage: true satisfies Fits<'buildImage', ImageBuildOptions>,
  pushKvm: true satisfies Fits<'pushKvm', PushKvmOptions>,
  launchKvm: true satisfies Fits<'launchKvm', LaunchKvmOptions>,
  destroyKvm: true satisfies Fits<'destroyKvm', DestroyKvmOptions>,
  pushOpenvz: true satisfies Fits<'pushOpenvz', PushTemplateOptions>,
  destroyOpenvz: true satisfies Fits<'destroyOpenvz', PushTemplateOptions>,
  pushEc2: true satisfies Fits<'pushEc2', Ec2PushOptions>,
  launchEc2: true satisfies Fits<'launchEc2', Ec2LaunchOptions>,
  destroyEc2: true satisfies Fits<'destroyEc2', Ec2DestroyOptions>,
  register: true satisfies Fits<'register', RegisteredHost>,
};

const flag = (cmd: { flags: readonly Flag[] }, name: string): Flag => cmd.flags.find((f) => f.name === name) ?? assert.fail(name);

describe('option declarations', () => {
  it('list the library\'s own choices and names', () => {
    assert.ok(Object.keys(fits).length > 0);
    const c = provisionCommands;
    assert.deepEqual(flag(c.buildRootfs, 'for').choices, rootfsTargets);
    assert.deepEqual(flag(c.buildTemplate, 'compress').choices, compressions);
    assert.deepEqual(flag(c.buildTemplate, 'skip').choices, templateSteps.map((s) => s.name));
    assert.deepEqual(flag(c.buildImage, 'format').choices, imageFormats);
    assert.deepEqual(flag(c.buildImage, 'boot-loader').choices, bootLoaders);
    assert.deepEqual(flag(c.launchKvm, 'address-source').choices, addressSources);
    assert.deepEqual(flag(c.pushEc2, 'architecture').choices, architectures);
    assert.deepEqual(flag(c.pushEc2, 'boot-mode').choices, bootModes);
    assert.match(flag(c.launchKvm, 'user').describe, new RegExp(`default: ${DEFAULT_USER}\\)`));
  });

  it('are complete: a type, a meaning, an example or a default where a value is free text', () => {
    for (const program of [provisionProgram, inventoryProgram]) {
      for (const cmd of program.commands) {
        assert.ok(cmd.examples.length > 0, `${cmd.words.join(' ')} has an example`);
        const names = cmd.flags.map((f) => f.name);
        assert.equal(new Set(names).size, names.length, `${cmd.words.join(' ')}: each flag once`);
        for (const f of cmd.flags) {
          assert.ok(f.describe.trim() !== '', `${cmd.words.join(' ')} --${f.name} is described`);
          // A default that depends on another flag (compress by format) is said in the description.
          if (f.type === 'choice') assert.ok(f.choices && (f.default !== undefined || /\(default: /.test(f.describe)), `--${f.name}: choices and a default`);
          if (f.required) assert.equal(f.default, undefined, `--${f.name}: required or a default, not both`);
        }
      }
    }
    // The identity flags are the same declaration wherever they are mounted.
    for (const name of ['ssh-key', 'user', 'user-data', 'password-hash', 'ini']) {
      assert.equal(flag(provisionCommands.launchKvm, name), flag(provisionCommands.launchEc2, name), name);
    }
    assert.equal(flag(provisionCommands.launchKvm, 'groups').type, flag(provisionCommands.launchEc2, 'groups').type);
    assert.equal(flag(provisionCommands.launchKvm, 'password-hash').secret, true);
  });

  it('give the library an options object by field, nested where declared, without undefined values', () => {
    const { options, own } = collect(provisionCommands.launchEc2, {
      region: 'eu-west-1', ami: 'ami-1', 'instance-type': 't3.micro', groups: ['web,db', ' prod '], count: '2', ini: '/x/ec2.ini',
    });
    assert.deepEqual(options, {
      region: 'eu-west-1', ami: 'ami-1', instanceType: 't3.micro', count: 2, securityGroups: [], groups: ['web', 'db', 'prod'],
      tags: [], waitSeconds: 600, timeouts: { connectTimeout: 5, requestTimeout: 60 },
    });
    assert.deepEqual(own, { ini: '/x/ec2.ini' });
    assert.ok(!('sshKey' in options), 'an option not given is absent, not undefined');
    assert.throws(() => collect(provisionCommands.launchEc2, { region: 'r' }), (e: UsageError) => e.flag === 'ami' && e.message === '--ami is required (AMI id)');
    // A value the flag refuses is bad input (exit 1), not bad usage: exitCodeOf tells them apart.
    assert.throws(() => collect(provisionCommands.launchEc2, { count: 'x' }), (e: unknown) => e instanceof BadValueError && e.flag === 'count' && exitCodeOf(e) === 1 && e.message === "--count: expected a whole number, not 'x'");
    assert.throws(() => collect(provisionCommands.launchEc2, { region: 'r' }), (e: unknown) => e instanceof UsageError && exitCodeOf(e) === 2);
    assert.deepEqual(collect(inventoryCommand, { host: 'h' }).options, { host: 'h', refreshCache: false, refreshOnly: false });
  });

  it('name the module parameter a library error came through, for the Ansible modules', () => {
    const kvm = provisionCommands.launchKvm;
    assert.equal(inCallerTerms(kvm, 'nothing to wait for: give forwards', 'waitSeconds', 'params'), 'wait_timeout: nothing to wait for: give forwards');
    assert.equal(inCallerTerms(kvm, 'count must be at least 1, not 0', 'count', 'params'), 'count: must be at least 1, not 0');
    assert.equal(inCallerTerms(kvm, 'vars: expected key=value, not \'x\'', 'vars', 'params'), "hostvars: expected key=value, not 'x'");
    assert.equal(inCallerTerms(provisionCommands.buildRootfs, 'output x.img: expected a file name ending in .tar', 'out', 'params'), 'dest: output x.img: expected a file name ending in .tar');
    assert.equal(inCallerTerms(kvm, 'a login user needs an SSH public key (sshKey)', 'user', 'params'), 'user: a login user needs an SSH public key (ssh_key)', 'a field inside the message too');
    assert.equal(inCallerTerms(kvm, 'a login user needs an SSH public key (sshKey)', 'user', 'flags'), '--user: a login user needs an SSH public key (--ssh-key)');
    assert.equal(inCallerTerms(provisionCommands.pushEc2, 'timeouts.connectTimeout must be at least 1', 'timeouts.connectTimeout', 'params'), 'connect_timeout: must be at least 1');
    // A message that points at its field in parentheses names it there, once.
    const pushKvm = provisionCommands.pushKvm;
    assert.equal(inCallerTerms(pushKvm, "volume 'v' in pool 'p' holds a different image (force replaces it)", 'force', 'params'), "volume 'v' in pool 'p' holds a different image (force replaces it)");
    assert.equal(inCallerTerms(pushKvm, "volume 'v' in pool 'p' holds a different image (force replaces it)", 'force', 'flags'), "volume 'v' in pool 'p' holds a different image (--force replaces it)");
  });

  it('name the flag a library error came through, once', () => {
    const kvm = provisionCommands.launchKvm;
    const inFlagTerms = (cmd: Parameters<typeof inCallerTerms>[0], message: string, field: string | undefined) => inCallerTerms(cmd, message, field, 'flags');
    assert.equal(inFlagTerms(kvm, 'count must be at least 1, not 0', 'count'), '--count: must be at least 1, not 0');
    assert.equal(inFlagTerms(kvm, 'is a private key: give the public key', 'sshKey'), '--ssh-key: is a private key: give the public key');
    assert.equal(inFlagTerms(kvm, "'x' is not key=value", 'vars'), "--var: 'x' is not key=value");
    assert.equal(inFlagTerms(provisionCommands.pushEc2, 'must be at least 1', 'connectTimeout'), '--connect-timeout: must be at least 1', 'a nested field by its last part');
    assert.equal(inFlagTerms(kvm, '--user and --password-hash need --ssh-key (or --user-data)', 'user'), '--user and --password-hash need --ssh-key (or --user-data)', 'a message that names the flag already');
    assert.equal(inFlagTerms(kvm, '--ssh-key /x: no such file', 'sshKey'), '--ssh-key /x: no such file');
    assert.equal(inFlagTerms(kvm, 'no such domain', undefined), 'no such domain');
    assert.equal(inFlagTerms(kvm, 'bad value', 'clientToken'), 'bad value', 'a field this command has no flag for');
    assert.equal(inFlagTerms(kvm, 'user-data x.yaml: cannot read it', 'userData'), '--user-data: x.yaml: cannot read it', 'led by the flag\'s own words');
    assert.equal(inFlagTerms(provisionCommands.register, "hostvars: 'kvm_x': set by launch", 'hostvars'), "--var: 'kvm_x': set by launch");
    assert.equal(inFlagTerms(provisionCommands.buildImage, 'kernel /k is not a readable file', 'kernel'), '--kernel: /k is not a readable file');
  });

  it('docs/cli.md is generated from them (npm run cli-docs) and up to date', () => {
    const committed = readFileSync(path.join(repoRoot, 'docs', 'cli.md'), 'utf8');
    assert.equal(committed, cliReference(), 'docs/cli.md is out of date: run npm run cli-docs');
  });
});
