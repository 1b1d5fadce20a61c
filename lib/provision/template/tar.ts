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

export const BLOCK = 512;

/** 8 ** digits, for the widths of the header's number fields. */
const octalLimit = Array.from({ length: 12 }, (_, digits) => 8 ** digits);

function fitsOctal(value: number, width: number): boolean {
  return value >= 0 && value < octalLimit[width - 1]!;
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

/**
 * `value` as width - 1 zero-padded octal digits and a NUL; returns the sum of the bytes written.
 * A value too wide for its field (only an mtime past the year 2242 can be) runs on into the fields
 * after it, up to the block's end, which the fields written later then overwrite: NaN then.
 */
function putOctal(buf: Buffer, at: number, width: number, value: number, blockEnd: number): number {
  if (!fitsOctal(value, width)) {
    buf.write(`${value.toString(8)}\0`, at, blockEnd - at, 'latin1');
    return NaN;
  }
  let sum = 0;
  buf[at + width - 1] = 0;
  for (let i = at + width - 2; i >= at; i--) {
    const digit = 0x30 + (value % 8);
    buf[i] = digit;
    sum += digit;
    value = Math.floor(value / 8);
  }
  return sum;
}

/** Writes at most `width` bytes of `text` as UTF-8 (whole characters); returns their sum. */
function putText(buf: Buffer, at: number, width: number, text: string): number {
  return byteSum(buf, at, at + buf.write(text, at, width, 'utf8'));
}

function byteSum(buf: Buffer, from: number, to: number): number {
  let sum = 0;
  for (let i = from; i < to; i++) sum += buf[i]!;
  return sum;
}

const magic = Buffer.from('ustar\u000000', 'latin1');
const space = 0x20;
const root = 'root';
// What the fields that never change add to the checksum: the magic, and the checksum's own field as spaces.
const fixedSum = byteSum(magic, 0, magic.length) + 8 * space;

/**
 * Writes one ustar header block into `buf` at `at`, in place, summing the checksum as the fields
 * go in (headers are written by the thousand).
 */
function fillHeader(buf: Buffer, at: number, h: TarHeader, nameField: { prefix: string; base: string }, typeflag: string, linkname: string): void {
  const end = at + BLOCK;
  buf.fill(0, at, end);
  let sum = fixedSum + typeflag.charCodeAt(0);
  sum += putText(buf, at, 100, nameField.base);
  sum += putOctal(buf, at + 100, 8, h.mode & 0o7777, end);
  sum += putOctal(buf, at + 108, 8, fitsOctal(h.uid, 8) ? h.uid : 0, end);
  sum += putOctal(buf, at + 116, 8, fitsOctal(h.gid, 8) ? h.gid : 0, end);
  sum += putOctal(buf, at + 124, 12, fitsOctal(h.size, 12) ? h.size : 0, end);
  sum += putOctal(buf, at + 136, 12, Math.max(0, Math.floor(h.mtime)), end);
  // The checksum is summed with its own field as spaces.
  buf.fill(space, at + 148, at + 156);
  buf[at + 156] = typeflag.charCodeAt(0);
  if (linkname !== '') sum += putText(buf, at + 157, 100, linkname);
  magic.copy(buf, at + 257);
  if (h.uid === 0) sum += putText(buf, at + 265, 32, root);
  if (h.gid === 0) sum += putText(buf, at + 297, 32, root);
  sum += putOctal(buf, at + 329, 8, h.devmajor ?? 0, end);
  sum += putOctal(buf, at + 337, 8, h.devminor ?? 0, end);
  if (nameField.prefix !== '') sum += putText(buf, at + 345, 155, nameField.prefix);
  // A field that ran over the ones after it: the block as it now is.
  if (Number.isNaN(sum)) sum = byteSum(buf, at, end);
  putOctal(buf, at + 148, 7, sum, end);
  buf[at + 155] = space;
}

function rawHeader(h: TarHeader, nameField: { prefix: string; base: string }, typeflag: string, linkname: string): Buffer {
  const buf = Buffer.allocUnsafe(BLOCK);
  fillHeader(buf, 0, h, nameField, typeflag, linkname);
  return buf;
}

/**
 * Writes the header of `h` into `buf` at `at` (a block must fit there) when one ustar block holds it;
 * false, writing nothing, when it needs pax records (encodeHeader).
 */
export function writeUstarHeader(h: TarHeader, buf: Buffer, at: number): boolean {
  const { nameField, linkField, records } = ustarFields(h);
  if (records.length > 0) return false;
  fillHeader(buf, at, h, nameField, typeFlags[h.type], linkField);
  return true;
}

/** The ustar name and link fields of `h`, and the pax records for what they (or its numbers) cannot hold. */
function ustarFields(h: TarHeader): { nameField: { prefix: string; base: string }; linkField: string; records: string[] } {
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
  return { nameField, linkField, records };
}

function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  // The length prefix counts itself, so grow it until it is self-consistent.
  let len = Buffer.byteLength(body) + 1;
  while (String(len).length + Buffer.byteLength(body) !== len) len = String(len).length + Buffer.byteLength(body);
  return `${len}${body}`;
}

/** Zero bytes after `size` bytes of content to the end of its last block. */
export function paddingOf(size: number): number {
  const rem = size % BLOCK;
  return rem === 0 ? 0 : BLOCK - rem;
}

/** The header block(s) for one entry: an optional pax extended header, then the ustar header. */
export function encodeHeader(h: TarHeader): Buffer {
  const { nameField, linkField, records } = ustarFields(h);
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
  return Buffer.concat([paxHeader, body, Buffer.alloc(paddingOf(body.length)), main]);
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
