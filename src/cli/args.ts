/**
 * Command-line parsing and validation (node's util.parseArgs), with no file access: every mistake is
 * a `bad_request` RequestError whose message names the option, as the service would answer it.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { DEFAULT_LIMITS, MAX_LIMITS } from '../engine/defaults.js';
import { badRequest } from '../engine/errors.js';
import type { Limits } from '../engine/execute.js';
import { type ProfileTarget, profileTarget } from './profile-file.js';

export const HELP = Symbol('help');

export type InputSource = { kind: 'none' } | { kind: 'hex'; bytes: Uint8Array } | { kind: 'file'; path: string };

export interface RunArgs {
  contract: string;
  lib: string | null;
  mode: 'bridge' | 'shared';
  /** Shared mode's stack layout; undefined: the default ("two"). */
  stacks: 'two' | 'one' | undefined;
  namespace: string | undefined;
  /** Path of a file with FFI declarations. */
  ffi: string | null;
  entry: string | undefined;
  args: unknown[];
  input: InputSource;
  limits: Limits;
  /** The Iroha profile (--iroha-context-hex), or null. */
  iroha: IrohaArgs | null;
  /** --profile FILE: the fuel profile's file and format, or null. */
  profile: ProfileTarget | null;
}

export interface IrohaArgs {
  /** The context as hex (--iroha-context-hex) or a JSON file to build it from (--iroha-context). */
  context: { kind: 'hex'; bytes: Uint8Array } | { kind: 'file'; path: string };
  /** A JSON file: an array of hex strings, the SCALE answers to execute_query in order. */
  responses: string | null;
  callback: string | null;
}

export interface InstrumentArgs {
  input: string;
  output: string;
  fuel: bigint;
}

export interface InspectArgs {
  module: string;
}

type Options = NonNullable<ParseArgsConfig['options']>;
const HELP_OPTION: Options = { help: { type: 'boolean', short: 'h' } };

/** parseArgs in strict mode; a parse error becomes `bad_request` unless `--help` was asked for. */
function parse(argv: string[], options: Options): { values: Record<string, string | boolean | undefined>; positionals: string[] } | typeof HELP {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: { ...options, ...HELP_OPTION }, strict: true, allowPositionals: true });
  } catch (e) {
    if (argv.includes('--help') || argv.includes('-h')) return HELP;
    const err = e as Error & { code?: string };
    if (err.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
      const unknown = /'([^']+)'/.exec(err.message)?.[1];
      if (unknown) throw badRequest(unknownOption(unknown, Object.keys(options)));
    }
    throw badRequest(err.message.replace(/\s*\n\s*/g, ' '));
  }
  if (parsed.values.help) return HELP;
  return { values: parsed.values as Record<string, string | boolean | undefined>, positionals: parsed.positionals };
}

/**
 * "Unknown option '--input': did you mean --input-hex or --input-file?": the options that the unknown
 * one is a prefix of (parseArgs takes no abbreviations), else those that share its first word.
 */
function unknownOption(given: string, known: string[]): string {
  const name = given.replace(/^-+/, '').split('=')[0]!;
  const byPrefix = name ? known.filter((k) => k.startsWith(name)) : [];
  const word = name.split('-')[0]!;
  const candidates = byPrefix.length ? byPrefix : word.length >= 3 ? known.filter((k) => k.split('-').includes(word)) : [];
  const list = candidates.map((k) => `--${k}`);
  const hint = list.length ? `: did you mean ${list.length === 1 ? list[0] : `${list.slice(0, -1).join(', ')} or ${list.at(-1)}`}?` : ' (see --help)';
  return `Unknown option '${given.split('=')[0]}'${hint}`;
}

function onePositional(positionals: string[], what: string, command: string): string {
  if (positionals.length === 0) throw badRequest(`\`${command}\` needs ${what}`);
  if (positionals.length > 1) throw badRequest(`\`${command}\` takes only one ${what.replace(/^an? /, '')}, got ${positionals.length} arguments: ${positionals.join(' ')}`);
  return positionals[0]!;
}

/** A non-negative decimal integer option (digits only), at most `max`. */
export function parseCount(text: string, option: string, max: number): number {
  if (!/^\d+$/.test(text)) throw badRequest(`${option} must be a non-negative integer, got \`${text}\``);
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n > max) throw badRequest(`${option} ${text} is above the ceiling of ${max}`);
  return n;
}

export function parseHex(text: string, option = '--input-hex'): Uint8Array {
  const hex = text.startsWith('0x') || text.startsWith('0X') ? text.slice(2) : text;
  if (!/^(?:[0-9a-fA-F]{2})*$/.test(hex)) {
    throw badRequest(`${option} must be an even number of hex digits, got \`${text.length > 40 ? `${text.slice(0, 40)}…` : text}\``);
  }
  return new Uint8Array(Buffer.from(hex, 'hex'));
}

export function parseJsonArgs(text: string): unknown[] {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw badRequest(`--args is not valid JSON: ${(e as Error).message}`);
  }
  if (!Array.isArray(v)) throw badRequest(`--args must be a JSON array, e.g. '[1, "-5"]'`);
  return v;
}

const RUN_OPTIONS: Options = {
  lib: { type: 'string' },
  mode: { type: 'string' },
  stacks: { type: 'string' },
  namespace: { type: 'string' },
  ffi: { type: 'string' },
  entry: { type: 'string' },
  args: { type: 'string' },
  'input-hex': { type: 'string' },
  'input-file': { type: 'string' },
  fuel: { type: 'string' },
  'memory-bytes': { type: 'string' },
  'timeout-ms': { type: 'string' },
  'iroha-context-hex': { type: 'string' },
  'iroha-context': { type: 'string' },
  'iroha-responses': { type: 'string' },
  'iroha-callback': { type: 'string' },
  profile: { type: 'string' },
};

/** The Iroha profile's options, checked against the ones that do not apply to it. */
function parseIroha(v: Record<string, string | undefined>): IrohaArgs | null {
  const hex = v['iroha-context-hex'];
  const file = v['iroha-context'];
  if (hex === undefined && file === undefined) {
    for (const o of ['iroha-responses', 'iroha-callback']) if (v[o] !== undefined) throw badRequest(`--${o} needs --iroha-context-hex or --iroha-context (the Iroha profile)`);
    return null;
  }
  if (hex !== undefined && file !== undefined) throw badRequest('give the Iroha context either with --iroha-context (JSON) or with --iroha-context-hex, not both');
  for (const o of ['lib', 'mode', 'stacks', 'namespace', 'ffi', 'args', 'input-hex', 'input-file']) {
    if (v[o] !== undefined) throw badRequest(`--${o} does not apply to the Iroha profile (one module; its argument is --iroha-context or --iroha-context-hex)`);
  }
  const callback = v['iroha-callback'] ?? null;
  if (callback !== null) {
    let url: URL;
    try {
      url = new URL(callback);
    } catch {
      throw badRequest(`--iroha-callback must be an http(s) URL, got \`${callback}\``);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw badRequest(`--iroha-callback must be an http(s) URL, got \`${callback}\``);
  }
  const context = file !== undefined ? { kind: 'file' as const, path: file } : { kind: 'hex' as const, bytes: parseHex(hex!, '--iroha-context-hex') };
  return { context, responses: v['iroha-responses'] ?? null, callback };
}

export function parseRunArgs(argv: string[]): RunArgs | typeof HELP {
  const p = parse(argv, RUN_OPTIONS);
  if (p === HELP) return p;
  const v = p.values as Record<string, string | undefined>;
  const contract = onePositional(p.positionals, 'a CONTRACT.wasm', 'run');
  const mode = v.mode ?? 'bridge';
  if (mode !== 'bridge' && mode !== 'shared') throw badRequest(`--mode must be \`bridge\` or \`shared\`, got \`${mode}\``);
  const stacks = v.stacks;
  if (stacks !== undefined && stacks !== 'two' && stacks !== 'one') throw badRequest(`--stacks must be \`two\` or \`one\`, got \`${stacks}\``);
  if (stacks !== undefined && mode !== 'shared') throw badRequest('--stacks applies to --mode shared only');
  if (v['input-hex'] !== undefined && v['input-file'] !== undefined) {
    throw badRequest('give the input either with --input-hex or with --input-file, not both');
  }
  const input: InputSource =
    v['input-hex'] !== undefined
      ? { kind: 'hex', bytes: parseHex(v['input-hex']) }
      : v['input-file'] !== undefined
        ? { kind: 'file', path: v['input-file'] }
        : { kind: 'none' };
  const timeoutMs = v['timeout-ms'] === undefined ? DEFAULT_LIMITS.timeoutMs : parseCount(v['timeout-ms'], '--timeout-ms', MAX_LIMITS.timeoutMs);
  if (timeoutMs === 0) throw badRequest('--timeout-ms must be at least 1');
  const iroha = parseIroha(v);
  return {
    contract,
    lib: v.lib ?? null,
    mode,
    stacks,
    namespace: v.namespace,
    ffi: v.ffi ?? null,
    // the Iroha profile's default is the module's one `_iroha_*_main` export
    entry: v.entry ?? (iroha ? undefined : 'main'),
    args: v.args === undefined ? [] : parseJsonArgs(v.args),
    input,
    limits: {
      fuel: v.fuel === undefined ? DEFAULT_LIMITS.fuel : parseCount(v.fuel, '--fuel', MAX_LIMITS.fuel),
      memoryBytes: v['memory-bytes'] === undefined ? DEFAULT_LIMITS.memoryBytes : parseCount(v['memory-bytes'], '--memory-bytes', MAX_LIMITS.memoryBytes),
      timeoutMs,
    },
    iroha,
    profile: v.profile === undefined ? null : profileTarget(v.profile),
  };
}

const I64_MAX = 2n ** 63n - 1n;

export function parseInstrumentArgs(argv: string[]): InstrumentArgs | typeof HELP {
  const p = parse(argv, { output: { type: 'string', short: 'o' }, fuel: { type: 'string' } });
  if (p === HELP) return p;
  const v = p.values as Record<string, string | undefined>;
  const input = onePositional(p.positionals, 'an IN.wasm', 'instrument');
  if (v.output === undefined) throw badRequest('`instrument` needs -o OUT.wasm');
  let fuel = BigInt(DEFAULT_LIMITS.fuel);
  if (v.fuel !== undefined) {
    if (!/^\d+$/.test(v.fuel)) throw badRequest(`--fuel must be a non-negative integer, got \`${v.fuel}\``);
    fuel = BigInt(v.fuel);
    if (fuel > I64_MAX) throw badRequest(`--fuel ${v.fuel} is above the ceiling of ${I64_MAX} (an i64)`);
  }
  return { input, output: v.output, fuel };
}

export function parseInspectArgs(argv: string[]): InspectArgs | typeof HELP {
  const p = parse(argv, {});
  if (p === HELP) return p;
  return { module: onePositional(p.positionals, 'a MODULE.wasm', 'inspect') };
}

/** `iroha-context` / `iroha-answer`: one FILE.json (or `-`), and the string options `options`. */
export function parseIrohaInputArgs(argv: string[], command: string, options: string[]): ({ file: string } & Record<string, string | undefined>) | typeof HELP {
  // a lone `-` (stdin) is a positional for parseArgs
  const p = parse(argv, Object.fromEntries(options.map((o) => [o, { type: 'string' as const }])));
  if (p === HELP) return p;
  return { ...(p.values as Record<string, string | undefined>), file: onePositional(p.positionals, 'a FILE.json (or - for standard input)', command) };
}

export interface SnapshotArgs {
  file: string;
  /** --profile: each call's fuel per function too. */
  profile: boolean;
  out?: string;
  check?: string;
  /** Growth allowed by --check, in percent. */
  tolerance: number;
}

export function parseSnapshotArgs(argv: string[]): SnapshotArgs | typeof HELP {
  const p = parse(argv, { out: { type: 'string', short: 'o' }, check: { type: 'string' }, tolerance: { type: 'string' }, profile: { type: 'boolean' } });
  if (p === HELP) return p;
  const profile = p.values.profile === true;
  const v = p.values as Record<string, string | undefined>;
  const file = onePositional(p.positionals, 'a FILE.json (a JSON array of `run` argument lists)', 'snapshot');
  let tolerance = 0;
  if (v.tolerance !== undefined) {
    if (v.check === undefined) throw badRequest('--tolerance applies to --check BASELINE.json');
    tolerance = Number(v.tolerance);
    if (!/^\d+(\.\d+)?$/.test(v.tolerance) || tolerance > 1000) throw badRequest(`--tolerance must be a percentage from 0 to 1000, got \`${v.tolerance}\``);
  }
  return { file, tolerance, profile, ...(v.out !== undefined ? { out: v.out } : {}), ...(v.check !== undefined ? { check: v.check } : {}) };
}
