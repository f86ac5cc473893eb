/**
 * Linear memories reused across the executions of one thread. Creating a wasm memory reserves its
 * address space and pushes V8 into extra garbage collections; reusing one costs a zero fill.
 *
 * Isolation: a memory comes back only with exactly its initial size (a grown one cannot shrink, and
 * `memory.size` must read the same on every run, so it is dropped), and every byte is zeroed before
 * anyone gets it again: after the answer is sent when the thread is idle, else on acquiring it.
 * Instantiation then writes the module's data segments into it, as into a fresh memory.
 */
export const PAGE = 65536;

interface Slot {
  memory: WebAssembly.Memory;
  clean: boolean;
}

export interface MemoryPoolOptions {
  /** Memories kept per shape (initial, maximum). */
  perShape: number;
  /** Bytes kept in all, at their initial sizes. */
  budgetBytes: number;
}

export class MemoryPool {
  private readonly free = new Map<string, Slot[]>();
  private heldBytes = 0;
  private sweepQueued = false;
  created = 0;
  reused = 0;

  constructor(private readonly opts: MemoryPoolOptions) {}

  /** A zeroed memory of exactly `initial` pages with this maximum. */
  acquire(initial: number, maximum: number | undefined): WebAssembly.Memory {
    const slot = this.free.get(shape(initial, maximum))?.pop();
    if (!slot) {
      this.created++;
      return new WebAssembly.Memory({ initial, maximum });
    }
    this.heldBytes -= initial * PAGE;
    if (!slot.clean) zero(slot.memory);
    this.reused++;
    return slot.memory;
  }

  /** Gives a memory back once nothing of its execution will run again; grown ones are dropped. */
  release(memory: WebAssembly.Memory, initial: number, maximum: number | undefined): void {
    const bytes = initial * PAGE;
    if (memory.buffer.byteLength !== bytes || this.heldBytes + bytes > this.opts.budgetBytes) return;
    const key = shape(initial, maximum);
    let list = this.free.get(key);
    if (!list) this.free.set(key, (list = []));
    if (list.length >= this.opts.perShape) return;
    list.push({ memory, clean: false });
    this.heldBytes += bytes;
    this.scheduleSweep();
  }

  /** Memories held, for tests and metrics. */
  get size(): number {
    let n = 0;
    for (const l of this.free.values()) n += l.length;
    return n;
  }

  /** Zeroes every returned memory now (a sweep does the same when the thread is idle). */
  sweep(): void {
    this.sweepQueued = false;
    for (const list of this.free.values()) {
      for (const s of list) {
        if (!s.clean) {
          zero(s.memory);
          s.clean = true;
        }
      }
    }
  }

  private scheduleSweep(): void {
    if (this.sweepQueued) return;
    this.sweepQueued = true;
    // after the current task's answer has been posted
    setImmediate(() => this.sweep()).unref();
  }
}

const shape = (initial: number, maximum: number | undefined) => `${initial}:${maximum}`;

function zero(m: WebAssembly.Memory): void {
  new Uint8Array(m.buffer).fill(0);
}

/** Bytes of memories each thread keeps for reuse (the service's start-up memory budget counts them per worker). */
export const THREAD_MEMORY_POOL_BYTES = 64 * 1024 * 1024;

/** The pool of this thread (each worker has its own; memories never cross threads). */
export const threadMemoryPool = new MemoryPool({ perShape: 4, budgetBytes: THREAD_MEMORY_POOL_BYTES });
