// The entry of the CommonJS bundle that bin/ec2-inventory compiles through its code cache
// (scripts/bundle.js, lib/cli/fullPath.ts): the command, and whether a run refreshed.
export { main } from './inventory.js';
export { fetchCount } from '../flow/request.js';
