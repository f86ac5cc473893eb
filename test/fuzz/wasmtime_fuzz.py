"""Fuel oracle for the fuzz cases (test/fuzz/lib/oracle.ts): binaryen translate-to-fuzz modules on real
wasmtime (the wasmtime PyPI package, consume_fuel on), with the same `fuzzing-support` host functions
as test/fuzz/lib/case.ts: log-* record their arguments, call-export(-catch) call the export of that
index with the same deterministic arguments (a trap inside propagates; no callable export: call-export
raises a host error, call-export-catch answers 1), sleep answers its second argument, anything else
records and answers zeros. Imported globals get zero / null.

stdin, JSON: {"jobs": [{"seed", "wasm": base64, "steps": [{"what", "args": [{"type", "value"}]}],
"funcExports", "imports": [{"module", "name", "params", "results"}], "exportTypes", "globals"}]}.
Step 0 is the instantiation (start function included); steps 1.. call exports.
stdout, JSON: {"version", "results": [{"seed", "steps": [{"kind", "values"?, "message"?, "fuel",
"logs"}], "globals", "memoryHash"}]}; fuel is get_fuel() before minus after the step.
"""
import base64, hashlib, json, struct, sys
from importlib.metadata import version
import wasmtime as W

FUEL = 2**62
cfg = W.Config(); cfg.consume_fuel = True
engine = W.Engine(cfg)
NUM = ('i32', 'i64', 'f32', 'f64')


class HostError(Exception):
    pass


def vt(t):
    return {'i32': W.ValType.i32(), 'i64': W.ValType.i64(), 'f32': W.ValType.f32(), 'f64': W.ValType.f64(),
            'funcref': W.ValType.funcref(), 'externref': W.ValType.externref()}[t]


def fmt(t, v):
    if t == 'i32': return str((v + 2**31) % 2**32 - 2**31)
    if t == 'i64': return str((v + 2**63) % 2**64 - 2**63)
    if t in ('f32', 'f64'):
        if v != v: return 'nan'
        return hex(struct.unpack('<Q', struct.pack('<d', v))[0])
    if isinstance(v, W.Val): v = v.value
    return 'null' if v is None else 'func'


def argval(a):
    t, v = a['type'], a['value']
    if t in ('i32', 'i64'): return int(v)
    return struct.unpack('<d', struct.pack('<Q', int(v, 16)))[0]


def zero(t):
    if t == 'i32': return W.Val.i32(0)
    if t == 'i64': return W.Val.i64(0)
    if t == 'f32': return W.Val.f32(0.0)
    if t == 'f64': return W.Val.f64(0.0)
    return W.Val.ref_null(vt(t))


def run_job(job):
    store = W.Store(engine); store.set_fuel(FUEL)
    module = W.Module(engine, base64.b64decode(job['wasm']))
    state = {'exports': None, 'logs': []}
    etypes = job['exportTypes']
    fexports = job['funcExports']

    def call_export(caller, idx, caught):
        name = fexports[idx] if idx < len(fexports) else None
        t = etypes.get(name) if name is not None else None
        if state['exports'] is None or t is None or not all(x in NUM for x in t['params'] + t['results']):
            if caught: return 1
            raise HostError('call-export')
        args = job['argsByIndex'][str(idx)]
        state['exports'][name](caller, *[argval(a) for a in args])
        return 0

    def host(imp):
        label = f"{imp['module']}.{imp['name']}"
        ps, rs = imp['params'], imp['results']
        if imp['name'] in ('call-export', 'call-export-catch'):
            def f(caller, *a):
                state['logs'].append(f"{label}({fmt('i32', a[0])})")
                r = call_export(caller, a[0] % 2**32, imp['name'] == 'call-export-catch')
                return r if rs else None
        elif imp['name'] == 'sleep' and len(ps) == 2 and len(rs) == 1:
            def f(caller, *a):
                state['logs'].append(f"{label}({fmt('i32', a[0])}, {fmt('i32', a[1])})")
                return a[1]
        else:
            def f(caller, *a):
                state['logs'].append(f"{label}({', '.join(fmt(p, x) for p, x in zip(ps, a))})")
                if not rs: return None
                zs = [zero(r) for r in rs]
                return zs[0] if len(zs) == 1 else zs
        return W.Func(store, W.FuncType([vt(p) for p in ps], [vt(r) for r in rs]), f, access_caller=True)

    funcs = iter(job['imports'])
    ext = []
    for i in module.imports:
        ty = i.type
        if isinstance(ty, W.FuncType):
            ext.append(host(next(funcs)))
        elif isinstance(ty, W.GlobalType):
            t = str(ty.content)
            ext.append(W.Global(store, ty, zero(t) if t in NUM or t in ('funcref', 'externref') else None))
        else:
            raise ValueError(f'unsupported import {i.module}.{i.name}')

    out, inst = [], None
    for k, s in enumerate(job['steps']):
        state['logs'] = []
        before = store.get_fuel()
        r = {}
        try:
            if k == 0:
                inst = W.Instance(store, module, ext)
                state['exports'] = inst.exports(store)
                r['values'] = []
            else:
                t = etypes[s['what']]
                res = state['exports'][s['what']](store, *[argval(a) for a in s['args']])
                res = [] if not t['results'] else [res] if len(t['results']) == 1 else list(res)
                r['values'] = [fmt(x, v) for x, v in zip(t['results'], res)]
            r['kind'] = 'ok'
        except W.Trap as e:
            msg = str(e).rsplit('wasm trap: ', 1)[-1].strip().splitlines()[0]
            r['kind'], r['message'] = ('stack-overflow' if e.trap_code == W.TrapCode.STACK_OVERFLOW else 'trap'), msg
        except HostError as e:
            r['kind'], r['message'] = 'host-error', str(e)
        except Exception as e:
            # a host error raised under a nested wasm frame may come back wrapped
            text = f'{type(e).__name__}: {e}'
            r['kind'], r['message'] = ('host-error' if 'HostError' in text or 'call-export' in text else 'error'), text.splitlines()[0][:300]
        r['fuel'] = before - store.get_fuel()
        r['logs'] = state['logs']
        out.append(r)
        if r['kind'] != 'ok' and (k == 0 or r['kind'] != 'trap'): break
    globals_, mem_hash = [], None
    if inst is not None:
        ex = inst.exports(store)
        globals_ = [fmt(t, ex[f'probe:global:{i}'].value(store)) for i, t in enumerate(job['globals'])]
        mem = ex['probe:memory'] if 'probe:memory' in [e.name for e in module.exports] else None
        if mem is not None: mem_hash = hashlib.sha256(bytes(mem.read(store, 0, mem.data_len(store)))).hexdigest()
    return {'seed': job['seed'], 'steps': out, 'globals': globals_, 'memoryHash': mem_hash}


job = json.load(sys.stdin)
sys.stdout.write(json.dumps({'version': version('wasmtime'), 'results': [run_job(j) for j in job['jobs']]}))
