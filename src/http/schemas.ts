/** TypeBox schemas of the HTTP API (DESIGN §3): the one source of truth that openapi.yaml is checked against. */
import { Type, type Static } from '@sinclair/typebox';

const Hash = Type.String({ pattern: '^[0-9a-f]{64}$', description: 'sha256 of the original module bytes, lowercase hex' });
const Base64 = Type.String({ description: 'standard base64' });

export const ModuleRef = Type.Union(
  [
    Type.Object({ wasm: Base64 }, { additionalProperties: false, title: 'InlineModule' }),
    Type.Object({ hash: Hash }, { additionalProperties: false, title: 'ModuleByHash' }),
  ],
  { description: '{ "wasm": "<base64 module bytes>" } or { "hash": "<sha256, 64 lowercase hex digits, of a module stored with PUT /modules>" }' },
);

export const ExecuteRequest = Type.Object(
  {
    contract: ModuleRef,
    library: Type.Optional(ModuleRef),
    link: Type.Optional(
      Type.Object(
        {
          mode: Type.Optional(Type.Union([Type.Literal('bridge'), Type.Literal('shared')], { default: 'bridge' })),
          namespace: Type.Optional(Type.String({ minLength: 1, description: 'import module name of library functions (default "lib")' })),
          ffi: Type.Optional(Type.String({ description: 'ffi declarations, replacing the library’s `ffi` section' })),
        },
        { additionalProperties: false },
      ),
    ),
    entrypoint: Type.Optional(Type.String({ minLength: 1, description: 'exported function to call (default "main")' })),
    args: Type.Optional(
      Type.Array(Type.Union([Type.Number(), Type.String()], { description: 'a number, or a decimal string for an i64' }), {
        description: 'by the signature: i32/f32/f64 as numbers, i64 as decimal strings',
      }),
    ),
    input: Type.Optional(Type.String({ description: 'base64 bytes the contract reads with host.input_read' })),
    limits: Type.Optional(
      Type.Object(
        {
          fuel: Type.Optional(Type.Integer({ minimum: 0 })),
          memoryBytes: Type.Optional(Type.Integer({ minimum: 0 })),
          timeoutMs: Type.Optional(Type.Integer({ minimum: 1 })),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false, title: 'ExecuteRequest' },
);
export type ExecuteRequest = Static<typeof ExecuteRequest>;

const OutcomeKind = Type.Union(
  ['out_of_fuel', 'memory_limit', 'stack_overflow', 'trap', 'panic', 'timeout'].map((k) => Type.Literal(k)),
);

const ModuleMemory = Type.Object({ initialBytes: Type.Integer(), peakBytes: Type.Integer() }, { additionalProperties: false });
const ModuleId = Type.Object({ hash: Hash, bytes: Type.Integer() }, { additionalProperties: false });

export const ExecuteResponse = Type.Object(
  {
    ok: Type.Boolean(),
    result: Type.Union([
      Type.Object(
        {
          values: Type.Array(Type.Union([Type.Number(), Type.String()])),
          output: Type.String({ description: 'base64 of the bytes written with host.output' }),
        },
        { additionalProperties: false },
      ),
      Type.Null(),
    ]),
    error: Type.Union([Type.Object({ kind: OutcomeKind, message: Type.String() }, { additionalProperties: false }), Type.Null()]),
    fuel: Type.Object({ limit: Type.Integer(), consumed: Type.Integer(), remaining: Type.Integer() }, { additionalProperties: false }),
    memory: Type.Object(
      {
        limitBytes: Type.Integer(),
        peakBytes: Type.Integer(),
        modules: Type.Object({ contract: ModuleMemory, library: Type.Optional(ModuleMemory) }, { additionalProperties: false }),
      },
      { additionalProperties: false },
    ),
    logs: Type.Array(
      Type.Object(
        { level: Type.Union(['trace', 'debug', 'info', 'warn', 'error'].map((l) => Type.Literal(l))), message: Type.String() },
        { additionalProperties: false },
      ),
    ),
    modules: Type.Object({ contract: ModuleId, library: Type.Optional(ModuleId) }, { additionalProperties: false }),
    link: Type.Object(
      { mode: Type.Union([Type.Literal('bridge'), Type.Literal('shared')]), calls: Type.Integer(), bytesCopied: Type.Integer() },
      { additionalProperties: false },
    ),
    timings: Type.Object(
      {
        queueMs: Type.Number(),
        prepareMs: Type.Number(),
        instantiateMs: Type.Number(),
        executeMs: Type.Number(),
        totalMs: Type.Number(),
      },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false, title: 'ExecuteResponse' },
);

export const ErrorKind = Type.Union(
  [
    'bad_request',
    'not_found',
    'too_large',
    'invalid_module',
    'link_error',
    'policy_violation',
    'overloaded',
    'unsupported_media_type',
    'internal',
  ].map((k) => Type.Literal(k)),
);

export const ErrorResponse = Type.Object(
  { error: Type.Object({ kind: ErrorKind, message: Type.String() }, { additionalProperties: false }) },
  { additionalProperties: false, title: 'ErrorResponse' },
);

const Signature = Type.String({ description: 'e.g. "(i32, i32) -> (i64)"' });
export const ModuleInfoResponse = Type.Object(
  {
    hash: Hash,
    bytes: Type.Integer(),
    imports: Type.Array(
      Type.Object(
        { module: Type.String(), name: Type.String(), kind: Type.String(), type: Type.Optional(Signature) },
        { additionalProperties: false },
      ),
    ),
    exports: Type.Array(Type.Object({ name: Type.String(), kind: Type.String(), type: Type.Optional(Signature) }, { additionalProperties: false })),
    memoryPages: Type.Integer({ description: 'initial pages (64 KiB) of the module’s own memory' }),
    ffi: Type.Union([Type.String(), Type.Null()], { description: 'text of the `ffi` custom section' }),
  },
  { additionalProperties: false, title: 'ModuleInfo' },
);

export const HashParams = Type.Object({ hash: Type.String() }, { additionalProperties: false });

export const HealthResponse = Type.Object({ status: Type.Literal('ok') }, { additionalProperties: false });
export const ReadyResponse = Type.Object(
  {
    status: Type.Union([Type.Literal('ready'), Type.Literal('not_ready')]),
    workers: Type.Integer(),
    pool: Type.Boolean({ description: 'every worker thread answered' }),
    store: Type.Boolean({ description: 'the module directory is readable and writable' }),
  },
  { additionalProperties: false },
);
