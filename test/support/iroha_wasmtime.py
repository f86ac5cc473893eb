"""Reference Iroha host on real wasmtime (the wasmtime PyPI package), after Hyperledger Iroha 2.0.0-rc.1's
crates/iroha_core/src/smartcontracts/wasm.rs: one Store with consume_fuel and set_fuel(fuel), imports
iroha.{log,dbg,execute_query,execute_instruction,set_data_model}, host->guest data length-prefixed
([u32 LE total incl. the 4 bytes][SCALE]) in a buffer from `_iroha_smart_contract_alloc(total)`.

stdin, JSON: {"module": path, "entrypoint": export name, "context": hex (SCALE of the entrypoint's payload,
no prefix), "queryResponses": [hex, ...] (SCALE Result<QueryResponse, ValidationFail>, no prefix), "fuel": int},
or a JSON array of such runs (answered with an array: each module is compiled once, each run gets its own Store)
stdout, JSON: {"version", "fuel_consumed", "outcome": "ok" | trap message, "instructions": [hex],
"queries": [hex], "dataModel": hex | null, "verdict": hex | null, "logs": [{"level", "message"}], "dbg": [str], "trap"?: full message}
(a trap's outcome is its last line, the cause: "wasm trap: wasm `unreachable` instruction executed")

Queries are answered with queryResponses in order, then Err(NotPermitted("no query source")); every
instruction is recorded and answered Ok(()); set_data_model records its argument. An executor entrypoint's
(`(i32) -> i32`) returned pointer is read length-prefixed (`verdict` = bytes[4..total], no prefix) and then
freed with `_iroha_smart_contract_dealloc(ptr, total)`, as Iroha does.

fuel_consumed = fuel set - get_fuel() at the very end: instantiation (wasmtime 49 charges fuel only for a
start function's code, and these four modules have none, so instantiation costs 0: data and element
segments are free), the host's `_iroha_smart_contract_alloc` call for the context, the entrypoint with
everything the host calls back into the guest from inside imports (alloc for answers), and the final
`_iroha_smart_contract_dealloc` of an executor's verdict. Host code itself costs no fuel.
"""
import json, sys
from importlib.metadata import version
import wasmtime as W

LEVELS = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR']
OK_UNIT = bytes([0])
NO_QUERY_SOURCE = bytes([1, 0, 15 << 2]) + b'no query source'  # Err(NotPermitted("no query source"))


def compact(b, i):  # SCALE Compact<u32> at b[i:] -> (value, next index)
    m = b[i] & 3
    if m == 0: return b[i] >> 2, i + 1
    if m == 1: return int.from_bytes(b[i:i + 2], 'little') >> 2, i + 2
    if m == 2: return int.from_bytes(b[i:i + 4], 'little') >> 2, i + 4
    n = (b[i] >> 2) + 4
    return int.from_bytes(b[i + 1:i + 1 + n], 'little'), i + 1 + n


def string(b, i):
    n, j = compact(b, i)
    if j + n > len(b): raise ValueError('string out of bounds')
    return b[j:j + n].decode('utf-8'), j + n


def run(engine, modules, req):
    store = W.Store(engine)
    store.set_fuel(req['fuel'])
    if req['module'] not in modules:  # compiling a 3 MB executor is most of a run's time
        modules[req['module']] = W.Module.from_file(engine, req['module'])
    module = modules[req['module']]
    answers = [bytes.fromhex(h) for h in req.get('queryResponses', [])]
    out = {'version': version('wasmtime'), 'instructions': [], 'queries': [], 'dataModel': None,
           'verdict': None, 'logs': [], 'dbg': []}

    def arg(caller, ptr, ln):  # guest -> host: exactly (ptr, len), never freed by the host
        return bytes(caller['memory'].read(caller, ptr, ptr + ln))

    def give(caller, payload):  # host -> guest: length-prefixed, in guest-allocated memory
        buf = (len(payload) + 4).to_bytes(4, 'little') + payload
        ptr = caller['_iroha_smart_contract_alloc'](caller, len(buf))
        caller['memory'].write(caller, buf, ptr)
        return ptr

    def log(caller, ptr, ln):
        b = arg(caller, ptr, ln)
        msg, end = string(b, 1)
        if end != len(b): raise ValueError('log: trailing bytes')
        if b[0] >= len(LEVELS): raise ValueError(f'{b[0]}: not a valid log level')
        out['logs'].append({'level': b[0], 'message': msg})

    def dbg(caller, ptr, ln):
        out['dbg'].append(string(arg(caller, ptr, ln), 0)[0])

    def execute_query(caller, ptr, ln):
        out['queries'].append(arg(caller, ptr, ln).hex())
        return give(caller, answers.pop(0) if answers else NO_QUERY_SOURCE)

    def execute_instruction(caller, ptr, ln):
        out['instructions'].append(arg(caller, ptr, ln).hex())
        return give(caller, OK_UNIT)

    def set_data_model(caller, ptr, ln):
        out['dataModel'] = arg(caller, ptr, ln).hex()

    i32 = W.ValType.i32()
    linker = W.Linker(engine)
    for name, fn, res in [('log', log, []), ('dbg', dbg, []), ('execute_query', execute_query, [i32]),
                          ('execute_instruction', execute_instruction, [i32]), ('set_data_model', set_data_model, [])]:
        linker.define_func('iroha', name, W.FuncType([i32, i32], res), fn, access_caller=True)

    try:
        inst = linker.instantiate(store, module)
        ex = inst.exports(store)
        mem, alloc, dealloc = ex['memory'], ex['_iroha_smart_contract_alloc'], ex['_iroha_smart_contract_dealloc']
        out['fuel_after_instantiation'] = req['fuel'] - store.get_fuel()
        ctx = bytes.fromhex(req['context'])
        buf = (len(ctx) + 4).to_bytes(4, 'little') + ctx
        cptr = alloc(store, len(buf))
        mem.write(store, buf, cptr)
        entry = ex[req['entrypoint']]
        r = entry(store, cptr)
        if r is not None:  # executor validate_*: pointer to length-prefixed Result<(), ValidationFail>
            total = int.from_bytes(mem.read(store, r, r + 4), 'little')
            out['verdict'] = bytes(mem.read(store, r + 4, r + total)).hex()
            dealloc(store, r, total)
        out['outcome'] = 'ok'
    except (W.Trap, W.WasmtimeError) as e:
        lines = [l.strip() for l in str(e).splitlines() if l.strip()]
        out['outcome'] = lines[-1] if lines else type(e).__name__  # the cause: "wasm trap: ..."
        out['trap'] = str(e)
    out['fuel_consumed'] = req['fuel'] - store.get_fuel()
    return out


def main():
    req = json.load(sys.stdin)
    cfg = W.Config(); cfg.consume_fuel = True
    engine = W.Engine(cfg)
    modules = {}
    json.dump([run(engine, modules, r) for r in req] if isinstance(req, list) else run(engine, modules, req), sys.stdout)


main()
