/**
 * Comparing what a documented command printed with the answer the document shows (the doc test,
 * test/docs/commands.test.ts): both read as a sequence of JSON values (one per `curl`, say), the paths
 * a `<!-- doc-test: ignore ... -->` marker names removed from both; text that is not JSON compared as
 * lines, trailing spaces aside.
 */

/** The JSON values of `text`, one after the other (whitespace between them optional); undefined when it is not that. */
export function jsonSequence(text: string): unknown[] | undefined {
  const values: unknown[] = [];
  let i = 0;
  const n = text.length;
  while (i < n) {
    while (i < n && /\s/.test(text[i]!)) i++;
    if (i === n) break;
    // the end of one value: brackets balanced outside strings, or the end of a scalar
    let j = i;
    if (text[i] === '{' || text[i] === '[') {
      let depth = 0;
      for (; j < n; j++) {
        const c = text[j];
        if (c === '"') {
          for (j++; j < n && text[j] !== '"'; j++) if (text[j] === '\\') j++;
        } else if (c === '{' || c === '[') depth++;
        else if ((c === '}' || c === ']') && --depth === 0) break;
      }
      j++;
    } else if (text[i] === '"') {
      for (j++; j < n && text[j] !== '"'; j++) if (text[j] === '\\') j++;
      j++;
    } else while (j < n && !/[\s{["]/.test(text[j]!)) j++;
    try {
      values.push(JSON.parse(text.slice(i, j)));
    } catch {
      return undefined;
    }
    i = j;
  }
  return values.length > 0 ? values : undefined;
}

/** `value` without the parts `paths` name (dotted; `*` any key or index). A copy. */
export function withoutPaths(value: unknown, paths: string[]): unknown {
  const copy = structuredClone(value);
  for (const path of paths) drop(copy, path.split('.'));
  return copy;
}

function drop(node: unknown, segs: string[]): void {
  if (node === null || typeof node !== 'object' || segs.length === 0) return;
  const [head, ...rest] = segs as [string, ...string[]];
  const obj = node as Record<string, unknown>;
  const keys = head === '*' ? Object.keys(obj) : Object.hasOwn(obj, head) ? [head] : [];
  for (const k of keys) {
    if (rest.length > 0) drop(obj[k], rest);
    else if (Array.isArray(node)) obj[k] = '(ignored)';
    else delete obj[k];
  }
}

/** Text output compared line by line, trailing spaces and blank lines at the ends aside. */
export function normalText(text: string): string {
  return text
    .split('\n')
    .map((l) => l.trimEnd())
    .join('\n')
    .trim();
}
