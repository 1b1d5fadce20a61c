// The fixture most moto tests share: a moto_server of their own holding the shared scenario, and
// a scratch folder; registered as before/after hooks of the file or suite that calls it.
import { after, before } from 'node:test';
import { startMoto, type Moto } from './moto.js';
import { buildScenario, type Scenario } from './scenario.js';
import { tempDir } from './run.js';

export interface ScenarioFixture {
  moto: Moto;
  s: Scenario;
  dir: string;
}

export function scenarioFixture(prefix = 'ec2inv-'): ScenarioFixture {
  const f = {} as ScenarioFixture;
  before(async () => {
    f.moto = await startMoto();
    f.s = await buildScenario(f.moto.endpoint);
    f.dir = tempDir(prefix);
  });
  after(async () => f.moto?.stop());
  return f;
}
