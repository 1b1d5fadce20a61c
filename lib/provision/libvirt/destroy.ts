// Destroy is idempotent: each part (running guest, definition, overlay volume, registry entry) is
// removed when present and reported as 'absent' otherwise, so running it twice, or after a
// half-finished manual cleanup, is fine.
import fs from 'node:fs';
import { ProvisionError } from '../../errors.js';
import { Virsh, type Log } from '../../sources/libvirt/virsh.js';
import { METADATA_NS, parseMetadata, readDomain, readVolume } from '../../sources/libvirt/xml.js';
import { openRegistry, type RegistrySettings } from '../../store/registry.js';
import { seedVolume } from './launch.js';

export interface DestroyKvmOptions {
  uri: string;
  name: string;
  registry?: RegistrySettings;
  /** Also destroy a domain that no launch of ours made (no metadata, not registered). */
  force?: boolean;
  log?: Log;
}

export interface DestroyKvmResult {
  uri: string;
  name: string;
  domain: 'destroyed' | 'undefined' | 'absent';
  volume: { pool: string; volume: string; action: 'deleted' | 'absent' } | null;
  /** The cloud-init seed volume, for guests launched with one. */
  seed: { pool: string; volume: string; action: 'deleted' | 'absent' } | null;
  registry: 'removed' | 'absent' | 'not asked';
}

export async function destroyKvm(o: DestroyKvmOptions): Promise<DestroyKvmResult> {
  const log = o.log ?? (() => {});
  const v = new Virsh(o.uri);
  const registry = o.registry ? await openRegistry(o.registry) : undefined;
  try {
    const entry = await registry?.get(o.name);
    if (entry && entry.source === 'kvm' && entry.hostvars['kvm_uri'] !== undefined && entry.hostvars['kvm_uri'] !== o.uri) {
      throw new ProvisionError(`'${o.name}' is registered on ${String(entry.hostvars['kvm_uri'])}, not ${o.uri}`, 'EUSAGE', 'uri');
    }
    let pool = typeof entry?.hostvars['kvm_pool'] === 'string' ? entry.hostvars['kvm_pool'] : undefined;
    let volume = typeof entry?.hostvars['kvm_volume'] === 'string' ? entry.hostvars['kvm_volume'] : undefined;
    let seed = typeof entry?.hostvars['kvm_seed_volume'] === 'string' ? entry.hostvars['kvm_seed_volume'] : undefined;
    // The seed volume has one name, the one launch gives it: a registry entry or metadata naming
    // another volume (the base image) must not make destroy delete it.
    const checkSeed = (name: string | undefined) => {
      if (name !== undefined && name !== seedVolume(o.name)) {
        throw new ProvisionError(`refusing to destroy '${o.name}': its seed volume is recorded as '${name}', not '${seedVolume(o.name)}', the one a launch makes`, 'EFOREIGN');
      }
    };
    checkSeed(seed);
    let domain: DestroyKvmResult['domain'] = 'absent';
    if (await v.domainExists(o.name)) {
      // Our metadata says which overlay belongs to the guest, also when it was never registered.
      const md = await v.call(['metadata', '--domain', o.name, '--uri', METADATA_NS]).then((r) => parseMetadata(r.stdout), () => undefined);
      // A domain someone else made is not ours to delete by name alone.
      if (!md && !entry && !o.force) throw new ProvisionError(`domain '${o.name}' on ${o.uri} was not launched by ec2-provision (no metadata, not registered); force destroys it anyway (its disks are kept)`, 'EFOREIGN', 'force');
      pool = md?.pool ?? pool;
      volume = md?.volume ?? volume;
      seed = md?.seed ?? seed;
      checkSeed(seed);
      const facts = readDomain(await v.text(['dumpxml', '--', o.name]));
      const serialLog = facts.serialLog;
      // Before anything is stopped: a volume that is not this guest's own overlay is refused.
      if (pool !== undefined && volume !== undefined) await checkOwnOverlay(v, pool, volume, o.name, facts.diskFiles);
      const state = (await v.text(['domstate', '--', o.name])).trim();
      if (state !== 'shut off') {
        log(`stopping ${o.name} (${state})`);
        await v.call(['destroy', '--', o.name]);
        domain = 'destroyed';
      } else domain = 'undefined';
      log(`undefining ${o.name}`);
      await v.call(['undefine', '--', o.name]);
      if (serialLog && /^[a-z0-9]+:\/\/\//i.test(o.uri) && /\/ec2inv-[0-9a-f-]+\.serial\.log$/.test(serialLog)) fs.rmSync(serialLog, { force: true });
    }
    let vol: DestroyKvmResult['volume'] = null;
    if (pool !== undefined && volume !== undefined) {
      const exists = await v.volumeExists(pool, volume);
      if (exists && domain === 'absent') await checkOwnOverlay(v, pool, volume, o.name, undefined);
      if (exists) {
        log(`deleting volume ${pool}/${volume}`);
        await v.call(['vol-delete', '--pool', pool, '--', volume]);
      }
      vol = { pool, volume, action: exists ? 'deleted' : 'absent' };
    }
    let seedResult: DestroyKvmResult['seed'] = null;
    if (pool !== undefined && seed !== undefined) {
      const exists = await v.volumeExists(pool, seed);
      if (exists) {
        log(`deleting seed volume ${pool}/${seed}`);
        await v.call(['vol-delete', '--pool', pool, '--', seed]);
      }
      seedResult = { pool, volume: seed, action: exists ? 'deleted' : 'absent' };
    }
    const reg: DestroyKvmResult['registry'] = registry ? ((await registry.deregister(o.name)) ? 'removed' : 'absent') : 'not asked';
    return { uri: o.uri, name: o.name, domain, volume: vol, seed: seedResult, registry: reg };
  } finally {
    await registry?.close();
  }
}

/**
 * Destroy deletes only the overlay a launch made for this guest: a volume with a backing file (the
 * pushed image it was made on; the image itself has none) that is this guest's own disk, or, when
 * the domain is already gone, named as launch names overlays (NAME.qcow2). A registry entry or
 * metadata that names any other volume (the base image) is refused before anything is changed.
 */
async function checkOwnOverlay(v: Virsh, pool: string, volume: string, name: string, guestDisks: string[] | undefined): Promise<void> {
  const refuse = (why: string): never => {
    throw new ProvisionError(`refusing to delete ${pool}/${volume} for '${name}': ${why}; nothing was changed (deregister the entry, or remove the volume by hand)`, 'EFOREIGN');
  };
  if (!(await v.volumeExists(pool, volume))) return;
  const facts = readVolume(await v.text(['vol-dumpxml', '--pool', pool, '--', volume]));
  if (facts.backingPath === undefined) refuse('it is not an overlay (it has no backing file), so no launch made it');
  if (guestDisks !== undefined) {
    if (facts.path === undefined || !guestDisks.includes(facts.path)) refuse(`it is not a disk of the domain '${name}'`);
  } else if (volume !== `${name}.qcow2`) {
    refuse(`it is not the overlay a launch of '${name}' makes (${name}.qcow2)`);
  }
}
