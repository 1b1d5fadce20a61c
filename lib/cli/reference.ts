// docs/cli.md: both commands' options as declared. `npm run cli-docs` rewrites the file; a test
// fails when the committed file is out of date.
import { markdownReference } from './help.js';
import { inventoryProgram, provisionProgram } from './declarations.js';

export function cliReference(): string {
  return markdownReference([provisionProgram, inventoryProgram]);
}
