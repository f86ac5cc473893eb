/**
 * The fenced blocks of a markdown document, as the doc test (test/docs/commands.test.ts) reads them:
 * command blocks (`sh`, `bash`, `shell`, `console`) split into steps, each with the answer the
 * document shows for it (a `json` block right after the command block, or a `console` block's output
 * lines), and the `<!-- doc-test: ... -->` markers written on the lines just above a block.
 *
 * Markers (docs/TESTING.md, "The doc test"):
 *   <!-- doc-test: skip (why) -->            the block is not run (or, on an answer block, not compared)
 *   <!-- doc-test: ignore timings, a.*.b --> these JSON paths vary: left out of the comparison
 */

export const COMMAND_LANGS = new Set(['sh', 'bash', 'shell', 'console']);

export interface Markers {
  /** Why the block is not run; undefined when it runs. */
  skip?: string;
  /** Dotted JSON paths left out of the comparison (`*`: any key or index). */
  ignore: string[];
}

export interface Fence {
  /** 1-based line of the opening fence. */
  line: number;
  lang: string;
  body: string;
  markers: Markers;
}

export interface Step {
  /** 1-based line of the command in the document. */
  line: number;
  script: string;
  /** The answer the document shows, when it shows one: a `json` block's (which must be JSON), or a console block's output. */
  expected?: { text: string; line: number; ignore: string[]; json?: true };
}

export interface CommandBlock extends Fence {
  steps: Step[];
}

export interface ParsedDoc {
  blocks: CommandBlock[];
  /** Malformed markers, markers attached to nothing, console blocks that do not parse. */
  problems: Array<{ line: number; message: string }>;
}

const FENCE = /^(\s*)(`{3,}|~{3,})\s*([^`\s]*)/;
const MARKER = /^\s*<!--\s*doc-test:\s*(.*?)\s*-->\s*$/;

function parseMarker(text: string): { skip?: string; ignore?: string[] } | string {
  const skip = /^skip\s*\((.*)\)$/.exec(text);
  if (skip) return skip[1]!.trim() ? { skip: skip[1]!.trim() } : 'a skip marker needs a reason: <!-- doc-test: skip (why) -->';
  const ignore = /^ignore\s+(.+)$/.exec(text);
  if (ignore) {
    const paths = ignore[1]!.split(',').map((p) => p.trim());
    if (paths.every((p) => /^([\w$-]+|\*)(\.([\w$-]+|\*))*$/.test(p))) return { ignore: paths };
    return `ignore takes dotted JSON paths separated by commas (e.g. "ignore timings, results.*.timings"), not "${ignore[1]}"`;
  }
  return `unknown doc-test marker "${text}": use "skip (why)" or "ignore path, path"`;
}

/** Every fenced block with its markers, and the problems found on the way. */
function fences(text: string): { list: Fence[]; problems: ParsedDoc['problems'] } {
  const lines = text.split('\n');
  const list: Fence[] = [];
  const problems: ParsedDoc['problems'] = [];
  let pending: { line: number; markers: Markers } | undefined;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const m = MARKER.exec(line);
    if (m) {
      const parsed = parseMarker(m[1]!);
      if (typeof parsed === 'string') problems.push({ line: i + 1, message: parsed });
      else {
        pending ??= { line: i + 1, markers: { ignore: [] } };
        if (parsed.skip !== undefined) pending.markers.skip = parsed.skip;
        if (parsed.ignore) pending.markers.ignore.push(...parsed.ignore);
      }
      continue;
    }
    // a marker quoted in prose (inside backquotes) is text, not a marker
    if (/<!--\s*doc-test/.test(line.replace(/`[^`]*`/g, ''))) {
      problems.push({ line: i + 1, message: 'a doc-test marker must be alone on its line: <!-- doc-test: ... -->' });
      continue;
    }
    const open = FENCE.exec(line);
    if (!open) {
      if (line.trim() !== '' && pending) {
        problems.push({ line: pending.line, message: 'this doc-test marker is not followed by a fenced block' });
        pending = undefined;
      }
      continue;
    }
    const [, indent, fence, lang] = open;
    const body: string[] = [];
    let j = i + 1;
    for (; j < lines.length; j++) {
      const l = lines[j]!;
      const close = new RegExp(`^\\s*${fence![0] === '`' ? '`' : '~'}{${fence!.length},}\\s*$`);
      if (close.test(l)) break;
      // a fence indented in a list item: its content is indented by as much
      body.push(l.startsWith(indent!) ? l.slice(indent!.length) : l.trimStart());
    }
    list.push({ line: i + 1, lang: lang!.toLowerCase(), body: body.join('\n'), markers: pending?.markers ?? { ignore: [] } });
    pending = undefined;
    i = j;
  }
  if (pending) problems.push({ line: pending.line, message: 'this doc-test marker is not followed by a fenced block' });
  return { list, problems };
}

/** A console block: `$ ` starts a command, `> ` continues it, other lines are its output. */
function consoleSteps(f: Fence, problems: ParsedDoc['problems']): Step[] {
  const steps: Step[] = [];
  const lines = f.body.split('\n');
  let current: { step: Step; out: string[]; outLine: number } | undefined;
  const finish = () => {
    if (!current) return;
    const text = current.out.join('\n').trim();
    if (text) current.step.expected = { text, line: current.outLine, ignore: f.markers.ignore };
    steps.push(current.step);
  };
  lines.forEach((l, k) => {
    const line = f.line + 1 + k;
    if (l.startsWith('$ ')) {
      finish();
      current = { step: { line, script: l.slice(2) }, out: [], outLine: line + 1 };
    } else if (l.startsWith('> ') && current && current.out.length === 0) {
      current.step.script += `\n${l.slice(2)}`;
      current.outLine = line + 1;
    } else if (current) current.out.push(l);
    else if (l.trim()) problems.push({ line, message: 'a console block starts with a `$ ` command line' });
  });
  finish();
  return steps;
}

/** The blocks of a document: commands with their shown answers, in document order. */
export function parseDoc(text: string): ParsedDoc {
  const { list, problems } = fences(text);
  const lines = text.split('\n');
  const blocks: CommandBlock[] = [];
  for (let k = 0; k < list.length; k++) {
    const f = list[k]!;
    if (!COMMAND_LANGS.has(f.lang)) continue;
    const steps = f.lang === 'console' ? consoleSteps(f, problems) : [{ line: f.line + 1, script: f.body }];
    // the answer shown right after the block: the next fence, with only blank lines and markers between
    const next = list[k + 1];
    const closeLine = f.line + f.body.split('\n').length + 1;
    const between = next ? lines.slice(closeLine, next.line - 1) : [];
    const adjacent = next !== undefined && between.every((l) => l.trim() === '' || MARKER.test(l));
    const last = steps[steps.length - 1];
    if (adjacent && next.lang === 'json' && next.markers.skip === undefined && last && !last.expected) {
      last.expected = { text: next.body, line: next.line, ignore: [...f.markers.ignore, ...next.markers.ignore], json: true };
    }
    blocks.push({ ...f, steps });
  }
  return { blocks, problems };
}

/** `127.0.0.1:8080` and `localhost:8080` pointed at the test's server: the only change made to a command. */
export function rewritePort(script: string, port: number): string {
  return script.replace(/\b(127\.0\.0\.1|localhost):8080\b/g, `$1:${port}`);
}
