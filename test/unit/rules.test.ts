// The pure rules on hand-made records: the cases moto cannot produce (EC2-Classic hosts without a
// subnet, databases still being created) and the serialisation contract.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { buildInventory, emptyInventory } from '../../lib/ec2py/rules.js';
import { push, push_group, to_safe } from '../../lib/ec2py/groups.js';
import { type RuleSettings } from '../../lib/ec2py/types.js';
import { json_format_dict, byCodePoint } from '../../lib/ec2py/format.js';

const settings: RuleSettings = {
  allInstances: false, allRdsInstances: false, destinationVariable: 'public_dns_name',
  vpcDestinationVariable: 'ip_address', patternInclude: undefined, patternExclude: undefined,
  nestedGroups: false, route53: true,
};

const classic = {
  InstanceId: 'i-classic', State: { Name: 'running' as const, Code: 16 }, PublicDnsName: 'ec2-1-2-3-4.compute-1.amazonaws.com',
  PublicIpAddress: '1.2.3.4', PrivateIpAddress: '10.0.0.1', InstanceType: 't1.micro' as const,
  Placement: { AvailabilityZone: 'us-east-1b' }, Tags: [],
};

describe('add_instance', () => {
  it('uses destination_variable for hosts outside a VPC and vpc_destination_variable inside', () => {
    const { inventory } = buildInventory({
      route53: [{ name: 'classic.example.com', values: ['1.2.3.4'] }],
      regions: [{ region: 'us-east-1', dbInstances: [], instances: [
        { region: 'us-east-1', instance: classic },
        { region: 'us-east-1', instance: { ...classic, InstanceId: 'i-vpc', SubnetId: 'subnet-1', VpcId: 'vpc-1', PublicIpAddress: '5.6.7.8' } },
      ] }],
    }, settings);
    assert.deepEqual(inventory['i-classic'], ['ec2-1-2-3-4.compute-1.amazonaws.com']);
    assert.deepEqual(inventory['i-vpc'], ['5.6.7.8']);
    assert.deepEqual(inventory['classic.example.com'], ['ec2-1-2-3-4.compute-1.amazonaws.com']);
    assert.deepEqual(inventory['tag_none'], ['ec2-1-2-3-4.compute-1.amazonaws.com', '5.6.7.8']);
    assert.ok(!('vpc_id_' in inventory));
    assert.equal(inventory._meta.hostvars['ec2-1-2-3-4.compute-1.amazonaws.com']?.['ec2_vpc_id'], '');
  });

  it('skips hosts whose destination is empty', () => {
    const { inventory, index } = buildInventory({ route53: undefined, regions: [{ region: 'us-east-1', dbInstances: [], instances: [
      { region: 'us-east-1', instance: { ...classic, PublicDnsName: '' } },
    ] }] }, settings);
    assert.deepEqual(Object.keys(inventory), ['_meta']);
    assert.deepEqual(Object.keys(index), []);
  });
});

describe('add_rds_instance', () => {
  it('skips a database without an endpoint yet (ec2.py crashes) and one without a parameter group gets no such group', () => {
    const { inventory } = buildInventory({ route53: undefined, regions: [{ region: 'eu-west-1', instances: [], dbInstances: [
      { region: 'eu-west-1', instance: { DBInstanceIdentifier: 'creating', DBInstanceStatus: 'creating', Engine: 'mysql' } },
      { region: 'eu-west-1', instance: {
        DBInstanceIdentifier: 'db1', DBInstanceStatus: 'available', Engine: 'aurora-mysql', DBInstanceClass: 'db.r5.large',
        AvailabilityZone: 'eu-west-1c', Endpoint: { Address: 'db1.x.eu-west-1.rds.amazonaws.com', Port: 3306 },
        DBSecurityGroups: [{ DBSecurityGroupName: 'old' }, { DBSecurityGroupName: 'last one' }],
      } },
    ] }] }, { ...settings, allRdsInstances: true });
    assert.deepEqual(inventory['db1'], ['db1.x.eu-west-1.rds.amazonaws.com']);
    assert.deepEqual(inventory['security_group_last_one'], ['db1.x.eu-west-1.rds.amazonaws.com'], 'the last DB security group, as boto 2');
    assert.ok(!('creating' in inventory));
    assert.ok(!Object.keys(inventory).some((k) => k.startsWith('rds_parameter_group_')));
    assert.deepEqual(inventory['rds_aurora-mysql'], ['db1.x.eu-west-1.rds.amazonaws.com']);
  });
});

describe('push and push_group', () => {
  it('turn a host list into {hosts, children} and never repeat a child', () => {
    const inv = emptyInventory();
    push(inv, 'us-east-1', 'h1');
    push_group(inv, 'us-east-1', 'us-east-1a');
    push_group(inv, 'us-east-1', 'us-east-1a');
    push(inv, 'us-east-1', 'h2');
    assert.deepEqual(inv['us-east-1'], { hosts: ['h1', 'h2'], children: ['us-east-1a'] });
  });
});

describe('to_safe', () => {
  it('replaces every code point outside [A-Za-z0-9-], astral ones by a single underscore', () => {
    assert.equal(to_safe('tag_Name=web 1.example/😀'), 'tag_Name_web_1_example__');
    assert.equal(to_safe('a-b_c'), 'a-b_c');
  });
});

describe('json_format_dict', () => {
  it('writes the bytes Python json.dumps(sort_keys=True, indent=2) writes', () => {
    const data = {
      b: [1, true, null, 'x'], a: { z: [], y: {}, 'é': 'ünï\u007f\u0001"\\/😀', 'Z': 1.5 },
      '\uffff': 1, '😀': 2, '10': [ { k: 'v' } ], '9': 'nine', __proto__x: 'p',
    };
    const py = execFileSync('python3', ['-c', 'import json,sys; sys.stdout.write(json.dumps(json.load(sys.stdin), sort_keys=True, indent=2))'],
      { input: JSON.stringify(data) }).toString();
    assert.equal(json_format_dict(data), py);
  });
  it('sorts by code point', () => {
    assert.deepEqual(['😀', '\uffff', 'a', 'B'].sort(byCodePoint), ['B', 'a', '\uffff', '😀']);
  });
});
