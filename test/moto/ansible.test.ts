// Real Ansible (ansible-core from Debian) consuming bin/ec2-inventory as a dynamic inventory script.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { startMoto, type Moto } from '../support/moto.js';
import { buildScenario, host, type Scenario } from '../support/scenario.js';
import { awsEnv, run, tempDir, writeIni } from '../support/run.js';
import { inventoryBin } from '../support/paths.js';
import { hasTool, skipUnless } from '../support/tools.js';

const skip = skipUnless('Ansible test', hasTool('ansible-playbook') ? undefined : 'ansible-playbook not found (apt-get install ansible-core)');

describe('Ansible consumes bin/ec2-inventory', { skip }, () => {
  let moto: Moto;
  let s: Scenario;
  let dir: string;
  let env: NodeJS.ProcessEnv;

  before(async () => {
    moto = await startMoto();
    s = await buildScenario(moto.endpoint);
    dir = tempDir('ec2inv-ansible-');
    env = awsEnv(moto.endpoint, {
      EC2_INI_PATH: writeIni(dir, 'ansible'),
      ANSIBLE_LOCAL_TEMP: path.join(dir, 'ansible-tmp'),
      ANSIBLE_HOME: path.join(dir, 'ansible-home'),
      ANSIBLE_NOCOLOR: '1',
      ANSIBLE_HOST_KEY_CHECKING: 'False',
      ANSIBLE_INVENTORY_ENABLED: 'script',
      LANG: 'C.UTF-8',
    });
  });
  after(async () => moto?.stop());

  it('ansible-inventory --list returns the hosts, groups and hostvars', async () => {
    const r = await run('ansible-inventory', ['-i', inventoryBin, '--list'], env);
    assert.equal(r.code, 0, r.stderr);
    const inv = JSON.parse(r.stdout) as Record<string, { hosts?: string[]; children?: string[] }> & { _meta: { hostvars: Record<string, Record<string, unknown>> } };
    const web1 = host(s, 'web1').publicIp as string;
    const web2 = host(s, 'web2').publicIp as string;
    assert.deepEqual([...(inv['tag_Env_prod']?.hosts ?? [])].sort(), [web1, web2, host(s, 'eu1').publicIp as string].sort());
    assert.deepEqual(inv['www.example.com']?.hosts?.sort(), [web1, web2].sort());
    assert.equal(inv._meta.hostvars[web2]?.['ec2_tag_Owner'], 'Zoë Ünïcode');
    assert.ok(inv['all']?.children?.includes('ec2'));
  });

  it('ansible-playbook runs a play on a tag group and on a Route53 group, and only their hosts run it', async () => {
    const out = path.join(dir, 'ran');
    const playbook = path.join(dir, 'site.yml');
    writeFileSync(playbook, `
- hosts: tag_Name_web-2
  connection: local
  gather_facts: false
  tasks:
    - name: record who ran the tag play
      ansible.builtin.lineinfile:
        path: "${out}-tag"
        line: "{{ inventory_hostname }} {{ ec2_id }}"
        create: true
      delegate_to: localhost
- hosts: web1.example.com
  connection: local
  gather_facts: false
  tasks:
    - name: record who ran the Route53 play
      ansible.builtin.lineinfile:
        path: "${out}-r53"
        line: "{{ inventory_hostname }} {{ ec2_id }}"
        create: true
      delegate_to: localhost
`);
    const r = await run('ansible-playbook', ['-i', inventoryBin, playbook], env, 300_000);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const read = (f: string) => execFileSync('cat', [f]).toString().trim().split('\n').sort();
    assert.deepEqual(read(`${out}-tag`), [`${host(s, 'web2').publicIp} ${host(s, 'web2').id}`]);
    assert.deepEqual(read(`${out}-r53`), [`${host(s, 'web1').publicIp} ${host(s, 'web1').id}`]);
    assert.match(r.stdout, /PLAY RECAP/);
  });
});
