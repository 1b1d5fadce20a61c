// Rules that KVM and EC2 launches, the registry, the inventory and ec2.ini share, each from its one
// home: the identity builder, the group-name check, the key=value reading, the errno test.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { ProvisionError, errnoOf } from '../../lib/errors.js';
import { groupNameProblem, reservedGroups } from '../../lib/ec2py/groups.js';
import { requestedGroups } from '../../lib/ec2py/rules.js';
import { keyValue, keyValues } from '../../lib/settings/keyValue.js';
import { filtersOf } from '../../lib/settings/later.js';
import { DEFAULT_USER, readIdentity } from '../../lib/provision/cloudinit.js';
import { parseGroups } from '../../lib/provision/hosts.js';
import { launchIdentity, parseTags } from '../../lib/provision/ec2/launch.js';
import { parseVars } from '../../lib/provision/libvirt/launch.js';
import { validateHost } from '../../lib/store/registry.js';
import { tempDir } from '../support/run.js';

const usage = (field: string, message: RegExp) => (err: unknown) =>
  err instanceof ProvisionError && err.code === 'EUSAGE' && err.field === field && message.test(err.message);

describe('identity: one builder for KVM and EC2', () => {
  const dir = tempDir('ec2inv-homes-');
  const key = path.join(dir, 'id');
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'homes@test', '-f', key]);
  const userData = path.join(dir, 'ud.yaml');
  fs.writeFileSync(userData, '#cloud-config\npackages: [htop]\n');

  it('asks for nothing without a key or user-data', () => {
    assert.equal(readIdentity({}), undefined);
    assert.deepEqual(launchIdentity({}), {});
  });

  it('refuses a login user or password without a key, naming the option, for both targets', () => {
    for (const o of [{ user: 'deploy' }, { user: 'deploy', userData }]) {
      assert.throws(() => readIdentity(o), usage('user', /login user or password hash needs an SSH public key/));
      assert.throws(() => launchIdentity(o), usage('user', /needs an SSH public key/));
    }
    assert.throws(() => readIdentity({ passwordHash: '$6$saltsalt$hash' }), usage('passwordHash', /needs an SSH public key/));
  });

  it('reads the key, the user-data and the login user once, what the KVM seed and the EC2 UserData are made of', () => {
    const id = readIdentity({ sshKey: `${key}.pub`, userData });
    assert.deepEqual(id?.sshKeys, [fs.readFileSync(`${key}.pub`, 'utf8').trim()]);
    assert.equal(id?.ansibleUser, DEFAULT_USER);
    assert.equal(id?.userData?.kind, 'cloud-config');
    assert.equal(readIdentity({ sshKey: `${key}.pub`, user: 'ops' })?.ansibleUser, 'ops');
    // User-data alone makes its own users: nobody to register as ansible_user.
    assert.equal(readIdentity({ userData })?.ansibleUser, undefined);
    const ec2 = launchIdentity({ sshKey: `${key}.pub`, userData });
    assert.equal(ec2.ansibleUser, DEFAULT_USER);
    assert.match(ec2.userData ?? '', /name: ansible[^]*packages:\n {2}- htop/);
  });

  it('names the file option that is wrong, never the private key content', () => {
    assert.throws(() => readIdentity({ sshKey: key }), (err: unknown) =>
      err instanceof ProvisionError && err.field === 'sshKey' && /is a private key/.test(err.message) && !err.message.includes('PRIVATE KEY'));
    assert.throws(() => readIdentity({ sshKey: `${key}.pub`, passwordHash: 'hunter2' }), usage('passwordHash', /crypt\(3\)/));
  });
});

describe('group names: one check for launches, the registry and the launch groups tag', () => {
  it('accepts what to_safe leaves alone, refuses the rest and the reserved names', () => {
    assert.equal(groupNameProblem('web-1_a'), undefined);
    assert.equal(groupNameProblem('a b'), 'may only hold letters, digits, - and _');
    assert.equal(groupNameProblem(''), 'may only hold letters, digits, - and _');
    for (const g of reservedGroups) assert.equal(groupNameProblem(g), 'is reserved');
  });

  it('is the rule of every place that takes a group', () => {
    for (const bad of ['a b', 'all', '_meta', 'ungrouped', 'x;y']) {
      assert.throws(() => parseGroups([`web,${bad}`]), usage('groups', new RegExp(`group '${bad.replace(/[;]/g, '.')}' (may only hold|is reserved)`)));
      assert.throws(() => validateHost({ name: 'h', groups: [bad], hostvars: {}, source: 'manual', registeredAt: 0 }), /registry: group/);
      assert.deepEqual(requestedGroups(`web,${bad}`), ['web']);
    }
    assert.deepEqual(parseGroups(['web, db', 'web']), ['web', 'db']);
    assert.throws(() => parseGroups([' , ']), usage('groups', /no inventory group given/));
  });
});

describe('key=value: one reading for filters, variables, tags', () => {
  it('splits at the first =, refuses an empty key or no =', () => {
    assert.deepEqual(keyValue('a=b=c'), ['a', 'b=c']);
    assert.deepEqual(keyValue('a='), ['a', '']);
    assert.equal(keyValue('=b'), undefined);
    assert.equal(keyValue('ab'), undefined);
  });

  it('builds a map where a later key wins, __proto__ included as a plain key', () => {
    const bad = (why: string) => new Error(why);
    const map = keyValues(['a=1', 'b=x=y', 'a=2', '__proto__=p'], bad);
    assert.deepEqual(Object.entries(map), [['a', '2'], ['b', 'x=y'], ['__proto__', 'p']]);
    assert.equal(Object.getPrototypeOf(map), Object.prototype);
    assert.throws(() => keyValues(['a'], bad), /^Error: expected key=value, not 'a'$/);
    assert.throws(() => keyValues(['k=v'], bad, (k) => (k === 'k' ? 'refused' : undefined)), /^Error: 'k=v': refused$/);
  });

  it('is what instance_filters read with: names trimmed and gathered, a value may hold =', () => {
    const fail = (why: string): never => { throw new Error(why); };
    assert.deepEqual(filtersOf(['tag:Env=prod', ' tag:Env = dev ', 'tag:Note=a=b'], fail), [{ name: 'tag:Env', values: ['prod', 'dev'] }, { name: 'tag:Note', values: ['a=b'] }]);
    assert.throws(() => filtersOf(['=prod'], fail), /has an entry without Name=Value: '=prod'/);
  });

  it('is what launch variables and tags read with, each naming its own option', () => {
    assert.deepEqual(parseVars(['a=1', 'b=x=y']), { a: '1', b: 'x=y' });
    assert.throws(() => parseVars(['novalue']), usage('vars', /^vars: expected key=value, not 'novalue'$/));
    assert.throws(() => parseVars(['ansible_host=1']), usage('vars', /is set by the launch itself/));
    assert.deepEqual(parseTags(['Role=web', 'Note=a=b']), { Role: 'web', Note: 'a=b' });
    assert.throws(() => parseTags(['=x']), usage('tags', /^tags: expected key=value, not '=x'$/));
  });
});

describe('errnoOf: one test of a system error', () => {
  it('gives E* codes, not Node ERR_* codes or non-strings', () => {
    assert.equal(errnoOf(Object.assign(new Error('x'), { code: 'ENOENT' })), 'ENOENT');
    assert.equal(errnoOf(Object.assign(new Error('x'), { code: 'ERR_INVALID_ARG_TYPE' })), undefined);
    assert.equal(errnoOf({ code: 5 }), undefined);
    assert.equal(errnoOf(null), undefined);
    assert.equal(errnoOf('ENOENT'), undefined);
  });
});
