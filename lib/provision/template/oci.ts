// OCI image layout (opencontainers image-spec: image-layout.md, config.md, manifest.md): one
// layer (the prepared tree's tar, compressed), a config whose rootfs.diff_ids is the SHA-256 of the
// *uncompressed* layer, a manifest, and index.json naming it; as a folder or as one tar of it.
import fs from 'node:fs';
import path from 'node:path';
import { withScratch } from '../outputs.js';
import { tarStream } from './archive.js';
import { smallTar, writeBuffer, writeCompressed, writeCompressedHashed, type Digest, type SmallEntry } from './pack.js';
import type { PackJob, Packed } from './packaging.js';

const MEDIA = {
  index: 'application/vnd.oci.image.index.v1+json',
  manifest: 'application/vnd.oci.image.manifest.v1+json',
  config: 'application/vnd.oci.image.config.v1+json',
  layer: { gzip: 'application/vnd.oci.image.layer.v1.tar+gzip', zstd: 'application/vnd.oci.image.layer.v1.tar+zstd' },
} as const;

/**
 * The name index.json gives the image: `NAME:latest` (podman load names the image after it; skopeo
 * copy oci:DIR:NAME:latest picks it), or `latest` when NAME cannot be an image name.
 */
export function ociRef(name: string): string {
  return /^[a-z0-9]+(?:[._-][a-z0-9]+)*$/.test(name) ? `${name}:latest` : 'latest';
}

interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
}

const descriptor = (mediaType: string, d: Digest): Descriptor => ({ mediaType, digest: `sha256:${d.sha256}`, size: d.bytes });

/** Writes the layout into `dir` (which exists and is empty); returns the manifest's descriptor and the blobs. */
async function writeLayout(job: PackJob, dir: string): Promise<{ manifest: Descriptor; layer: Descriptor; diffId: string; blobs: string[] }> {
  const blobs = path.join(dir, 'blobs', 'sha256');
  await fs.promises.mkdir(blobs, { recursive: true, mode: 0o755 });
  const blob = (d: Digest) => path.join(blobs, d.sha256);
  const how = job.how === 'zstd' ? 'zstd' : 'gzip';

  // Layer entries are named as docker and podman write them: `etc/hostname`, no entry for the root.
  const layerTemp = path.join(blobs, '.layer');
  const { file, raw } = await writeCompressedHashed(tarStream(job.tree, { ...job.archive, prefix: '' }), how, layerTemp, job.level);
  await fs.promises.rename(layerTemp, blob(file));
  const layer = descriptor(MEDIA.layer[how], file);
  const diffId = `sha256:${raw.sha256}`;

  const created = new Date(job.epoch() * 1000).toISOString();
  const oci = job.arch!.oci!;
  const config = {
    created,
    architecture: oci.architecture,
    ...(oci.variant ? { variant: oci.variant } : {}),
    os: 'linux',
    config: {
      Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
      ...(job.tree.resolve('bin/sh') !== undefined ? { Cmd: ['/bin/sh'] } : {}),
    },
    rootfs: { type: 'layers', diff_ids: [diffId] },
    history: [{ created, created_by: 'ec2-provision template build' }],
  };
  const configBytes = Buffer.from(JSON.stringify(config));
  const configDigest = await writeBuffer(configBytes, path.join(blobs, '.config'));
  await fs.promises.rename(path.join(blobs, '.config'), blob(configDigest));

  const manifest = {
    schemaVersion: 2,
    mediaType: MEDIA.manifest,
    config: descriptor(MEDIA.config, configDigest),
    layers: [layer],
    annotations: { 'org.opencontainers.image.created': created, 'org.opencontainers.image.title': job.name },
  };
  const manifestDigest = await writeBuffer(JSON.stringify(manifest), path.join(blobs, '.manifest'));
  await fs.promises.rename(path.join(blobs, '.manifest'), blob(manifestDigest));
  const manifestDesc = descriptor(MEDIA.manifest, manifestDigest);

  const index = {
    schemaVersion: 2,
    mediaType: MEDIA.index,
    manifests: [{
      ...manifestDesc,
      platform: { architecture: oci.architecture, os: 'linux', ...(oci.variant ? { variant: oci.variant } : {}) },
      annotations: { 'org.opencontainers.image.ref.name': ociRef(job.name) },
    }],
  };
  await writeBuffer(JSON.stringify(index), path.join(dir, 'index.json'));
  await writeBuffer(JSON.stringify({ imageLayoutVersion: '1.0.0' }), path.join(dir, 'oci-layout'));
  return { manifest: manifestDesc, layer, diffId, blobs: [configDigest.sha256, manifestDigest.sha256, file.sha256].sort() };
}

export async function packOciLayout(job: PackJob): Promise<Packed> {
  const dir = job.outputs.temp(job.finals.main);
  await fs.promises.mkdir(dir, { mode: 0o755 });
  const l = await writeLayout(job, dir);
  return { files: [], sha256: l.manifest.digest.slice('sha256:'.length), bytes: l.layer.size, details: { manifestDigest: l.manifest.digest, layerDigest: l.layer.digest, diffId: l.diffId, ref: ociRef(job.name) } };
}

/** The layout as one tar (what skopeo calls oci-archive:), entries in a fixed order. */
export async function packOciArchive(job: PackJob): Promise<Packed> {
  const final = job.finals.main;
  return withScratch(path.dirname(final), async (dir) => {
    const l = await writeLayout(job, dir);
    const entries: SmallEntry[] = [
      { name: 'oci-layout', type: 'file', mode: 0o644, from: path.join(dir, 'oci-layout') },
      { name: 'index.json', type: 'file', mode: 0o644, from: path.join(dir, 'index.json') },
      { name: 'blobs', type: 'directory', mode: 0o755 },
      { name: 'blobs/sha256', type: 'directory', mode: 0o755 },
      ...l.blobs.map((b): SmallEntry => ({ name: `blobs/sha256/${b}`, type: 'file', mode: 0o644, from: path.join(dir, 'blobs', 'sha256', b) })),
    ];
    job.log(`writing ${final}`);
    const temp = job.outputs.temp(final);
    const { file: d } = await writeCompressed(smallTar(entries, job.epoch()), 'none', temp);
    return { files: [{ path: final, ...d }], sha256: d.sha256, bytes: d.bytes, details: { manifestDigest: l.manifest.digest, layerDigest: l.layer.digest, diffId: l.diffId, ref: ociRef(job.name) } };
  });
}
