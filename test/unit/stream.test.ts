// The page-by-page build that a refresh writes into its cache file must give exactly the bytes of
// the in-memory build (buildInventory + json_format_dict): pages fed one record at a time, hostvars
// parked on disk and read back, the file assembled in Python's key order.
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { add_rds_clusters_of, add_region_records, buildInventory, newState } from '../../lib/ec2py/rules.js';
import { type RuleSettings } from '../../lib/ec2py/types.js';
import { type FetchedData } from '../../lib/records/aws.js';
import { json_format_dict } from '../../lib/ec2py/format.js';
import { SpilledHostVars, writeInventoryFile } from '../../lib/store/spill.js';
import { syntheticRecords, syntheticInstance } from '../bench/synthetic.js';
import { laterDefaults } from '../../lib/settings/later.js';

const base: RuleSettings = {
  allInstances: false, allRdsInstances: false, destinationVariable: 'public_dns_name',
  vpcDestinationVariable: 'ip_address', patternInclude: undefined, patternExclude: undefined,
  nestedGroups: false, route53: true,
};
const dir = mkdtempSync(path.join(os.tmpdir(), 'ec2inv-stream-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function streamed(data: FetchedData, settings: RuleSettings): { text: string; index: string } {
  const hostvars = new SpilledHostVars(dir);
  try {
    const state = newState(settings, data, () => hostvars);
    for (const region of data.regions) {
      // One record per batch: the finest pages a refresh can deliver.
      for (const instance of region.instances) add_region_records(state, { region: region.region, instances: [instance] });
      for (const db of region.dbInstances) add_region_records(state, { region: region.region, dbInstances: [db] });
      add_region_records(state, { region: region.region, cacheClusters: region.cacheClusters ?? [], replicationGroups: region.replicationGroups ?? [] });
    }
    add_rds_clusters_of(state, data.regions);
    const file = path.join(dir, `out-${Math.random()}`);
    const bytes = writeInventoryFile(file, state.inventory, hostvars);
    assert.equal(statSync(file).size, bytes);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    const text = readFileSync(file, 'utf8');
    rmSync(file);
    return { text, index: json_format_dict(state.index) };
  } finally {
    hostvars.close();
  }
}

function assertSameAsInMemory(data: FetchedData, settings: RuleSettings): string {
  const { inventory, index } = buildInventory(data, settings);
  const expected = json_format_dict(inventory);
  const got = streamed(data, settings);
  assert.equal(got.text, expected);
  assert.equal(got.index, json_format_dict(index));
  return got.text;
}

const odd = (i: number, extra: object) => ({ region: 'eu-west-1', instance: { ...syntheticInstance(i, 'eu-west-1'), ...extra } });

describe('writeInventoryFile', () => {
  it('writes the bytes of json_format_dict for a plain inventory', () => {
    const text = assertSameAsInMemory(syntheticRecords(300, 'us-east-1'), base);
    assert.ok(text.length > 100_000);
  });

  it('and with nested groups, CSV tags and the nested hostvars of extra_hostvars', () => {
    assertSameAsInMemory(syntheticRecords(50, 'us-east-1'), { ...base, nestedGroups: true, expandCsvTags: true, extraHostvars: true });
  });

  it('and with aws_ec2_hostvars, whose variables the rules give in key order among ec2.py\'s', () => {
    const records = syntheticRecords(20, 'us-east-1');
    assertSameAsInMemory(records, { ...base, awsEc2Hostvars: true });
    const { inventory } = buildInventory(records, { ...base, awsEc2Hostvars: true });
    for (const vars of Object.values(inventory._meta.hostvars)) {
      const names = Object.keys(vars);
      assert.deepEqual(names, [...names].sort());
      assert.ok(names.includes('instance_id') && names.includes('tags') && names.includes('ec2_id'), names.join(' '));
    }
  });

  it('and with non-ASCII tags, integer-like and astral group names, and a host listed twice', () => {
    const data: FetchedData = {
      route53: [
        { name: '10', values: ['54.0.0.1'] }, { name: '9', values: ['54.0.0.1'] }, { name: 'ünï.example', values: ['54.0.0.2'] },
        { name: '😀.example', values: ['54.0.0.2'] }, { name: '\uffff.example', values: ['54.0.0.2'] },
      ],
      regions: [{
        region: 'eu-west-1', dbInstances: [],
        instances: [
          odd(1, { Tags: [{ Key: 'Name', Value: 'café ☕ 😀' }, { Key: 'ü', Value: 'x' }, { Key: 'empty', Value: '' }] }),
          odd(2, { Tags: [] }),
          odd(4, { Tags: [{ Key: 'quote', Value: 'say "hi" \\ back\nslash \u0001 \u007f' }, { Key: 'Name', Value: 'plain' }] }),
          odd(5, { Tags: [{ Key: 'quote', Value: 'say "hi" \\ back\nslash \u0001' }] }),
          // The same public name as the first: ec2.py keeps the last one's variables.
          odd(3, { PublicDnsName: syntheticInstance(1, 'eu-west-1').PublicDnsName, Tags: [{ Key: 'Name', Value: 'second' }] }),
        ],
      }],
    };
    const text = assertSameAsInMemory(data, { ...base, destinationVariable: 'public_dns_name', vpcDestinationVariable: 'ip_address' });
    assert.match(text, /\\u2615/);
    assert.ok(text.includes('"ec2_tag_quote": "say \\"hi\\" \\\\ back\\nslash \\u0001 \\u007f"'), 'escaped as Python does');
    assert.ok(text.includes('"ec2_tag_quote": "say \\"hi\\" \\\\ back\\nslash \\u0001"'), 'and without a DEL in it');
    assert.ok(text.indexOf('"10"') < text.indexOf('"9"'), 'code-point order, not JavaScript integer-key order');
  });

  it('and with hostvars merged back from disk (a redis cluster and its node) and RDS clusters', () => {
    const data: FetchedData = {
      route53: undefined,
      regions: [{
        region: 'us-east-1', instances: syntheticRecords(5, 'us-east-1').regions[0]?.instances ?? [], dbInstances: [],
        cacheClusters: [{ region: 'us-east-1', cluster: {
          CacheClusterId: 'rd', CacheClusterStatus: 'available', Engine: 'redis', CacheNodeType: 'cache.t3.small',
          CacheNodes: [{ CacheNodeId: '0001', CacheNodeStatus: 'available', Endpoint: { Address: 'rd.0001.cache.test', Port: 6379 } }],
        } }],
        dbClusters: [{ region: 'us-east-1', cluster: { DBClusterIdentifier: 'c1', DBClusterMembers: [{ DBInstanceIdentifier: 'm' }], Engine: 'aurora' } }],
      }],
    };
    const text = assertSameAsInMemory(data, { ...laterDefaults(), ...base, includeRdsClusters: true, allElasticacheNodes: true });
    assert.match(text, /"ec2_cache_node_id": "0001"/, 'the node details joined the cluster entry read back from disk');
    assert.match(text, /"db_clusters": \{\n    "c1"/);
  });

  it('writes an empty inventory as ec2.py does', () => {
    assert.equal(assertSameAsInMemory({ route53: undefined, regions: [{ region: 'us-east-1', instances: [], dbInstances: [] }] }, base),
      '{\n  "_meta": {\n    "hostvars": {}\n  }\n}');
  });

  it('leaves no spill file behind', () => {
    const before = readdirSync(dir).length;
    const hostvars = new SpilledHostVars(dir);
    hostvars.set('h', { a: 1 });
    assert.deepEqual(hostvars.get('h'), { a: 1 });
    assert.equal(readdirSync(dir).length, before, 'unlinked as soon as it is open');
    hostvars.close();
  });
});

describe('leftovers of killed writers', () => {
  it('are removed once the refresh lock is held; recent ones and other files stay', async () => {
    const { cacheFiles, lockFiles } = await import('../../lib/store/fileStore.js');
    const { writeFileSync, utimesSync, mkdirSync } = await import('node:fs');
    const cacheDir = path.join(dir, 'leftovers');
    mkdirSync(cacheDir);
    const old = ['.ansible-ec2.cache.123.0a1b2c3d.tmp', '.ansible-ec2.index.9.ffffffff.tmp', '.ec2-inventory.hostvars.77.12345678.tmp'];
    const kept = ['.ansible-ec2.cache.124.0a1b2c3d.tmp', 'ansible-ec2.cache', '.ec2-inventory.registry.json.5.abcdef01.tmp', 'notes.tmp'];
    for (const name of [...old, ...kept]) writeFileSync(path.join(cacheDir, name), 'x');
    const hourAgo = new Date(Date.now() - 3_600_000);
    for (const name of [...old, ...kept.slice(1)]) utimesSync(path.join(cacheDir, name), hourAgo, hourAgo);
    const lock = await lockFiles(cacheFiles(cacheDir), 1000);
    await lock.release();
    assert.deepEqual(readdirSync(cacheDir).sort(), [...kept].sort());
  });
});

describe('isoTime', () => {
  it('is Date#toISOString', async () => {
    const { isoTime } = await import('../../lib/records/aws.js');
    for (const t of [0, 1, 999, 1_700_000_000_123, 946_684_799_999, 253_402_300_799_999, -1, -62_198_755_200_000, 8.64e15, Date.UTC(999, 11, 31), Date.UTC(10000, 0, 1)]) {
      const d = new Date(t);
      assert.equal(isoTime(d), d.toISOString(), String(t));
    }
  });
});

describe('the file store taking a built file', () => {
  it('moves it into place, and on failure names the cache file and removes what it was given', async () => {
    const { openFileCache } = await import('../../lib/store/open.js');
    const { writeFileSync, mkdirSync, existsSync } = await import('node:fs');
    const { CacheError } = await import('../../lib/errors.js');
    const cacheDir = path.join(dir, 'setfile');
    const cache = openFileCache(cacheDir);
    const built = path.join(cacheDir, '.ansible-ec2.cache.1.00000000.tmp');
    writeFileSync(built, '{\n  "_meta": {\n    "hostvars": {}\n  }\n}');
    await cache.setFile?.('d1', { inventoryFile: built, index: '{}', writtenAt: Date.now() });
    assert.equal(existsSync(built), false);
    assert.equal((await cache.get('d1'))?.inventory.toString(), '{\n  "_meta": {\n    "hostvars": {}\n  }\n}');

    rmSync(path.join(cacheDir, 'ansible-ec2.cache'));
    mkdirSync(path.join(cacheDir, 'ansible-ec2.cache')); // a rename onto a folder fails
    writeFileSync(built, '{}');
    await assert.rejects(cache.setFile?.('d1', { inventoryFile: built, index: '{}', writtenAt: Date.now() }) ?? Promise.resolve(),
      (err: unknown) => err instanceof CacheError && /^cannot write cache file .*ansible-ec2\.cache: /.test(err.message));
    assert.equal(existsSync(built), false, 'the built file is not left behind');
    assert.equal(await cache.get('d1'), undefined, 'nor is a half-written pair served');
  });
});
