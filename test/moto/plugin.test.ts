// The collection's inventory plugin, installed from a tarball built from the working tree and run
// by Debian's real ansible-core against moto: the same groups and hostvars as the script, no tag
// ever templated (while the script, on this ansible-core, lets a tag run a command), and the
// standard constructed and cache options.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { CreateTagsCommand, DescribeImagesCommand, EC2Client, RunInstancesCommand } from '@aws-sdk/client-ec2';
import { startMoto, type Moto } from '../support/moto.js';
import { buildScenario, clientConfig, host, type Scenario } from '../support/scenario.js';
import { awsEnv, run, tempDir, writeIni } from '../support/run.js';
import { inventoryBin } from '../support/paths.js';
import { hasTool, skipUnless } from '../support/tools.js';
import { installCollection, type InstalledCollection } from '../support/collection.js';

const skip = skipUnless('inventory plugin test', hasTool('ansible-playbook') && hasTool('ansible-galaxy') ? undefined : 'ansible-core not found (apt-get install ansible-core)');

type Listing = Record<string, { hosts?: string[]; children?: string[] }> & { _meta: { hostvars: Record<string, Record<string, unknown>> } };

// ansible-inventory prints a value marked unsafe as {"__ansible_unsafe": value}.
type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
function unwrapUnsafe(v: Json): Json {
  if (Array.isArray(v)) return v.map(unwrapUnsafe);
  if (v !== null && typeof v === 'object') {
    const keys = Object.keys(v);
    if (keys.length === 1 && keys[0] === '__ansible_unsafe') return v['__ansible_unsafe'] as Json;
    return Object.fromEntries(keys.map((k) => [k, unwrapUnsafe(v[k] as Json)]));
  }
  return v;
}
/** Every string within, as ansible-inventory printed it: either marked unsafe or not. */
function strings(v: Json, out: { unsafe: number; plain: string[] } = { unsafe: 0, plain: [] }) {
  if (typeof v === 'string') out.plain.push(v);
  else if (Array.isArray(v)) v.forEach((x) => strings(x, out));
  else if (v !== null && typeof v === 'object') {
    if (Object.keys(v).length === 1 && '__ansible_unsafe' in v) out.unsafe++;
    else Object.values(v).forEach((x) => strings(x, out));
  }
  return out;
}

// Ansible wraps its warnings at 80 columns, after a space or a hyphen.
const unwrapped = (text: string) => text.replace(/-\n/g, '-').replace(/\s*\n\s*/g, ' ');

describe('inventory plugin ec2inventory.provision.ec2_inventory', { skip }, () => {
  let moto: Moto;
  let s: Scenario;
  let dir: string;
  let ini: string;
  let installed: InstalledCollection;
  let env: NodeJS.ProcessEnv;
  let evilIp: string;
  let marker: string;
  let payload: string;

  before(async () => {
    moto = await startMoto();
    s = await buildScenario(moto.endpoint);
    dir = tempDir('ec2inv-plugin-');
    marker = path.join(dir, 'pwned');
    payload = `{{ lookup('pipe', 'touch ${marker}') }}`;
    // A host whose tag, set by anyone with ec2:CreateTags, is a template that runs a command.
    const ec2 = new EC2Client(clientConfig(moto.endpoint, 'us-east-1'));
    const image = (await ec2.send(new DescribeImagesCommand({}))).Images?.[0]?.ImageId as string;
    const out = await ec2.send(new RunInstancesCommand({ ImageId: image, MinCount: 1, MaxCount: 1, InstanceType: 't2.micro' }));
    const id = out.Instances?.[0]?.InstanceId as string;
    evilIp = out.Instances?.[0]?.PublicIpAddress as string;
    await ec2.send(new CreateTagsCommand({
      Resources: [id],
      Tags: [{ Key: 'Name', Value: 'evil' }, { Key: 'Payload', Value: payload }],
    }));
    ini = writeIni(dir, 'plugin');
    installed = installCollection(dir);
    env = awsEnv(moto.endpoint, { ...installed.env, PATH: `${installed.binDir}:${process.env['PATH']}` });
  });
  after(async () => moto?.stop());

  function pluginConfig(name: string, extra = ''): string {
    const file = path.join(dir, `${name}.ec2_inventory.yml`);
    writeFileSync(file, `plugin: ec2inventory.provision.ec2_inventory\nini_path: ${path.basename(ini)}\n${extra}`);
    return file;
  }

  async function listRaw(source: string, extraEnv: NodeJS.ProcessEnv = {}): Promise<Json> {
    const r = await run('ansible-inventory', ['-i', source, '--list'], { ...env, ...extraEnv });
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stderr, /\[WARNING\]: (Unable to parse|Failed to parse)/, r.stderr);
    return JSON.parse(r.stdout) as Json;
  }
  const list = async (source: string, extraEnv: NodeJS.ProcessEnv = {}) => unwrapUnsafe(await listRaw(source, extraEnv)) as unknown as Listing;

  it('gives exactly the groups and hostvars the script gives, read through ansible-inventory', async () => {
    const byScript = await list(inventoryBin, { EC2_INI_PATH: ini, ANSIBLE_INVENTORY_ENABLED: 'script' });
    const raw = await listRaw(pluginConfig('same'));
    const byPlugin = unwrapUnsafe(raw) as unknown as Listing;
    assert.deepEqual(byPlugin, byScript);
    // Every host name and every string value is marked unsafe; the script's are all plain.
    const hostvars = strings((raw as { _meta: { hostvars: Json } })._meta.hostvars);
    assert.deepEqual(hostvars.plain, []);
    assert.ok(hostvars.unsafe > 100);
    assert.deepEqual(strings((raw as Record<string, Json>)['tag_Env_prod'] as Json).plain, []);
    assert.equal(strings(byScript as unknown as Json).unsafe, 0);
    assert.deepEqual([...(byPlugin['tag_Env_prod']?.hosts ?? [])].sort(), [host(s, 'web1').publicIp, host(s, 'web2').publicIp, host(s, 'eu1').publicIp].sort());
    assert.equal(byPlugin._meta.hostvars[host(s, 'web2').publicIp as string]?.['ec2_tag_Owner'], 'Zoë Ünïcode');
  });

  async function playbookUsingPayload(name: string, source: string, extraEnv: NodeJS.ProcessEnv) {
    const playbook = path.join(dir, `${name}.yml`);
    writeFileSync(playbook, `
- hosts: tag_Name_evil
  connection: local
  gather_facts: false
  tasks:
    - name: use the tag as any play would
      ansible.builtin.debug:
        msg: "payload is {{ ec2_tag_Payload }}"
`);
    return run('ansible-playbook', ['-i', source, playbook], { ...env, ...extraEnv }, 300_000);
  }

  it('runs no command from a tag value through the plugin; the plain script does run it on this ansible-core', async () => {
    const byPlugin = await playbookUsingPayload('plugin', pluginConfig('evil'), {});
    assert.equal(byPlugin.code, 0, byPlugin.stdout + byPlugin.stderr);
    assert.ok(byPlugin.stdout.includes(`payload is ${payload}`), `the tag reaches the task as text:\n${byPlugin.stdout}`);
    assert.equal(existsSync(marker), false, 'the plugin let a tag run a command on the controller');

    const byScript = await playbookUsingPayload('script', inventoryBin, { EC2_INI_PATH: ini, ANSIBLE_INVENTORY_ENABLED: 'script' });
    assert.equal(byScript.code, 0, byScript.stdout + byScript.stderr);
    assert.equal(existsSync(marker), true, 'the script inventory did not template the tag: this test could no longer fail');
    rmSync(marker);
  });

  it('adds keyed_groups, groups and compose on top of the ec2.py groups, with the values left unsafe', async () => {
    const inv = await list(pluginConfig('constructed', `
keyed_groups:
  - key: ec2_tag_Env
    prefix: env
  - key: ec2_instance_type
    prefix: size
groups:
  production: ec2_tag_Env == 'prod'
compose:
  ansible_host: ec2_private_ip_address
  payload_copy: ec2_tag_Payload
strict: false
`));
    const web1 = host(s, 'web1').publicIp as string;
    const web2 = host(s, 'web2').publicIp as string;
    assert.ok(inv['env_prod']?.hosts?.includes(web1) && inv['env_prod']?.hosts?.includes(web2));
    assert.ok(inv['size_m5_large']?.hosts?.includes(web2));
    assert.deepEqual([...(inv['production']?.hosts ?? [])].sort(), [...(inv['tag_Env_prod']?.hosts ?? [])].sort());
    assert.equal(inv._meta.hostvars[web1]?.['ansible_host'], host(s, 'web1').privateIp);
    assert.ok(inv['tag_Env_prod'], 'the ec2.py groups stay');
    assert.equal(inv._meta.hostvars[evilIp]?.['payload_copy'], payload);
    assert.equal(existsSync(marker), false, 'compose templated the tag');
  });

  it('answers from Ansible\'s inventory cache without running the program, and --flush-cache runs it again', async () => {
    const cacheDir = path.join(dir, 'inventory-cache');
    const cached = (binary: string) => pluginConfig('cached', `binary_path: ${binary}\ncache: true\ncache_plugin: ansible.builtin.jsonfile\ncache_connection: ${cacheDir}\ncache_timeout: 600\n`);
    const first = await list(cached(inventoryBin));
    assert.ok(readdirSync(cacheDir).length > 0, 'the cache plugin wrote nothing');
    const fromCache = await list(cached(path.join(dir, 'no-such-program')));
    assert.deepEqual(fromCache, first);
    // ansible-inventory has no --flush-cache; ansible-playbook's makes the plugin run the program.
    const noop = path.join(dir, 'noop.yml');
    writeFileSync(noop, '- hosts: all\n  gather_facts: false\n  tasks: []\n');
    const flushed = await run('ansible-playbook', ['-i', cached(path.join(dir, 'no-such-program')), '--flush-cache', noop], { ...env, ANSIBLE_INVENTORY_UNPARSED_FAILED: 'true' });
    assert.notEqual(flushed.code, 0);
    assert.match(unwrapped(flushed.stderr), /cannot run .*no-such-program/);
  });

  it('fails with the program\'s one-line error, naming the configuration file', async () => {
    writeIni(dir, 'bad', { cache_max_age: 'soon' });
    const file = path.join(dir, 'bad.ec2_inventory.yml');
    writeFileSync(file, `plugin: ec2inventory.provision.ec2_inventory\nini_path: bad.ini\n`);
    const r = await run('ansible-inventory', ['-i', file, '--list'], { ...env, ANSIBLE_INVENTORY_UNPARSED_FAILED: 'true' });
    assert.notEqual(r.code, 0);
    assert.match(unwrapped(r.stderr), /bad\.ec2_inventory\.yml: ec2-inventory: .*cache_max_age/);
  });
});
