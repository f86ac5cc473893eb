// Checks the committed example modules in examples/wasm/ in plain Node (no build, no dependencies):
// their imports/exports with wasm signatures, memory layout, the library's `ffi` section, and the
// documented results, running the contracts with a hand-made `host` (docs/ABI.md, "Host ABI v1") in the
// three link modes (docs/API.md): bridge (a small JS bridge following docs/ABI.md, "Bridge linking"),
// shared (one memory: library-shared + kv-shared) and standalone (kv-standalone, no library).
//
//   node examples/verify.mjs            (prints one line a check, then "N passed, N failed")
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const wasmBytes = (name) => readFileSync(join(here, 'wasm', `${name}.wasm`));
const enc = new TextEncoder();
const dec = new TextDecoder();
const hex = (b) => Buffer.from(b).toString('hex');
const sha256 = (b) => createHash('sha256').update(b).digest();

let passed = 0;
let failed = 0;
function check(name, fn) {
  try {
    fn();
    passed++;
    console.log(`ok - ${name}`);
  } catch (e) {
    failed++;
    console.log(`not ok - ${name}\n  ${(e && e.stack) || e}`);
  }
}
function eq(actual, expected, what = '') {
  const show = (v) => JSON.stringify(v, (_, x) => (typeof x === 'bigint' ? `${x}n` : x));
  const a = show(actual);
  const b = show(expected);
  if (a !== b) throw new Error(`${what} expected ${b}, got ${a}`);
}
function throwsLike(fn, pred, what) {
  try {
    fn();
  } catch (e) {
    if (!pred(e)) throw new Error(`${what}: unexpected error ${e && e.stack}`);
    return e;
  }
  throw new Error(`${what}: did not throw`);
}

// ---- a minimal reader for the sections we check --------------------------------------------------
const VALTYPE = { 0x7f: 'i32', 0x7e: 'i64', 0x7d: 'f32', 0x7c: 'f64' };
function parseModule(bytes) {
  let pos = 8;
  const u32 = () => {
    let r = 0, s = 0, b;
    do {
      b = bytes[pos++];
      r |= (b & 0x7f) << s;
      s += 7;
    } while (b & 0x80);
    return r >>> 0;
  };
  const str = () => {
    const n = u32();
    const s = dec.decode(bytes.subarray(pos, pos + n));
    pos += n;
    return s;
  };
  const limits = () => {
    const flags = bytes[pos++];
    const min = u32();
    return { min, max: flags & 1 ? u32() : undefined };
  };
  const types = [], imports = [], funcs = [], exports = {}, memories = [], customs = [], globals = [], data = [], exportIdx = {};
  let elements = 0;
  const constExpr = () => {
    const op = bytes[pos++];
    let v = 0;
    if (op === 0x41) {
      let s = 0, b;
      do {
        b = bytes[pos++];
        v |= (b & 0x7f) << s;
        s += 7;
      } while (b & 0x80);
      if (s < 32 && b & 0x40) v |= -1 << s;
    } else throw new Error(`unexpected const expr op ${op}`);
    if (bytes[pos++] !== 0x0b) throw new Error('const expr: expected end');
    return v >>> 0;
  };
  while (pos < bytes.length) {
    const id = bytes[pos++];
    const size = u32();
    const end = pos + size;
    if (id === 1) {
      for (let n = u32(); n > 0; n--) {
        pos++; // 0x60
        const params = [];
        for (let k = u32(); k > 0; k--) params.push(VALTYPE[bytes[pos++]]);
        const results = [];
        for (let k = u32(); k > 0; k--) results.push(VALTYPE[bytes[pos++]]);
        types.push(`(${params.join(', ')}) -> (${results.join(', ')})`);
      }
    } else if (id === 2) {
      for (let n = u32(); n > 0; n--) {
        const module = str(), name = str(), kind = bytes[pos++];
        if (kind === 0) {
          const t = types[u32()];
          imports.push(`${module}.${name} ${t}`);
          funcs.push(t);
        } else if (kind === 2) imports.push(`${module}.${name} memory ${JSON.stringify(limits())}`);
        else throw new Error(`unexpected import kind ${kind}`);
      }
    } else if (id === 3) {
      for (let n = u32(); n > 0; n--) funcs.push(types[u32()]);
    } else if (id === 5) {
      for (let n = u32(); n > 0; n--) memories.push(limits());
    } else if (id === 6) {
      for (let n = u32(); n > 0; n--) {
        const type = VALTYPE[bytes[pos++]], mutable = bytes[pos++] === 1;
        globals.push({ type, mutable, init: constExpr() });
      }
    } else if (id === 9) {
      elements = u32();
    } else if (id === 11) {
      for (let n = u32(); n > 0; n--) {
        const flags = u32();
        if (flags !== 0) throw new Error(`data segment flags ${flags} (only active segments of memory 0 expected)`);
        const start = constExpr(), size = u32();
        data.push([start, start + size]);
        pos += size;
      }
    } else if (id === 7) {
      for (let n = u32(); n > 0; n--) {
        const name = str(), kind = bytes[pos++], idx = u32();
        exports[name] = ['func ' + funcs[idx], 'table', 'memory', 'global'][kind];
        exportIdx[name] = idx;
        if (kind !== 0) exports[name] = ['func', 'table', 'memory', 'global'][kind];
      }
    } else if (id === 0) {
      customs.push(str());
    }
    pos = end;
  }
  return { imports, exports, exportIdx, memories, customs, globals, data, elements };
}

// Re-encodes the (single, defined) memory with a maximum: the runner's memory cap, emulated.
function withMemoryMax(bytes, maxPages) {
  const out = [bytes.subarray(0, 8)];
  let pos = 8;
  const leb = (n) => {
    const o = [];
    do {
      let b = n & 0x7f;
      n >>>= 7;
      if (n) b |= 0x80;
      o.push(b);
    } while (n);
    return o;
  };
  while (pos < bytes.length) {
    const id = bytes[pos];
    let p = pos + 1, size = 0, s = 0, b;
    do {
      b = bytes[p++];
      size |= (b & 0x7f) << s;
      s += 7;
    } while (b & 0x80);
    if (id === 5) {
      let q = p + 2, min = 0; // count = 1, flags = 0
      s = 0;
      do {
        b = bytes[q++];
        min |= (b & 0x7f) << s;
        s += 7;
      } while (b & 0x80);
      const payload = [1, 1, ...leb(min), ...leb(maxPages)];
      out.push(Buffer.from([5, ...leb(payload.length), ...payload]));
    } else out.push(bytes.subarray(pos, p + size));
    pos = p + size;
  }
  return Buffer.concat(out);
}

// ---- host ABI v1 (docs/ABI.md, "Host ABI v1") --------------------------------------------------------
class ContractPanic extends Error {}
const LEVELS = ['trace', 'debug', 'info', 'warn', 'error'];
function makeHost(input = new Uint8Array()) {
  const st = { memory: null, output: [], logs: [] };
  const mem = () => new Uint8Array(st.memory.buffer);
  st.imports = {
    input_len: () => input.length,
    input_read: (dst) => void mem().set(input, dst),
    output: (ptr, len) => void st.output.push(...mem().slice(ptr, ptr + len)),
    log: (level, ptr, len) =>
      void st.logs.push({ level: LEVELS[level], message: dec.decode(mem().slice(ptr, ptr + len)) }),
    panic: (ptr, len) => {
      throw new ContractPanic(dec.decode(mem().slice(ptr, ptr + len)));
    },
  };
  st.out = () => Buffer.from(st.output);
  return st;
}

// ---- the bridge (docs/ABI.md, "Bridge linking"), driven by the library's `ffi` section ----------------
function parseFfi(text) {
  const decls = {};
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*/, '').trim();
    if (!line) continue;
    const m = /^([A-Za-z_][A-Za-z0-9_]*)\s*\(([^)]*)\)\s*(?:->\s*(\w+))?$/.exec(line);
    if (!m) throw new Error(`bad ffi line: ${raw}`);
    const params = m[2].split(',').map((s) => s.trim()).filter(Boolean);
    decls[m[1]] = { params, result: m[3] ?? null };
  }
  return decls;
}
const lowerType = (t) => (t === 'handle' ? 'i32' : t);
function lowered(decl) {
  const params = decl.params.flatMap((t) => (t === 'bytes' ? ['i32', 'i32'] : [lowerType(t)]));
  const results = decl.result === null ? [] : [decl.result === 'bytes' ? 'i64' : lowerType(decl.result)];
  return `(${params.join(', ')}) -> (${results.join(', ')})`;
}

/** Instantiates library + contract; returns { lib, contract, host, stats }. */
function link(contractBytes, input, { libraryBytes = wasmBytes('library') } = {}) {
  const libMod = new WebAssembly.Module(libraryBytes);
  const ffiText = dec.decode(WebAssembly.Module.customSections(libMod, 'ffi')[0]);
  const decls = parseFfi(ffiText);
  const lib = new WebAssembly.Instance(libMod, {}).exports;
  const host = makeHost(input);
  const stats = { calls: 0, bytesCopied: 0 };
  let contract = null;
  const libImports = {};
  for (const [name, decl] of Object.entries(decls)) {
    const hasBytes = decl.params.includes('bytes') || decl.result === 'bytes';
    if (!hasBytes) {
      libImports[name] = lib[name]; // wired directly, wasm to wasm
      continue;
    }
    libImports[name] = (...args) => {
      stats.calls++;
      const callArgs = [], toFree = [];
      let i = 0;
      for (const t of decl.params) {
        if (t !== 'bytes') {
          callArgs.push(args[i++]);
          continue;
        }
        const ptr = args[i++] >>> 0, len = args[i++] >>> 0;
        const src = new Uint8Array(contract.memory.buffer).slice(ptr, ptr + len);
        const lp = lib.alloc(len, 1) >>> 0;
        if (lp === 0) throw new Error('library alloc failed');
        new Uint8Array(lib.memory.buffer).set(src, lp);
        stats.bytesCopied += len;
        callArgs.push(lp, len);
        toFree.push([lp, len]);
      }
      let r = lib[name](...callArgs);
      for (const [p, l] of toFree) lib.dealloc(p, l, 1);
      if (decl.result === 'bytes') {
        const v = BigInt.asUintN(64, r);
        const ptr = Number(v & 0xffffffffn), len = Number(v >> 32n);
        const data = new Uint8Array(lib.memory.buffer).slice(ptr, ptr + len);
        lib.dealloc(ptr, len, 1);
        const cp = contract.alloc(len, 1) >>> 0;
        if (cp === 0) throw new Error('contract alloc failed');
        new Uint8Array(contract.memory.buffer).set(data, cp);
        stats.bytesCopied += len;
        r = (BigInt(len) << 32n) | BigInt(cp);
      }
      return r;
    };
  }
  contract = new WebAssembly.Instance(new WebAssembly.Module(contractBytes), {
    host: host.imports,
    lib: libImports,
  }).exports;
  host.memory = contract.memory;
  return { lib, contract, host, stats, decls, ffiText };
}

function runHost(name, input = '', entry = 'main', args = []) {
  const host = makeHost(typeof input === 'string' ? enc.encode(input) : input);
  const ex = new WebAssembly.Instance(new WebAssembly.Module(wasmBytes(name)), { host: host.imports }).exports;
  host.memory = ex.memory;
  const value = ex[entry](...args);
  return { value, host, ex };
}

// Library helpers: call an export with `bytes` arguments/results by hand.
function libPut(lib, bytes) {
  const p = lib.alloc(bytes.length, 1) >>> 0;
  new Uint8Array(lib.memory.buffer).set(bytes, p);
  return [p, bytes.length];
}
function libTake(lib, v) {
  v = BigInt.asUintN(64, v);
  const ptr = Number(v & 0xffffffffn), len = Number(v >> 32n);
  const out = Buffer.from(new Uint8Array(lib.memory.buffer).slice(ptr, ptr + len));
  lib.dealloc(ptr, len, 1);
  return out;
}
function libCallBytes(lib, name, ...byteArgs) {
  const args = [], frees = [];
  for (const b of byteArgs) {
    if (typeof b === 'number') {
      args.push(b);
      continue;
    }
    const [p, l] = libPut(lib, b);
    args.push(p, l);
    frees.push([p, l]);
  }
  const r = lib[name](...args);
  for (const [p, l] of frees) lib.dealloc(p, l, 1);
  return r;
}

// SCALE compact + map encoding, written independently of the Rust code.
function compact(n) {
  if (n < 1 << 6) return [n << 2];
  if (n < 1 << 14) return [((n << 2) | 1) & 0xff, (n << 2) >> 8];
  if (n < 1 << 30) {
    const v = ((n << 2) | 2) >>> 0;
    return [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24];
  }
  return [3, n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, n >>> 24];
}
function encodeMap(entries) {
  const m = new Map();
  for (const [k, v] of entries) m.set(Buffer.from(k).toString('latin1'), Buffer.from(v));
  const keys = [...m.keys()].sort((a, b) => Buffer.compare(Buffer.from(a, 'latin1'), Buffer.from(b, 'latin1')));
  const out = [...compact(keys.length)];
  for (const k of keys) {
    const kb = Buffer.from(k, 'latin1'), vb = m.get(k);
    out.push(...compact(kb.length), ...kb, ...compact(vb.length), ...vb);
  }
  return Buffer.from(out);
}
// The kv contract's input parsing, as documented.
function kvPairs(text) {
  const pairs = [];
  for (let line of Buffer.from(text).toString('latin1').split('\n')) {
    if (line.endsWith('\r')) line = line.slice(0, -1);
    if (!line) continue;
    const i = line.indexOf('=');
    pairs.push(i < 0 ? [line, ''] : [line.slice(0, i), line.slice(i + 1)]);
  }
  return pairs.map(([k, v]) => [Buffer.from(k, 'latin1'), Buffer.from(v, 'latin1')]);
}

// ---- module shapes -----------------------------------------------------------------------------
const FFI_TEXT = readFileSync(join(here, 'library', 'ffi.txt'), 'utf8');
const COMMON = { memory: 'memory', __heap_base: 'global', __data_end: 'global' };
const ALLOC = { alloc: 'func (i32, i32) -> (i32)', dealloc: 'func (i32, i32, i32) -> ()' };
const H = {
  input_len: 'host.input_len () -> (i32)',
  input_read: 'host.input_read (i32) -> ()',
  output: 'host.output (i32, i32) -> ()',
  log: 'host.log (i32, i32, i32) -> ()',
  panic: 'host.panic (i32, i32) -> ()',
};
const SHAPES = {
  library: {
    imports: [],
    exports: {
      ...COMMON, ...ALLOC,
      map_new: 'func () -> (i32)',
      map_insert: 'func (i32, i32, i32, i32, i32) -> ()',
      map_get: 'func (i32, i32, i32) -> (i64)',
      map_len: 'func (i32) -> (i32)',
      map_encode: 'func (i32) -> (i64)',
      map_free: 'func (i32) -> ()',
      sha256: 'func (i32, i32) -> (i64)',
      hex: 'func (i32, i32) -> (i64)',
      add_i64: 'func (i64, i64) -> (i64)',
      recurse: 'func (i32) -> (i32)',
    },
  },
  hello: {
    imports: [H.input_len, H.input_read, H.log, H.output],
    exports: { ...COMMON, ...ALLOC, main: 'func () -> (i32)' },
  },
  kv: {
    imports: [
      H.input_len, H.input_read, H.log, H.output,
      'lib.add_i64 (i64, i64) -> (i64)',
      'lib.map_encode (i32) -> (i64)',
      'lib.map_free (i32) -> ()',
      'lib.map_get (i32, i32, i32) -> (i64)',
      'lib.map_insert (i32, i32, i32, i32, i32) -> ()',
      'lib.map_len (i32) -> (i32)',
      'lib.map_new () -> (i32)',
      'lib.sha256 (i32, i32) -> (i64)',
    ],
    exports: {
      ...COMMON, ...ALLOC,
      main: 'func () -> (i32)', lookup: 'func () -> (i32)', add: 'func (i64, i64) -> (i64)',
    },
  },
  compute: {
    imports: [],
    exports: { ...COMMON, sha_loop: 'func (i32) -> (i32)', sort: 'func (i32) -> (i32)' },
  },
  fib: {
    imports: [],
    exports: { ...COMMON, fib: 'func (i32) -> (i64)', depth: 'func (i32) -> (i32)' },
  },
  panic: {
    imports: [H.input_len, H.input_read, H.panic],
    exports: { ...COMMON, ...ALLOC, main: 'func () -> (i32)' },
  },
  oom: {
    imports: [],
    exports: { ...COMMON, ...ALLOC, main: 'func () -> (i32)' },
  },
  'hello-lib': {
    imports: [H.input_len, H.input_read, H.output, 'lib.hex (i32, i32) -> (i64)'],
    exports: { ...COMMON, ...ALLOC, main: 'func () -> (i32)' },
  },
};
// Shared mode: the library with a 2 MiB stack (its data and heap above 2 MiB) owns the one memory;
// the contract imports it, has no memory of its own and allocates through lib.alloc/lib.dealloc.
SHAPES['library-shared'] = { ...SHAPES.library, memories: [{ min: 33 }] };
SHAPES['kv-shared'] = {
  imports: [
    'env.memory memory {"min":17}',
    ...SHAPES.kv.imports,
    'lib.alloc (i32, i32) -> (i32)',
    'lib.dealloc (i32, i32, i32) -> ()',
    'lib.recurse (i32) -> (i32)',
  ],
  exports: {
    __heap_base: 'global', __data_end: 'global',
    main: 'func () -> (i32)', lookup: 'func () -> (i32)', add: 'func (i64, i64) -> (i64)',
    deep: 'func (i32) -> (i32)',
  },
  memories: [],
};
// Standalone: the library's code linked in, host imports only, its own memory.
SHAPES['kv-standalone'] = {
  imports: [H.input_len, H.input_read, H.log, H.output],
  exports: {
    ...COMMON,
    main: 'func () -> (i32)', lookup: 'func () -> (i32)', add: 'func (i64, i64) -> (i64)',
  },
};
// Layout (global 0 = __stack_pointer, then the data segments [start, end)), as documented in README.md.
const MiB = 0x100000;
const LAYOUT = {
  library: { sp: MiB, dataFrom: MiB, below: MiB + 0x10000 },
  'library-shared': { sp: 2 * MiB, dataFrom: 2 * MiB, below: 2 * MiB + 0x10000 },
  'kv-shared': { sp: MiB, dataFrom: MiB, below: MiB + 0x1000 },
  'kv-standalone': { sp: MiB, dataFrom: MiB, below: MiB + 0x10000 },
};

for (const [name, shape] of Object.entries(SHAPES)) {
  check(`${name}: valid, imports and exports with their signatures`, () => {
    const bytes = wasmBytes(name);
    if (!WebAssembly.validate(bytes)) throw new Error('does not validate');
    if (bytes.length > 100 * 1024) throw new Error(`too large: ${bytes.length}`);
    const m = parseModule(bytes);
    eq([...m.imports].sort(), [...shape.imports].sort(), 'imports');
    eq(Object.keys(m.exports).sort(), Object.keys(shape.exports).sort(), 'export names');
    for (const [k, v] of Object.entries(shape.exports)) eq(m.exports[k], v, `export ${k}`);
    eq(m.memories, shape.memories ?? [{ min: 17 }], 'memory (1 MiB stack + data, no maximum)');
    const lay = LAYOUT[name];
    if (lay) {
      eq(m.globals[0], { type: 'i32', mutable: true, init: lay.sp }, '__stack_pointer (global 0)');
      for (const [a, b] of m.data) {
        if (!(a >= lay.dataFrom && b <= lay.below)) throw new Error(`data segment [${a.toString(16)}, ${b.toString(16)}) out of place`);
      }
      const heapBase = m.globals[m.exportIdx.__heap_base];
      if (!(heapBase.init >= Math.max(...m.data.map(([, b]) => b)))) throw new Error('__heap_base below the data');
    }
  });
}

check('library, library-shared: `ffi` custom section is exactly library/ffi.txt, and matches the exports', () => {
  for (const name of ['library', 'library-shared']) {
    const mod = new WebAssembly.Module(wasmBytes(name));
    const secs = WebAssembly.Module.customSections(mod, 'ffi');
    eq(secs.length, 1, `${name}: ffi sections`);
    eq(dec.decode(secs[0]), FFI_TEXT, `${name}: ffi text`);
    eq(secs[0].byteLength, 422, `${name}: ffi section payload size`);
  }
  // the section documents itself with the project's own docs, which ship with it
  if (!FFI_TEXT.includes('docs/ABI.md')) throw new Error('the ffi text should point at docs/ABI.md');
  const decls = parseFfi(FFI_TEXT);
  eq(Object.keys(decls), ['map_new', 'map_insert', 'map_get', 'map_len', 'map_encode', 'map_free', 'sha256', 'hex', 'add_i64', 'recurse']);
  for (const [n, d] of Object.entries(decls)) eq(SHAPES.library.exports[n], `func ${lowered(d)}`, `lowered ${n}`);
  for (const contract of ['kv', 'kv-shared']) {
    for (const imp of SHAPES[contract].imports.filter((s) => s.startsWith('lib.'))) {
      const [, n, sig] = /^lib\.(\w+) (.*)$/.exec(imp);
      if (contract === 'kv-shared' && (n === 'alloc' || n === 'dealloc')) eq(`func ${sig}`, ALLOC[n], `kv-shared import ${n}`);
      else eq(sig, lowered(decls[n]), `${contract} import ${n}`);
    }
  }
  for (const name of ['kv', 'kv-shared', 'kv-standalone']) {
    eq(WebAssembly.Module.customSections(new WebAssembly.Module(wasmBytes(name)), 'ffi').length, 0, `${name}: no ffi section`);
  }
});

// ---- library, called directly -------------------------------------------------------------------------
const newLib = () => new WebAssembly.Instance(new WebAssembly.Module(wasmBytes('library')), {}).exports;

check('library: sha256 known vectors and padding boundaries (vs node:crypto)', () => {
  const lib = newLib();
  const vectors = [
    ['', 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'],
    ['abc', 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'],
    ['abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq', '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1'],
    ['a'.repeat(1000000), 'cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0'],
  ];
  for (const [msg, want] of vectors) eq(hex(libTake(lib, libCallBytes(lib, 'sha256', enc.encode(msg)))), want, `sha256(${msg.slice(0, 8)}..)`);
  for (const n of [1, 55, 56, 57, 63, 64, 65, 119, 120, 127, 128, 129, 1000]) {
    const b = Buffer.alloc(n, 0).map((_, i) => (i * 7 + n) & 0xff);
    eq(hex(libTake(lib, libCallBytes(lib, 'sha256', b))), hex(sha256(b)), `sha256 of ${n} bytes`);
  }
});

check('library: hex, add_i64 (wrapping)', () => {
  const lib = newLib();
  eq(libTake(lib, libCallBytes(lib, 'hex', Buffer.from([0x00, 0x01, 0xab, 0xff]))).toString(), '0001abff');
  eq(libTake(lib, libCallBytes(lib, 'hex', Buffer.alloc(0))).toString(), '');
  eq(lib.add_i64(40n, 2n), 42n);
  eq(lib.add_i64(9223372036854775807n, 1n), -9223372036854775808n);
  eq(lib.add_i64(-5n, -7n), -12n);
});

check('library: map_new/insert/get/len/encode/free, SCALE compact lengths 1, 2 and 4 bytes', () => {
  const lib = newLib();
  const h = lib.map_new();
  if (h === 0) throw new Error('null handle');
  const pairs = [
    ['b', '2'], ['a', '1'], ['a', 'one'], ['', 'empty key'], ['long', 'x'.repeat(70)],
    ['huge', 'y'.repeat(16384)], ['\u00ff', ''], ['aa', 'z'],
  ].map(([k, v]) => [Buffer.from(k, 'latin1'), Buffer.from(v, 'latin1')]);
  for (const [k, v] of pairs) libCallBytes(lib, 'map_insert', h, k, v);
  eq(lib.map_len(h), 7, 'map_len');
  eq(libTake(lib, libCallBytes(lib, 'map_get', h, enc.encode('a'))).toString(), 'one');
  eq(libTake(lib, libCallBytes(lib, 'map_get', h, enc.encode('missing'))).length, 0);
  const got = libTake(lib, lib.map_encode(h));
  eq(hex(got), hex(encodeMap(pairs)), 'map_encode');
  eq(hex(got.subarray(0, 1)), '1c', 'compact(7)');
  eq(hex(Buffer.from(compact(70))), '1901');
  eq(hex(Buffer.from(compact(16384))), '02000100');
  eq(hex(Buffer.from(compact(2 ** 30))), '0300000040');
  lib.map_free(h);
  const h2 = lib.map_new();
  eq(hex(libTake(lib, lib.map_encode(h2))), '00', 'empty map encodes as compact(0)');
  lib.map_free(h2);
});

// recurse(n): the library's frames on its shadow stack, as a JS model.
function jsRecurse(n) {
  let sum = n > 0 ? jsRecurse(n - 1) >>> 0 : 0;
  for (let i = 0; i < 128; i++) {
    const w = Math.imul((Math.imul(n, 128) + i + 1) >>> 0, 0x9e3779b9) >>> 0;
    sum = Math.imul((sum ^ w) >>> 0, 0x01000193) >>> 0;
  }
  return sum | 0;
}
/** The lowest non-zero byte of [from, to) (the deepest stack write, in a fresh memory). */
function lowestDirty(memory, from, to) {
  const m = new Uint8Array(memory.buffer);
  for (let a = from; a < to; a++) if (m[a] !== 0) return a;
  return to;
}
const FRAME_BYTES = 512; // measured below: recurse moves __stack_pointer down by 512 per activation
check('library: recurse(n) = the JS model, 512 bytes of shadow stack per activation (n + 1 activations)', () => {
  for (const n of [-3, 0, 1, 2, 10, 100, 1000]) eq(newLib().recurse(n), jsRecurse(n), `recurse(${n})`);
  eq([newLib().recurse(0), newLib().recurse(10), newLib().recurse(1000)], [-1892358016, -1189504128, jsRecurse(1000)], 'documented values');
  for (const n of [0, 1, 10, 100, 1000]) {
    const lib = newLib();
    lib.recurse(n);
    eq(0x100000 - lowestDirty(lib.memory, 0, 0x100000), (n + 1) * FRAME_BYTES, `stack bytes used by recurse(${n})`);
  }
  // Bridge mode, own memory: the 1 MiB stack holds 2048 activations; one more runs below address 0.
  eq(newLib().recurse(2047), jsRecurse(2047), 'recurse(2047) uses the whole 1 MiB stack');
  throwsLike(() => newLib().recurse(2048), (e) => e instanceof WebAssembly.RuntimeError && /out of bounds/.test(e.message), 'recurse(2048)');
});

check('library: a bad handle traps (unreachable)', () => {
  const lib = newLib();
  throwsLike(() => lib.map_len(16), (e) => e instanceof WebAssembly.RuntimeError, 'map_len(16)');
});

check('library: allocator reuses freed blocks (LIFO per size class), aligns, is deterministic', () => {
  const a = newLib(), b = newLib();
  const seq = (lib) => {
    const out = [];
    const p1 = lib.alloc(100, 1), p2 = lib.alloc(100, 1), p3 = lib.alloc(24, 8);
    out.push(p1, p2, p3);
    lib.dealloc(p1, 100, 1);
    out.push(lib.alloc(128, 4)); // same 128-byte class: reuses p1
    out.push(lib.alloc(4096, 4096), lib.alloc(0, 1), lib.alloc(0, 8), lib.alloc(8, 3), lib.alloc(1, 8192));
    return out;
  };
  const s1 = seq(a), s2 = seq(b);
  eq(s1, s2, 'same addresses in two instances');
  eq(s1[3], s1[0], 'freed block reused');
  eq(s1[2] % 8, 0, 'align 8');
  eq(s1[4] % 4096, 0, 'align 4096');
  eq(s1.slice(5), [1, 8, 0, 0], 'zero-size -> align; bad align / align > 4096 -> 0');
  eq(a.alloc(0x80000001, 1), 0, 'size above 2 GiB -> 0');
  eq(a.alloc(0xffffffff, 1), 0, 'size above 2 GiB -> 0');
  const heapBase = a.__heap_base.value;
  if (!(s1[0] >= heapBase)) throw new Error('heap below __heap_base');
});

// ---- hello ------------------------------------------------------------------------------------------
check('hello: "world" -> output "hello, world", log info "hello called", returns 5', () => {
  const { value, host } = runHost('hello', 'world');
  eq(value, 5);
  eq(hex(host.out()), '68656c6c6f2c20776f726c64');
  eq(host.logs, [{ level: 'info', message: 'hello called' }]);
});
check('hello: empty input -> "hello, ", returns 0', () => {
  const { value, host } = runHost('hello', '');
  eq(value, 0);
  eq(host.out().toString(), 'hello, ');
});
check('hello: 100 KiB input', () => {
  const input = Buffer.alloc(100 * 1024, 0x61);
  const { value, host } = runHost('hello', input);
  eq(value, input.length);
  eq(hex(sha256(host.out())), hex(sha256(Buffer.concat([Buffer.from('hello, '), input]))));
});

// ---- kv (bridge) ------------------------------------------------------------------------------------
const KV_EXAMPLE = 'b=2\na=1\nc=3\n';
const KV_EXAMPLE_ENC = '0c046104310462043204630433';
check(`kv: main on ${JSON.stringify(KV_EXAMPLE)} (the README's worked example)`, () => {
  const { contract, host, stats } = link(wasmBytes('kv'), enc.encode(KV_EXAMPLE));
  eq(contract.main(), 3);
  const out = host.out();
  eq(hex(out.subarray(0, 13)), KV_EXAMPLE_ENC, 'map_encode bytes');
  eq(hex(out.subarray(13)), hex(sha256(Buffer.from(KV_EXAMPLE_ENC, 'hex'))), 'sha256');
  eq(hex(out.subarray(13)), '2012960592cce51919247b62e02ea6753292e543c287c3d0348d4191501a6e92', 'sha256 literal');
  eq(host.logs, [{ level: 'info', message: 'kv: 3 entries' }]);
  eq(stats, { calls: 5, bytesCopied: 2 * 3 + 13 + 13 + 32 }, 'bridge calls and bytes');
});
check('kv: CRLF, duplicate keys, a line without "=", empty lines, empty value', () => {
  const input = 'name=alice\r\nname=bob\nflag\n\nempty=\n=novalue-key\nx=a=b';
  const { contract, host } = link(wasmBytes('kv'), enc.encode(input));
  eq(contract.main(), 5);
  const want = encodeMap(kvPairs(input));
  eq(hex(host.out()), hex(Buffer.concat([want, sha256(want)])));
  eq(host.logs[0].message, 'kv: 5 entries');
});
check('kv: empty input -> "00" + sha256("00"), returns 0', () => {
  const { contract, host } = link(wasmBytes('kv'), new Uint8Array());
  eq(contract.main(), 0);
  eq(hex(host.out()), '00' + hex(sha256(Buffer.from([0]))));
  eq(hex(host.out()), '006e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d');
  eq(host.logs[0].message, 'kv: 0 entries');
});
check('kv: 1000 random pairs', () => {
  let x = 12345;
  const rnd = () => ((x = (x * 1103515245 + 12345) >>> 0) >>> 8) % 1000;
  const lines = [];
  for (let i = 0; i < 1000; i++) lines.push(`k${rnd()}=${'v'.repeat(rnd() % 100)}${i}`);
  const input = lines.join('\n');
  const { contract, host } = link(wasmBytes('kv'), enc.encode(input));
  const n = contract.main();
  const want = encodeMap(kvPairs(input));
  eq(n, new Set(kvPairs(input).map(([k]) => k.toString())).size);
  eq(hex(sha256(host.out())), hex(sha256(Buffer.concat([want, sha256(want)]))));
});
check('kv: lookup and add (directly wired add_i64)', () => {
  let r = link(wasmBytes('kv'), enc.encode('name\nname=alice\nage=30'));
  eq(r.contract.lookup(), 5);
  eq(r.host.out().toString(), 'alice');
  r = link(wasmBytes('kv'), enc.encode('zzz\na=1'));
  eq(r.contract.lookup(), 0);
  eq(r.host.out().length, 0);
  eq(r.stats.calls, 2, 'map_insert + map_get went through the bridge');
  eq(r.contract.add(40n, 2n), 42n);
  eq(r.contract.add(9223372036854775807n, 1n), -9223372036854775808n);
  eq(r.stats.calls, 2, 'add_i64 did not go through the bridge');
});
check('kv: no leaks: 300 runs in the same instances keep both memories at their size after run 1', () => {
  const input = Buffer.from(Array.from({ length: 200 }, (_, i) => `key${i}=${'v'.repeat(i)}`).join('\n'));
  const r = link(wasmBytes('kv'), input);
  r.contract.main();
  const sizes = [r.lib.memory.buffer.byteLength, r.contract.memory.buffer.byteLength];
  const first = r.host.out();
  for (let i = 0; i < 300; i++) {
    r.host.output.length = 0;
    r.contract.main();
  }
  eq([r.lib.memory.buffer.byteLength, r.contract.memory.buffer.byteLength], sizes);
  eq(hex(r.host.out()), hex(first), 'same output each run');
});

// ---- the three link modes: bridge (kv + library), shared (kv-shared + library-shared), standalone ------
/** Shared mode: one memory (the library's); the contract imports it and calls the library directly. */
function linkShared(input = new Uint8Array()) {
  const lib = new WebAssembly.Instance(new WebAssembly.Module(wasmBytes('library-shared')), {}).exports;
  const host = makeHost(input);
  host.memory = lib.memory;
  const contract = new WebAssembly.Instance(new WebAssembly.Module(wasmBytes('kv-shared')), {
    env: { memory: lib.memory },
    lib,
    host: host.imports,
  }).exports;
  return { lib, contract, host };
}
/** Standalone: the library's code is inside the contract; host imports only. */
function linkStandalone(input = new Uint8Array()) {
  const host = makeHost(input);
  const contract = new WebAssembly.Instance(new WebAssembly.Module(wasmBytes('kv-standalone')), { host: host.imports }).exports;
  host.memory = contract.memory;
  return { contract, host };
}
const MODES = {
  bridge: (input) => link(wasmBytes('kv'), input),
  shared: linkShared,
  standalone: linkStandalone,
};
function runMode(mode, input, entry, args = []) {
  const { contract, host } = MODES[mode](typeof input === 'string' ? enc.encode(input) : input);
  const value = contract[entry](...args);
  return { value, output: hex(host.out()), logs: host.logs };
}
const BIG_INPUT = Array.from({ length: 2000 }, (_, i) => `key${(i * 7919) % 1500}=${'v'.repeat(i % 37)}${i}`).join('\n');
const MODE_INPUTS = {
  'the worked example': KV_EXAMPLE,
  'empty input': '',
  'duplicate keys, CRLF, no "=", empty lines': 'a=1\na=2\r\nb\n\n\nb=3\na=4\n=x\n',
  '2000 lines': BIG_INPUT,
};
for (const [what, input] of Object.entries(MODE_INPUTS)) {
  check(`kv in the three link modes: identical main() and lookup() on ${what}`, () => {
    const want = encodeMap(kvPairs(input));
    for (const entry of ['main', 'lookup']) {
      const r = Object.fromEntries(Object.keys(MODES).map((m) => [m, runMode(m, input, entry)]));
      eq(r.shared, r.bridge, `${entry}: shared vs bridge`);
      eq(r.standalone, r.bridge, `${entry}: standalone vs bridge`);
      if (entry === 'main') {
        eq(r.bridge.output, hex(Buffer.concat([want, sha256(want)])), 'main output vs the JS encoder');
        eq(r.bridge.logs, [{ level: 'info', message: `kv: ${r.bridge.value} entries` }]);
      }
    }
  });
}
check('kv in the three link modes: lookup on "name\\nname=alice\\nage=30", add(40, 2), add(i64::MAX, 1)', () => {
  for (const mode of Object.keys(MODES)) {
    eq(runMode(mode, 'name\nname=alice\nage=30', 'lookup'), { value: 5, output: hex(Buffer.from('alice')), logs: [] }, `${mode} lookup`);
    eq(runMode(mode, '', 'add', [40n, 2n]).value, 42n, `${mode} add`);
    eq(runMode(mode, '', 'add', [9223372036854775807n, 1n]).value, -9223372036854775808n, `${mode} add wraps`);
  }
});
check('kv-shared: no memory of its own, its allocations are in the library heap, no leaks over 300 runs', () => {
  const input = Buffer.from(Array.from({ length: 200 }, (_, i) => `key${i}=${'v'.repeat(i)}`).join('\n'));
  const r = linkShared(input);
  eq(r.contract.memory, undefined, 'no exported memory');
  const heapBase = r.lib.__heap_base.value;
  if (!(heapBase > 2 * MiB)) throw new Error(`library heap base ${heapBase} not above 2 MiB`);
  const probe = r.lib.alloc(16, 1);
  if (!(probe >= heapBase)) throw new Error('library alloc below its heap base');
  r.lib.dealloc(probe, 16, 1);
  r.contract.main();
  const size = r.lib.memory.buffer.byteLength;
  const first = r.host.out();
  for (let i = 0; i < 300; i++) {
    r.host.output.length = 0;
    r.contract.main();
  }
  eq(r.lib.memory.buffer.byteLength, size, 'shared memory size after 300 runs');
  eq(hex(r.host.out()), hex(first), 'same output each run');
});
check('kv-standalone: no library needed, much bigger than kv.wasm', () => {
  const sizes = ['kv', 'kv-shared', 'kv-standalone', 'library'].map((n) => wasmBytes(n).length);
  if (!(sizes[2] > 3 * sizes[0] && sizes[2] > sizes[3])) throw new Error(`sizes ${sizes}`);
  const { value } = runMode('standalone', KV_EXAMPLE, 'main');
  eq(value, 3);
});

// ---- deep(n): the library's stack in shared mode, unguarded ------------------------------------------
// library-shared: __stack_pointer 0x200000, so its stack room is [kv-shared's data end, 0x200000);
// kv-shared's data (TABLE first) is [0x100000, 0x10004c). recurse(n) = n + 1 frames of 512 bytes.
const TABLE_CHECKSUM = '7b9e7632';
check('kv-shared: deep(10), deep(1000), deep(2046) return 1 (the library stack stays above the contract data)', () => {
  for (const n of [0, 10, 1000, 2046]) {
    const r = linkShared();
    eq(r.contract.deep(n), 1, `deep(${n})`);
    eq(hex(r.host.out()), TABLE_CHECKSUM + TABLE_CHECKSUM, `deep(${n}) output: checksum before, after`);
    eq(lowestDirty(r.lib.memory, MiB + 0x4c, 2 * MiB), 2 * MiB - (n + 1) * FRAME_BYTES, `deep(${n}): lowest library frame`);
  }
});
check('kv-shared: deep(2047) and deep(3000) return 0: the library stack ran over the contract data (no trap)', () => {
  for (const n of [2047, 3000, 4095]) {
    const r = linkShared();
    eq(r.contract.deep(n), 0, `deep(${n})`);
    const out = hex(r.host.out());
    eq(out.slice(0, 8), TABLE_CHECKSUM, 'checksum before');
    if (out.slice(8) === TABLE_CHECKSUM) throw new Error('checksum after unchanged');
  }
  // 3001 frames = 1,536,512 bytes: the deepest frame starts at 0x88e00, in the contract's stack region.
  const r = linkShared();
  r.contract.deep(3000);
  eq(lowestDirty(r.lib.memory, 0, 2 * MiB), 2 * MiB - 3001 * FRAME_BYTES, 'deep(3000): lowest library frame');
  eq(2 * MiB - 3001 * FRAME_BYTES, 0x88e00);
});
check('kv-shared: deep(4096) and deep(5000) trap (memory access out of bounds: the library stack passed address 0)', () => {
  for (const n of [4096, 5000]) {
    const r = linkShared();
    throwsLike(() => r.contract.deep(n), (e) => e instanceof WebAssembly.RuntimeError && /out of bounds/.test(e.message), `deep(${n})`);
    eq(r.host.out().length, 0, 'no output');
  }
});

// ---- hello-lib (bridge) -----------------------------------------------------------------------------
check('hello-lib: "hi!" -> output "686921", returns 3', () => {
  const { contract, host, stats } = link(wasmBytes('hello-lib'), enc.encode('hi!'));
  eq(contract.main(), 3);
  eq(host.out().toString(), '686921');
  eq(stats, { calls: 1, bytesCopied: 9 });
});

// ---- panic ------------------------------------------------------------------------------------------
check('panic: input "alice" -> host.panic("contract refused: alice")', () => {
  const e = throwsLike(() => runHost('panic', 'alice'), (e) => e instanceof ContractPanic, 'main');
  eq(e.message, 'contract refused: alice');
});

// ---- compute ----------------------------------------------------------------------------------------
function jsShaLoop(n) {
  const st = Buffer.from(Array.from({ length: 64 }, (_, i) => i));
  for (let i = 0; i < n; i++) sha256(st).copy(st, 0);
  return st.readInt32LE(0);
}
function jsSort(n) {
  if (n <= 0) return 0;
  const v = new Uint32Array(n);
  let x = 2463534242;
  for (let i = 0; i < n; i++) {
    x = (x ^ (x << 13)) >>> 0;
    x = (x ^ (x >>> 17)) >>> 0;
    x = (x ^ (x << 5)) >>> 0;
    v[i] = x;
  }
  v.sort();
  let c = 0;
  for (const e of v) c = (Math.imul(c, 31) + e) >>> 0;
  return c | 0;
}
check('compute: sha_loop(0, 1, 2, 1000) (vs node:crypto)', () => {
  const ex = new WebAssembly.Instance(new WebAssembly.Module(wasmBytes('compute')), {}).exports;
  eq(ex.sha_loop(0), 0x03020100);
  for (const n of [1, 2, 1000]) eq(ex.sha_loop(n), jsShaLoop(n), `sha_loop(${n})`);
  eq([ex.sha_loop(1), ex.sha_loop(1000), ex.sha_loop(100000)], [-1397101827, 1388011755, -310516008], 'documented values');
});
check('compute: sort(0, 1, 2, 10, 1000, 100000) (vs a JS model)', () => {
  const ex = new WebAssembly.Instance(new WebAssembly.Module(wasmBytes('compute')), {}).exports;
  for (const n of [0, -1, 1, 2, 10, 1000, 100000]) eq(ex.sort(n), jsSort(n), `sort(${n})`);
  eq([ex.sort(1), ex.sort(10), ex.sort(1000), ex.sort(100000), ex.sort(1000000)],
    [723471715, -1600791227, 1711063396, 1611802089, 886730934], 'documented values');
});

// ---- fib --------------------------------------------------------------------------------------------
check('fib: fib(0..25), fib(30) = 832040, fib(n < 2) = n, depth(n) = max(n, 0), deep recursion overflows', () => {
  const ex = new WebAssembly.Instance(new WebAssembly.Module(wasmBytes('fib')), {}).exports;
  let a = 0n, b = 1n;
  for (let n = 0; n <= 25; n++) {
    eq(ex.fib(n), a, `fib(${n})`);
    [a, b] = [b, a + b];
  }
  eq([ex.fib(10), ex.fib(20), ex.fib(30)], [55n, 6765n, 832040n]);
  eq(ex.fib(-3), -3n, 'n < 2 returns n');
  eq(ex.depth(0), 0);
  eq(ex.depth(-7), 0);
  eq(ex.depth(1000), 1000);
  throwsLike(() => ex.depth(1e8), (e) => e instanceof RangeError, 'depth(1e8) overflows V8 stack');
});

// ---- oom --------------------------------------------------------------------------------------------
check('oom: with a 64-page memory cap, main grows to the cap, then traps with unreachable', () => {
  const capped = withMemoryMax(wasmBytes('oom'), 64);
  eq(parseModule(capped).memories, [{ min: 17, max: 64 }]);
  const ex = new WebAssembly.Instance(new WebAssembly.Module(capped), {}).exports;
  throwsLike(() => ex.main(), (e) => e instanceof WebAssembly.RuntimeError && /unreachable/.test(e.message), 'main');
  eq(ex.memory.buffer.byteLength / 65536, 64, 'pages at the trap (exactly the cap)');
});

console.log(`\n${passed} passed, ${failed} failed`);
process.exitCode = failed ? 1 : 0;
