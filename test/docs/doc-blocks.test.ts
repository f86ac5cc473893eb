/**
 * The doc test's reading of markdown and shell (test/support/doc-blocks.ts, shell-words.ts,
 * doc-compare.ts): a block it failed to see, or a command it failed to name, would let a document
 * drift while test/docs/commands.test.ts passes.
 */
import t from 'tap';
import { jsonSequence, normalText, withoutPaths } from '../support/doc-compare.js';
import { parseDoc, rewritePort } from '../support/doc-blocks.js';
import { cannotRun, simpleCommands } from '../support/shell-words.js';

const fence = '```';

t.test('blocks, markers and the answers shown', async (t) => {
  const doc = [
    '# Title', // 1
    '', // 2
    '<!-- doc-test: skip (needs Docker) -->', // 3
    `${fence}sh`, // 4
    'docker build .', // 5
    fence, // 6
    '', // 7
    `${fence}bash`, // 8
    'curl -s 127.0.0.1:8080/health', // 9
    fence, // 10
    '', // 11
    '<!-- doc-test: ignore timings, results.*.timings -->', // 12
    `${fence}json`, // 13
    '{"status":"ok"}', // 14
    fence, // 15
    'Prose between.', // 16
    `${fence}json`, // 17
    '{"a request body": true}', // 18
    fence, // 19
    `${fence}sh`, // 20
    'echo hi', // 21
    fence, // 22
    'Not adjacent:', // 23
    `${fence}json`, // 24
    '{}', // 25
    fence, // 26
    `${fence}yaml`, // 27
    'a: 1', // 28
    fence, // 29
  ].join('\n');
  const { blocks, problems } = parseDoc(doc);
  t.same(problems, []);
  t.same(
    blocks.map((b) => [b.line, b.lang, b.markers.skip]),
    [
      [4, 'sh', 'needs Docker'],
      [8, 'bash', undefined],
      [20, 'sh', undefined],
    ],
    'the command blocks only, with their skip reasons',
  );
  t.same(blocks[1]!.steps, [{ line: 9, script: 'curl -s 127.0.0.1:8080/health', expected: { text: '{"status":"ok"}', line: 13, ignore: ['timings', 'results.*.timings'], json: true } }]);
  t.equal(blocks[2]!.steps[0]!.expected, undefined, 'a json block after prose is not an answer');
});

t.test('console blocks: commands, continuations, output', async (t) => {
  const doc = [`${fence}console`, '$ echo a', 'a', '$ printf "%s\\n" \\', '> b c', 'b', 'c', '$ true', fence].join('\n');
  const [block] = parseDoc(doc).blocks;
  t.same(block!.steps, [
    { line: 2, script: 'echo a', expected: { text: 'a', line: 3, ignore: [] } },
    { line: 4, script: 'printf "%s\\n" \\\nb c', expected: { text: 'b\nc', line: 6, ignore: [] } },
    { line: 8, script: 'true' },
  ]);
  t.match(parseDoc(`${fence}console\noutput first\n${fence}`).problems, [{ line: 2, message: /starts with a `\$ `/ }]);
});

t.test('a marker that is wrong or attached to nothing is a problem', async (t) => {
  const problems = (text: string) => parseDoc(text).problems.map((p) => p.line);
  t.same(problems('<!-- doc-test: skip -->\n```sh\nls\n```'), [1], 'skip needs a reason');
  t.same(problems('<!-- doc-test: skipp (x) -->\n```sh\nls\n```'), [1], 'unknown marker');
  t.same(problems('<!-- doc-test: ignore a b -->\n```sh\nls\n```'), [1], 'paths are comma separated');
  t.same(problems('<!-- doc-test: skip (x) -->\nprose\n```sh\nls\n```'), [1], 'not followed by a block');
  t.same(problems('text <!-- doc-test: skip (x) --> text'), [1], 'not alone on its line');
  t.same(problems('quoted: `<!-- doc-test: skip (why) -->` in prose'), [], 'quoted in prose');
  t.same(problems('<!-- doc-test: skip (x) -->\n<!-- doc-test: ignore a.b -->\n\n```sh\nls\n```'), [], 'two markers on one block');
});

t.test('the port rewrite', async (t) => {
  t.equal(rewritePort('curl 127.0.0.1:8080/a localhost:8080/b 127.0.0.1:80801 10.0.0.1:8080', 4242), 'curl 127.0.0.1:4242/a localhost:4242/b 127.0.0.1:80801 10.0.0.1:8080');
});

t.test('the programs of a script', async (t) => {
  t.same(simpleCommands('H=$(sha256sum f | cut -d" " -f1) # note\ncurl -s x \\\n  -d "{\\"a\\":\\"$(printf w | base64)\\"}" 2>&1 >/dev/null'), [
    ['sha256sum', 'f'],
    ['cut', '-d ', '-f1'],
    ['H=$(…)'],
    ['printf', 'w'],
    ['base64'],
    ['curl', '-s', 'x', '-d', '{"a":"$(…)"}'],
  ]);
  t.same(simpleCommands("cat <<'EOF' | jq .\ndocker run x\nEOF\nls"), [['cat'], ['jq', '.'], ['ls']], 'a here-document body is not commands');
  t.same(cannotRun('curl -s localhost:8080/ready && npm run --silent cli -- inspect x.wasm; node dist/cli/main.js run y'), []);
  t.same(cannotRun('npm ci && npm start'), ['npm ci', 'npm start']);
  t.same(cannotRun('docker run -e T="$(openssl rand -hex 24)" img'), ['openssl rand -hex 24', 'docker run -e T=$(…) img']);
  t.same(cannotRun('X=1 kubectl apply -k .'), ['kubectl apply -k .'], 'an assignment before a program');
  t.same(cannotRun('if true; then redis-server & fi'), ['redis-server']);
  t.same(cannotRun("echo 'docker build' # docker"), [], 'quoted and commented words are not programs');
  t.same(cannotRun('node scripts/x.mjs; npx tsx a.ts'), ['node scripts/x.mjs', 'npx tsx a.ts']);
});

t.test('comparing answers', async (t) => {
  t.same(jsonSequence('{"a":[1,"}"]}\n{"b":2}3 "x"'), [{ a: [1, '}'] }, { b: 2 }, 3, 'x']);
  t.equal(jsonSequence('{"a":1}…'), undefined, 'not JSON');
  t.equal(jsonSequence('  '), undefined, 'nothing');
  const v = { timings: { a: 1 }, results: [{ timings: 1, ok: true }, { ok: false }], keep: { timings: 2 } };
  t.same(withoutPaths(v, ['timings', 'results.*.timings']), { results: [{ ok: true }, { ok: false }], keep: { timings: 2 } });
  t.same(v.timings, { a: 1 }, 'the original is left alone');
  t.same(withoutPaths([1, 2], ['*']), ['(ignored)', '(ignored)'], 'array elements stay in place');
  t.equal(normalText('\n a  \nb\t\n\n'), 'a\nb');
});
