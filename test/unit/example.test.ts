import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { renderExample } from '../../lib/settings/example.js';
import { parseSettings } from '../../lib/settings/read.js';
import { options } from '../../lib/settings/options.js';
import { repoRoot } from '../support/paths.js';

describe('ec2.ini.example', () => {
  const text = readFileSync(path.join(repoRoot, 'ec2.ini.example'), 'utf8');
  it('is the rendering of the option table (run npm run ini-example after editing the table)', () => {
    assert.equal(text, renderExample());
  });
  it('documents every option and parses as a working ec2.ini', () => {
    for (const o of options) assert.match(text, new RegExp(`^#?${o.name} =`, 'm'), o.name);
    const s = parseSettings(text, 'ec2.ini.example', { HOME: '/home/x' });
    assert.equal(s.regions, 'all');
    assert.equal(s.cacheMaxAge, 300);
  });
});
