// A minimal tar writer. GNU tar cannot merge a source tree with an overlay of changed files without
// copying the tree first (and a non-root copy loses device nodes and owners), so the archive is
// written here: ustar headers, pax records for long names and big files, fixed owners, no
// atime/ctime and no pid-dependent pax header names, so the same entries give the same bytes.

export type TarEntryType = 'file' | 'hardlink' | 'symlink' | 'char' | 'block' | 'dir' | 'fifo';

export interface TarHeader {
  /** Path inside the archive, e.g. `./etc/hostname` (directories without the trailing slash). */
  name: string;
  type: TarEntryType;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  linkname?: string;
  devmajor?: number;
  devminor?: number;
}

const typeFlags: Record<TarEntryType, string> = {
  file: '0',
  hardlink: '1',
  symlink: '2',
  char: '3',
  block: '4',
  dir: '5',
  fifo: '6',
};

const BLOCK = 512;

function octal(value: number, width: number): string {
  // width includes the terminating NUL
  return value.toString(8).padStart(width - 1, '0') + '\0';
}

function fitsOctal(value: number, width: number): boolean {
  return value >= 0 && value < 8 ** (width - 1);
}

function writeString(buf: Buffer, offset: number, width: number, value: string): void {
  buf.write(value, offset, width, 'utf8');
}

/** Splits a name into ustar prefix/name fields, or returns undefined when it needs a pax record. */
function splitUstarName(name: string): { prefix: string; base: string } | undefined {
  const bytes = Buffer.byteLength(name);
  if (bytes <= 100) return { prefix: '', base: name };
  if (bytes > 256) return undefined;
  for (let i = name.indexOf('/'); i !== -1; i = name.indexOf('/', i + 1)) {
    const prefix = name.slice(0, i);
    const base = name.slice(i + 1);
    if (Buffer.byteLength(prefix) <= 155 && Buffer.byteLength(base) <= 100 && base.length > 0) return { prefix, base };
  }
  return undefined;
}

function rawHeader(h: TarHeader, nameField: { prefix: string; base: string }, typeflag: string, linkname: string): Buffer {
  const buf = Buffer.alloc(BLOCK, 0);
  writeString(buf, 0, 100, nameField.base);
  buf.write(octal(h.mode & 0o7777, 8), 100, 'ascii');
  buf.write(octal(fitsOctal(h.uid, 8) ? h.uid : 0, 8), 108, 'ascii');
  buf.write(octal(fitsOctal(h.gid, 8) ? h.gid : 0, 8), 116, 'ascii');
  buf.write(octal(fitsOctal(h.size, 12) ? h.size : 0, 12), 124, 'ascii');
  buf.write(octal(Math.max(0, Math.floor(h.mtime)), 12), 136, 'ascii');
  buf.write(' '.repeat(8), 148, 'ascii');
  buf.write(typeflag, 156, 'ascii');
  writeString(buf, 157, 100, linkname);
  buf.write('ustar\0', 257, 'ascii');
  buf.write('00', 263, 'ascii');
  writeString(buf, 265, 32, h.uid === 0 ? 'root' : '');
  writeString(buf, 297, 32, h.gid === 0 ? 'root' : '');
  buf.write(octal(h.devmajor ?? 0, 8), 329, 'ascii');
  buf.write(octal(h.devminor ?? 0, 8), 337, 'ascii');
  writeString(buf, 345, 155, nameField.prefix);
  let sum = 0;
  for (const b of buf) sum += b;
  buf.write(octal(sum, 7) + ' ', 148, 'ascii');
  return buf;
}

function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  // The length prefix counts itself, so grow it until it is self-consistent.
  let len = Buffer.byteLength(body) + 1;
  while (String(len).length + Buffer.byteLength(body) !== len) len = String(len).length + Buffer.byteLength(body);
  return `${len}${body}`;
}

export function padding(size: number): Buffer {
  const rem = size % BLOCK;
  return Buffer.alloc(rem === 0 ? 0 : BLOCK - rem, 0);
}

/** The header block(s) for one entry: an optional pax extended header, then the ustar header. */
export function encodeHeader(h: TarHeader): Buffer {
  const linkname = h.linkname ?? '';
  let nameField = splitUstarName(h.name);
  const records: string[] = [];
  if (!nameField) {
    records.push(paxRecord('path', h.name));
    nameField = { prefix: '', base: truncateBytes(h.name, 100) };
  }
  let linkField = linkname;
  if (Buffer.byteLength(linkname) > 100) {
    records.push(paxRecord('linkpath', linkname));
    linkField = truncateBytes(linkname, 100);
  }
  if (!fitsOctal(h.size, 12)) records.push(paxRecord('size', String(h.size)));
  if (!fitsOctal(h.uid, 8)) records.push(paxRecord('uid', String(h.uid)));
  if (!fitsOctal(h.gid, 8)) records.push(paxRecord('gid', String(h.gid)));
  const main = rawHeader(h, nameField, typeFlags[h.type], linkField);
  if (records.length === 0) return main;
  const body = Buffer.from(records.join(''), 'utf8');
  // A fixed pax header name keeps the output independent of the writer's pid (GNU tar uses it).
  const paxHeader = rawHeader(
    { ...h, size: body.length, mode: 0o644, type: 'file' },
    { prefix: '', base: truncateBytes(`./PaxHeaders/${baseName(h.name)}`, 100) },
    'x',
    '',
  );
  return Buffer.concat([paxHeader, body, padding(body.length), main]);
}

function baseName(name: string): string {
  const i = name.lastIndexOf('/');
  return i === -1 ? name : name.slice(i + 1);
}

function truncateBytes(s: string, max: number): string {
  const b = Buffer.from(s, 'utf8');
  if (b.length <= max) return s;
  // Cut on a character boundary so the field stays valid UTF-8.
  let end = max;
  while (end > 0 && (b[end]! & 0xc0) === 0x80) end--;
  return b.subarray(0, end).toString('utf8');
}

/** The two zero blocks that end an archive. */
export const endOfArchive = Buffer.alloc(BLOCK * 2, 0);
