// Registered hosts appear in --list and --host beside the EC2 hosts; an empty registry leaves the
// output byte for byte as ec2.py's.
import { describe, it } from 'node:test';
import { scenarioFixture } from '../support/fixture.js';
import assert from 'node:assert/strict';
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { host } from '../support/scenario.js';
import { runInventory, writeIni } from '../support/run.js';
import { readSettings, InventoryError } from 'ec2-inventory';
import { openRegistry } from '../../lib/store/registry.js';

describe('registry merged into the inventory', () => {
  const f = scenarioFixture('ec2inv-registry-');

  it('register → listed in its groups with its hostvars; deregister → the original bytes again', async () => {
    const ini = writeIni(f.dir, 'reg');
    const before = await runInventory(ini, ['--list'], f.moto.endpoint);
    assert.equal(before.code, 0, before.stderr);
    const registry = await openRegistry(readSettings(ini));
    try {
      await registry.register({
        // By hand: a launch's entry (source kvm or ec2) would also drop the cache (see the Redis and launch ec2 tests).
        name: 'kvm-web1', groups: ['web', 'tag_Env_prod'], source: 'manual', registeredAt: Date.now(),
        hostvars: { ansible_host: '127.0.0.1', ansible_port: 2222, kvm_domain: 'web1' },
      });
      await registry.register({ name: 'kvm-db1', groups: ['db'], source: 'manual', registeredAt: Date.now(), hostvars: { ansible_host: '10.0.0.5' } });
      await assert.rejects(registry.register({ name: 'bad', groups: ['a b'], source: 'manual', registeredAt: 0, hostvars: {} }),
        (err: unknown) => err instanceof InventoryError && err.message === "registry: group 'a b' of host 'bad' may only hold letters, digits, - and _");
    } finally {
      await registry.close();
    }
    const file = path.join(f.dir, 'reg-cache', 'ec2-inventory.registry.json');
    assert.equal(statSync(file).mode & 0o777, 0o600);
    const merged = await runInventory(ini, ['--list'], f.moto.endpoint);
    const inv = JSON.parse(merged.stdout);
    assert.deepEqual(inv.web, ['kvm-web1']);
    assert.deepEqual(inv.db, ['kvm-db1']);
    assert.ok(inv.tag_Env_prod.includes('kvm-web1') && inv.tag_Env_prod.includes(host(f.s, 'web1').publicIp), 'an EC2 group gains the member');
    assert.equal(inv._meta.hostvars['kvm-web1'].ansible_port, 2222);
    assert.equal(inv._meta.hostvars['kvm-web1'].registry_source, 'manual');
    const one = await runInventory(ini, ['--host', 'kvm-db1'], f.moto.endpoint);
    assert.deepEqual(JSON.parse(one.stdout), { ansible_host: '10.0.0.5', registry_source: 'manual' });
    const again = await openRegistry(readSettings(ini));
    try {
      assert.equal(await again.deregister('kvm-web1'), true);
      assert.equal(await again.deregister('kvm-web1'), false);
      assert.equal(await again.deregister('kvm-db1'), true);
    } finally {
      await again.close();
    }
    assert.equal(existsSync(file), false, 'an empty registry leaves no file');
    const after = await runInventory(ini, ['--list'], f.moto.endpoint);
    assert.equal(after.stdout, before.stdout);
  });
});
