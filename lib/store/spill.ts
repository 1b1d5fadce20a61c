// A refresh written straight into its cache file. A 100,000-instance inventory is ~270 MB of JSON,
// nearly all of it hostvars: holding the SDK records, the hostvars objects and the text at once
// would take well over a gigabyte. Here each host's variables are serialised as the rules produce
// them and parked in an unlinked temporary file; the groups (names and host lists) stay in memory;
// the final file is assembled in ec2.py's key order from both. The bytes are the ones
// json_format_dict would give for the same inventory.
import { closeSync, fsyncSync, openSync, readSync, unlinkSync, writeSync } from 'node:fs';
import path from 'node:path';
import { tempPathFor } from './atomic.js';
import { escapeNonAscii, json_format_dict, sortKeys } from '../ec2py/format.js';
import { varsObject } from '../ec2py/rules.js';
import { type HostVarsStore, type HostVarsWalk } from '../ec2py/types.js';
import { type HostVars, type Inventory } from '../records/inventory.js';

const CHUNK = 1 << 20;


/**
 * Hostvars kept as serialised text in a temporary file: the latest value per host wins, as ec2.py's
 * dict assignment does. The file is unlinked as soon as it is open, so nothing is left behind
 * whatever happens to the process.
 *
 * Each host's entry is spilled as it will appear in the output, member of _meta.hostvars with its
 * separator (`,\n      "host": {...}`), so that assembling the output is copying byte ranges, and
 * entries that sit next to each other in both orders are copied with one read.
 */
export class SpilledHostVars implements HostVarsStore {
  private readonly out: FileWriter;
  // Host → slot; the slot's entry is `lengths[slot]` bytes at `offsets[slot]`. Numbers in arrays
  // rather than an object per host: 100,000 fewer objects for the garbage collector to carry.
  private readonly slots = new Map<string, number>();
  private readonly offsets: number[] = [];
  private readonly lengths: number[] = [];

  constructor(dir: string) {
    const file = tempPathFor(path.join(dir, 'ec2-inventory.hostvars'));
    this.out = new FileWriter(file, 'wx+');
    unlinkSync(file);
  }

  set(host: string, vars: HostVars): void {
    this.put(host, hostVarsText(vars));
  }

  setWalk(host: string, walk: HostVarsWalk): void {
    this.put(host, walkText(walk));
  }

  // Copied into the write buffer at once, so each host's text dies young (the garbage collector
  // would otherwise carry a megabyte of strings from one collection to the next).
  private put(host: string, text: string): void {
    const entry = entryKey(host) + text;
    let slot = this.slots.get(host);
    if (slot === undefined) {
      slot = this.offsets.length;
      this.slots.set(host, slot);
    }
    this.offsets[slot] = this.out.offset;
    this.lengths[slot] = entry.length;
    this.out.write(entry);
  }

  get(host: string): HostVars | undefined {
    const slot = this.slots.get(host);
    if (slot === undefined) return undefined;
    const length = this.lengths[slot] as number;
    this.out.flush();
    const bytes = Buffer.allocUnsafe(length);
    readFully(this.out.fd, bytes, 0, length, this.offsets[slot] as number);
    return JSON.parse(bytes.toString('latin1', entryKey(host).length)) as HostVars;
  }

  /** How many hosts have variables. */
  get size(): number {
    return this.slots.size;
  }

  /**
   * Copies every host's entry into the writer in ec2.py's output order (code points), the first
   * without its comma. Entries adjacent in the spill file and in that order (hosts named in the
   * order they were listed) are read together.
   */
  copySortedTo(out: FileWriter): void {
    const hosts = sortKeys([...this.slots.keys()]);
    this.out.flush();
    let start = 0;
    let end = 0;
    for (let i = 0; i < hosts.length; i++) {
      const slot = this.slots.get(hosts[i] as string) as number;
      let offset = this.offsets[slot] as number;
      const next = offset + (this.lengths[slot] as number);
      if (i === 0) offset++;
      if (offset !== end) {
        if (end > start) out.copyFrom(this.out.fd, start, end - start);
        start = offset;
      }
      end = next;
    }
    if (end > start) out.copyFrom(this.out.fd, start, end - start);
  }

  close(): void {
    this.out.close();
  }
}

/**
 * One host's variables as they appear under _meta.hostvars (six spaces deep), for the objects
 * that are not made by the rules' walks (ElastiCache, libvirt, merged variables): rare enough for
 * the general formatter.
 */
export function hostVarsText(vars: HostVars): string {
  return indent(json_format_dict(vars), '      ');
}

/** What a string needs to be written as JSON the way Python's json.dumps writes it. */
const enum Quoting { Plain, Escaped, NonAscii }

// One pass over the character codes: cheaper than a regular expression call for the short values
// that make up most hostvars, and it finds non-ASCII text too, so the host's whole text needs no
// second look.
function quoting(value: string): Quoting {
  let quoting = Quoting.Plain;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c >= 0x7f) return Quoting.NonAscii;
    if (c < 0x20 || c === 0x22 || c === 0x5c) quoting = Quoting.Escaped;
  }
  return quoting;
}

// `,\n        "name": ` for each variable name, made once per name rather than once per host.
// Names are ec2_ plus to_safe's characters (nothing to escape), and few: tag keys, not values.
const prefixes = new Map<string, string>();
function prefixOf(name: string): string {
  let prefix = prefixes.get(name);
  if (prefix === undefined) {
    prefix = ',\n        ' + JSON.stringify(name) + ': ';
    if (prefixes.size < 10_000) prefixes.set(name, prefix);
  }
  return prefix;
}

// Every host visits nearly the same names in the same order (the fixed table, the same tag
// keys): the prefix seen at each position last time is checked first, which is a pointer
// comparison when the name is the same string, and the map is asked only when it is not.
const lastNames: string[] = [];
const lastPrefixes: string[] = [];

/**
 * The text of variables the rules hand over in key order: written as they come, without an object
 * in between. Nested values and non-ASCII text (rare) go through the general formatter.
 */
export function walkText(walk: HostVarsWalk): string {
  let text = '';
  let simple = true;
  let position = 0;
  walk((name, value) => {
    if (!simple) return;
    if (value !== null && typeof value === 'object') {
      simple = false;
      return;
    }
    let prefix: string;
    if (lastNames[position] === name) prefix = lastPrefixes[position] as string;
    else {
      prefix = prefixOf(name);
      lastNames[position] = name;
      lastPrefixes[position] = prefix;
    }
    // The first variable opens the object (text.slice(1) at the end would copy the whole text).
    if (position++ === 0) prefix = '{' + prefix.slice(1);
    if (typeof value !== 'string') {
      text += prefix + JSON.stringify(value);
      return;
    }
    // Most values need no escaping and are quoted directly; JSON.stringify does the others.
    const q = quoting(value);
    if (q === Quoting.NonAscii) simple = false;
    else text += prefix + (q === Quoting.Plain ? '"' + value + '"' : JSON.stringify(value));
  });
  if (!simple) return hostVarsText(varsObject(walk));
  return text === '' ? '{}' : text + '\n      }';
}

function indent(text: string, by: string): string {
  return text.includes('\n') ? text.replace(/\n/g, '\n' + by) : text;
}

/** A string as json.dumps writes it (ASCII only); most need neither escapes nor JSON.stringify. */
function jsonString(value: string): string {
  return quoting(value) === Quoting.Plain ? '"' + value + '"' : escapeNonAscii(JSON.stringify(value));
}

/** What precedes a host's variables in _meta.hostvars (the first host's comma is skipped). */
function entryKey(host: string): string {
  return ',\n      ' + jsonString(host) + ': ';
}

/** A group's value at the top level of the output. */
function groupText(value: unknown): string {
  if (Array.isArray(value)) {
    // Host lists, nearly every group: written member by member.
    let text = '[';
    for (let i = 0; i < value.length; i++) {
      const member: unknown = value[i];
      if (typeof member !== 'string') return indent(json_format_dict(value), '  ');
      text += (i === 0 ? '\n    ' : ',\n    ') + jsonString(member);
    }
    return value.length === 0 ? '[]' : text + '\n  ]';
  }
  return indent(json_format_dict(value), '  ');
}

/**
 * Writes the inventory (groups in `inventory`, hostvars in `hostvars`) to `file` as
 * json_format_dict would print it, fsyncs it, and returns its size in bytes.
 */
export function writeInventoryFile(file: string, inventory: Inventory, hostvars: SpilledHostVars): number {
  const out = new FileWriter(file);
  try {
    const keys = sortKeys(Object.keys(inventory));
    out.write('{');
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i] as string;
      const member = (i === 0 ? '\n  ' : ',\n  ') + jsonString(key) + ': ';
      if (key !== '_meta') {
        out.write(member + groupText(inventory[key]));
      } else if (hostvars.size === 0) {
        out.write(member + '{\n    "hostvars": {}\n  }');
      } else {
        out.write(member + '{\n    "hostvars": {');
        hostvars.copySortedTo(out);
        out.write('\n    }\n  }');
      }
    }
    out.write(keys.length === 0 ? '}' : '\n}');
    return out.finish();
  } catch (err) {
    out.abandon();
    throw err;
  }
}

/**
 * Buffered writes of ASCII text (non-ASCII is escaped before it gets here, so characters are
 * bytes) and of byte ranges copied from another file, to a new file (mode 0600).
 */
export class FileWriter {
  readonly fd: number;
  private readonly buffer = Buffer.allocUnsafe(CHUNK);
  private used = 0;
  private total = 0;
  private closed = false;

  constructor(readonly file: string, flags: 'wx' | 'wx+' = 'wx') {
    this.fd = openSync(file, flags, 0o600);
  }

  /** Bytes written so far, buffered or not: where the next write lands. */
  get offset(): number {
    return this.total + this.used;
  }

  write(text: string): void {
    if (text.length > CHUNK - this.used) {
      this.flush();
      if (text.length > CHUNK) {
        const bytes = Buffer.from(text, 'latin1');
        writeFully(this.fd, bytes, bytes.length, this.total);
        this.total += bytes.length;
        return;
      }
    }
    this.used += this.buffer.write(text, this.used, 'latin1');
  }

  copyFrom(fd: number, offset: number, length: number): void {
    while (length > 0) {
      if (this.used === CHUNK) this.flush();
      const n = Math.min(length, CHUNK - this.used);
      readFully(fd, this.buffer, this.used, n, offset);
      this.used += n;
      offset += n;
      length -= n;
    }
  }

  flush(): void {
    if (this.used === 0) return;
    writeFully(this.fd, this.buffer, this.used, this.total);
    this.total += this.used;
    this.used = 0;
  }

  /** Flushes, fsyncs and closes; returns the size written. */
  finish(): number {
    this.flush();
    fsyncSync(this.fd);
    this.close();
    return this.total;
  }

  close(): void {
    if (!this.closed) closeSync(this.fd);
    this.closed = true;
  }

  /** Closes and removes the partial file. */
  abandon(): void {
    this.close();
    try { unlinkSync(this.file); } catch { /* already gone */ }
  }
}

function writeFully(fd: number, bytes: Buffer, length: number, position: number): void {
  let off = 0;
  while (off < length) off += writeSync(fd, bytes, off, length - off, position + off);
}

function readFully(fd: number, into: Buffer, at: number, length: number, position: number): void {
  let off = 0;
  while (off < length) {
    const n = readSync(fd, into, at + off, length - off, position + off);
    if (n === 0) throw new Error('hostvars spill file ended early');
    off += n;
  }
}
