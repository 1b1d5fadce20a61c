import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { defaultIniPath, parseSettings } from '../../lib/settings/read.js';
import { compilePythonRegex, pythonMatch } from '../../lib/settings/pyregex.js';
import { SettingsError } from '../../lib/errors.js';
import { options, type OptionSpec } from '../../lib/settings/options.js';
import { tempDir } from '../support/run.js';

const minimal = `[ec2]
regions = us-east-1
regions_exclude = us-gov-west-1,cn-north-1
destination_variable = public_dns_name
vpc_destination_variable = ip_address
route53 = False
cache_path = ~/.ansible/tmp
cache_max_age = 300
`;

describe('parseSettings', () => {
  it('applies ec2.py defaults to the optional options', () => {
    const s = parseSettings(minimal, 'ec2.ini', { HOME: '/home/ops' });
    assert.equal(s.rds, true);
    assert.equal(s.allInstances, false);
    assert.equal(s.allRdsInstances, false);
    assert.equal(s.nestedGroups, false);
    assert.equal(s.eucalyptus, false);
    assert.deepEqual(s.route53ExcludedZones, []);
    assert.deepEqual(s.instanceFilters, []);
    assert.equal(s.patternInclude, undefined);
    assert.equal(s.cachePath, '/home/ops/.ansible/tmp');
    assert.deepEqual(s.regions, ['us-east-1']);
  });

  it('reads booleans as configparser does, option names case-insensitively', () => {
    const s = parseSettings(minimal + 'RDS = off\nall_instances = YES\nnested_groups = 1\n', 'ec2.ini');
    assert.equal(s.rds, false);
    assert.equal(s.allInstances, true);
    assert.equal(s.nestedGroups, true);
  });

  it('all_rds_instances is false when rds is off, as ec2.py reads it', () => {
    assert.equal(parseSettings(minimal + 'rds = False\nall_rds_instances = True\n', 'ec2.ini').allRdsInstances, false);
    assert.equal(parseSettings(minimal + 'all_rds_instances = True\n', 'ec2.ini').allRdsInstances, true);
  });

  it('groups filter values by name in first-seen order and splits at the first =', () => {
    const s = parseSettings(minimal + 'instance_filters = tag:Env=prod, instance-type=t3.small,tag:Env=qa,tag:k=a=b\n', 'ec2.ini');
    assert.deepEqual(s.instanceFilters, [
      { name: 'tag:Env', values: ['prod', 'qa'] },
      { name: 'instance-type', values: ['t3.small'] },
      { name: 'tag:k', values: ['a=b'] },
    ]);
  });

  it('trims region lists and reads regions = all', () => {
    assert.deepEqual(parseSettings(minimal.replace('regions = us-east-1', 'regions = us-east-1, eu-west-1 '), 'ec2.ini').regions, ['us-east-1', 'eu-west-1']);
    assert.equal(parseSettings(minimal.replace('regions = us-east-1', 'regions = all'), 'ec2.ini').regions, 'all');
  });

  it('takes options missing from [ec2] from [DEFAULT], as configparser does', () => {
    const s = parseSettings('[DEFAULT]\nrds = False\n' + minimal, 'ec2.ini');
    assert.equal(s.rds, false);
  });

  it('names file, line and option in every error', () => {
    const text = minimal + 'nested_groups = sometimes\n';
    assert.throws(() => parseSettings(text, '/etc/ansible/ec2.ini'), (err: unknown) => {
      assert.ok(err instanceof SettingsError);
      assert.equal(err.option, 'nested_groups');
      assert.equal(err.line, 9);
      assert.equal(err.message, "/etc/ansible/ec2.ini:9: [ec2] option 'nested_groups' must be a boolean (true/false, yes/no, on/off, 1/0), not 'sometimes'");
      return true;
    });
  });

  it('reads every option by the type its table entry declares', () => {
    // An option read by hand as another type than the table says would take or refuse the wrong text.
    const refused = (name: string, value: string, why: RegExp) => {
      const text = minimal.replace(new RegExp(`^${name} = .*\n`, 'm'), '') + `${name} = ${value}\n`;
      assert.throws(() => parseSettings(text, 'ec2.ini', {}), (e: SettingsError) => e.option === name && why.test(e.message), `${name} = ${value}`);
    };
    const ec2Options = (options as readonly OptionSpec[]).filter((o) => (o.section ?? 'ec2') === 'ec2' && o.name !== 'all_rds_instances' && o.name !== 'eucalyptus_host');
    for (const o of ec2Options) {
      if (o.type === 'bool') refused(o.name, 'sometimes', /must be a boolean/);
      if (o.type === 'int') refused(o.name, 'ten', /must be a whole number/);
      if (o.type === 'int' && o.min !== undefined) refused(o.name, String(o.min - 1), new RegExp(`must be at least ${o.min}$`));
      if (o.type === 'string' && o.choices) refused(o.name, 'nope', /must be one of/);
      if (o.type === 'path') refused(o.name, '', /is empty$/);
    }
    assert.equal(parseSettings(minimal + 'max_attempts = 1\n', 'ec2.ini', {}).maxAttempts, 1);
  });

  it('reads the ini as configparser does: `:`, continuation lines, %%, quotes and # kept in values', () => {
    const s = parseSettings(minimal.replace('regions = us-east-1', 'regions: us-east-1,\n  eu-west-1') +
      'nested_groups: True\ninstance_filters = tag:Discount=50%%\npattern_include = "54"\npattern_exclude = web#1 ; not a comment\n', 'ec2.ini', {});
    assert.deepEqual(s.regions, ['us-east-1', 'eu-west-1']);
    assert.equal(s.nestedGroups, true);
    assert.deepEqual(s.instanceFilters, [{ name: 'tag:Discount', values: ['50%'] }]);
    assert.equal(s.patternInclude?.source, '"54"');
    assert.equal(s.patternExclude?.source, 'web#1 ; not a comment');
    assert.equal(parseSettings(minimal.replace('cache_max_age = 300', 'cache_max_age = 86_400'), 'ec2.ini', {}).cacheMaxAge, 86400, "getint is Python's int()");
    const ref = parseSettings('[DEFAULT]\nbase = /srv/cache\n' + minimal.replace('cache_path = ~/.ansible/tmp', 'cache_path = %(base)s/ec2'), 'ec2.ini', {});
    assert.equal(ref.cachePath, '/srv/cache/ec2');
  });

  it('names the file and line of what configparser refuses', () => {
    const refuses = (text: string, message: RegExp) => assert.throws(() => parseSettings(text, 'ec2.ini', {}), (e: SettingsError) => message.test(e.message) && !e.message.includes('\n'));
    refuses(minimal + 'pattern_include = 50%\n', /^ec2\.ini:9: \[ec2\] option 'pattern_include' has a % not followed by % or \(name\)s at '%' \(write %% for a literal %\)$/);
    refuses(minimal + 'pattern_include = %(nope)s\n', /^ec2\.ini:9: \[ec2\] option 'pattern_include' refers to %\(nope\)s, which is not an option/);
    refuses(minimal + 'ROUTE53 = True\n', /^ec2\.ini:9: option 'route53' appears a second time in \[ec2\]$/);
    refuses(minimal + '[ec2]\n', /^ec2\.ini:9: section \[ec2\] appears a second time$/);
    refuses('regions = all\n' + minimal, /^ec2\.ini:1: 'regions = all' comes before any \[section\] header$/);
    refuses(minimal + 'just words\n', /^ec2\.ini:9: 'just words' is neither a \[section\] header nor name = value/);
    refuses(minimal.replace('[ec2]', '[other]'), /^ec2\.ini: no \[ec2\] section$/);
  });
});

describe('Python regular expressions', () => {
  it('match at the start only', () => {
    const re = compilePythonRegex('web|db');
    assert.equal(pythonMatch(re, 'web1'), true);
    assert.equal(pythonMatch(re, 'db1'), true);
    assert.equal(pythonMatch(re, 'xweb'), false);
    assert.equal(pythonMatch(re, 'web1'), true, 'no state carried between calls');
  });
  it('understand named groups, back references, \\A, \\Z and leading inline flags', () => {
    assert.equal(pythonMatch(compilePythonRegex('(?P<x>ab)(?P=x)\\Z'), 'abab'), true);
    assert.equal(pythonMatch(compilePythonRegex('(?P<x>ab)(?P=x)\\Z'), 'ababc'), false);
    assert.equal(pythonMatch(compilePythonRegex('\\AWEB'), 'web'), false);
    assert.equal(pythonMatch(compilePythonRegex('(?i)\\AWEB'), 'web'), true);
  });
  it('reject what is invalid', () => {
    assert.throws(() => compilePythonRegex('web('), /^PatternError: missing \), unterminated subpattern$/);
    assert.equal(pythonMatch(compilePythonRegex('(?x)web # comment'), 'web1'), true, 'verbose patterns are read as Python reads them');
  });

  it('say which option uses what cannot be matched exactly, and which is not a Python pattern', () => {
    const refuses = (text: string, message: RegExp) => assert.throws(() => parseSettings(minimal + text, 'ec2.ini', {}), (e: Error) => message.test(e.message));
    refuses('pattern_include = (a)?\\1\n',
      /^ec2\.ini:9: \[ec2\] option 'pattern_include' '\(a\)\?\\1' uses a back reference to group 1, which may not take part/);
    refuses('pattern_exclude = a{2,1}\n',
      /^ec2\.ini:9: \[ec2\] option 'pattern_exclude' is not a valid regular expression 'a\{2,1\}': min repeat greater than max repeat$/);
    assert.equal(parseSettings(minimal + 'pattern_include = ^.{,3}\\.214\\.\n', 'ec2.ini', {}).patternInclude?.regex.test('54.214.1.2'), true);
  });
});

describe('options ec2.py ignores', () => {
  const { warnings: none, ...plain } = parseSettings(minimal, 'ec2.ini', {});
  it('are warnings naming file, line, option and the nearest known name, and change nothing else', () => {
    assert.deepEqual(none, []);
    const text = minimal + 'hostname_varible = tag_Name\ngroup_by_tag_service = True\n[credentials]\naws_acces_key_id = x\n';
    const { warnings, ...rest } = parseSettings(text, '/etc/ansible/ec2.ini', {});
    assert.deepEqual(warnings, [
      "/etc/ansible/ec2.ini:9: [ec2] option 'hostname_varible' is not an ec2.ini option and is ignored, as ec2.py ignores it (nearest known: 'hostname_variable')",
      "/etc/ansible/ec2.ini:10: [ec2] option 'group_by_tag_service' is not an ec2.ini option and is ignored, as ec2.py ignores it (nearest known: 'group_by_tag_keys')",
      "/etc/ansible/ec2.ini:12: [credentials] option 'aws_acces_key_id' is not an ec2.ini option and is ignored, as ec2.py ignores it (nearest known: 'aws_access_key_id')",
    ]);
    assert.deepEqual({ ...rest, iniPath: 'ec2.ini' }, plain, 'the settings are those of the ini without these lines');
  });
  it('leave [DEFAULT] (names there are for interpolation) and sections ec2.py never reads alone', () => {
    const text = '[DEFAULT]\nbase = /srv\n' + minimal + '[mine]\nanything = goes\n';
    assert.deepEqual(parseSettings(text, 'ec2.ini', {}).warnings, []);
  });
});

describe('defaultIniPath', () => {
  it('prefers EC2_INI_PATH, else ec2.ini beside the real path of the executable', () => {
    assert.equal(defaultIniPath('/x/bin/ec2-inventory', { EC2_INI_PATH: '/etc/ec2.ini' }), '/etc/ec2.ini');
    const dir = tempDir();
    mkdirSync(path.join(dir, 'real'));
    writeFileSync(path.join(dir, 'real', 'ec2-inventory'), '');
    symlinkSync(path.join(dir, 'real', 'ec2-inventory'), path.join(dir, 'link'));
    assert.equal(defaultIniPath(path.join(dir, 'link'), {}), path.join(dir, 'real', 'ec2.ini'));
  });
});

describe('Eucalyptus endpoint', () => {
  it('is EC2_URL when set, else the cloud controller on port 8773, else nothing', async () => {
    const { eucalyptusEndpoint, ec2ClientOptions } = await import('../../lib/sources/aws/clients.js');
    const euca = { eucalyptus: true, eucalyptusHost: 'clc.example', maxAttempts: 3 };
    assert.equal(eucalyptusEndpoint(euca, {}), 'http://clc.example:8773/services/Eucalyptus');
    assert.equal(eucalyptusEndpoint(euca, { EC2_URL: 'https://clc:8443/services/compute' }), 'https://clc:8443/services/compute');
    assert.equal(eucalyptusEndpoint({ ...euca, eucalyptusHost: undefined }, {}), undefined);
    assert.equal(eucalyptusEndpoint({ ...euca, eucalyptus: false }, { EC2_URL: 'http://x' }), undefined, 'EC2_URL only matters with eucalyptus = True');
    const saved = process.env['EC2_URL'];
    delete process.env['EC2_URL'];
    try {
      const { logger, requestHandler, ...options } = ec2ClientOptions(euca, 'eucalyptus');
      assert.deepEqual(requestHandler.timeouts, { connectTimeout: 5, requestTimeout: 60 }, 'every client is bounded, by default too');
      assert.deepEqual(options, {
        region: 'eucalyptus', maxAttempts: 3, retryMode: 'adaptive', endpoint: 'http://clc.example:8773/services/Eucalyptus',
      });
      assert.equal((logger as { info?: unknown }).info, undefined, 'no info(): the SDK makes no copy of each answer to log');
    } finally {
      if (saved !== undefined) process.env['EC2_URL'] = saved;
    }
  });
});
