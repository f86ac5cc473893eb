/**
 * Raw HTTP over a TCP socket, for what fetch cannot send or see: malformed requests, slow clients
 * (headers or body dribbled), connections held open, and how and when the server closes them.
 */
import { connect, type Socket } from 'node:net';

export interface RawReply {
  /** 0 when the server closed the connection without an answer. */
  status: number;
  headers: Record<string, string>;
  /** Parsed JSON, or the text. */
  body: any;
  /** Milliseconds from the connection to its close (or to giving up). */
  ms: number;
  /** The server closed the connection (false: we gave up after `ms`). */
  closed: boolean;
}

export function parseReply(raw: string, ms: number, closed: boolean): RawReply {
  const split = raw.indexOf('\r\n\r\n');
  if (!raw.startsWith('HTTP/') || split < 0) return { status: 0, headers: {}, body: raw, ms, closed };
  const [statusLine, ...lines] = raw.slice(0, split).split('\r\n');
  const headers: Record<string, string> = {};
  for (const l of lines) {
    const i = l.indexOf(':');
    if (i > 0) headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
  }
  const text = raw.slice(split + 4, headers['content-length'] ? split + 4 + Number(headers['content-length']) : undefined);
  let body: any = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON
  }
  return { status: Number(statusLine!.split(' ')[1]), headers, body, ms, closed };
}

/** An open connection; `send` writes, `reply` waits for the server to close it (or `ms`). */
export class RawConnection {
  readonly socket: Socket;
  readonly opened: Promise<void>;
  private data = '';
  private readonly closedAt: Promise<number>;
  private readonly t0 = performance.now();

  constructor(port: number) {
    this.socket = connect({ host: '127.0.0.1', port });
    this.socket.setEncoding('latin1');
    this.socket.on('data', (d: string) => (this.data += d));
    this.socket.on('error', () => undefined);
    this.opened = new Promise((resolve, reject) => {
      this.socket.once('connect', () => resolve());
      this.socket.once('error', reject);
    });
    this.closedAt = new Promise((resolve) => this.socket.once('close', () => resolve(performance.now() - this.t0)));
  }

  get received(): string {
    return this.data;
  }

  get closed(): boolean {
    return this.socket.destroyed;
  }

  send(text: string | Buffer): void {
    if (!this.socket.destroyed) this.socket.write(text);
  }

  /** Sends `text` one byte every `everyMs` until the server closes the connection or the text ends. */
  async dribble(text: string, everyMs: number): Promise<void> {
    for (const ch of text) {
      if (this.closed) return;
      this.send(ch);
      await new Promise((r) => setTimeout(r, everyMs));
    }
  }

  /** The answer once the server closed the connection, or what came within `ms`. */
  async reply(ms = 5000): Promise<RawReply> {
    let timer: NodeJS.Timeout | undefined;
    const gaveUp = new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), ms)));
    const at = await Promise.race([this.closedAt, gaveUp]);
    clearTimeout(timer);
    return parseReply(this.data, at ?? performance.now() - this.t0, at !== null);
  }

  close(): void {
    this.socket.destroy();
  }
}

/** One request as raw text on a fresh connection; the answer when the server closes it, or after `ms`. */
export async function rawRequest(port: number, text: string | Buffer, ms = 3000): Promise<RawReply> {
  const c = new RawConnection(port);
  await c.opened;
  c.send(text);
  const r = await c.reply(ms);
  c.close();
  return r;
}

/** A request line and headers with `Connection: close` (so the server closes after its answer). */
export function head(method: string, path: string, headers: Record<string, string | number> = {}): string {
  const lines = Object.entries({ host: '127.0.0.1', connection: 'close', ...headers }).map(([k, v]) => `${k}: ${v}`);
  return `${method} ${path} HTTP/1.1\r\n${lines.join('\r\n')}\r\n\r\n`;
}
