// What every packaging is handed, and what it hands back.
import type { Outputs } from '../outputs.js';
import type { ArchiveOptions } from './archive.js';
import type { Arch } from './arch.js';
import type { Compression } from './compress.js';
import type { FormatOutputs } from './formats.js';
import type { OsRelease } from './osrelease.js';
import type { OverlayTree } from './tree.js';

export interface PackJob {
  /** The prepared tree (source plus the steps' changes). */
  tree: OverlayTree;
  archive: ArchiveOptions;
  how: Compression;
  /** The level of `how` for the main output (compressionLevel). */
  level: number;
  /**
   * Creation time written into metadata (seconds): SOURCE_DATE_EPOCH, else the tree's newest mtime,
   * looked for when first asked.
   */
  epoch: () => number;
  outputs: Outputs;
  finals: FormatOutputs;
  /** File name stem (template name). */
  name: string;
  os?: OsRelease;
  arch?: Arch;
  /** The format's name for the architecture. */
  archName?: string;
  log: (message: string) => void;
}

export interface PackedFile {
  path: string;
  sha256: string;
  bytes: number;
}

export interface Packed {
  /** The files written (for the OCI folder: its blobs' digests are in the layout itself). */
  files: PackedFile[];
  /** What identifies the output: the main file's SHA-256, or the OCI manifest's digest. */
  sha256: string;
  bytes: number;
  /** Format-specific facts for the summary (OCI digests, Incus architecture). */
  details?: Record<string, unknown>;
}
