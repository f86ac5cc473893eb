/**
 * Which programs a documented shell command runs, for the doc test (test/docs/commands.test.ts): a
 * small lexer (quotes, escapes, line continuations, comments, redirections, here-documents, `$( )` and
 * backquotes, recursively) turns a script into its simple commands; `cannotRun` says which of them
 * the doc test does not run. Not a shell: just enough to name the program of each command.
 */

/** Index of the `)` closing the `(` at `open`, across quotes; the end of `s` when there is none. */
function closingParen(s: string, open: number): number {
  let depth = 0;
  for (let j = open; j < s.length; j++) {
    const c = s[j];
    if (c === '\\') j++;
    else if (c === "'") j = s.indexOf("'", j + 1) < 0 ? s.length : s.indexOf("'", j + 1);
    else if (c === '"') {
      for (j++; j < s.length && s[j] !== '"'; j++) if (s[j] === '\\') j++;
    } else if (c === '(') depth++;
    else if (c === ')' && --depth === 0) return j;
  }
  return s.length;
}

/** Index of the backquote closing the one at `open`. */
function closingTick(s: string, open: number): number {
  for (let j = open + 1; j < s.length; j++) {
    if (s[j] === '\\') j++;
    else if (s[j] === '`') return j;
  }
  return s.length;
}

/** The simple commands of `script`, each as its words (quotes removed; a substitution reads `$(…)`), nested ones included. */
export function simpleCommands(script: string): string[][] {
  const s = script;
  const cmds: string[][] = [];
  let words: string[] = [];
  let word: string | null = null;
  let redirectTarget = false;
  const heredocs: Array<{ delim: string; strip: boolean }> = [];
  const endWord = () => {
    if (word === null) return;
    if (redirectTarget) redirectTarget = false;
    else words.push(word);
    word = null;
  };
  const endCommand = () => {
    endWord();
    if (words.length > 0) cmds.push(words);
    words = [];
  };
  const append = (text: string) => (word = (word ?? '') + text);
  const substitution = (from: number, to: number) => {
    cmds.push(...simpleCommands(s.slice(from, to)));
    append('$(…)');
  };
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === '\\') {
      if (s[i + 1] !== '\n') append(s[i + 1] ?? '');
      i++;
    } else if (c === "'") {
      const end = s.indexOf("'", i + 1) < 0 ? s.length : s.indexOf("'", i + 1);
      append(s.slice(i + 1, end));
      i = end;
    } else if (c === '"') {
      let j = i + 1;
      append('');
      while (j < s.length && s[j] !== '"') {
        if (s[j] === '\\') {
          append(s[j + 1] ?? '');
          j += 2;
        } else if (s[j] === '$' && s[j + 1] === '(') {
          const end = closingParen(s, j + 1);
          substitution(j + 2, end);
          j = end + 1;
        } else if (s[j] === '`') {
          const end = closingTick(s, j);
          substitution(j + 1, end);
          j = end + 1;
        } else append(s[j++]!);
      }
      i = j;
    } else if (c === '$' && s[i + 1] === '(') {
      const end = closingParen(s, i + 1);
      if (s[i + 2] === '(') append('$((…))');
      else substitution(i + 2, end);
      i = end;
    } else if (c === '$' && s[i + 1] === '{') {
      const end = s.indexOf('}', i) < 0 ? s.length : s.indexOf('}', i);
      append(s.slice(i, end + 1));
      i = end;
    } else if (c === '`') {
      const end = closingTick(s, i);
      substitution(i + 1, end);
      i = end;
    } else if (c === '#' && word === null) {
      const end = s.indexOf('\n', i);
      i = (end < 0 ? s.length : end) - 1;
    } else if (c === '\n') {
      endCommand();
      // here-document bodies start on the next line: skipped up to their delimiter lines
      for (const h of heredocs.splice(0)) {
        for (;;) {
          const end = s.indexOf('\n', i + 1);
          const line = s.slice(i + 1, end < 0 ? s.length : end);
          i = end < 0 ? s.length : end;
          if ((h.strip ? line.replace(/^\t+/, '') : line) === h.delim || end < 0) break;
        }
      }
    } else if (c === ' ' || c === '\t') endWord();
    else if (c === '&' && s[i + 1] === '>') {
      endWord();
      i += s[i + 2] === '>' ? 2 : 1;
      redirectTarget = true;
    } else if (';&|()'.includes(c)) endCommand();
    else if (c === '<' || c === '>') {
      // `2>&1`: the digits before are the descriptor, not a word
      if (word !== null && /^\d+$/.test(word)) word = null;
      else endWord();
      if (c === '<' && s[i + 1] === '<' && s[i + 2] !== '<') {
        i += 2;
        const strip = s[i] === '-';
        if (strip) i++;
        while (s[i] === ' ') i++;
        const m = /^(['"]?)([^\s'"<>;&|]+)\1/.exec(s.slice(i));
        heredocs.push({ delim: m?.[2] ?? '', strip });
        i += (m?.[0].length ?? 0) - 1;
        continue;
      }
      while ('<>&|'.includes(s[i + 1] ?? 'x')) i++;
      redirectTarget = true;
    } else append(c);
  }
  endCommand();
  return cmds;
}

/** Words that start a compound command, or precede the command they apply to. */
const PREFIXES = new Set(['if', 'then', 'else', 'elif', 'do', 'while', 'until', '!', 'time', '{', '}']);
/** Words after which nothing of the command is a program to run. */
const NOT_PROGRAMS = new Set(['fi', 'done', 'esac', 'for', 'case', 'in']);

/** The program and its arguments, leaving out keywords and `NAME=value` assignments; undefined for none. */
export function programOf(words: string[]): string[] | undefined {
  let k = 0;
  while (k < words.length && (PREFIXES.has(words[k]!) || /^[A-Za-z_]\w*=/.test(words[k]!))) k++;
  if (k === words.length || NOT_PROGRAMS.has(words[k]!)) return undefined;
  return words.slice(k);
}

/** Programs the doc test runs wherever they appear: the service's clients and text tools. */
const TOOLS = new Set([
  'curl', 'jq', 'sha256sum', 'base64', 'printf', 'echo', 'cat', 'cut', 'head', 'tail', 'wc', 'tr', 'grep', 'sed',
  'sort', 'uniq', 'xxd', 'od', 'cmp', 'diff', 'test', '[', 'true', 'export', 'mktemp', 'ls',
]);
/** `node SCRIPT` for these scripts only. */
const NODE_SCRIPTS = new Set(['dist/cli/main.js', './dist/cli/main.js', 'examples/verify.mjs']);

/** The commands of `script` the doc test does not run (docker, npm start, a benchmark, ...), in order; empty when it runs them all. */
export function cannotRun(script: string): string[] {
  const found: string[] = [];
  for (const words of simpleCommands(script)) {
    const program = programOf(words);
    if (!program) continue;
    const [name, ...args] = program as [string, ...string[]];
    const operands = args.filter((a) => !a.startsWith('-'));
    if (TOOLS.has(name)) continue;
    if (name === 'npm' && ['run', 'run-script'].includes(operands[0] ?? '') && operands[1] === 'cli') continue;
    if (name === 'node' && NODE_SCRIPTS.has(operands[0] ?? '')) continue;
    found.push(program.join(' '));
  }
  return found;
}
