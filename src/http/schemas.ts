/**
 * TypeBox schemas of the HTTP API (docs/API.md): the one source of truth that openapi.yaml is generated
 * from and checked against. The examples are real: Swagger UI's "Try it out" runs the bundled `hello`.
 */
import { PROFILE_FORMATS } from '../engine/fuel-profile/types.js';
import { Type, type Static, type TProperties } from '@sinclair/typebox';

/** sha256 of examples/wasm/hello.wasm, stored at start (seedExamples): the examples run it. */
export const HELLO_EXAMPLE_HASH = 'dc9bd9cc89e22329732e374250d984e2690a494c7c7a13e28f8f9ff3e96604c2';

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
          mode: Type.Optional(
            Type.Union([Type.Literal('bridge'), Type.Literal('shared')], {
              default: 'bridge',
              description:
                'bridge: each module keeps its own memory, `bytes` parameters and results are copied by the host; shared: one linear memory for both modules, calls direct (docs/API.md, Link modes)',
            }),
          ),
          stacks: Type.Optional(
            // no `default` keyword: ajv's useDefaults would add it to every `link`, bridge mode included
            Type.Union([Type.Literal('two'), Type.Literal('one')], {
              description:
                'shared mode only (default "two"): "two" each module keeps its own stack, the library\'s stack pointer checked against the end of the contract\'s data; "one" both run on the contract\'s stack (docs/API.md, Link modes)',
            }),
          ),
          namespace: Type.Optional(Type.String({ minLength: 1, description: 'import module name of library functions (default "lib")' })),
          ffi: Type.Optional(Type.String({ description: 'ffi declarations, replacing the library’s `ffi` section' })),
        },
        { additionalProperties: false },
      ),
    ),
    entrypoint: Type.Optional(Type.String({ minLength: 1, description: 'exported function to call (default "main")' })),
    args: Type.Optional(
      Type.Array(Type.Union([Type.Number(), Type.String()], { description: 'a number, or a decimal string for an i64' }), {
        description: 'by the signature: i32/f32/f64 as numbers, i64 as decimal strings; the floats a JSON number loses as the strings "NaN", "Infinity", "-Infinity", "-0"',
      }),
    ),
    input: Type.Optional(Type.String({ description: 'base64 bytes the contract reads with host.input_read' })),
    limits: Type.Optional(
      Type.Object(
        {
          fuel: Type.Optional(
            Type.Integer({ minimum: 0, description: 'fuel limit (default 55000000, config limits.defaults.fuel; above limits.max.fuel, 10000000000 by default: 400)' }),
          ),
          memoryBytes: Type.Optional(
            Type.Integer({
              minimum: 0,
              description: 'linear memory of all modules together, in whole 64 KiB pages (default 55000000; above limits.max.memoryBytes, 268435456 by default: 400)',
            }),
          ),
          timeoutMs: Type.Optional(
            Type.Integer({ minimum: 1, description: 'wall-clock limit from submission to the pool (default 2000; above limits.max.timeoutMs, 30000 by default: 400)' }),
          ),
        },
        { additionalProperties: false },
      ),
    ),
    iroha: Type.Optional(
      Type.Object(
        {
          context: Type.String({
            description:
              'base64 of the SCALE bytes of the entrypoint\'s argument, without the length prefix: SmartContractContext, TriggerContext, ExecutorContext or Validate<T> (docs/IROHA.md)',
          }),
          queryResponses: Type.Optional(
            Type.Array(Type.String(), { description: 'base64 SCALE Result<QueryResponse, ValidationFail> answers to execute_query, in order' }),
          ),
          callback: Type.Optional(
            Type.String({ minLength: 1, description: 'base URL of the peer answering POST {callback}/query and {callback}/instruction (config iroha.callbackOrigins)' }),
          ),
        },
        {
          additionalProperties: false,
          description: 'run the contract with the Iroha profile: it imports `iroha`, not `host` (docs/IROHA.md)',
        },
      ),
    ),
    profile: Type.Optional(
      Type.Union(
        [
          Type.Boolean(),
          Type.Object(
            {
              format: Type.Optional(
                Type.Union(
                  PROFILE_FORMATS.map((f) => Type.Literal(f)),
                  { description: '`json` (default): the profile object only; `speedscope`, `collapsed`, `pprof` (base64 protobuf): also the profile in that format as `profile.data`' },
                ),
              ),
            },
            { additionalProperties: false },
          ),
        ],
        { description: 'answer a fuel profile: the fuel of every function, call edge and host import, summing exactly to fuel.consumed (docs/PROFILING.md)' },
      ),
    ),
  },
  {
    additionalProperties: false,
    title: 'ExecuteRequest',
    // Swagger UI's "Try it out" body: the bundled `hello` example (seeded at start) by its hash
    examples: [{ contract: { hash: HELLO_EXAMPLE_HASH }, input: 'd29ybGQ=' }],
  },
);
export type ExecuteRequest = Static<typeof ExecuteRequest>;

const OutcomeKind = Type.Union(
  ['out_of_fuel', 'memory_limit', 'stack_overflow', 'trap', 'panic', 'timeout', 'host_error'].map((k) => Type.Literal(k)),
);

const NullableInteger = Type.Union([Type.Integer({ minimum: 0 }), Type.Null()]);
const Frame = Type.Object(
  {
    module: Type.Union([Type.Literal('contract'), Type.Literal('library')]),
    index: Type.Integer({ minimum: 0, description: "the function's index in the original module (imports first)" }),
    name: Type.Union([Type.String(), Type.Null()], { description: "from the module's name section, or null" }),
    offset: Type.Integer({ minimum: 0, description: 'byte offset in the original module (as wasmtime\'s module_offset)' }),
    file: Type.Union([Type.String(), Type.Null()], { description: "source file from the module's DWARF line table, or null" }),
    line: NullableInteger,
    column: NullableInteger,
  },
  { additionalProperties: false, title: 'Frame' },
);

const FuelProfile = Type.Object(
  {
    unit: Type.Literal('fuel'),
    total: Type.Integer({ minimum: 0, description: 'fuel.consumed: sum(functions.self) + sum(host.fuel)' }),
    functions: Type.Array(
      Type.Object(
        {
          module: Type.Union([Type.Literal('contract'), Type.Literal('library'), Type.Null()], { description: 'null for the `(other)` row' }),
          index: Type.Union([Type.Integer({ minimum: 0 }), Type.Null()], { description: "the function's index in the original module (imports first)" }),
          name: Type.Union([Type.String(), Type.Null()], { description: 'from the name section, demangled; `(other)` for the row summing the functions beyond the cap' }),
          self: Type.Integer({ description: "fuel charged in the function's own code" }),
          total: Type.Union([Type.Integer(), Type.Null()], { description: 'fuel while the function was on the stack (its callees and host calls included); null for `(other)`' }),
          calls: Type.Integer({ minimum: 0 }),
        },
        { additionalProperties: false },
      ),
      { description: 'sorted by self, descending; at most 256 rows, then one `(other)` row' },
    ),
    edges: Type.Array(
      Type.Object(
        {
          caller: Type.String({ description: '`contract:12`: module and function index' }),
          callee: Type.String(),
          calls: Type.Integer({ minimum: 0 }),
          fuel: Type.Integer({ description: 'fuel while a call along this edge was running' }),
        },
        { additionalProperties: false },
      ),
      { description: 'the call graph between wasm functions, sorted by fuel, descending; at most 256' },
    ),
    edgesOmitted: Type.Integer({ minimum: 0 }),
    host: Type.Array(
      Type.Object(
        {
          import: Type.String({ description: '`host.log`, `lib.echo` (a bridge copy), `(host)` for fuel outside every function, `(other)` for the rows beyond the cap' }),
          module: Type.Union([Type.Literal('contract'), Type.Literal('library'), Type.Null()], { description: 'the module that imports it' }),
          name: Type.Union([Type.String(), Type.Null()], { description: "that module's name for the import (name section, demangled), or null" }),
          calls: Type.Integer({ minimum: 0 }),
          fuel: Type.Integer({ description: 'fuel the import charged itself (bytes copied), not the wasm it called back' }),
        },
        { additionalProperties: false },
      ),
      { description: 'host imports and the bridge copies, by the fuel they charged; at most 64, then `(other)`' },
    ),
    format: Type.Optional(Type.Union([Type.Literal('speedscope'), Type.Literal('collapsed'), Type.Literal('pprof')])),
    data: Type.Optional(
      Type.Union([Type.Object({}, { additionalProperties: true }), Type.String()], {
        description: 'the profile in `format`: a speedscope file (object), collapsed stacks (text), pprof protobuf (base64)',
      }),
    ),
  },
  { additionalProperties: false, title: 'FuelProfile', description: 'where the fuel went (docs/PROFILING.md); with `"profile"` in the request' },
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
    error: Type.Union([
      Type.Object(
        {
          kind: OutcomeKind,
          message: Type.String(),
          frames: Type.Optional(
            Type.Array(Frame, {
              maxItems: 64,
              description: 'the wasm call stack where the execution stopped, innermost first (every outcome but timeout; docs/API.md, Frames)',
            }),
          ),
          framesOmitted: Type.Optional(Type.Integer({ minimum: 0, description: 'frames beyond the 64 reported' })),
        },
        { additionalProperties: false },
      ),
      Type.Null(),
    ]),
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
      {
        mode: Type.Union([Type.Literal('bridge'), Type.Literal('shared')]),
        calls: Type.Integer({ description: 'calls that went through a host hop (bridge mode, functions with `bytes`); 0 in shared mode' }),
        bytesCopied: Type.Integer({ description: 'bytes the host copied between the two memories; 0 in shared mode' }),
        stacks: Type.Optional(Type.Union([Type.Literal('two'), Type.Literal('one')], { description: 'shared mode only: the stack layout used' })),
      },
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
    iroha: Type.Optional(
      Type.Object(
        {
          instructions: Type.Array(Type.String(), { description: 'base64 SCALE InstructionBox of every execute_instruction, in order' }),
          queries: Type.Array(Type.String(), { description: 'base64 SCALE QueryRequest of every execute_query, in order' }),
          dataModel: Type.Union([Type.String(), Type.Null()], { description: 'base64 SCALE ExecutorDataModel given to set_data_model (executor migrate), or null' }),
          verdict: Type.Union(
            [
              Type.Object({ ok: Type.Literal(true) }, { additionalProperties: false }),
              Type.Object(
                {
                  ok: Type.Literal(false),
                  reason: Type.Union(['NotPermitted', 'InstructionFailed', 'QueryFailed', 'TooComplex', 'InternalError'].map((k) => Type.Literal(k))),
                  message: Type.Optional(Type.String()),
                  scale: Type.String({ description: 'base64 SCALE Result<(), ValidationFail> as the executor returned it' }),
                },
                { additionalProperties: false },
              ),
              Type.Null(),
            ],
            { description: 'the executor\'s answer (execute_* / validate_* entrypoints), else null' },
          ),
        },
        { additionalProperties: false, description: 'the Iroha profile: what the module asked of the peer (docs/IROHA.md)' },
      ),
    ),
    profile: Type.Optional(FuelProfile),
  },
  {
    additionalProperties: false,
    title: 'ExecuteResponse',
    description: 'The execution ran to an outcome: `ok: true` with `result`, or `ok: false` with `error` (out_of_fuel, memory_limit, stack_overflow, trap, panic, timeout)',
    // the answer to the request example (timings vary)
    examples: [
      {
        ok: true,
        result: { values: [5], output: 'aGVsbG8sIHdvcmxk' },
        error: null,
        fuel: { limit: 55000000, consumed: 999, remaining: 54999001 },
        memory: { limitBytes: 55000000, peakBytes: 1114112, modules: { contract: { initialBytes: 1114112, peakBytes: 1114112 } } },
        logs: [{ level: 'info', message: 'hello called' }],
        modules: { contract: { hash: HELLO_EXAMPLE_HASH, bytes: 3095 } },
        link: { mode: 'bridge', calls: 0, bytesCopied: 0 },
        timings: { queueMs: 1.05, prepareMs: 0.306, instantiateMs: 0.943, executeMs: 0.673, totalMs: 2.972 },
      },
    ],
  },
);

export const ErrorKind = Type.Union(
  [
    'bad_request',
    'unauthorized',
    'not_found',
    'too_large',
    'invalid_module',
    'link_error',
    'policy_violation',
    'overloaded',
    'worker_lost',
    'store_unavailable',
    'unsupported_media_type',
    'method_not_allowed',
    'request_timeout',
    'headers_too_large',
    'internal',
  ].map((k) => Type.Literal(k)),
);

const errorProperties = { error: Type.Object({ kind: ErrorKind, message: Type.String() }, { additionalProperties: false }) };

export const ErrorResponse = Type.Object(errorProperties, { additionalProperties: false, title: 'ErrorResponse' });

type ErrorExample = { kind: Static<typeof ErrorKind>; message: string; summary?: string };

/** The ErrorResponse of one status, documented with its meaning and examples of its real kinds and messages. */
export function errorResponse(description: string, ...examples: ErrorExample[]) {
  // one example: the media type's `example`; several: named `examples` (Swagger UI offers a choice by name)
  const named: Record<string, { summary: string; value: unknown }> = {};
  const bodies = examples.map(({ kind, message }) => ({ error: { kind, message } }));
  examples.forEach((e, i) => {
    let name = e.kind;
    for (let n = 2; name in named; n++) name = `${e.kind}_${n}`;
    named[name] = { summary: e.summary ?? e.kind, value: bodies[i] };
  });
  return Type.Object(errorProperties, {
    additionalProperties: false,
    title: 'ErrorResponse',
    description,
    ...(examples.length === 1 ? { examples: bodies } : { 'x-examples': named }),
  });
}

/** Error examples shared by the routes (messages as the service words them). */
export const ERROR_EXAMPLES = {
  badRequest: { kind: 'bad_request', message: 'invalid request: body.contract is not valid: expected { "wasm": "<base64 module bytes>" } or { "hash": "<sha256, 64 lowercase hex digits, of a module stored with PUT /modules>" }' },
  badHash: {
    kind: 'bad_request',
    message: 'the hash in the path: "nope" is not a module hash: a module hash is 64 lowercase hex digits (sha256 of the module, as PUT /modules answers it)',
  },
  badLimit: { kind: 'bad_request', message: 'querystring.limit must be an integer from 1 to 1000 (default 100), got "5000"' },
  notFound: {
    kind: 'not_found',
    message: 'no module with hash 0000000000000000000000000000000000000000000000000000000000000000 (the contract): upload it with PUT /modules',
  },
  moduleNotFound: { kind: 'not_found', message: 'no module with hash 0000000000000000000000000000000000000000000000000000000000000000' },
  moduleTooLarge: { kind: 'too_large', summary: 'an inline module over the module size limit', message: 'the contract module is 5000000 bytes, more than the module size limit of 4194304' },
  bodyTooLarge: { kind: 'too_large', summary: 'a body over the body size limit', message: 'the request body is 13000000 bytes, more than the body size limit of 12582912' },
  putTooLarge: { kind: 'too_large', message: 'the module is 5000000 bytes, more than the module size limit of 4194304' },
  executeMediaType: { kind: 'unsupported_media_type', message: 'POST /execute accepts a body of Content-Type application/json, not text/plain' },
  modulesMediaType: {
    kind: 'unsupported_media_type',
    message: 'PUT /modules accepts a body of Content-Type application/wasm or application/octet-stream, not application/json',
  },
  invalidModule: {
    kind: 'invalid_module',
    message: 'the contract module (body.contract.wasm) is not valid WebAssembly: expected magic word 00 61 73 6d, found 68 65 6c 6c @+0',
  },
  invalidBody: {
    kind: 'invalid_module',
    message:
      'the body is not valid WebAssembly: expected magic word 00 61 73 6d, found 41 47 46 7a @+0 — the body is base64 text (it starts "AGFzbQ", the wasm magic in base64): PUT /modules takes the raw bytes (e.g. `curl --data-binary @file.wasm`)',
  },
  linkError: { kind: 'link_error', message: 'the contract imports `lib.map_insert` but no library was given' },
  policyViolation: { kind: 'policy_violation', message: 'a table starts with 100001 elements, more than the limit of 100000' },
  internal: { kind: 'internal', message: 'internal error (logged with this request id)' },
  overloaded: { kind: 'overloaded', message: 'all 2 workers are busy and 64 executions are waiting: retry later' },
  unauthorized: { kind: 'unauthorized', message: 'this service needs `Authorization: Bearer <token>`' },
  storeUnavailable: {
    kind: 'store_unavailable',
    summary: 'the shared module store (store.shared) failed or did not answer in time',
    message: 'the shared module store redis://redis:6379/0 did not answer within 1000 ms, and the contract (5933233246620582d71308c292ac84f1e819bcf4ed8d44d2d99949517fd83963) is not on this replica: retry later',
  },
  storePutUnavailable: {
    kind: 'store_unavailable',
    message: 'the shared module store redis://redis:6379/0 is not reachable (reconnecting: connection: connect ECONNREFUSED 10.0.0.7:6379), so the module is kept on this replica only (another would answer 404 for it): retry the upload',
  },
  storeGetUnavailable: {
    kind: 'store_unavailable',
    message: 'the shared module store redis://redis:6379/0 did not answer within 1000 ms, and the module is not on this replica: retry later',
  },
  workerLost: {
    kind: 'worker_lost',
    summary: 'the worker thread running the execution stopped before it finished',
    message: 'the worker running this execution stopped (worker exited with code: 1); the pool has replaced it: retry the request',
  },
} satisfies Record<string, ErrorExample>;

/** POST /execute/batch: up to `maxBatch` calls, each a POST /execute body. */
export const executeBatchRequest = (maxBatch: number) =>
  Type.Object(
    {
      calls: Type.Array(ExecuteRequest, {
        minItems: 1,
        maxItems: maxBatch,
        description: `1 to ${maxBatch} POST /execute bodies (config maxBatch), run in order in one worker hand-over, sharing nothing`,
      }),
    },
    { additionalProperties: false, title: 'ExecuteBatchRequest', examples: [{ calls: [{ contract: { hash: HELLO_EXAMPLE_HASH }, input: 'YQ==' }, { contract: { hash: HELLO_EXAMPLE_HASH }, input: 'Yg==' }] }] },
  );

/** A call of a batch that POST /execute would have answered 4xx: its status and error. */
const BatchCallError = Type.Object(
  {
    status: Type.Integer({
      description: 'the status POST /execute would answer (400, 404, 413, 422, or 503 store_unavailable); also 413 too_large for a call past the batch\'s answer budget, 503 worker_lost for the call a lost worker was running (docs/API.md)',
    }),
    ...errorProperties,
  },
  { additionalProperties: false, title: 'BatchCallError' },
);

export const ExecuteBatchResponse = Type.Object(
  {
    results: Type.Array(Type.Union([ExecuteResponse, BatchCallError]), {
      description: 'in the order of `calls`: what POST /execute answers for each, its 200 body or { status, error }',
    }),
  },
  { additionalProperties: false, title: 'ExecuteBatchResponse' },
);

const Signature = Type.String({ description: 'e.g. "(i32, i32) -> (i64)"' });
const Region = Type.Object({ start: Type.Integer(), end: Type.Integer() }, { additionalProperties: false, description: 'byte range [start, end)' });
const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);
/** Memory 0 or table 0 of a module: imported (`module.name`) or defined, the names it is exported as, its size. */
const placement = <P extends TProperties>(size: P) =>
  Nullable(
    Type.Object(
      { imported: Nullable(Type.String({ description: '`module.name` of the import' })), defined: Type.Boolean(), exportedAs: Type.Array(Type.String()), ...size },
      { additionalProperties: false },
    ),
  );
const ModuleLayout = Type.Object(
  {
    stackPointer: Nullable(
      Type.Object(
        {
          global: Type.Integer({ description: 'global index' }),
          initial: Type.Integer({ description: 'initial value: the top of the stack, which grows down' }),
          name: Nullable(Type.String()),
        },
        { additionalProperties: false },
      ),
    ),
    stackPointerNote: Nullable(Type.String({ description: 'why no stack pointer was recognised (LLVM convention: the first defined global, a mutable i32 set by i32.const)' })),
    leafFrameBytes: Type.Integer({ description: 'largest frame a function takes below the stack pointer without writing it back' }),
    data: Type.Array(Region, { description: 'active data segments of memory 0' }),
    dynamicData: Type.Integer({ description: 'active data segments at non-constant offsets' }),
    heapBase: Nullable(Type.Integer({ description: 'exported `__heap_base`' })),
    dataEnd: Nullable(Type.Integer({ description: 'exported `__data_end`' })),
    memory: placement({ minPages: Type.Integer(), maxPages: Nullable(Type.Integer()) }),
    table: placement({ min: Type.Integer(), max: Nullable(Type.Integer()) }),
    elements: Type.Array(
      Type.Object({ table: Type.Integer(), start: Type.Integer(), end: Type.Integer() }, { additionalProperties: false }),
      { description: 'active element segments: table slots [start, end)' },
    ),
    dynamicElements: Type.Integer(),
  },
  { additionalProperties: false, description: 'where the module puts its stack, data and heap (checked before shared-memory linking)' },
);
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
    layout: ModuleLayout,
  },
  { additionalProperties: false, title: 'ModuleInfo' },
);

/** The ModuleInfo of one status, with its meaning. */
export const moduleInfoResponse = (description: string) =>
  Type.Object(ModuleInfoResponse.properties, { additionalProperties: false, title: 'ModuleInfo', description });

export const HashParams = Type.Object({ hash: Type.String() }, { additionalProperties: false });

/** GET /modules: a page. Strings, checked by the route, so a bad value is named with what to send. */
export const ModuleListQuery = Type.Object(
  {
    limit: Type.Optional(Type.String({ description: 'modules per page: 1 to 1000 (default 100)', examples: ['100'] })),
    after: Type.Optional(Type.String({ description: 'the cursor: `next` of the previous page (a module hash); the page starts after it' })),
  },
  { additionalProperties: false },
);

export const ModuleListResponse = Type.Object(
  {
    modules: Type.Array(
      Type.Object(
        {
          hash: Hash,
          bytes: Type.Integer(),
          firstSeen: Type.String({ description: 'ISO 8601 time this replica\'s store first held the module (kept on disk with it)' }),
          exports: Type.Array(Type.Object({ name: Type.String(), kind: Type.String(), type: Type.Optional(Signature) }, { additionalProperties: false })),
          importModules: Type.Array(Type.String(), { description: 'the module names it imports from, e.g. ["host", "lib"]' }),
          profile: Type.Union([Type.Literal('host'), Type.Literal('iroha'), Type.Null()], { description: 'host ABI it imports: `iroha` (docs/IROHA.md), `host` (docs/ABI.md), or null' }),
          ffi: Type.Boolean({ description: 'whether it has an `ffi` custom section' }),
        },
        { additionalProperties: false },
      ),
      { description: 'in hash order' },
    ),
    next: Type.Union([Hash, Type.Null()], { description: 'the cursor of the next page (`?after=<next>`), null on the last page' }),
  },
  { additionalProperties: false, title: 'ModuleList', description: 'A page of the modules this replica holds' },
);

export const HealthResponse = Type.Object({ status: Type.Literal('ok') }, { additionalProperties: false });
export const ReadyResponse = Type.Object(
  {
    status: Type.Union([Type.Literal('ready'), Type.Literal('not_ready')]),
    workers: Type.Integer(),
    pool: Type.Boolean({ description: 'every worker thread answered' }),
    store: Type.Boolean({ description: 'the module directory is readable and writable' }),
    sharedStore: Type.Optional(
      Type.Object(
        {
          url: Type.String({ description: 'its address, without credentials' }),
          state: Type.Union([Type.Literal('up'), Type.Literal('connecting'), Type.Literal('down')]),
          lastError: Type.Union([Type.Object({ message: Type.String(), at: Type.String({ description: 'ISO 8601 time' }) }, { additionalProperties: false }), Type.Null()], {
            description: 'the last failure of a connection or an operation since start',
          }),
        },
        {
          additionalProperties: false,
          description:
            'present when a shared store is configured. Reported, never a reason to be not ready: an outage of the store all replicas share must not take them all out of service (executions by hash go on from local copies)',
        },
      ),
    ),
  },
  { additionalProperties: false },
);
