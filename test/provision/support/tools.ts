import type { TestContext } from 'node:test';
import { hasTool, inCI, isRoot, rootOnly } from '../../support/tools.js';

export { hasTool, inCI, isRoot, rootOnly };

/**
 * Returns the first missing tool. Under CI a missing tool fails the test (CI installs them all);
 * elsewhere the test is skipped with the reason.
 */
export function needTools(t: TestContext, tools: readonly string[]): boolean {
  const missing = tools.filter((x) => !hasTool(x));
  if (missing.length === 0) return true;
  const why = `missing ${missing.join(', ')} (see .ci/run for the Debian packages)`;
  if (inCI) throw new Error(why);
  t.skip(why);
  return false;
}
