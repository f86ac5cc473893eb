/**
 * Shared-memory linking (RFC 2.2): one linear memory, the library's (or one the host creates when
 * both modules import theirs), imported by the contract as `env.memory`; library functions are the
 * contract's imports directly, with no host hop and no copies.
 *
 * Two Rust runtimes then live in one memory, so the layouts are checked from the binaries before
 * anything is instantiated, and the stacks are guarded while running:
 * - `stacks: "two"` (the RFC's layout): each module keeps its own stack; the library's stack pointer
 *   may not go below the end of the contract's data (the stack guard, wasm/stack-guard.ts).
 * - `stacks: "one"`: the library's stack pointer is the contract's: both run on the contract's
 *   stack, and neither may take it below address 0.
 */
import { formatFuncType, sameFuncType } from '../../wasm/module.js';
import { type MemRegion, type ModuleLayout, formatRegion, hex } from '../../wasm/layout.js';
import { HOOK_EXPORTS, METER_GLOBALS } from '../../wasm/meter-abi.js';
import { linkError } from '../errors.js';
import type { ModuleInfo } from '../prepare.js';

export type Stacks = 'two' | 'one';

export interface SharedPlan {
  namespace: string;
  stacks: Stacks;
  /** The contract's library imports, each wired to the library export of the same name. */
  functions: string[];
  /** Name of the contract's memory import in `env` (null when the contract uses no memory). */
  contractMemory: string | null;
  /** Name of the library's memory import in `env`, or null when the library defines its memory. */
  libraryMemory: string | null;
  /** Initial pages of the one memory. */
  initialPages: number;
  /** Declared maxima the shared memory must respect (imports), or null. */
  maxPages: number | null;
  /** Name of the contract's table import in `env`, wired to the library's table 0. */
  contractTable: string | null;
  /** Initial value and floor of each module's stack pointer (null: the module has none). */
  contractStack: { initial: number; floor: number } | null;
  libraryStack: { initial: number; floor: number } | null;
}

const ALIGN = 16;
const alignUp = (n: number) => Math.ceil(n / ALIGN) * ALIGN;

function regionsOverlap(a: MemRegion, b: MemRegion): boolean {
  return a.start < b.end && b.start < a.end && a.end > a.start && b.end > b.start;
}

function layoutOf(info: ModuleInfo, role: string): ModuleLayout {
  const l = info.layout;
  if (l.dynamicData > 0) {
    throw linkError(
      `the ${role} has ${l.dynamicData} data segment(s) at non-constant offsets (a position-independent build): shared linking needs fixed addresses to check the layouts`,
    );
  }
  return l;
}

function memoryImportName(info: ModuleInfo, role: string): string | null {
  const imp = info.imports.find((i) => i.kind === 'memory');
  if (!imp) return null;
  if (imp.module !== 'env' || imp.name !== 'memory') {
    throw linkError(`the ${role} imports its memory as \`${imp.module}.${imp.name}\`: in shared mode it must be \`env.memory\``);
  }
  return imp.name;
}

/** Checks everything that can be checked from the two binaries; no instance needed. */
export function planShared(contract: ModuleInfo, library: ModuleInfo | null, namespace: string, stacks: Stacks): SharedPlan {
  if (!library) throw linkError('link mode `shared` needs a library: its memory is the one both modules use');
  const cl = layoutOf(contract, 'contract');
  const ll = layoutOf(library, 'library');

  // memories
  if (cl.memory?.defined) {
    throw linkError(
      'the contract has its own memory: in shared mode it must import the library\'s as `env.memory` (link it with --import-memory), or use link mode "bridge", where each module keeps its own memory',
    );
  }
  const contractMemory = memoryImportName(contract, 'contract');
  const libraryMemory = memoryImportName(library, 'library');
  if (!ll.memory) throw linkError('the library has no memory to share: in shared mode the library exports its memory (or imports `env.memory`)');
  const mins = [ll.memory.minPages, ...(contractMemory && cl.memory ? [cl.memory.minPages] : [])];
  if (!libraryMemory && contractMemory && cl.memory && cl.memory.minPages > ll.memory.minPages) {
    throw linkError(
      `the contract imports a memory of at least ${cl.memory.minPages} pages, but the library's has ${ll.memory.minPages}: build the library with a larger initial memory`,
    );
  }
  const maxima = [ll.memory, contractMemory ? cl.memory : null].flatMap((m) => (m && m.maxPages !== null ? [m.maxPages] : []));
  if (!libraryMemory && contractMemory && cl.memory?.maxPages != null && (ll.memory.maxPages === null || ll.memory.maxPages > cl.memory.maxPages)) {
    throw linkError(
      `the contract imports a memory of at most ${cl.memory.maxPages} pages, but the library's may grow to ${ll.memory.maxPages ?? 'any size'}: drop the contract's maximum (or give the library the same one)`,
    );
  }

  // tables
  let contractTable: string | null = null;
  const timp = contract.imports.find((i) => i.kind === 'table');
  if (timp) {
    if (timp.module !== 'env') throw linkError(`the contract imports a table as \`${timp.module}.${timp.name}\`: in shared mode a shared table is \`env.<name>\``);
    if (!ll.table) throw linkError(`the contract imports the table \`env.${timp.name}\`, but the library has no table to share`);
    if (cl.dynamicElements > 0 || ll.dynamicElements > 0) {
      throw linkError('a shared table needs element segments at constant offsets: one of the modules places them at run time');
    }
    if (cl.table && cl.table.min > ll.table.min) {
      throw linkError(`the contract imports a table of at least ${cl.table.min} elements, but the library's has ${ll.table.min}`);
    }
    for (const c of cl.elements.filter((e) => e.table === 0)) {
      for (const l of ll.elements.filter((e) => e.table === 0)) {
        if (regionsOverlap(c, l)) {
          throw linkError(
            `contract elements [${c.start}, ${c.end}) overlap library elements [${l.start}, ${l.end}) in the shared table: tables are shared only when their element ranges are disjoint`,
          );
        }
      }
    }
    contractTable = timp.name;
  }

  // functions: the same name and signature on both sides, called directly
  const functions: string[] = [];
  for (const imp of contract.imports.filter((i) => i.module === namespace)) {
    const what = `\`${namespace}.${imp.name}\``;
    if (imp.kind !== 'func') throw linkError(`the contract imports ${what} as a ${imp.kind}: only functions can be imported from the library`);
    const exp = library.exports.find((e) => e.name === imp.name && e.kind === 'func');
    if (!exp) throw linkError(`the contract imports ${what}, but the library exports no function \`${imp.name}\``);
    if (!sameFuncType(imp.type!, exp.type!)) {
      throw linkError(
        `signature mismatch for ${what}: the contract imports ${formatFuncType(imp.type!)}, the library exports ${formatFuncType(exp.type!)} (shared mode calls directly: the types must be equal)`,
      );
    }
    functions.push(imp.name);
  }

  const { contractStack, libraryStack } = checkLayouts(cl, ll, stacks);
  return {
    namespace,
    stacks,
    functions,
    contractMemory,
    libraryMemory,
    initialPages: Math.max(...mins),
    maxPages: maxima.length ? Math.min(...maxima) : null,
    contractTable,
    contractStack,
    libraryStack,
  };
}

/** The layout rules of shared linking; throws a link error naming both regions in hex. */
function checkLayouts(cl: ModuleLayout, ll: ModuleLayout, stacks: Stacks): Pick<SharedPlan, 'contractStack' | 'libraryStack'> {
  if (stacks === 'one') {
    for (const [role, l] of [['contract', cl], ['library', ll]] as const) {
      if (!l.stackPointer) {
        throw linkError(
          `link.stacks "one" needs both modules to follow the LLVM stack convention (the first defined global is a mutable i32 stack pointer set by i32.const), but for the ${role} ${l.stackPointerNote}: use link.stacks "two"`,
        );
      }
    }
  }
  const cStack: MemRegion | null = cl.stackPointer ? { start: 0, end: cl.stackPointer.initial } : null;
  const fail = (a: string, b: string) => {
    throw linkError(`${a} overlaps ${b}: the two modules cannot share one memory as built`);
  };
  // data on data
  for (const l of ll.data) for (const c of cl.data) if (regionsOverlap(l, c)) fail(`library data ${formatRegion(l)}`, `contract data ${formatRegion(c)}`);
  // library data on the contract's stack
  if (cStack) for (const l of ll.data) if (regionsOverlap(l, cStack)) fail(`library data ${formatRegion(l)}`, `contract stack ${formatRegion(cStack)}`);

  // everything of the contract's below the library's stack: its stack and its data
  const cTop = Math.max(cStack?.end ?? 0, ...cl.data.map((d) => d.end), cl.dataEnd ?? 0);
  const topRegion = (): string => {
    const last = [...cl.data].sort((a, b) => b.end - a.end)[0];
    return last && last.end === cTop ? `contract data ${formatRegion(last)}` : `contract stack ${formatRegion(cStack ?? { start: 0, end: cTop })}`;
  };

  let libraryStack: SharedPlan['libraryStack'] = null;
  const lsp = ll.stackPointer;
  if (stacks === 'two' && lsp) {
    // a leaf function's frame is written below the last guarded value: keep room for it
    const floor = alignUp(cTop + ll.leafFrameBytes);
    if (floor >= lsp.initial) {
      throw linkError(
        `library stack (growing down from ${hex(lsp.initial)}) overlaps ${topRegion()}: the library's stack must start above the contract's data (link the library with -zstack-size=2097152, as the RFC's layout does)`,
      );
    }
    libraryStack = { initial: lsp.initial, floor };
  }

  // the library's heap, from __heap_base (or its data end) upwards, over the contract's regions
  const heapStart = ll.heapBase ?? (ll.data.length ? Math.max(...ll.data.map((d) => d.end)) : null);
  if (heapStart !== null) {
    const heap: MemRegion = { start: heapStart, end: 0x1_0000_0000 };
    const heapText = `library heap [${hex(heapStart)}, end of memory)`;
    for (const c of cl.data) if (regionsOverlap(heap, c)) fail(heapText, `contract data ${formatRegion(c)}`);
    if (cStack && regionsOverlap(heap, cStack)) fail(heapText, `contract stack ${formatRegion(cStack)}`);
  }

  const contractStack = cl.stackPointer ? { initial: cl.stackPointer.initial, floor: alignUp(Math.max(cl.leafFrameBytes, stacks === 'one' ? ll.leafFrameBytes : 0)) } : null;
  if (stacks === 'one') libraryStack = contractStack;
  return { contractStack, libraryStack };
}

/** The stack-pointer imports (`__meter.sp`, `__meter.sp_floor`) of both modules for one execution. */
export function stackImports(plan: SharedPlan): { contract: WebAssembly.ModuleImports; library: WebAssembly.ModuleImports } {
  const global = (s: { initial: number; floor: number } | null) =>
    s ? { sp: new WebAssembly.Global({ value: 'i32', mutable: true }, s.initial | 0), floor: new WebAssembly.Global({ value: 'i32', mutable: false }, s.floor | 0) } : null;
  const c = global(plan.contractStack);
  // one stack: the library imports the contract's very stack-pointer global
  const l = plan.stacks === 'one' ? (c && { sp: c.sp, floor: c.floor }) : global(plan.libraryStack);
  const entries = (g: ReturnType<typeof global>): WebAssembly.ModuleImports => {
    const out: WebAssembly.ModuleImports = {};
    if (g) {
      out[METER_GLOBALS.sp] = g.sp;
      out[METER_GLOBALS.spFloor] = g.floor;
    }
    return out;
  };
  return { contract: entries(c), library: entries(l) };
}

/** The contract's `env` and library imports, wired to the live library instance and the one memory. */
export function sharedContractImports(plan: SharedPlan, library: WebAssembly.Instance, memory: WebAssembly.Memory): Record<string, WebAssembly.ModuleImports> {
  const env: WebAssembly.ModuleImports = {};
  if (plan.contractMemory) env[plan.contractMemory] = memory;
  if (plan.contractTable) env[plan.contractTable] = library.exports[HOOK_EXPORTS.table] as WebAssembly.Table;
  const lib: WebAssembly.ModuleImports = {};
  for (const f of plan.functions) lib[f] = library.exports[f] as WebAssembly.ImportValue;
  return { env, [plan.namespace]: lib };
}
