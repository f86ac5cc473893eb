/**
 * Graceful shutdown on SIGTERM and SIGINT only. No JavaScript listener is ever installed for the fault
 * signals (SIGSEGV, SIGBUS, SIGFPE, SIGILL): a JS listener for SIGSEGV replaces V8's WebAssembly trap
 * handler, which turns a guard-page fault (an out-of-bounds load or store that is not bounds-checked)
 * into a wasm trap; with a listener, one out-of-bounds store kills or wedges the process.
 */

/** Signals that start a graceful shutdown. Anything else keeps Node's (and V8's) default handling. */
export const SHUTDOWN_SIGNALS = ['SIGTERM', 'SIGINT'] as const;

/** Never given a JS listener, by anything in this process (checked by the tests). */
export const FAULT_SIGNALS = ['SIGSEGV', 'SIGBUS', 'SIGFPE', 'SIGILL'] as const;

export interface ShutdownOptions {
  /** Longest wait for `close` before the process exits anyway. */
  delayMs: number;
  /** Stops accepting work and drains what is in flight. */
  close: () => Promise<void>;
  log: {
    info: (obj: object, msg: string) => void;
    error: (obj: object, msg: string) => void;
  };
}

/**
 * A signal again within this long of the first is the same stop, delivered twice: Ctrl-C on `npm start`
 * reaches the whole process group (npm and the server) and npm passes its copy on to the server.
 */
export const REPEAT_WINDOW_MS = 1000;

/**
 * Installs the handlers: the first SIGTERM/SIGINT drains (exit 0), a second one at least
 * REPEAT_WINDOW_MS later exits at once (1); an uncaught error is logged, then the same drain (exit 1),
 * bounded by `delayMs`.
 */
export function installShutdown(o: ShutdownOptions): void {
  let closing = false;
  let firstSignalAt = 0;
  const finish = (code: number) => {
    process.exitCode = code;
    process.exit(code);
  };
  const drain = (code: number, what: object, msg: string, error = false) => {
    if (closing) return;
    closing = true;
    if (error) o.log.error(what, msg);
    else o.log.info(what, msg);
    const bound = setTimeout(() => {
      o.log.error({ delayMs: o.delayMs }, 'shutdown took too long: exiting');
      finish(1);
    }, o.delayMs);
    bound.unref();
    // cleared once drained: where exit is intercepted (an embedder, the tests), it must not fire later
    o.close().then(
      () => {
        clearTimeout(bound);
        finish(code);
      },
      (err: unknown) => {
        clearTimeout(bound);
        o.log.error({ err }, 'shutdown failed');
        finish(1);
      },
    );
  };
  for (const signal of SHUTDOWN_SIGNALS) {
    process.on(signal, () => {
      if (closing && firstSignalAt > 0 && performance.now() - firstSignalAt < REPEAT_WINDOW_MS) {
        o.log.info({ signal }, 'signal repeated at once (a process group and its parent): still draining');
        return;
      }
      if (closing) {
        o.log.error({ signal }, 'second signal: exiting now');
        finish(1);
      }
      firstSignalAt = performance.now();
      drain(0, { signal }, 'closing: draining in-flight requests');
    });
  }
  process.on('uncaughtException', (err) => drain(1, { err }, 'closing after an uncaught error', true));
  process.on('unhandledRejection', (err) => drain(1, { err }, 'closing after an unhandled rejection', true));
}
