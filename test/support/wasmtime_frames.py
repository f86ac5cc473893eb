"""Trap-frames oracle: wasmtime (the wasmtime PyPI package) with DWARF debug info read.

stdin, JSON: {"wasm": base64, "calls": [{"field": str, "args": [int, ...]}]}. Each call runs in a fresh
store and is expected to trap.
stdout, JSON: {"version": str, "results": [{"frames": [{"index", "offset", "name", "file", "line",
"column"}]}]}: func_index and module_offset from the trap's frames, the source position of each frame
from wasmtime's backtrace text (WASMTIME_BACKTRACE_DETAILS=1: the innermost position listed for a frame).
"""
import base64, json, os, re, sys
from importlib.metadata import version

os.environ['WASMTIME_BACKTRACE_DETAILS'] = '1'
import wasmtime as W

cfg = W.Config()
cfg.debug_info = True
engine = W.Engine(cfg)
req = json.load(sys.stdin)
module = W.Module(engine, base64.b64decode(req['wasm']))
results = []
for c in req['calls']:
    store = W.Store(engine)
    inst = W.Instance(store, module, [])
    try:
        inst.exports(store)[c['field']](store, *c['args'])
        results.append({'frames': None})
        continue
    except W.Trap as trap:
        text = str(trap)
        # "    0:     0xca - name\n                    at file:line:col" per frame
        blocks = re.split(r'\n\s+\d+:\s+0x[0-9a-f]+ - ', '\n' + text.split('\n\nCaused by')[0].split('wasm backtrace:', 1)[-1])[1:]
        positions = []
        for b in blocks:
            m = re.search(r'\n\s+at (.*?):(\d+):(\d+)', b)
            positions.append((m.group(1), int(m.group(2)), int(m.group(3))) if m else (None, None, None))
        frames = []
        for i, f in enumerate(trap.frames):
            file, line, col = positions[i] if i < len(positions) else (None, None, None)
            frames.append({'index': f.func_index, 'offset': f.module_offset, 'name': f.func_name, 'file': file, 'line': line, 'column': col})
        results.append({'frames': frames})
print(json.dumps({'version': version('wasmtime'), 'results': results}))
