import path from 'node:path';
import { fileURLToPath } from 'node:url';

// Compiled to dist/test/support/, so the repository is three levels up.
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const sharedDir = path.join(repoRoot, '..', 'shared');
export const inventoryBin = path.join(repoRoot, 'bin', 'ec2-inventory');
