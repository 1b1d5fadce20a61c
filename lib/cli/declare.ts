// The shape of a command-line declaration: one entry per option of each command, from which the
// parser, the typed options object handed to the library, the help, the usage errors, docs/cli.md
// and the Ansible modules' specs are all derived. This module and lib/cli/declarations.ts import
// nothing at run time, so a generator can read every command's options without loading any
// command's code.

/** How a flag's text is read, and what the library receives. */
export type FlagType =
  /** Free text. */
  | 'string'
  /** A file or folder on this machine (Ansible: type path). */
  | 'path'
  /** A URL or URI (libvirt, ssh://). */
  | 'url'
  /** A whole number, at least `min` (0 unless said). */
  | 'int'
  /** --flag / --no-flag. */
  | 'bool'
  /** Repeatable; each value may also be comma-separated unless `comma: false`. */
  | 'list'
  /** One of `choices`. */
  | 'choice'
  /** A size with an optional K, M, G or T suffix (`2G`, `256M`). */
  | 'size'
  /** Repeatable key=value (the value may hold = and commas); a mapping for Ansible. */
  | 'map';

export interface Flag {
  /** The flag without its dashes: `ssh-key`. */
  readonly name: string;
  /**
   * The library option it sets (`sshKey`; `timeouts.connectTimeout` for a nested one), which is
   * also what a ProvisionError's `field` names. Absent: the command itself reads the flag (it is
   * turned into something else before the library sees it: --ini into settings).
   */
  readonly field?: string;
  readonly type: FlagType;
  /** One or more sentences; the first is the short description. */
  readonly describe: string;
  readonly default?: string | number | boolean | readonly string[];
  /** Shown in examples and docs: a realistic value. */
  readonly example?: string;
  readonly choices?: readonly string[];
  readonly required?: boolean;
  /** int: the least value. */
  readonly min?: number;
  /** list: false when a value may itself hold commas (security group names). */
  readonly comma?: boolean;
  /** string: \r and \n written as such are turned into the characters. */
  readonly escapes?: boolean;
  /** A credential or hash that Ansible must not log (no_log). */
  readonly secret?: boolean;
  /** Other names of the same flag (kept for scripts written against them). */
  readonly aliases?: readonly string[];
  /**
   * The Ansible module's parameter, where Ansible's convention names it otherwise than the field in
   * snake case (`wait_timeout`, `dest`, `image_id`, as amazon.aws and community.libvirt do).
   */
  readonly ansible?: string;
}

export interface Example {
  readonly args: string;
  readonly what: string;
}

export interface CommandDecl {
  /** Verb then object: ['push', 'kvm']; a command of one word has one. */
  readonly words: readonly string[];
  /** Earlier spellings still accepted: [['template', 'build']]. */
  readonly aliases?: readonly (readonly string[])[];
  readonly summary: string;
  /** The usage line after the program's name, where the generated one would not say it. */
  readonly usage?: string;
  /** More about what it does and what it prints, after the summary in --help. */
  readonly details?: string;
  readonly flags: readonly Flag[];
  readonly examples: readonly Example[];
  /** It calls AWS (and so loads the SDK); every other command must not. */
  readonly aws: boolean;
}

export interface ProgramDecl {
  readonly name: string;
  readonly summary: string;
  /** Other ways to run it, shown under the usage line of its --help. */
  readonly otherUsage?: readonly string[];
  /** What a flag's field is called in the docs ("Library option"); none: fields are internal. */
  readonly fieldsAre?: string;
  readonly commands: readonly CommandDecl[];
}

// ---- What a declaration gives the code, as types ----

type Scalar<F extends Flag> = F['type'] extends 'int'
  ? number
  : F['type'] extends 'bool'
    ? boolean
    : F['type'] extends 'list' | 'map'
      ? string[]
      : F['type'] extends 'choice'
        ? F extends { readonly choices: readonly (infer C)[] } ? C : string
        : string;

/** Present after parsing: required, or with a default. */
type Always<F extends Flag> = F extends { readonly required: true } ? true : F extends { readonly default: unknown } ? true : false;

type Nest<P extends string, V, Always extends boolean> = P extends `${infer Head}.${infer Rest}`
  ? { [K in Head]: Nest<Rest, V, Always> }
  : Always extends true ? { [K in P]: V } : { [K in P]?: V };

type UnionToIntersection<U> = (U extends unknown ? (x: U) => void : never) extends (x: infer I) => void ? I : never;

type Flatten<T> = { [K in keyof T]: T[K] extends object ? (T[K] extends readonly unknown[] ? T[K] : Flatten<T[K]>) : T[K] };

/** The library options a command's flags set, typed by the declarations. */
export type FieldsOf<Fs extends readonly Flag[]> = Flatten<UnionToIntersection<
  { [I in keyof Fs]: Fs[I] extends Flag & { readonly field: infer P extends string } ? Nest<P, Scalar<Fs[I]>, Always<Fs[I]>> : never }[number]
>>;

/** The flags a command reads itself (no `field`), by flag name. */
export type OwnFlagsOf<Fs extends readonly Flag[]> = Flatten<UnionToIntersection<
  { [I in keyof Fs]: Fs[I] extends Flag & { readonly field: string } ? never : Fs[I] extends Flag ? Nest<Fs[I]['name'], Scalar<Fs[I]>, Always<Fs[I]>> : never }[number]
>>;

/** What the handler of command C receives. */
export interface Parsed<C extends CommandDecl> {
  /** The library options, as declared: hand them to the library function as they are. */
  options: FieldsOf<C['flags']>;
  /** The flags without a library field. */
  own: OwnFlagsOf<C['flags']>;
}
