/**
 * src/engine/demangle.ts: Rust (legacy, v0) and C++ symbols demangled by gecko-profiler-demangle; names
 * that are not mangled, that it cannot read, or that are built to expand (back-references) come back
 * as written, at once.
 */
import t from 'tap';
import { MAX_BACKREFS, MAX_INPUT, demangle } from '../../src/engine/demangle.js';

t.test('Rust legacy and v0, C++', async (t) => {
  t.equal(demangle('_ZN3std2io4Read11read_to_end17hb85a0f6802e14499E'), 'std::io::Read::read_to_end', 'legacy, hash dropped');
  t.equal(
    demangle('_ZN4core3ptr85drop_in_place$LT$std..rt..lang_start$LT$$LP$$RP$$GT$..$u7b$$u7b$closure$u7d$$u7d$$GT$17h8d8f5d1b0e1d1c2aE'),
    'core::ptr::drop_in_place<std::rt::lang_start<()>::{{closure}}>',
  );
  t.equal(demangle('_RNvNtCs1234_7mycrate3bar3baz'), 'mycrate::bar::baz', 'v0');
  t.equal(demangle('_RINvNtC3std3mem8align_ofjE'), 'std::mem::align_of::<usize>', 'v0 generic');
  t.equal(demangle('_ZN2ns5ClassC2Ev'), 'ns::Class::Class()', 'C++');
  t.equal(
    demangle('_ZNSt3__112basic_stringIcNS_11char_traitsIcEENS_9allocatorIcEEE6appendEPKc'),
    'std::__1::basic_string<char, std::__1::char_traits<char>, std::__1::allocator<char> >::append(char const*)',
  );
});

t.test('names that are not mangled, or not readable, are given as written', async (t) => {
  for (const n of ['main', 'kv::lib::get', '_start', '__original_main', '_RNvB0_3foo', '_ZN1', '', '?foo@@YAXXZ', '\ud800_Z3fooi'])
    t.equal(demangle(n), n, JSON.stringify(n));
});

t.test('bounded: long names and names built on back-references stay as written, at once', async (t) => {
  const sub = (k: number) => 'S' + (k === 0 ? '' : (k - 1).toString(36).toUpperCase()) + '_';
  // each level doubles the demangled text: 30 levels demangle to 1.28 MB in ~0.1 s
  const bomb = (depth: number) => {
    let s = '_Z1f1AN1BIS_S_EE';
    for (let k = 1; k <= depth; k++) s += `NS0_I${sub(k)}${sub(k)}EE`;
    return s;
  };
  t.ok(demangle(bomb(10)).length > 1000, 'within the bound (32 back-references): demangled');
  const t0 = performance.now();
  for (const d of [11, 20, 30, 60]) t.equal(demangle(bomb(d)), bomb(d), `${d} levels: over ${MAX_BACKREFS} back-references, as written`);
  const long = `_ZN${'3abc'.repeat(MAX_INPUT)}E`;
  t.equal(demangle(long), long, `over ${MAX_INPUT} characters: as written`);
  t.ok(performance.now() - t0 < 1000, 'at once');
});
