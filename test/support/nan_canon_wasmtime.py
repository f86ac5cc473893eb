"""NaN-canonicalization oracle: wasmtime (the wasmtime PyPI package) with `cranelift_nan_canonicalization`.

stdin, JSON: {"wasm": base64, "calls": [{"field": str, "args": [int, ...], "mem"?: [[offset, hex], ...],
"read"?: [offset, length]}]}. Each call optionally writes bytes into the exported memory `mem`, calls
`field` with integer (i32/i64) arguments, and answers its integer result as an unsigned decimal string,
or, with `read`, the hex of that memory range after the call.
stdout, JSON: {"version": str, "results": [str, ...]}.
"""
import base64, json, sys
from importlib.metadata import version
import wasmtime as W

cfg = W.Config()
cfg.cranelift_nan_canonicalization = True
engine = W.Engine(cfg)
req = json.load(sys.stdin)
store = W.Store(engine)
inst = W.Instance(store, W.Module(engine, base64.b64decode(req['wasm'])), [])
ex = inst.exports(store)
out = []
for c in req['calls']:
    mem = ex['mem'] if 'mem' in c or 'read' in c else None
    for off, data in c.get('mem', []):
        b = bytes.fromhex(data)
        mem.write(store, b, off)
    f = ex[c['field']]
    results = f.type(store).results
    r = f(store, *c['args'])
    if 'read' in c:
        off, n = c['read']
        out.append(bytes(mem.read(store, off, off + n)).hex())
    else:
        bits = 32 if str(results[0]) == 'i32' else 64
        out.append(str(r & ((1 << bits) - 1)))
json.dump({'version': version('wasmtime'), 'results': out}, sys.stdout)
