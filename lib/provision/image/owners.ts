// The owners and device nodes of the image's files. An unprivileged user cannot create them, so the
// tree is unpacked, amended and read by mkfs.ext4 under fakeroot, which records them in a state
// file. Root has them for real: then the tools run directly, since under fakeroot every file
// operation is a round trip to its daemon (unpacking a 470 MB Debian root: 17 s against 3 s).

export const runsAsRoot = (): boolean => process.getuid?.() === 0;

/** `tool args`, under fakeroot with its state (loaded and/or saved) unless this process is root. */
export function withOwners(state: { file: string; load: boolean; save: boolean }, tool: string, args: readonly string[]): [string, string[]] {
  if (runsAsRoot()) return [tool, [...args]];
  return ['fakeroot', [...(state.load ? ['-i', state.file] : []), ...(state.save ? ['-s', state.file] : []), '--', tool, ...args]];
}
