// The machine interface of ec2-provision, for programs (the Ansible modules): one JSON request on
// stdin, one JSON answer on stdout.
//
//   {"command": "build image", "state": "present", "check": false, "options": {<library fields>}}
//
// `options` are the library's own option names (ImageBuildOptions, LaunchKvmOptions, ...), plus
// `ini` where the command reads the registry. Builds and registrations are idempotent here: a
// request whose recorded inputs are unchanged changes nothing and answers `changed: false`;
// `check: true` answers what would change and changes nothing; `state: absent` undoes `present`.
// A failure is `{"failed": true, "msg": "<the one-line error>"}` and exit status 1.
import fs from 'node:fs';
import path from 'node:path';
import { ProvisionError, failureLine } from '../errors.js';
import { ensureBuilt, ensureRemoved, sourceDigest, type Outcome } from '../provision/recorded.js';
import { buildRootfs, type RootfsBuildOptions } from '../provision/rootfs/build.js';
import { buildTemplate, templateOutputs, type TemplateBuildOptions } from '../provision/template/build.js';
import { buildImage, imageOutputs, type ImageBuildOptions } from '../provision/image/build.js';
import { pushKvm, type PushKvmOptions } from '../provision/libvirt/push.js';
import type { LaunchKvmOptions } from '../provision/libvirt/launch.js';
import { ensureKvmGuests, removeKvmGuests } from '../provision/libvirt/ensure.js';
import { destroyKvm, type DestroyKvmOptions } from '../provision/libvirt/destroy.js';
import { defaultIniPath, readSettings } from '../settings/read.js';
import { launchOwnedSources, launchOwnedVar, openRegistry, type RegistrySettings } from '../store/registry.js';
import type { RegisteredHost, RegisteredValue } from '../records/inventory.js';

type Options = Record<string, unknown>;

export interface Request {
  command: string;
  state: 'present' | 'absent';
  check: boolean;
  options: Options;
}

interface Context {
  state: 'present' | 'absent';
  check: boolean;
  log: (message: string) => void;
}

type Answer = Record<string, unknown> & { changed: boolean };

interface Command {
  /** The library fields the command takes (any other is refused, as a misspelt flag would be). */
  fields: readonly string[];
  /** Whether `check` can be answered without changing anything. */
  check: boolean;
  /** Whether `state: absent` means something for it. */
  absent: boolean;
  run(o: Options, ctx: Context): Promise<Answer>;
}

const rootfsFields = ['suite', 'mirror', 'include', 'out', 'for', 'aptDir', 'timeoutMs'] as const satisfies readonly (keyof RootfsBuildOptions)[];
const templateFields = ['rootfs', 'name', 'compress', 'outDir', 'skip', 'ownership', 'sourceDateEpoch'] as const satisfies readonly (keyof TemplateBuildOptions)[];
const imageFields = ['from', 'kernel', 'initrd', 'size', 'format', 'out', 'bootLoader', 'root', 'grubDir'] as const satisfies readonly (keyof ImageBuildOptions)[];
const pushKvmFields = ['uri', 'pool', 'image', 'volume', 'createPool', 'force', 'kernel', 'initrd'] as const satisfies readonly (keyof PushKvmOptions)[];
const launchKvmFields = [
  'uri', 'pool', 'volume', 'name', 'count', 'memory', 'vcpus', 'network', 'ip', 'gateway', 'forwards', 'groups', 'vars', 'waitSeconds',
  'readyLine', 'readyPort', 'readySend', 'accel', 'cmdline', 'logDir', 'adopt', 'sshKey', 'user', 'userData', 'passwordHash',
  'addressSource', 'restrictNetwork',
] as const satisfies readonly (keyof LaunchKvmOptions)[];
const destroyKvmFields = ['uri', 'name', 'force'] as const satisfies readonly (keyof DestroyKvmOptions)[];

const str = (v: unknown) => (typeof v === 'string' ? v : undefined);

/** Inputs that change a build's bytes, defaults filled in; paths of files read are recorded by digest. */
async function fileDigest(p: unknown): Promise<string | null> {
  return typeof p === 'string' ? sourceDigest(p) : null;
}

function built<R>(o: Outcome<R>): Answer {
  return o.state === 'present' ? { changed: o.changed, ...(o.result ?? {}) } : { changed: o.changed, removed: o.removed };
}

const commands: Record<string, Command> = {
  'build rootfs': {
    fields: rootfsFields, check: true, absent: true,
    async run(o, ctx) {
      const out = String(o['out']);
      if (ctx.state === 'absent') return built(await ensureRemoved(out, ctx.check));
      const include = [...((o['include'] as string[] | undefined) ?? [])].sort();
      return built(await ensureBuilt({
        main: out,
        inputs: { suite: o['suite'] ?? 'bookworm', mirror: o['mirror'] ?? null, include, for: o['for'] ?? 'kvm' },
        build: () => buildRootfs({ ...(o as unknown as RootfsBuildOptions), force: true, log: ctx.log }),
        outputsOf: (r) => [r.out],
      }, ctx.check));
    },
  },
  'build template': {
    fields: templateFields, check: true, absent: true,
    async run(o, ctx) {
      const finals = templateOutputs(path.resolve(String(o['outDir'])), String(o['name']), (o['compress'] as TemplateBuildOptions['compress']) ?? 'gzip');
      if (ctx.state === 'absent') return built(await ensureRemoved(finals.archive, ctx.check));
      return built(await ensureBuilt({
        main: finals.archive,
        source: String(o['rootfs']),
        inputs: {
          name: o['name'], compress: o['compress'] ?? 'gzip', skip: [...((o['skip'] as string[] | undefined) ?? [])].sort(),
          ownership: o['ownership'] ?? 'map-builder', sourceDateEpoch: o['sourceDateEpoch'] ?? process.env['SOURCE_DATE_EPOCH'] ?? null,
        },
        build: () => buildTemplate({ ...(o as unknown as TemplateBuildOptions), force: true, log: ctx.log }),
        outputsOf: (r) => [r.archive, r.sha256File, r.manifestFile],
      }, ctx.check));
    },
  },
  'build image': {
    fields: imageFields, check: true, absent: true,
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
      }, ctx.check));
    },
  },
  'push kvm': {
    fields: pushKvmFields, check: false, absent: false,
    async run(o, ctx) {
      const r = await pushKvm({ ...(o as unknown as PushKvmOptions), log: ctx.log });
      const uploaded = [r.image, r.kernel, r.initrd].some((v) => v?.action === 'uploaded');
      return { changed: uploaded || r.poolCreated, ...r };
    },
  },
  'launch kvm': {
    fields: [...launchKvmFields, 'ini'], check: true, absent: true,
    async run(o, ctx) {
      const { ini, ...rest } = o;
      const options = { ...(rest as unknown as LaunchKvmOptions), registry: registrySettings(str(ini)), log: ctx.log };
      return { ...(ctx.state === 'absent' ? await removeKvmGuests(options, ctx.check) : await ensureKvmGuests(options, ctx.check)) };
    },
  },
  'destroy kvm': {
    fields: [...destroyKvmFields, 'ini'], check: false, absent: false,
    async run(o, ctx) {
      const { ini, ...rest } = o;
      const r = await destroyKvm({ ...(rest as unknown as DestroyKvmOptions), registry: registrySettings(str(ini)), log: ctx.log });
      return { changed: r.domain !== 'absent' || r.volume?.action === 'deleted' || r.seed?.action === 'deleted' || r.registry === 'removed', ...r };
    },
  },
  register: {
    fields: ['name', 'groups', 'hostvars', 'source', 'ini'], check: true, absent: true,
    async run(o, ctx) {
      const registry = await openRegistry(registrySettings(str(o['ini'])));
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
  const groups = o['groups'];
  if (!Array.isArray(groups) || groups.some((g) => typeof g !== 'string')) throw new ProvisionError('groups: expected a list of group names', 'EUSAGE', 'groups');
  const hostvars = (o['hostvars'] ?? {}) as Record<string, RegisteredValue>;
  if (typeof hostvars !== 'object' || Array.isArray(hostvars)) throw new ProvisionError('hostvars: expected a mapping of variable names to values', 'EUSAGE', 'hostvars');
  for (const key of Object.keys(hostvars)) {
    if (launchOwnedVar(key)) throw new ProvisionError(`hostvars: '${key}': kvm_*, ec2_* and registry_source are written by launch and used by destroy; register cannot set them`, 'EUSAGE', 'hostvars');
  }
  const source = str(o['source']) ?? 'manual';
  if (launchOwnedSources.includes(source)) throw new ProvisionError(`source: '${source}' is what launch ${source} records; register by hand with another source (default: manual)`, 'EUSAGE', 'source');
  return { name: String(o['name']), groups: groups as string[], hostvars, source, registeredAt: Date.now() };
}

const hostView = (h: RegisteredHost) => ({ groups: [...h.groups].sort(), hostvars: h.hostvars, source: h.source });
const sameHost = (a: RegisteredHost, b: RegisteredHost) => JSON.stringify(hostView(a)) === JSON.stringify(hostView(b));

/** Checks the shape of a request and its option names before anything runs. */
export function parseRequest(text: string): Request {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new ProvisionError(`the request on stdin is not JSON: ${(err as Error).message}`, 'EUSAGE');
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new ProvisionError('the request on stdin must be a JSON object: {"command": ..., "options": {...}}', 'EUSAGE');
  const r = raw as Record<string, unknown>;
  for (const key of Object.keys(r)) {
    if (!['command', 'state', 'check', 'options'].includes(key)) throw new ProvisionError(`unknown request key '${key}' (use command, state, check, options)`, 'EUSAGE');
  }
  const command = str(r['command']);
  const spec = command !== undefined ? commands[command] : undefined;
  if (!command || !spec) throw new ProvisionError(`unknown command ${JSON.stringify(r['command'])} (use ${machineCommands.join(', ')})`, 'EUSAGE');
  const state = r['state'] ?? 'present';
  if (state !== 'present' && state !== 'absent') throw new ProvisionError(`${command}: state must be present or absent, not ${JSON.stringify(state)}`, 'EUSAGE');
  if (state === 'absent' && !spec.absent) throw new ProvisionError(`${command}: state absent is not a state of this command`, 'EUSAGE');
  const check = r['check'] ?? false;
  if (typeof check !== 'boolean') throw new ProvisionError(`${command}: check must be true or false`, 'EUSAGE');
  if (check && !spec.check) throw new ProvisionError(`${command}: check mode is not supported`, 'EUSAGE');
  const options = r['options'] ?? {};
  if (typeof options !== 'object' || options === null || Array.isArray(options)) throw new ProvisionError(`${command}: options must be a JSON object`, 'EUSAGE');
  for (const key of Object.keys(options)) {
    if (!spec.fields.includes(key)) throw new ProvisionError(`${command}: unknown option '${key}' (known: ${spec.fields.join(', ')})`, 'EUSAGE', key);
  }
  // null is how JSON (and Ansible) say "not given": the library's default applies.
  const given = Object.fromEntries(Object.entries(options as Options).filter(([, v]) => v !== null));
  return { command, state, check, options: given };
}

export async function runRequest(req: Request, log: (message: string) => void): Promise<Answer> {
  const spec = commands[req.command] as Command;
  return spec.run(req.options, { state: req.state, check: req.check, log });
}

/** `ec2-provision --json`: the request from stdin, the answer on stdout; 0 on success, 1 on failure. */
export async function machineMain(log: (message: string) => void): Promise<number> {
  try {
    const req = parseRequest(fs.readFileSync(0, 'utf8'));
    const answer = await runRequest(req, log);
    process.stdout.write(JSON.stringify({ command: req.command, ...answer }) + '\n');
    return 0;
  } catch (err) {
    process.stdout.write(JSON.stringify({ failed: true, msg: failureLine(err), ...(err instanceof ProvisionError && err.field ? { field: err.field } : {}) }) + '\n');
    return 1;
  }
}
