/** Usage texts of the command-line interface (printed by `--help`, or on stderr for a bad command). */
import { DEFAULT_ENGINE_CONFIG, DEFAULT_LIMITS, MAX_LIMITS } from '../engine/defaults.js';

export const MAIN_USAGE = `Usage: wasm-runner COMMAND [options]

Execute WebAssembly smart contracts under deterministic fuel, memory and stack limits.

Commands:
  run CONTRACT.wasm [options]           execute a contract (optionally linked with a library);
                                        prints the JSON body POST /execute would answer
  batch FILE.json                       several runs in order; prints what POST /execute/batch answers
  snapshot FILE.json [--check BASE]     fuel per call of a batch file; with --check, fails on growth
  instrument IN.wasm -o OUT.wasm        write a standalone metered module exporting \`__fuel\`
  inspect MODULE.wasm                   print a module's hash, imports, exports, memory and ffi section
  iroha-context FILE.json|-             build an Iroha module's context (and query answers) from JSON:
                                        SCALE as hex and base64, or the whole request (--request)
  iroha-answer FILE.json|-              build the SCALE answer(s) to an Iroha module's queries or
                                        instructions from JSON

Run \`wasm-runner COMMAND --help\` for a command's options.

Relative paths are the caller's: under \`npm run cli -- ...\` (which runs in the project root) they
are resolved against the directory the command was typed in (npm's INIT_CWD), otherwise against the
working directory.

Exit codes: 0 ok; 1 the execution ended with an outcome that is not ok (out_of_fuel, memory_limit,
stack_overflow, trap, panic, timeout); 2 bad arguments, invalid module, link error or policy
violation (the error body is printed); 3 internal error (on stderr).
`;

export const RUN_USAGE = `Usage: wasm-runner run CONTRACT.wasm [options]

Prepares (validates, meters, compiles) and executes CONTRACT.wasm in a worker thread and prints the
JSON body that POST /execute would answer (the result, or {"error": {"kind", "message"}}).

Options:
  --lib LIB.wasm          library module to link against (link modes: docs/API.md)
  --mode bridge|shared    link mode: bridge (default; a memory per module) or shared (one memory)
  --stacks two|one        shared mode: each module on its own stack, the library's guarded (two,
                          default), or both on the contract's stack (one)
  --namespace NS          import module name of the library in the contract (default lib)
  --ffi FILE              FFI declarations for a library without an \`ffi\` section
  --entry NAME            exported function to call (default main)
  --args JSON-ARRAY       arguments, e.g. '[1, "-5"]' (i64 as decimal strings)
  --input-hex HEX         input bytes, as hex
  --input-file FILE       input bytes, from a file (not with --input-hex)
  --fuel N                fuel limit (default ${DEFAULT_LIMITS.fuel}, at most ${MAX_LIMITS.fuel})
  --memory-bytes N        linear memory limit in bytes (default ${DEFAULT_LIMITS.memoryBytes}, at most ${MAX_LIMITS.memoryBytes})
  --timeout-ms N          wall-clock limit of the execution in ms (default ${DEFAULT_LIMITS.timeoutMs}, at most ${MAX_LIMITS.timeoutMs})
  --profile FILE          write the fuel profile (docs/PROFILING.md) to FILE, in the format its name
                          says: .speedscope.json, .folded (collapsed stacks), .pb.gz (pprof), .json;
                          the printed body has the profile's rows
  -h, --help              show this text

The Iroha profile (a module built by Iroha's toolchain, importing \`iroha\`; docs/IROHA.md):
  --iroha-context FILE    the entrypoint's context as JSON (\`wasm-runner iroha-context --help\`);
                          --entry defaults to its kind's entrypoint, and its queryResponses answer
                          the module's queries
  --iroha-context-hex HEX the entrypoint's SCALE context (SmartContractContext, TriggerContext,
                          ExecutorContext or Validate<T>), without the length prefix; --entry
                          defaults to the module's one _iroha_*_main export
  --iroha-responses FILE  JSON array of hex strings: the answers to execute_query, in order
  --iroha-callback URL    the peer: POST URL/query and URL/instruction with the SCALE bytes

Exit codes: 0 ok, 1 outcome not ok, 2 bad arguments / invalid module / link error / policy
violation, 3 internal error.
`;

export const BATCH_USAGE = `Usage: wasm-runner batch FILE.json

Runs several \`run\`s in order and prints one JSON body, as POST /execute/batch answers:
{"results": [...]}, each the body \`run\` prints for that call, or {"status", "error"} where \`run\`
would refuse the call (with the status POST /execute would answer). FILE is a JSON array of \`run\`
argument lists, e.g. [["kv.wasm", "--lib", "library.wasm", "--input-hex", "613d31"], ["hello.wasm"]].
The calls share nothing. Exit codes: 0 every call ok, 1 some call not ok or refused, 2 a bad FILE.

Options:
  -h, --help              show this text
`;

export const SNAPSHOT_USAGE = `Usage: wasm-runner snapshot FILE.json [--out SNAPSHOT.json] [--check BASELINE.json] [--tolerance PCT] [--profile]

Runs FILE's calls in order (FILE as for \`batch\`: a JSON array of \`run\` argument lists) and writes the fuel
of each: {"unit": "fuel", "calls": [{"call", "outcome", "fuel"}]}, each call named by its arguments, its
outcome "ok", an outcome kind, or "refused: KIND" (fuel null). On stdout, or to --out.
With --check, compares each call with BASELINE's call of the same name and lists the differences: a call
whose fuel grew by more than PCT percent (default 0), or whose outcome changed, fails the check.
Exit codes: 0 written, or the check passed; 1 the check failed; 2 a bad FILE, BASELINE or option.

Options:
  -o, --out FILE          write the snapshot to FILE (with --check: also write it)
  --check BASELINE.json   compare with a snapshot written before
  --tolerance PCT         growth --check allows, in percent (default 0)
  --profile               each call's fuel per function too ("functions": {"contract:12 name": fuel});
                          --check still compares the calls' totals
  -h, --help              show this text
`;

export const INSTRUMENT_USAGE = `Usage: wasm-runner instrument IN.wasm -o OUT.wasm [--fuel N]

Writes a standalone metered copy of IN.wasm: the same imports and exports, plus an exported mutable
i64 global \`__fuel\` holding the fuel left (initially N, default ${DEFAULT_LIMITS.fuel}). Running out of fuel or
of the stack budget (${DEFAULT_ENGINE_CONFIG.maxStackBytes} bytes: each function's frame cost while it runs, docs/ABI.md
"Stack") traps; the exported i32 \`__meter_flags\` then says why (1 fuel, 2 stack). Each call from the
embedder starts with the whole budget again; after a trap that unwound through an import, call the
exported \`__meter_reset\` (docs/ABI.md).
Prints a one-line summary to stderr.

Options:
  -o, --output OUT.wasm   where to write the metered module (required)
  --fuel N                initial fuel (default ${DEFAULT_LIMITS.fuel})
  -h, --help              show this text
`;

export const INSPECT_USAGE = `Usage: wasm-runner inspect MODULE.wasm

Prints JSON: {hash, bytes, imports, exports, memoryPages, ffi, layout}, with function signatures as text;
layout: the stack pointer, data segments, __heap_base/__data_end, memory and table (checked by --mode shared).

Options:
  -h, --help              show this text
`;

export const IROHA_CONTEXT_USAGE = `Usage: wasm-runner iroha-context FILE.json|- [--request MODULE.wasm]

Builds the SCALE context of an Iroha module's entrypoint (and the answers to its queries) from JSON
(FILE, or standard input for -) and prints {kind, entrypoint, hex, base64, iroha}, where \`iroha\` is
the request's object ready to paste: {"context", "queryResponses"} in base64. With --request, prints
the whole POST /execute body instead: {"contract": {"hash"}, "entrypoint", "iroha"}.

FILE (field names and forms are Iroha's own; docs/IROHA.md "Building the inputs"):
  {
    "kind": "smart-contract" | "trigger" | "executor" (migrate) | "validate-transaction" |
            "validate-instruction" | "validate-query",
    "authority": "ed0120<64 hex digits>@wonderland",  (or {"domain", "public_key"} or
                                                       {"domain", "algorithm", "key"})
    "curr_block": {"height": 1, "creation_time_ms": 0, "prev_block_hash": null,
                   "transactions_hash": "<64 hex>", "view_change_index": 0}   (all optional)
    "id": "mint_rose",                                 (trigger: its id)
    "event": {"ExecuteTrigger": {"args": {"val": 3}}}  (trigger; or {"Time": {"interval":
                                                       {"since_ms", "length_ms"}}})
    "target": {"Log": {"level": "INFO", "msg": "hi"}}  (validate-*: an instruction, a query
                                                       {"Iterable" | "Singular": ...} or a
                                                       transaction {"instructions": [...]})
    "queryResponses": [{"Ok": {"Iterable": ...}}]       (optional: as iroha-answer reads them)
  }
Any value Iroha encodes can also be given as its SCALE bytes: {"scale": "<hex>"}.

Options:
  --request MODULE.wasm   print the POST /execute body for MODULE (its sha256 as contract.hash)
  -h, --help              show this text

Exit codes: 0 ok, 2 bad arguments or JSON (the message names the JSON path and the form expected).
`;

export const IROHA_ANSWER_USAGE = `Usage: wasm-runner iroha-answer FILE.json|-

Builds the SCALE answer a peer gives an Iroha module (FILE, or standard input for -) and prints
{hex, base64}; for a JSON array of answers, {hex: [...], base64: [...]} (base64: a request's
iroha.queryResponses; hex: a file for \`run --iroha-responses\`).

An answer (Iroha's own forms; docs/IROHA.md "Building the inputs"):
  {"Ok": {"Iterable": {"batch": {"Asset": [{"id": "rose##ed0120…@wonderland",
                                            "value": {"Numeric": "7"}}]},
                       "remaining_items": 0, "continue_cursor": {"query": "q1", "cursor": 1}}}}
  {"Ok": {"Singular": {"Json": 5}}}, {"Ok": {"Singular": {"Numeric": "5"}}}
  {"Ok": null}                                   an instruction's Ok(())
  {"Err": {"NotPermitted": "reason"}}, {"Err": "TooComplex"}, {"Err": "InternalError"},
  {"Err": {"QueryFailed": "NotFound"}}, {"Err": {"InstructionFailed": {"Math": "Overflow"}}}
  {"scale": "<hex>"}                             any answer as its SCALE bytes

Options:
  -h, --help              show this text

Exit codes: 0 ok, 2 bad arguments or JSON (the message names the JSON path and the form expected).
`;
