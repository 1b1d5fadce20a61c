// The machine interface of ec2-provision, for programs (the Ansible modules): one JSON request on
// stdin, one JSON answer on stdout.
//
//   {"command": "build image", "state": "present", "check": false, "options": {<library fields>}}
//
// `options` are the library's own option names (ImageBuildOptions, LaunchKvmOptions, ...), plus
// `ini` where the command reads the registry. Builds and registrations are idempotent here: a
// request whose recorded inputs are unchanged changes nothing and answers `changed: false`;
// `check: true` answers what would change and changes nothing; `state: absent` undoes `present`.
// A failure is `{"failed": true, "msg": "<the one-line error>", "field": ...}` and exit status 1; its
// message names an option as the modules' users write it (`wait_timeout`), `field` as the library does.
import fs from 'node:fs';
import path from 'node:path';
import { ProvisionError, failureLine } from '../errors.js';
import { ensureBuilt, ensureRemoved, sourceDigest, type Outcome } from '../provision/recorded.js';
import { buildRootfs, type RootfsBuildOptions } from '../provision/rootfs/build.js';
import { buildTemplate, type TemplateBuildOptions } from '../provision/template/build.js';
import { checkProxmoxFlavour, formatOutputs, formatSpecs, proxmoxDefaultFlavour, type SplitRoot, type TemplateFormat } from '../provision/template/formats.js';
import { buildImage, imageOutputs, type ImageBuildOptions } from '../provision/image/build.js';
import type { PushKvmOptions } from '../provision/libvirt/push.js';
import type { LaunchKvmOptions } from '../provision/libvirt/launch.js';
import { ensureKvmGuests, ensurePushed, removeKvmGuests, removePushed } from '../provision/libvirt/ensure.js';
import { ensureAmi, ensureEc2Instances, removeAmi, removeEc2Instances } from '../provision/ec2/ensure.js';
import type { Ec2LaunchOptions } from '../provision/ec2/launch.js';
import type { Ec2PushOptions } from '../provision/ec2/push.js';
import { ensureTemplate, removeTemplate, type PushTemplateOptions } from '../provision/openvz/push.js';
import { destroyKvm, type DestroyKvmOptions } from '../provision/libvirt/destroy.js';
import { defaultIniPath, readSettings } from '../settings/read.js';
import { openRegistry, type RegistrySettings } from '../store/registry.js';
import type { RegisteredHost, RegisteredValue } from '../records/inventory.js';
import { provisionCommands } from './declarations.js';
import type { CommandDecl, Flag } from './declare.js';
import { firstSentence, inCallerTerms, paramName } from './args.js';
import { registeredHost as checkedHost } from '../provision/hosts.js';

type Options = Record<string, unknown>;

export interface Request {
  command: string;
  state: 'present' | 'absent';
  check: boolean;
  /** Library options by field, nested as the fields say (`timeouts.connectTimeout`). */
  options: Options;
  /** The command's own flags (no library field: `ini`, `all-root`), by flag name. */
  own: Options;
}

interface Context {
  state: 'present' | 'absent';
  check: boolean;
  own: Options;
  log: (message: string) => void;
}

type Answer = Record<string, unknown> & { changed: boolean };

interface Command {
  decl: CommandDecl;
  /** Whether `check` can be answered without changing anything. */
  check: boolean;
  /** Whether `state: absent` means something for it. */
  absent: boolean;
  /** The required options (library fields) that absent needs too, to name what it removes. */
  absentNeeds?: readonly string[];
  run(o: Options, ctx: Context): Promise<Answer>;
}

const str = (v: unknown) => (typeof v === 'string' ? v : undefined);

/** A file an option names is an input by its bytes, not its path. */
async function fileDigest(p: unknown): Promise<string | null> {
  return typeof p === 'string' ? sourceDigest(p) : null;
}

function built<R>(o: Outcome<R>): Answer {
  return o.state === 'present' ? { changed: o.changed, ...o.result } : { changed: o.changed, removed: o.removed };
}

const commands: Record<string, Command> = {
  'build rootfs': {
    decl: provisionCommands.buildRootfs, check: true, absent: true, absentNeeds: ['out'],
    async run(o, ctx) {
      const out = String(o['out']);
      if (ctx.state === 'absent') return built(await ensureRemoved(out, ctx.check));
      const include = [...((o['include'] as string[] | undefined) ?? [])].sort();
      return built(await ensureBuilt({
        main: out,
        inputs: { suite: o['suite'] ?? 'bookworm', mirror: o['mirror'] ?? null, include, for: o['for'] ?? 'kvm' },
        build: () => buildRootfs({ ...(o as unknown as RootfsBuildOptions), force: true, log: ctx.log }),
        outputsOf: (r) => [r.out],
        planned: { out },
      }, ctx.check));
    },
  },
  'build template': {
    decl: provisionCommands.buildTemplate, check: true, absent: true, absentNeeds: ['outDir'],
    async run(o, ctx) {
      const format = (o['format'] as TemplateFormat | undefined) ?? 'openvz';
      if (o['name'] === undefined && !formatSpecs[format].derivesName) throw new ProvisionError(`name is required: format ${format} needs it`, 'EUSAGE', 'name');
      const how = (o['compress'] as TemplateBuildOptions['compress']) ?? formatSpecs[format].defaultCompression;
      const split = o['vmDisk'] !== undefined ? 'qcow2' : (o['splitRoot'] as SplitRoot | undefined);
      const outDir = path.resolve(String(o['outDir']));
      // A Proxmox template's file name comes from the root's os-release, known only once it is read:
      // its record is kept under the flavour and compression, and names the file the build made.
      const flavour = String(o['name'] ?? proxmoxDefaultFlavour);
      if (format === 'proxmox') checkProxmoxFlavour(flavour);
      const finals = format === 'proxmox' ? undefined : formatOutputs(format, outDir, String(o['name']), how, split);
      const main = finals?.main ?? path.join(outDir, `proxmox-${flavour}.${how}`);
      if (ctx.state === 'absent') return built(await ensureRemoved(main, ctx.check));
      return built(await ensureBuilt({
        main,
        source: String(o['rootfs']),
        inputs: {
          name: format === 'proxmox' ? flavour : o['name'], format, compress: how, compressLevel: o['compressLevel'] ?? null, arch: o['arch'] ?? null, splitRoot: o['splitRoot'] ?? null, vmDisk: await fileDigest(o['vmDisk']),
          skip: [...((o['skip'] as string[] | undefined) ?? [])].sort(),
          ownership: ctx.own['all-root'] === true ? 'all-root' : 'map-builder', sourceDateEpoch: o['sourceDateEpoch'] ?? process.env['SOURCE_DATE_EPOCH'] ?? null,
        },
        build: () => buildTemplate({ ...(o as unknown as TemplateBuildOptions), ownership: ctx.own['all-root'] === true ? 'all-root' : 'map-builder', force: true, log: ctx.log }),
        outputsOf: (r) => [...new Set([r.archive, ...r.files.map((f) => f.path), ...(r.sha256File ? [r.sha256File] : []), r.manifestFile])],
        planned: finals
          ? { name: String(o['name']), format, archive: finals.main, ...(finals.sha256File ? { sha256File: finals.sha256File } : {}), manifestFile: finals.manifestFile }
          : { format },
      }, ctx.check));
    },
  },
  'build image': {
    decl: provisionCommands.buildImage, check: true, absent: true, absentNeeds: ['out'],
    async run(o, ctx) {
      const out = path.resolve(String(o['out']));
      if (ctx.state === 'absent') return built(await ensureRemoved(out, ctx.check));
      return built(await ensureBuilt({
        main: out,
        source: String(o['from']),
        inputs: {
          kernel: await fileDigest(o['kernel']), initrd: await fileDigest(o['initrd']), size: o['size'] ?? '2G', format: o['format'] ?? 'qcow2',
          bootLoader: o['bootLoader'] ?? 'none', root: o['root'] ?? null, grubDir: o['grubDir'] ?? null,
        },
        build: () => buildImage({ ...(o as unknown as ImageBuildOptions), force: true, log: ctx.log }),
        outputsOf: (r) => [r.image, r.kernel, ...(r.initrd ? [r.initrd] : [])].filter((f) => f === r.image || Object.values(imageOutputs(r.image)).includes(f)),
        planned: imageOutputs(out),
      }, ctx.check));
    },
  },
  'push kvm': {
    decl: provisionCommands.pushKvm, check: true, absent: true, absentNeeds: ['uri', 'pool'],
    async run(o, ctx) {
      const options = { ...(o as unknown as PushKvmOptions), log: ctx.log };
      if (ctx.state === 'absent') return removePushed(options, ctx.check);
      return { ...(await ensurePushed(options, ctx.check)) };
    },
  },
  'launch kvm': {
    decl: provisionCommands.launchKvm, check: true, absent: true, absentNeeds: ['uri', 'name'],
    async run(o, ctx) {
      if (ctx.own['register'] === false) throw new ProvisionError('launch kvm: register false has no desired state to keep (use the CLI with --no-register)', 'EUSAGE', 'register');
      // Guest variables are text, as on the command line (a YAML 5432 arrives as a number).
      const vars = Object.fromEntries(Object.entries((o['vars'] ?? {}) as Options).map(([k, v]) => [k, String(v)]));
      const options = { ...(o as unknown as LaunchKvmOptions), vars, registry: registrySettings(str(ctx.own['ini'])), log: ctx.log };
      return { ...(ctx.state === 'absent' ? await removeKvmGuests(options, ctx.check) : await ensureKvmGuests(options, ctx.check)) };
    },
  },
  'destroy kvm': {
    decl: provisionCommands.destroyKvm, check: false, absent: false,
    async run(o, ctx) {
      const r = await destroyKvm({ ...(o as unknown as DestroyKvmOptions), registry: registrySettings(str(ctx.own['ini'])), log: ctx.log });
      return { changed: r.domain !== 'absent' || r.volume?.action === 'deleted' || r.seed?.action === 'deleted' || r.registry === 'removed', ...r };
    },
  },
  'push openvz': {
    decl: provisionCommands.pushOpenvz, check: true, absent: true, absentNeeds: ['target', 'template'],
    async run(o, ctx) {
      const options = { ...(o as unknown as PushTemplateOptions), log: ctx.log };
      if (ctx.state === 'absent') {
        const r = await removeTemplate(options, ctx.check);
        return { changed: r.removed, ...r };
      }
      return { ...(await ensureTemplate(options, ctx.check)) };
    },
  },
  'push ec2': {
    decl: provisionCommands.pushEc2, check: true, absent: true, absentNeeds: ['region', 'name'],
    async run(o, ctx) {
      const options = { ...(o as unknown as Ec2PushOptions), log: ctx.log, warn: (m: string) => ctx.log(`warning: ${m}`) };
      return { ...(ctx.state === 'absent' ? await removeAmi(options, ctx.check) : await ensureAmi(options, ctx.check)) };
    },
  },
  'launch ec2': {
    decl: provisionCommands.launchEc2, check: true, absent: true, absentNeeds: ['region'],
    async run(o, ctx) {
      const tags = Object.fromEntries(Object.entries((o['tags'] ?? {}) as Options).map(([k, v]) => [k, String(v)]));
      const options = { ...(o as unknown as Ec2LaunchOptions), tags, settings: readSettings(str(ctx.own['ini']) ?? defaultIniPath(process.argv[1] ?? 'bin/provision')), log: ctx.log };
      return { ...(ctx.state === 'absent' ? await removeEc2Instances(options, ctx.check) : await ensureEc2Instances(options, ctx.check)) };
    },
  },
  register: {
    decl: provisionCommands.register, check: true, absent: true, absentNeeds: ['name'],
    async run(o, ctx) {
      const registry = await openRegistry(registrySettings(str(ctx.own['ini'])));
      try {
        const name = String(o['name']);
        const before = await registry.get(name);
        if (ctx.state === 'absent') {
          if (before && !ctx.check) await registry.deregister(name);
          return { changed: before !== undefined, name };
        }
        const host = registeredHost(o);
        const same = before !== undefined && sameHost(before, host);
        if (!same && !ctx.check) await registry.register(host);
        return { changed: !same, host: same ? before : host, ...(before && !same ? { diff: { before: hostView(before), after: hostView(host) } } : {}) };
      } finally {
        await registry.close();
      }
    },
  },
};

/** The names a request may give as `command`. */
export const machineCommands = Object.keys(commands);

// The registry lives beside the inventory's cache, found through the same ec2.ini as the CLI finds it.
function registrySettings(ini: string | undefined): RegistrySettings {
  return readSettings(ini ?? defaultIniPath(process.argv[1] ?? 'bin/provision'));
}

function registeredHost(o: Options): RegisteredHost {
  // Shapes were checked by the declarations (a list of names, a mapping of plain values).
  const groups = o['groups'] as string[];
  const hostvars = (o['hostvars'] ?? {}) as Record<string, RegisteredValue>;
  return checkedHost({ name: String(o['name']), groups, hostvars, source: str(o['source']) ?? 'manual' });
}

const hostView = (h: RegisteredHost) => ({ groups: [...h.groups].sort(), hostvars: h.hostvars, source: h.source });
const sameHost = (a: RegisteredHost, b: RegisteredHost) => JSON.stringify(hostView(a)) === JSON.stringify(hostView(b));

/** Checks the shape of a request, and each option by its declaration, before anything runs. */
export function parseRequest(text: string): Request {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new ProvisionError(`the request on stdin is not JSON: ${(err as Error).message}`, 'EUSAGE');
  }
  if (!isObject(raw)) throw new ProvisionError('the request on stdin must be a JSON object: {"command": ..., "options": {...}}', 'EUSAGE');
  for (const key of Object.keys(raw)) {
    if (!['command', 'state', 'check', 'options'].includes(key)) throw new ProvisionError(`unknown request key '${key}' (use command, state, check, options)`, 'EUSAGE');
  }
  const command = str(raw['command']);
  const spec = command !== undefined ? commands[command] : undefined;
  if (!command || !spec) throw new ProvisionError(`unknown command ${JSON.stringify(raw['command'])} (use ${machineCommands.join(', ')})`, 'EUSAGE');
  const state = raw['state'] ?? 'present';
  if (state !== 'present' && state !== 'absent') throw new ProvisionError(`${command}: state must be present or absent, not ${JSON.stringify(state)}`, 'EUSAGE');
  if (state === 'absent' && !spec.absent) throw new ProvisionError(`${command}: state absent is not a state of this command`, 'EUSAGE');
  const check = raw['check'] ?? false;
  if (typeof check !== 'boolean') throw new ProvisionError(`${command}: check must be true or false`, 'EUSAGE');
  if (check && !spec.check) throw new ProvisionError(`${command}: check mode is not supported`, 'EUSAGE');
  const given = raw['options'] ?? {};
  if (!isObject(given)) throw new ProvisionError(`${command}: options must be a JSON object`, 'EUSAGE');
  return { command, state, check, ...readOptions(command, spec.decl, given, state === 'present' ? undefined : spec.absentNeeds ?? []) };
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A request option's key: a flag's library field (nested ones as objects), or an own flag's name. */
function readOptions(command: string, decl: CommandDecl, given: Options, absentNeeds: readonly string[] | undefined): { options: Options; own: Options } {
  const flat: Options = {};
  const flatten = (o: Options, prefix: string) => {
    for (const [k, v] of Object.entries(o)) {
      const key = prefix + k;
      if (isObject(v) && decl.flags.some((f) => f.field?.startsWith(`${key}.`))) flatten(v, `${key}.`);
      else flat[key] = v;
    }
  };
  flatten(given, '');
  const options: Options = {};
  const own: Options = {};
  for (const [key, value] of Object.entries(flat)) {
    const f = decl.flags.find((d) => (d.field ?? d.name) === key);
    if (!f) throw new ProvisionError(`${command}: unknown option '${key}' (known: ${decl.flags.map((d) => d.field ?? d.name).join(', ')})`, 'EUSAGE', key);
    // null is how JSON (and Ansible) say "not given": the library's default applies.
    if (value === null) continue;
    const read = readValue(command, key, f, value);
    if (f.field === undefined) own[f.name] = read;
    else setPath(options, f.field, read);
  }
  // Absent only names the object: each command says which of its required options that takes.
  for (const f of decl.flags) {
    if (!f.required || f.field === undefined || flat[f.field] != null) continue;
    if (absentNeeds === undefined) throw new ProvisionError(`${command}: option '${paramName(f)}' is required (${firstSentence(f.describe)})`, 'EUSAGE', f.field);
    if (absentNeeds.includes(f.field)) throw new ProvisionError(`${command}: option '${paramName(f)}' is required, for state absent too (${firstSentence(f.describe)})`, 'EUSAGE', f.field);
  }
  return { options, own };
}

/**
 * A JSON value checked against its flag's declared type; key=value maps arrive as objects. Errors
 * name the option as the modules' users know it (their parameter), whatever key the request used.
 */
function readValue(command: string, key: string, f: Flag, value: unknown): unknown {
  const bad = (what: string): never => {
    throw new ProvisionError(`${command}: option '${paramName(f)}' ${what}, not ${JSON.stringify(value)}`, 'EUSAGE', key);
  };
  switch (f.type) {
    case 'bool':
      return typeof value === 'boolean' ? value : bad('must be true or false');
    case 'int':
      if (typeof value !== 'number' || !Number.isInteger(value)) return bad('must be a whole number');
      return value >= (f.min ?? 0) ? value : bad(`must be at least ${f.min ?? 0}`);
    case 'choice':
      return typeof value === 'string' && f.choices?.includes(value) ? value : bad(`must be one of ${f.choices?.join(', ')}`);
    case 'list':
      if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) return bad('must be a list of strings');
      for (const v of value as string[]) if (f.choices && !f.choices.includes(v)) bad(`may only hold ${f.choices.join(', ')}`);
      return value;
    case 'map':
      if (!isObject(value) || Object.values(value).some((v) => v !== null && typeof v === 'object')) return bad('must be a mapping of names to plain values');
      return value;
    case 'string':
    case 'path':
    case 'url':
    case 'size':
      return typeof value === 'string' && value !== '' ? value : bad('must be a non-empty string');
  }
}

function setPath(target: Options, field: string, value: unknown): void {
  const [head, ...rest] = field.split('.') as [string, ...string[]];
  if (rest.length === 0) target[head] = value;
  else setPath((target[head] ??= {}) as Options, rest.join('.'), value);
}

export async function runRequest(req: Request, log: (message: string) => void): Promise<Answer> {
  const spec = commands[req.command] as Command;
  return spec.run(req.options, { state: req.state, check: req.check, own: req.own, log });
}

/** `ec2-provision --json`: the request from stdin, the answer on stdout; 0 on success, 1 on failure. */
export async function machineMain(log: (message: string) => void, before: (decl: CommandDecl) => void = () => {}): Promise<number> {
  let req: Request | undefined;
  try {
    req = parseRequest(fs.readFileSync(0, 'utf8'));
    before((commands[req.command] as Command).decl);
    const answer = await runRequest(req, log);
    process.stdout.write(JSON.stringify({ command: req.command, ...answer }) + '\n');
    return 0;
  } catch (err) {
    process.stdout.write(JSON.stringify(failure(err, req && (commands[req.command] as Command).decl)) + '\n');
    return 1;
  }
}

/**
 * A failed request's answer. The message names an option as the modules' user wrote it
 * (`wait_timeout`, not the library's `waitSeconds`); `field` keeps the library's name for programs.
 */
function failure(err: unknown, decl: CommandDecl | undefined): Record<string, unknown> {
  const line = failureLine(err);
  if (!(err instanceof ProvisionError) || decl === undefined) return { failed: true, msg: line };
  return { failed: true, msg: inCallerTerms(decl, line, err.field, 'params'), ...(err.field ? { field: err.field } : {}) };
}

/** What a command can do through this interface (the Ansible modules' states and check mode). */
export function machineSupport(command: string): { check: boolean; absent: boolean; absentNeeds: readonly string[] } {
  const spec = commands[command];
  if (!spec) throw new Error(`no machine command '${command}'`);
  return { check: spec.check, absent: spec.absent, absentNeeds: spec.absentNeeds ?? [] };
}
