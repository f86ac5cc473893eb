// Post-link fix-up for the example modules (plain Node, no dependencies).
//
//   node postlink.mjs <in.wasm> <out.wasm>
//
// LLVM's wasm backend treats a zero-argument `int main()` specially (WebAssemblyFixFunctionBitcasts):
// it renames it to `__original_main` and exports a C-style wrapper `main(argc: i32, argv: i32) -> i32`.
// The runner's ABI calls `main() -> i32`, so this script exports `__original_main` under the name
// `main` (dropping the wrapper's export and renaming both in the `name` section). Every other byte,
// including the `ffi` custom section, is copied unchanged. Modules without `__original_main` are
// copied as they are. The result is checked with WebAssembly.validate.
import { readFileSync, writeFileSync } from 'node:fs';

function readU32(buf, pos) {
  let result = 0, shift = 0, b;
  do {
    b = buf[pos++];
    result |= (b & 0x7f) << shift;
    shift += 7;
  } while (b & 0x80);
  return [result >>> 0, pos];
}

function u32(n) {
  const out = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

function name(s) {
  const b = Buffer.from(s, 'utf8');
  return [...u32(b.length), ...b];
}

function readName(buf, pos) {
  let len;
  [len, pos] = readU32(buf, pos);
  return [buf.subarray(pos, pos + len).toString('utf8'), pos + len];
}

function section(id, payload) {
  return Buffer.from([id, ...u32(payload.length), ...payload]);
}

export function fixMain(bytes) {
  const buf = Buffer.from(bytes);
  const sections = [];
  let pos = 8;
  while (pos < buf.length) {
    const id = buf[pos];
    const [size, start] = readU32(buf, pos + 1);
    sections.push({ id, start, end: start + size, raw: buf.subarray(pos, start + size) });
    pos = start + size;
  }
  const exp = sections.find((s) => s.id === 7);
  if (!exp) return buf;
  let p = exp.start, count;
  [count, p] = readU32(buf, p);
  const exports = [];
  for (let i = 0; i < count; i++) {
    let nm, idx;
    [nm, p] = readName(buf, p);
    const kind = buf[p++];
    [idx, p] = readU32(buf, p);
    exports.push({ name: nm, kind, idx });
  }
  const orig = exports.find((e) => e.name === '__original_main' && e.kind === 0);
  if (!orig) return buf;
  const wrapper = exports.find((e) => e.name === 'main' && e.kind === 0);
  const kept = exports.filter((e) => e !== wrapper);
  orig.name = 'main';
  const expPayload = [...u32(kept.length)];
  for (const e of kept) expPayload.push(...name(e.name), e.kind, ...u32(e.idx));
  exp.raw = section(7, expPayload);

  // Rename in the `name` section's function-name map (subsection 1), if present.
  for (const s of sections) {
    if (s.id !== 0) continue;
    let [secName, q] = readName(buf, s.start);
    if (secName !== 'name') continue;
    const parts = [...name('name')];
    while (q < s.end) {
      const sub = buf[q];
      let len;
      [len, q] = readU32(buf, q + 1);
      let body = buf.subarray(q, q + len);
      if (sub === 1) {
        let r = 0, n;
        [n, r] = readU32(body, r);
        const out = [...u32(n)];
        for (let i = 0; i < n; i++) {
          let idx, fname;
          [idx, r] = readU32(body, r);
          [fname, r] = readName(body, r);
          if (idx === orig.idx) fname = 'main';
          else if (wrapper && idx === wrapper.idx) fname = '__main_argc_argv_wrapper';
          out.push(...u32(idx), ...name(fname));
        }
        body = Buffer.from(out);
      }
      parts.push(sub, ...u32(body.length), ...body);
      q += len;
    }
    s.raw = section(0, parts);
  }
  return Buffer.concat([buf.subarray(0, 8), ...sections.map((s) => s.raw)]);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [, , input, output] = process.argv;
  if (!input || !output) {
    console.error('usage: node postlink.mjs <in.wasm> <out.wasm>');
    process.exit(2);
  }
  const out = fixMain(readFileSync(input));
  if (!WebAssembly.validate(out)) {
    console.error(`postlink: ${input}: result does not validate`);
    process.exit(1);
  }
  writeFileSync(output, out);
}
