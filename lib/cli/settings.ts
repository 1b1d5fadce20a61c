// The ec2.ini a provisioning command reads (for the registry, cache_path and destination_variable):
// --ini, else EC2_INI_PATH, else ec2.ini beside the executable, as ec2-inventory finds it, with
// the ini's warnings on stderr in the words ec2-inventory prints them.
import { readDefaultSettings, readSettings, type Settings } from '../settings/read.js';

export function provisionSettings(ini: string | undefined): Settings {
  const settings = ini !== undefined ? readSettings(ini) : readDefaultSettings(process.argv[1] ?? 'bin/provision');
  for (const warning of settings.warnings ?? []) process.stderr.write(`ec2-provision: warning: ${warning}\n`);
  return settings;
}
