/**
 * PreparedCache (src/store/prepared-cache.ts): hits and misses, eviction by the byte budget in LRU
 * order, entries larger than the budget, a zero budget, and getOrCreate caching nothing when the
 * factory throws.
 */
import t from 'tap';
import { PreparedCache } from '../../src/store/prepared-cache.js';

t.test('get/set count hits and misses', async (t) => {
  const c = new PreparedCache<{ id: string }>(1000);
  t.equal(c.get('a'), undefined);
  const a = { id: 'a' };
  c.set('a', a, 100);
  t.equal(c.get('a'), a, 'the same object comes back');
  t.equal(c.get('b'), undefined);
  t.same([c.hits, c.misses, c.size, c.bytes], [1, 2, 1, 100]);
  t.equal(c.has('a'), true);
  t.equal(c.has('b'), false);
  t.same([c.hits, c.misses], [1, 2], 'has does not count');
});

t.test('getOrCreate creates once, then hits', async (t) => {
  const c = new PreparedCache<number[]>(1000);
  let created = 0;
  const make = () => {
    created++;
    return [created];
  };
  const first = c.getOrCreate('k', 10, make);
  const second = c.getOrCreate('k', 10, make);
  t.equal(first, second);
  t.equal(created, 1);
  t.same([c.hits, c.misses, c.size, c.bytes], [1, 1, 1, 10]);
  c.getOrCreate('other', 10, make);
  t.equal(created, 2);
  t.same([c.hits, c.misses, c.size], [1, 2, 2]);
});

t.test('eviction by byte budget, least recently used first', async (t) => {
  const c = new PreparedCache<string>(300);
  c.set('a', 'A', 100);
  c.set('b', 'B', 100);
  c.set('c', 'C', 100);
  t.same([c.size, c.bytes], [3, 300]);
  t.equal(c.get('a'), 'A', 'a is now most recently used');
  c.set('d', 'D', 150); // needs 150 bytes: evicts b then c (the LRU ones)
  t.equal(c.get('b'), undefined);
  t.equal(c.get('c'), undefined);
  t.equal(c.get('a'), 'A');
  t.equal(c.get('d'), 'D');
  t.same([c.size, c.bytes], [2, 250]);

  let n = 0;
  t.equal(
    c.getOrCreate('b', 100, () => `B${++n}`),
    'B1',
    'an evicted entry is created again',
  );
  t.ok(c.bytes <= 300);
});

t.test('an entry larger than the budget is not cached', async (t) => {
  const c = new PreparedCache<string>(100);
  c.set('small', 's', 50);
  c.set('huge', 'h', 101);
  t.equal(c.get('huge'), undefined);
  t.equal(c.get('small'), 's', 'the huge entry did not evict the others');
  let calls = 0;
  t.equal(c.getOrCreate('huge', 1000, () => `h${++calls}`), 'h1');
  t.equal(c.getOrCreate('huge', 1000, () => `h${++calls}`), 'h2', 'created every time');
  t.same([c.size, c.bytes], [1, 50]);
  // Replacing a cached key with an oversized value drops the stale one.
  c.set('small', 'S', 500);
  t.equal(c.get('small'), undefined);
});

t.test('a zero budget caches nothing; a negative budget is refused', async (t) => {
  const c = new PreparedCache<string>(0);
  c.set('a', 'A', 1);
  t.equal(c.get('a'), undefined);
  let calls = 0;
  c.getOrCreate('a', 1, () => `x${++calls}`);
  c.getOrCreate('a', 1, () => `x${++calls}`);
  t.equal(calls, 2);
  t.same([c.size, c.bytes, c.hits, c.misses], [0, 0, 0, 3]);
  t.throws(() => new PreparedCache(-1), RangeError);
});

t.test('getOrCreate caches nothing when create throws', async (t) => {
  const c = new PreparedCache<string>(1000);
  t.throws(
    () =>
      c.getOrCreate('k', 10, () => {
        throw new Error('compile failed');
      }),
    /compile failed/,
  );
  t.equal(c.size, 0);
  t.equal(c.has('k'), false);
  t.same([c.hits, c.misses], [0, 1]);
  t.equal(c.getOrCreate('k', 10, () => 'ok'), 'ok', 'the next call creates it');
  t.equal(c.getOrCreate('k', 10, () => 'again'), 'ok');
  t.same([c.hits, c.misses, c.size], [1, 2, 1]);
});

t.test('falsy values are cached like any other', async (t) => {
  const c = new PreparedCache<number | null | undefined>(100);
  let calls = 0;
  for (const v of [0, null, undefined]) {
    const key = String(v);
    c.getOrCreate(key, 1, () => (calls++, v));
    t.equal(c.getOrCreate(key, 1, () => (calls++, 42)), v, `${key} is a hit`);
  }
  t.equal(calls, 3);
  t.same([c.hits, c.misses], [3, 3]);
});

t.test('delete and clear', async (t) => {
  const c = new PreparedCache<string>(100);
  c.set('a', 'A', 10);
  c.set('b', 'B', 10);
  t.equal(c.delete('a'), true);
  t.equal(c.delete('a'), false);
  t.same([c.size, c.bytes], [1, 10]);
  c.clear();
  t.same([c.size, c.bytes], [0, 0]);
});
