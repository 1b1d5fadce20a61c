// The package as automation code sees it, imported by its name. This file is compiled by tsc with
// the rest of the tests: the typed uses below (and the @ts-expect-error lines, which must stay
// errors) fail the build when the API's types change under a user. At run time it checks that
// only the documented names are exported and that register, deregister and readSettings answer in
// the library's terms.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as api from 'ec2-inventory';
import {
  readSettings, readInventory, readHostVars, registeredHosts, register, deregister, templateStepNames, groupHosts, hostVars,
  SettingsError, ProvisionError,
  type Inventory, type HostVars, type Settings, type LaunchKvmOptions, type Ec2LaunchOptions, type RegisterOptions,
} from 'ec2-inventory';
import { tempDir, writeIni } from '../support/run.js';

/** What a playbook generator does with an inventory: only has to type-check. */
export function webHosts(inventory: Inventory): { count: number; ids: string[]; users: (string | undefined)[] } {
  const count: number = inventory['tag_Role_web'].length;
  const ids = inventory['tag_Role_web'].map((h) => inventory._meta.hostvars[h]?.ec2_id ?? '');
  const users = groupHosts(inventory, 'kvm_guests').map((h) => hostVars(inventory, h)?.ansible_user);
  const vars: HostVars | undefined = hostVars(inventory, 'web1');
  const state: string | undefined = vars?.ec2_state;
  const role: string | string[] | undefined = vars?.ec2_tag_Role;
  const port: number | undefined = vars?.ansible_port;
  // @ts-expect-error ec2_id is a string
  const wrong: number | undefined = vars?.ec2_id;
  void [state, role, port, wrong];
  return { count, ids, users };
}

/** Launch options as a caller writes them: only to type-check. */
export const kvm: LaunchKvmOptions = { uri: 'qemu:///system', pool: 'default', volume: 'debian.qcow2', name: 'web', count: 2, groups: ['web'], sshKey: '~/.ssh/id_ed25519.pub' };
export const ec2 = (settings: Settings): Ec2LaunchOptions => ({ region: 'eu-west-1', ami: 'ami-1', instanceType: 't3.micro', groups: ['web'], settings });
// @ts-expect-error registeredAt and source bookkeeping are the registry's, not the caller's
export const badRegister: RegisterOptions = { name: 'db1', groups: 'db', registeredAt: 0 };

describe('package API, as a user imports it', () => {
  it('exports the documented names only', () => {
    for (const name of ['listInventory', 'hostInventory', 'refreshInventory', 'readInventory', 'readHostVars', 'fetchInventory', 'register', 'deregister',
      'registeredHosts', 'buildRootfs', 'buildTemplate', 'buildImage', 'templateStepNames', 'pushKvm', 'pushTemplate', 'pushEc2', 'launchKvm', 'launchEc2',
      'destroyKvm', 'destroyEc2', 'readSettings', 'readDefaultSettings']) {
      assert.equal(typeof (api as Record<string, unknown>)[name], 'function', name);
    }
    for (const internal of ['xmlEscape', 'domainXml', 'registryFile', 'openRegistry', 'templateSteps', 'buildInventory', 'parseVars', 'Virsh']) {
      assert.equal(internal in api, false, `${internal} is internal`);
    }
    // @ts-expect-error xmlEscape is internal
    void api.xmlEscape;
    assert.ok(templateStepNames().every((s) => typeof s.name === 'string' && typeof s.description === 'string' && !('run' in s)));
  });

  it('readSettings says what is wrong in its own terms, not the command line hint', () => {
    assert.throws(() => readSettings('./nope.ini'), (err: unknown) =>
      err instanceof SettingsError && err.message === 'cannot read ./nope.ini: file not found' && err.file === './nope.ini');
  });

  it('register takes what a caller supplies, refuses what launches own, and the inventory lists the host', async () => {
    const dir = tempDir();
    const settings = readSettings(writeIni(dir, 'api', { regions: 'us-east-1', route53: 'False', rds: 'False' }));
    const host = await register(settings, { name: 'db1', groups: 'db,backup', hostvars: { ansible_host: '10.0.0.5', port: 5432 } });
    assert.deepEqual({ ...host, registeredAt: 0 }, { name: 'db1', groups: ['db', 'backup'], hostvars: { ansible_host: '10.0.0.5', port: 5432 }, source: 'manual', registeredAt: 0 });
    assert.deepEqual((await registeredHosts(settings)).map((h) => h.name), ['db1']);
    await assert.rejects(register(settings, { name: 'x', groups: 'db', hostvars: { ec2_id: 'i-1' } }), (err: unknown) => err instanceof ProvisionError && err.field === 'hostvars');
    await assert.rejects(register(settings, { name: 'x', groups: 'db', source: 'kvm' }), (err: unknown) => err instanceof ProvisionError && err.field === 'source');
    await assert.rejects(register(settings, { name: 'x', groups: 'all' }), (err: unknown) => err instanceof ProvisionError && err.field === 'groups' && /is reserved/.test(err.message));
    assert.equal(await deregister(settings, 'db1'), true);
    assert.equal(await deregister(settings, 'db1'), false);
    void [readInventory, readHostVars];
  });
});
