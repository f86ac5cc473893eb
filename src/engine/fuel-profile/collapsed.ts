/**
 * A fuel profile as collapsed ("folded") stacks, the text flamegraph.pl and inferno read: one line per
 * call-tree node with fuel of its own, `root;…;leaf <fuel>\n`, in node order (the same on every run).
 */
import type { ProfileData } from './types.js';

/**
 * The format has no quoting: `;` separates frames and a line ends the record, so in a label `;` becomes
 * `,` and any control character (newlines included, and the Unicode line/paragraph separators) a space.
 * Spaces may stay: the tools take the fuel from the last space on the line.
 */
function collapsedLabel(label: string): string {
  return label.replace(/;/g, ',').replace(/[\p{Cc}\u2028\u2029]/gu, ' ');
}

/** Stands for the root's own fuel, if the profiler ever charges it: the format has no empty stack. */
const ROOT = '(root)';

export function toCollapsed(data: ProfileData): string {
  if (data.total === 0) return '';
  const { frame, parent, self } = data.tree;
  const labels = data.frames.map((f) => collapsedLabel(f.label));
  let out = '';
  for (let node = 0; node < self.length; node++) {
    if (!(self[node] > 0)) continue;
    const stack: string[] = [];
    for (let n = node; n > 0; n = parent[n]) stack.push(labels[frame[n]]);
    out += `${stack.length ? stack.reverse().join(';') : ROOT} ${self[node]}\n`;
  }
  return out;
}
