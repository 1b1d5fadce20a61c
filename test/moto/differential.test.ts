// The same moto state read by the original ec2.py (../shared/reference, boto 2) and by the port,
// for several ec2.ini files: equal groups (order of hosts aside) and equal hostvars for every
// snake_case key the original emits.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { CreateTagsCommand, DescribeImagesCommand, EC2Client, RunInstancesCommand } from '@aws-sdk/client-ec2';
import { startMoto, type Moto } from '../support/moto.js';
import { buildScenario, clientConfig } from '../support/scenario.js';
import { buildVariety } from '../support/variety.js';
import { skipUnless } from '../support/tools.js';
import { sharedDir } from '../support/paths.js';
import path from 'node:path';
import { referenceScript, runInventory, runReference, tempDir, writeIni } from '../support/run.js';

type Inv = Record<string, unknown> & { _meta: { hostvars: Record<string, Record<string, unknown>> } };

function referenceUnavailable(): string | undefined {
  if (!existsSync(referenceScript)) return `${referenceScript} not found`;
  try {
    execFileSync('/usr/bin/python3', ['-c', 'import boto.ec2, boto.rds, boto.route53'], { stdio: 'ignore' });
  } catch {
    return "/usr/bin/python3 cannot import boto 2 (apt-get install python3-boto)";
  }
  return undefined;
}

const skip = skipUnless('differential test', referenceUnavailable());

const regions = 'us-east-1,us-west-2,eu-west-1,eu-central-1';

const variants: Record<string, Record<string, string>> = {
  base: { regions },
  nested: { regions, nested_groups: 'True' },
  everything: {
    regions, all_instances: 'True', all_rds_instances: 'True', vpc_destination_variable: 'private_ip_address',
    route53_excluded_zones: '', nested_groups: 'True',
  },
  private_dns: { regions, vpc_destination_variable: 'private_dns_name', all_instances: 'True' },
  filters: { regions, instance_filters: 'tag:Env=prod,instance-type=m5.large,instance-type=t3.small,tag:Role=worker' },
  patterns: { regions, pattern_include: '54\\.', pattern_exclude: '54\\.214\\.1' },
  no_rds_no_r53: { regions, rds: 'False', route53: 'False' },
  rds_off_all_rds: { regions, rds: 'False', all_rds_instances: 'True' },
};

// ec2.ini files as users wrote them for configparser and Python's re: the same settings spelled
// with `:`, continuation lines, [DEFAULT] and %-interpolation, Python-only pattern syntax, and an
// & that is part of a tag value. ap-south-1 holds the issue's three hosts (only these variants list it).
const issueRegion = 'ap-south-1';
const textVariants: Record<string, { overrides: Record<string, string>; edit: (ini: string) => string }> = {
  colon_delimiters: { overrides: { regions, nested_groups: 'True' }, edit: (ini) => ini.replace(/^(\w+) = /gm, '$1: ') },
  continuation_and_python_regex: {
    overrides: { regions },
    edit: (ini) => `${ini}pattern_include = (?x) ^ .{,3} \\.\n    # configparser drops this line, Python's (?x) the newlines\n\n    (?P<o>\\d+) \\. (?!(?P=o)\\Z)\n` +
      'pattern_exclude = (?i)\\A(?:X|y){,2}\\Z\n',
  },
  percent_and_ampersand: {
    overrides: { regions: issueRegion },
    edit: (ini) => `[DEFAULT]\ndiscount = 50%%\n\n${ini}instance_filters = tag:Cost Center=R&D / Ops,tag:Discount=%(discount)s\n`,
  },
};

const timestampKeys = new Set(['ec2_create_time', 'ec2_latest_restorable_time']);
const isoTime = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/;

function normGroup(g: unknown): unknown {
  if (Array.isArray(g)) return [...(g as string[])].sort();
  const o = g as { hosts?: string[]; children?: string[] };
  return { hosts: o.hosts ? [...o.hosts].sort() : undefined, children: o.children ? [...o.children].sort() : undefined };
}

export function compare(ref: Inv, port: Inv, leftovers?: Set<string>): string[] {
  const problems: string[] = [];
  const refGroups = Object.keys(ref).filter((k) => k !== '_meta').sort();
  const portGroups = Object.keys(port).filter((k) => k !== '_meta').sort();
  for (const g of refGroups) if (!(g in port)) problems.push(`group ${g} missing`);
  for (const g of portGroups) if (!(g in ref)) problems.push(`group ${g} extra`);
  for (const g of refGroups) {
    if (g in port && JSON.stringify(normGroup(ref[g])) !== JSON.stringify(normGroup(port[g]))) {
      problems.push(`group ${g}: reference ${JSON.stringify(ref[g])} port ${JSON.stringify(port[g])}`);
    }
  }
  const rh = ref._meta.hostvars;
  const ph = port._meta.hostvars;
  for (const h of Object.keys(rh)) {
    const pv = ph[h];
    if (!pv) { problems.push(`hostvars of ${h} missing`); continue; }
    for (const [k, v] of Object.entries(rh[h] as Record<string, unknown>)) {
      if (!(k in pv)) {
        // boto 2 also sets an attribute for every XML element it does not know (fields AWS added
        // after boto 2.49: ec2_sriovNetSupport, RDS ec2_DBInstanceArn, ...), named as the element.
        // The port's attribute table does not carry those (docs/compat.md, "Small, deliberate differences");
        // every other key the reference prints must be there, camelCase included.
        if (/[A-Z]/.test(k) && !docstringNames().has(k)) { leftovers?.add(k); continue; }
        problems.push(`${h}: ${k} missing (reference ${JSON.stringify(v)})`);
        continue;
      }
      if (timestampKeys.has(k)) {
        if (!isoTime.test(String(v)) || !isoTime.test(String(pv[k]))) problems.push(`${h}: ${k} format ${v} vs ${pv[k]}`);
        continue;
      }
      if (JSON.stringify(pv[k]) !== JSON.stringify(v)) problems.push(`${h}: ${k} reference ${JSON.stringify(v)} port ${JSON.stringify(pv[k])}`);
    }
  }
  for (const h of Object.keys(ph)) if (!(h in rh)) problems.push(`hostvars of ${h} extra`);
  return problems;
}

/** The hostvars the original's docstring says --host returns (some of which boto 2.49 no longer sets). */
let docstring: Set<string> | undefined;
function docstringNames(): Set<string> {
  const doc = readFileSync(path.join(sharedDir, 'reference', 'ec2.py'), 'utf8').split("'''")[1] ?? '';
  return (docstring ??= new Set([...doc.matchAll(/^ - (ec2_\w+)$/gm)].map((m) => m[1] as string)));
}

/** Hostvars (camelCase included) the port gives some EC2 host that the original does not. */
function extraKeys(ref: Inv, port: Inv): string[] {
  const extra = new Set<string>();
  for (const [h, vars] of Object.entries(port._meta.hostvars)) {
    const rv = ref._meta.hostvars[h];
    if (!rv || !('ec2_instance_type' in vars)) continue;
    for (const k of Object.keys(vars)) if (!k.startsWith('ec2_tag_') && !(k in rv)) extra.add(k);
  }
  return [...extra].sort();
}

describe('port against the reference ec2.py', { skip }, () => {
  let moto: Moto;
  let dir: string;
  before(async () => {
    moto = await startMoto();
    await buildScenario(moto.endpoint);
    await buildVariety(moto.endpoint);
    const ec2 = new EC2Client(clientConfig(moto.endpoint, issueRegion));
    const image = (await ec2.send(new DescribeImagesCommand({}))).Images?.[0]?.ImageId as string;
    for (const tags of [{ Name: 'a', 'Cost Center': 'R&D / Ops' }, { Name: 'b', Discount: '50%' }, { Name: 'c' }]) {
      const id = (await ec2.send(new RunInstancesCommand({ ImageId: image, MinCount: 1, MaxCount: 1 }))).Instances?.[0]?.InstanceId as string;
      await ec2.send(new CreateTagsCommand({ Resources: [id], Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })) }));
    }
    dir = tempDir('ec2inv-diff-');
  });
  after(async () => moto?.stop());

  for (const [name, overrides] of Object.entries(variants)) {
    it(`${name}: same groups and hostvars`, async (t) => {
      const refIni = writeIni(dir, `ref-${name}`, overrides);
      const portIni = writeIni(dir, `port-${name}`, overrides);
      const ref = await runReference(refIni, ['--list'], moto.endpoint);
      assert.equal(ref.code, 0, `reference failed: ${ref.stderr}${ref.stdout}`);
      const port = await runInventory(portIni, ['--list'], moto.endpoint);
      assert.equal(port.code, 0, port.stderr);
      const leftovers = new Set<string>();
      const problems = compare(JSON.parse(ref.stdout) as Inv, JSON.parse(port.stdout) as Inv, leftovers);
      assert.deepEqual(problems, []);
      t.diagnostic(`boto 2 element leftovers the reference prints and the port does not: ${[...leftovers].sort().join(' ') || 'none'}`);
      const extra = extraKeys(JSON.parse(ref.stdout) as Inv, JSON.parse(port.stdout) as Inv);
      assert.deepEqual(extra.filter((k) => !docstringNames().has(k)), [], 'the port adds no hostvar beyond the names the original\'s docstring promises');
      assert.ok(Object.keys((JSON.parse(port.stdout) as Inv)._meta.hostvars).length > 0, 'the variant lists hosts');
    });
  }

  for (const [name, { overrides, edit }] of Object.entries(textVariants)) {
    it(`ini written for configparser and re, ${name}: same groups and hostvars`, async () => {
      const [refIni, portIni] = ['ref', 'port'].map((side) => {
        const file = writeIni(dir, `${side}-${name}`, overrides);
        writeFileSync(file, edit(readFileSync(file, 'utf8')));
        return file;
      }) as [string, string];
      const ref = await runReference(refIni, ['--list'], moto.endpoint);
      assert.equal(ref.code, 0, `reference failed: ${ref.stderr}${ref.stdout}`);
      const port = await runInventory(portIni, ['--list'], moto.endpoint);
      assert.equal(port.code, 0, port.stderr);
      const listed = JSON.parse(port.stdout) as Inv;
      assert.deepEqual(compare(JSON.parse(ref.stdout) as Inv, listed), []);
      assert.ok(Object.keys(listed._meta.hostvars).length > 0, 'the variant lists hosts');
      if (name === 'percent_and_ampersand') {
        assert.deepEqual(Object.keys(listed).filter((g) => g.startsWith('tag_Name_')).sort(), ['tag_Name_a', 'tag_Name_b']);
      }
    });
  }

  it('--host of an EC2 host: same snake_case hostvars', async () => {
    const refIni = writeIni(dir, 'ref-host', { regions });
    const portIni = writeIni(dir, 'port-host', { regions });
    const listed = JSON.parse((await runInventory(portIni, ['--list'], moto.endpoint)).stdout) as Inv;
    const ec2Host = Object.keys(listed._meta.hostvars).find((h) => 'ec2_instance_type' in (listed._meta.hostvars[h] as object)) as string;
    await runReference(refIni, ['--list'], moto.endpoint);
    const ref = await runReference(refIni, ['--host', ec2Host], moto.endpoint);
    assert.equal(ref.code, 0, ref.stderr);
    const port = await runInventory(portIni, ['--host', ec2Host], moto.endpoint);
    const wrap = (vars: unknown) => ({ _meta: { hostvars: { [ec2Host]: vars } } }) as unknown as Inv;
    assert.deepEqual(compare(wrap(JSON.parse(ref.stdout)), wrap(JSON.parse(port.stdout))), []);
  });
});
