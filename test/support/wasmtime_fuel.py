"""Fuel oracle: runs WebAssembly on real wasmtime (the wasmtime PyPI package) and reports fuel per step.

stdin, JSON: {"sessions": [{"name": str, "steps": [step, ...]}, ...]}; each session gets its own Store
(fuel on, 2**62 of it) with the spec suite's `spectest` module. Steps, in order:
  {"op": "module", "id": any, "file": path | "wasm": base64, "name"?: str, "transient"?: bool}
      instantiate (start runs); a transient one (assert_trap, ...) does not become the current module
  {"op": "register", "id": any, "as": str, "name"?: str}                   exports importable as `as`
  {"op": "invoke", "id": any, "module"?: str, "field": str, "args": [{"type", "value"}]}
Imports are resolved by name: registered modules, then `spectest`. Values are spec-JSON bit patterns.
stdout, JSON: {"version": str, "sessions": [[{"id", "kind": ok|trap|exhaustion|error, "fuel",
"values"?, "message"?}, ...], ...]}; `fuel` is get_fuel() before minus after the step. Calls whose type
has v128 or f32 go through a generated wasm thunk (bit-exact values through memory); its own cost,
2 + 2 per param (1 per ref) + 4 per result (2 per ref), is subtracted.
"""
import base64, json, struct, sys
from importlib.metadata import version
import wasmtime as W

FUEL = 2**62
cfg = W.Config(); cfg.consume_fuel = True
engine = W.Engine(cfg)
LD = {'i32': 'i32', 'i64': 'i64', 'f32': 'f32', 'f64': 'f64', 'v128': 'v128'}
is_ref = lambda t: t in ('funcref', 'externref')

def spectest(store):
    f = lambda *ps: W.Func(store, W.FuncType([getattr(W.ValType, p)() for p in ps], []), lambda *a: None)
    g = lambda t, v: W.Global(store, W.GlobalType(getattr(W.ValType, t)(), False), getattr(W.Val, t)(v))
    return {'print': f(), 'print_i32': f('i32'), 'print_i64': f('i64'), 'print_f32': f('f32'),
            'print_f64': f('f64'), 'print_i32_f32': f('i32', 'f32'), 'print_f64_f64': f('f64', 'f64'),
            'global_i32': g('i32', 666), 'global_i64': g('i64', 666), 'global_f32': g('f32', 666.6),
            'global_f64': g('f64', 666.6), 'memory': W.Memory(store, W.MemoryType(W.Limits(1, 2))),
            'table': W.Table(store, W.TableType(W.ValType.funcref(), W.Limits(10, 20)), None)}

def arg(t, a):  # a direct-call argument (no v128/f32 here)
    v = a.get('value')
    if t == 'i32': return W.Val.i32(int(v) & 0xffffffff if int(v) < 2**31 else int(v) - 2**32)
    if t == 'i64': return W.Val.i64(int(v) - 2**64 if int(v) >= 2**63 else int(v))
    if t == 'f64': return W.Val.f64(struct.unpack('<d', struct.pack('<Q', int(v)))[0])
    if v == 'null': return W.Val.ref_null(getattr(W.ValType, t)())
    if t == 'externref': return W.Val.externref(int(v))
    raise ValueError(f'unsupported argument {a}')

def show(t, v):
    if t == 'i32': return f'i32:{v & 0xffffffff}'
    if t == 'i64': return f'i64:{v & 0xffffffffffffffff}'
    if t == 'f64': return f"f64:{struct.unpack('<Q', struct.pack('<d', v))[0]}"
    if v is None: return f'{t}:null'
    return 'funcref:func' if t == 'funcref' else f'externref:{v}'

def bits(t, a):  # a memory slot (16 bytes) holding the argument
    if t == 'v128':
        w = {'i8': 1, 'i16': 2, 'i32': 4, 'i64': 8, 'f32': 4, 'f64': 8}[a['lane_type']]
        return b''.join((int(x) % (1 << 8 * w)).to_bytes(w, 'little') for x in a['value'])
    return (int(a['value']) % (1 << (64 if t in ('i64', 'f64') else 32))).to_bytes(16, 'little')

thunks = {}
def thunk_module(ps, rs):
    key = (tuple(ps), tuple(rs))
    if key in thunks: return thunks[key]
    refs = [p for p in ps if is_ref(p)]
    body, k = [], 0
    for i, p in enumerate(ps):
        if is_ref(p): body.append(f'local.get {k}'); k += 1
        else: body.append(f'i32.const {16 * i} {p}.load')
    body.append('call $f')
    body += [f'local.set {len(refs) + j}' for j in reversed(range(len(rs)))]
    body += [f'i32.const {16 * (len(ps) + j)} local.get {len(refs) + j} {r}.store' for j, r in enumerate(rs) if not is_ref(r)]
    body += [f'local.get {len(refs) + j}' for j, r in enumerate(rs) if is_ref(r)]
    wat = (f'(module (import "h" "f" (func $f (param {" ".join(ps)}) (result {" ".join(rs)})))'
           f'(memory (export "m") 1) (func (export "run") (param {" ".join(refs)}) (result {" ".join(r for r in rs if is_ref(r))})'
           f'(local {" ".join(rs)}) {" ".join(body)}))')
    thunks[key] = W.Module(engine, W.wat2wasm(wat))
    return thunks[key]

def thunk_call(store, func, ps, rs, args, r, bound):
    key = (id(func), tuple(ps), tuple(rs))
    if key not in bound: bound[key] = W.Instance(store, thunk_module(ps, rs), [func]).exports(store)
    ex = bound[key]
    mem = ex['m']
    for i, p in enumerate(ps):
        if not is_ref(p): mem.write(store, bits(p, args[i]), 16 * i)
    entry = 2 + sum(1 if is_ref(p) else 2 for p in ps)  # the thunk's cost up to its call
    before = store.get_fuel()
    try:
        out = ex['run'](store, *[arg(p, a) for p, a in zip(ps, args) if is_ref(p)])
    finally:
        r['fuel'] = before - store.get_fuel() - entry
    r['fuel'] -= sum(2 if is_ref(x) else 4 for x in rs)
    nref = sum(1 for x in rs if is_ref(x))
    out = out if nref > 1 else [out] if nref else []
    vals, it = [], iter(out)
    for j, r in enumerate(rs):
        raw = mem.read(store, 16 * (len(ps) + j), 16 * (len(ps) + j) + 16)
        if is_ref(r): vals.append(show(r, next(it)))
        elif r == 'v128': vals.append('v128:' + raw.hex())
        else: vals.append(f"{r}:{int.from_bytes(raw[:8 if r in ('i64', 'f64') else 4], 'little')}")
    return vals

cache = {}
def compiled(s):
    if 'file' in s and s['file'] in cache: return cache[s['file']]
    m = W.Module(engine, base64.b64decode(s['wasm']) if 'wasm' in s else open(s['file'], 'rb').read())
    if 'file' in s: cache[s['file']] = m
    return m

def run_session(steps):
    store = W.Store(engine); store.set_fuel(FUEL)
    registry, named, current, out, exports = {'spectest': spectest(store)}, {}, None, [], {}
    funcs, bound = {}, {}  # per (instance, field): the Func, and the thunk instance bound to it
    for s in steps:
        before = store.get_fuel()
        r = {'id': s.get('id')}
        try:
            if s['op'] == 'module':
                if not s.get('transient'): current = None  # assert_trap/unlinkable/uninstantiable: transient
                m = compiled(s)
                ext = [registry.get(i.module, {}).get(i.name) for i in m.imports]
                if None in ext: raise LookupError('unknown import')
                inst = W.Instance(store, m, ext)
                if not s.get('transient'): current = inst
                if 'name' in s: named[s['name']] = inst
            elif s['op'] == 'register':
                inst = named[s['name']] if 'name' in s else current
                registry[s['as']] = inst.exports(store)
            else:
                inst = named[s['module']] if 'module' in s else current
                if id(inst) not in exports: exports[id(inst)] = (inst, inst.exports(store))
                if (id(inst), s['field']) not in funcs: funcs[id(inst), s['field']] = exports[id(inst)][1][s['field']]
                func = funcs[id(inst), s['field']]
                if 'params' in s: ps, rs = s['params'], s['results']  # wasmtime-py aborts on v128 types
                else: ty = func.type(store); ps, rs = [str(p) for p in ty.params], [str(x) for x in ty.results]
                if any(t in ('v128', 'f32') for t in ps + rs):
                    r['values'] = thunk_call(store, func, ps, rs, s['args'], r, bound)
                else:
                    res = func(store, *[arg(p, a) for p, a in zip(ps, s['args'])])
                    res = res if len(rs) > 1 else [res] if rs else []
                    r['values'] = [show(t, v) for t, v in zip(rs, res)]
            r['kind'] = 'ok'
        except W.Trap as e:
            msg = str(e).rsplit('wasm trap: ', 1)[-1].strip().splitlines()[0]
            r['kind'], r['message'] = ('exhaustion' if e.trap_code == W.TrapCode.STACK_OVERFLOW else 'trap'), msg
        except Exception as e:  # link errors, harness limits, anything else
            r['kind'], r['message'] = 'error', f'{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ""}'
        r.setdefault('fuel', before - store.get_fuel())
        out.append(r)
    return out

job = json.load(sys.stdin)
sys.stdout.write(json.dumps({'version': version('wasmtime'), 'sessions': [run_session(s['steps']) for s in job['sessions']]}))
