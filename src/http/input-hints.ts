/**
 * What a client most likely got wrong, in words: a module hash that is not 64 lowercase hex digits,
 * base64 that is not standard one-line base64, module bytes that are not a binary module (hex, base64,
 * WebAssembly text, JSON, a file name), JSON broken at a position. Each answers a message naming the
 * mistake and the fix; the callers put the field or module it is about in front.
 */

const HASH = /^[0-9a-f]{64}$/;
const HEX = /^[0-9a-fA-F]+$/;
const B64 = 'base64 -w0 file.wasm';

/** `s` shortened for a message (JSON-quoted, at most about 40 characters). */
export const shown = (s: string) => JSON.stringify(s.length > 40 ? `${s.slice(0, 20)}…${s.slice(-12)}` : s);

/** Why `s` is not a module hash, or null when it is one. */
export function hashProblem(s: string): string | null {
  if (HASH.test(s)) return null;
  const prefix = /^(sha-?256)[:-]/i.exec(s);
  if (prefix) {
    const rest = hashProblem(s.slice(prefix[0].length));
    return `drop the \`${prefix[0]}\` prefix: a module hash is its 64 lowercase hex digits alone${rest ? ` (and then: ${rest})` : ''}`;
  }
  if (s.trim() !== s && HASH.test(s.trim().toLowerCase())) return 'the hash has spaces or a line break around it: send its 64 lowercase hex digits alone';
  if (HEX.test(s) && s.length === 64) return 'hashes are 64 lowercase hex digits: got 64 with uppercase letters — use lowercase';
  if (/^[0-9a-fA-F]+(…|\.{2,3})[0-9a-fA-F]+$/.test(s)) {
    return `${shown(s)} is a shortened hash (as logs abbreviate it): give all 64 hex digits; GET /modules lists the stored modules with their hashes`;
  }
  if (HEX.test(s) && s.length < 64) return `a shortened hash (${s.length} hex digits): give all 64; GET /modules lists the stored modules with their hashes`;
  if (HEX.test(s)) return `${s.length} hex digits, more than the 64 of a sha256: a module hash is 64 lowercase hex digits`;
  if (s === '') return 'the hash is empty: give the 64 lowercase hex digits (sha256) of a module stored with PUT /modules';
  return `${shown(s)} is not a module hash: a module hash is 64 lowercase hex digits (sha256 of the module, as PUT /modules answers it)`;
}

/** One character as a message shows it. */
function describeChar(c: string): string {
  const names: Record<string, string> = { '\n': 'a line break (\\n)', '\r': 'a carriage return (\\r)', '\t': 'a tab', ' ': 'a space' };
  return names[c] ?? `\`${c}\``;
}

/** What is not standard base64 about `text` (for text the strict check refused). */
export function base64Problem(text: string): string {
  if (/^data:/i.test(text)) return 'it starts with a data: URL prefix (`data:…;base64,`): send only the base64 after the comma';
  if (/^\s*\(\s*module\b/.test(text)) {
    return 'it is WebAssembly text (WAT), not base64: compile it to a binary module first (e.g. `wat2wasm contract.wat`), then send `base64 -w0 contract.wasm`';
  }
  if (looksLikePath(text)) return `${shown(text)} looks like a file path: send the file's content, base64 (e.g. \`${B64}\`), not its name`;
  const i = text.search(/[^A-Za-z0-9+/=]/);
  if (i >= 0) {
    const c = text[i]!;
    if (/\s/.test(c)) {
      return `${describeChar(c)} at offset ${i}: base64 here is one line without whitespace (GNU base64 wraps at 76 columns: use \`${B64}\`)`;
    }
    if (c === '-' || c === '_') return `${describeChar(c)} at offset ${i} is base64url: send standard base64 (+ and /, e.g. \`${B64}\`)`;
    return `${describeChar(c)} at offset ${i} is not a base64 character (A–Z, a–z, 0–9, +, /, and = at the end): send standard base64 (e.g. \`${B64}\`)`;
  }
  const pad = text.indexOf('=');
  if (pad >= 0 && !/^=*$/.test(text.slice(pad))) return `a \`=\` at offset ${pad} before the end: padding only ends base64 (two pieces glued together?)`;
  if (text.slice(pad).length > 2 && pad >= 0) return `${text.length - pad} \`=\` at the end: base64 has at most two`;
  return `its length (${text.length} characters) is one more than whole base64 groups: a character is missing or left over (cut or joined text?)`;
}

/** A file name with a module's extension, or a path of two segments or more (base64 of a module starts `AGFzbQ`). */
const looksLikePath = (s: string) =>
  s.length < 4096 &&
  !s.startsWith('AGFzbQ') &&
  (/^(~|\.{1,2})?[\\/]?([\w.@ -]+[\\/])*[\w.@ -]+\.(wasm|wat|wast)$/i.test(s) || /^(~|\.{1,2})?\/([\w.@-]+\/)+[\w.@-]+$/.test(s));

const MAGIC = [0x00, 0x61, 0x73, 0x6d];
const ascii = (b: Uint8Array, n: number) => Buffer.from(b.subarray(0, n)).toString('latin1');

/**
 * What the bytes of a module that is not a binary module most likely are, or null: hex or base64
 * text of a module, WebAssembly text, JSON, a file name. `text`: the base64 the bytes were decoded
 * from (an inline module); `inline`: where the fix is base64 (POST /execute) rather than raw bytes.
 */
export function moduleBytesHint(bytes: Uint8Array, opts: { text?: string; inline: boolean }): string | null {
  if (MAGIC.every((m, i) => bytes[i] === m)) return null;
  const send = opts.inline ? `send the binary module base64-encoded (e.g. \`${B64}\`)` : 'send the binary module as the body (e.g. `curl --data-binary @file.wasm`)';
  if (opts.text !== undefined && looksLikePath(opts.text)) return `${shown(opts.text)} looks like a file path: send the file's content, base64 (e.g. \`${B64}\`), not its name`;
  if (opts.text !== undefined && opts.text.length > 0 && HEX.test(opts.text)) {
    return `this looks like hex${opts.text.startsWith('0061736d') ? ' (it starts 0061736d, the wasm magic in hex)' : ''}: send base64 (e.g. \`${B64}\`)`;
  }
  const head = ascii(bytes, 64).replace(/^\uFEFF/, '');
  if (/^0061736d/i.test(head)) return `the bytes are hex text (they start "0061736d", the wasm magic in hex): ${send}`;
  if (head.startsWith('AGFzbQ')) {
    return opts.inline
      ? 'the bytes are base64 text again (base64 encoded twice): encode the module once'
      : 'the body is base64 text (it starts "AGFzbQ", the wasm magic in base64): PUT /modules takes the raw bytes (e.g. `curl --data-binary @file.wasm`)';
  }
  if (/^\s*(\(\s*module\b|;;)/.test(head)) return `the bytes are WebAssembly text (WAT): compile it to a binary module first (e.g. \`wat2wasm file.wat\`), then ${send}`;
  if (!opts.inline && /^\s*[{[]/.test(head)) return 'the body is JSON: PUT /modules takes the raw module bytes (e.g. `curl --data-binary @file.wasm`); base64 in JSON is for POST /execute\'s { "wasm": … }';
  if (bytes.length < 4096 && looksLikePath(Buffer.from(bytes).toString('latin1').trim())) {
    return `the bytes are the text ${shown(Buffer.from(bytes).toString('latin1').trim())}, a file name: ${send} (with curl, \`@\` before the name reads the file)`;
  }
  return null;
}

/** Where `position` (a UTF-16 index into `text`) is: line and column, both from 1. */
function lineColumn(text: string, position: number): { line: number; column: number } {
  let line = 1;
  let start = 0;
  for (let i = text.indexOf('\n'); i !== -1 && i < position; i = text.indexOf('\n', i + 1)) {
    line++;
    start = i + 1;
  }
  return { line, column: position - start + 1 };
}

/**
 * The parser's complaint about JSON `text`, with where (line, column, offset) and, for a control
 * character inside a string (a raw line break in wrapped base64), what to do.
 */
export function jsonProblem(text: string, error: Error): string {
  const why = error.message.replace(/\s*in JSON at position \d+.*$/s, '').slice(0, 200);
  const m = /at position (\d+)/.exec(error.message);
  if (!m) return `${why}${/end of JSON input/i.test(error.message) ? ' (the body ends early: cut off?)' : ''}`;
  const at = Number(m[1]);
  const { line, column } = lineColumn(text, at);
  const where = `line ${line}, column ${column} (offset ${at})`;
  const c = text[at];
  if (c !== undefined && c.charCodeAt(0) < 0x20 && /control character/i.test(error.message)) {
    const what = describeChar(c).replace(/^`(.*)`$/, `U+${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
    const hint = c === '\n' || c === '\r' ? `: base64 wrapped in lines? use \`${B64}\`` : ': escape it (\\n, \\t, \\u00XX)';
    return `${what} inside a string at ${where}; JSON strings cannot hold raw control characters${hint}`;
  }
  return `${why} at ${where}`;
}
