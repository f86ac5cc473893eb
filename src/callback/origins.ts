/**
 * Which peers a request's callback URL may name: config `iroha.callbackOrigins`, a list of origins
 * ("http://10.0.0.5:9000": scheme, host and port must all match; a missing port is the scheme's
 * default) and/or the token "loopback" (127.0.0.0/8, [::1] and `localhost`, any port, http or https).
 *
 * Hosts are compared after WHATWG URL parsing, so spellings such as `http://2130706433/`,
 * `http://0x7f.1/` or `http://[0:0:0:0:0:0:0:1]/` are recognised for what they are (127.0.0.1, ::1).
 * The check is on the URL only: SyncPoster refuses redirects, so a peer cannot bounce a callback to
 * an origin that is not listed.
 */

export const LOOPBACK = 'loopback';
export const DEFAULT_CALLBACK_ORIGINS = [LOOPBACK];

const CONFIG_KEY = 'iroha.callbackOrigins';

/** null when `url` may be called, else why not, in words a user can act on. */
export function checkCallbackUrl(url: string, allowed: string[]): string | null {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return `${JSON.stringify(url)} is not an absolute URL (expected e.g. http://127.0.0.1:8080)`;
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return `the callback must be an http: or https: URL, not ${u.protocol}`;
  if (u.username !== '' || u.password !== '') return 'the callback URL must not contain credentials (user:password@)';
  if (allowed.includes(LOOPBACK) && isLoopbackHost(u.hostname)) return null;
  for (const entry of allowed) if (entry !== LOOPBACK && originOf(entry) === u.origin) return null;
  const now = allowed.length === 0 ? 'it is empty, so no callback is allowed' : `it holds ${allowed.map((a) => JSON.stringify(a)).join(', ')}`;
  return `the origin ${u.origin} is not allowed: add "${u.origin}" to ${CONFIG_KEY} (${now})`;
}

/** null when every entry of an `iroha.callbackOrigins` list is usable, else what is wrong with the first bad one. */
export function checkCallbackOrigins(entries: string[]): string | null {
  for (const [i, e] of entries.entries()) {
    if (e === LOOPBACK) continue;
    if (originOf(e) === null) {
      return `${CONFIG_KEY}[${i}] ${JSON.stringify(e)} is neither "${LOOPBACK}" nor an origin like "http://10.0.0.5:9000" (http: or https:, no path or credentials)`;
    }
  }
  return null;
}

/** The origin an entry names, or null when it is not a bare http(s) origin. */
function originOf(entry: string): string | null {
  let u: URL;
  try {
    u = new URL(entry);
  } catch {
    return null;
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return null;
  if (u.username !== '' || u.password !== '' || u.search !== '' || u.hash !== '' || u.pathname !== '/') return null;
  return u.origin;
}

/** `localhost`, 127.0.0.0/8 or [::1], as URL#hostname gives them (already normalised). */
export function isLoopbackHost(hostname: string): boolean {
  const h = hostname.toLowerCase();
  if (h === 'localhost' || h === '[::1]') return true;
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(h);
  return m !== null && m[1] === '127';
}
