/**
 * Call stacks for the trace: each hooked call's stack walked in the debuggee and symbolized there, so a replay on any
 * machine shows it without the binaries. The program's own modules are named by dbghelp (function, file and line from
 * their PDB or DWARF 2-4 line table); system DLLs by their nearest export (Wine's dbghelp would load their DWARF,
 * 0.1-0.3 s per DLL, and give build-tree paths that mean nothing to a user).
 */

import { closeSync, openSync, readSync } from 'node:fs';
import type { StackFrame } from '../trace/schema';
import { dbghelp, decodeWideString, type Handle } from './api';
import { EVERY_EXPORT, type ExportTable, nearestExport, readCoffFunctions, readImageExports, sortedExports } from './pe';
import { WalkMemory, walkStack } from './stack-walk';
import type { TracedProcess, TracedThread } from './traced-process';

/** SYMOPT_UNDNAME | SYMOPT_DEFERRED_LOADS | SYMOPT_LOAD_LINES: symbols read at a module's first lookup, with lines. */
const SYMBOL_OPTIONS = 0x2 | 0x4 | 0x10;
/** SYMBOL_INFOW: SizeOfStruct 88, Address at 56, NameLen at 76, MaxNameLen at 80, Name (WCHAR[]) at 84. */
const SYMBOL_INFO_SIZE = 88;
const MAX_NAME = 256;
/** IMAGEHLP_LINEW64: 40 bytes, LineNumber at 16, FileName (a pointer into dbghelp's memory) at 24. */
const LINE_SIZE = 40;
/** IMAGEHLP_MODULEW64: 3264 bytes, ImageName (WCHAR[256]) at 100. */
const MODULE_INFO_SIZE = 3264;
const MODULE_IMAGE_NAME = 100;
/** Frames kept per call, the hooked function's caller first. */
export const STACK_FRAMES = 32;

interface ModuleNaming {
  /** The image's path, as dbghelp loaded it. */
  path: string;
  /** Under the Windows folder: named from its export table, not dbghelp. */
  system: boolean;
  /** The image file's COFF symbol table, for a module dbghelp named nothing in (DWARF 5). */
  coff?: ExportTable;
  exports?: ExportTable;
}

/** One debuggee's symbol handler (dbghelp keys it by the process handle). */
class ProcessSymbols {
  private readonly frames = new Map<bigint, StackFrame>();
  private readonly modules = new Map<bigint, ModuleNaming>();
  /** What the stack walks read of the process, a page at a time. */
  readonly memory: WalkMemory;

  constructor(private readonly process: TracedProcess) {
    this.memory = new WalkMemory((address, length) => process.read(address, length), (address) => process.moduleAt(address) !== undefined);
  }

  get handle(): Handle {
    return this.process.handle;
  }

  /** The frame of a code address; `returnAddress`: the line and function are those of the call before it. */
  frame(address: bigint, returnAddress: boolean): StackFrame {
    const key = returnAddress ? address : -address;
    let frame = this.frames.get(key);
    if (!frame) {
      frame = this.symbolize(address, returnAddress ? address - 1n : address);
      this.frames.set(key, frame);
    }
    return frame;
  }

  private symbolize(address: bigint, lookup: bigint): StackFrame {
    const module = this.process.moduleAt(address);
    if (!module) return { module: '?', offset: Number(address) };
    const frame: StackFrame = { module: module.name, offset: Number(address - module.base) };
    const naming = this.naming(module.base);
    if (!naming.system) Object.assign(frame, this.fromDbghelp(address, lookup));
    // What dbghelp could not name: the nearest function of the image's COFF table, else of its exports.
    const nameFrom = (table: ExportTable) => {
      const found = nearestExport(table, Number(lookup - module.base));
      if (found) Object.assign(frame, { function: found.name, functionOffset: found.offset + Number(address - lookup) });
    };
    if (frame.function === undefined && !naming.system) nameFrom((naming.coff ??= readCoff(naming.path)));
    if (frame.function === undefined) nameFrom((naming.exports ??= this.readExports(module.base)));
    return frame;
  }

  private fromDbghelp(address: bigint, lookup: bigint): Partial<StackFrame> {
    const help = dbghelp();
    const named: Partial<StackFrame> = {};
    const symbol = Buffer.alloc(SYMBOL_INFO_SIZE + MAX_NAME * 2);
    symbol.writeUInt32LE(SYMBOL_INFO_SIZE, 0);
    symbol.writeUInt32LE(MAX_NAME, 80);
    const displacement = [0n];
    if (help.SymFromAddrW(this.process.handle, lookup, displacement, symbol)) {
      const length = Math.min(symbol.readUInt32LE(76), MAX_NAME - 1);
      named.function = symbol.toString('utf16le', 84, 84 + 2 * length);
      named.functionOffset = Number(address - symbol.readBigUInt64LE(56));
    }
    const line = Buffer.alloc(LINE_SIZE);
    line.writeUInt32LE(LINE_SIZE, 0);
    if (help.SymGetLineFromAddrW64(this.process.handle, lookup, [0], line)) {
      const name = line.readBigUInt64LE(24);
      const number = line.readUInt32LE(16);
      if (name !== 0n && number > 0) Object.assign(named, { file: decodeWideString(name), line: number });
    }
    return named;
  }

  private naming(base: bigint): ModuleNaming {
    let naming = this.modules.get(base);
    if (!naming) {
      const path = this.imagePath(base);
      naming = { path, system: isSystemImage(path) };
      this.modules.set(base, naming);
    }
    return naming;
  }

  private imagePath(base: bigint): string {
    const info = Buffer.alloc(MODULE_INFO_SIZE);
    info.writeUInt32LE(MODULE_INFO_SIZE, 0);
    if (!dbghelp().SymGetModuleInfoW64(this.process.handle, base, info)) return '';
    const name = info.toString('utf16le', MODULE_IMAGE_NAME, MODULE_IMAGE_NAME + 512);
    return name.slice(0, Math.max(0, name.indexOf('\0')));
  }

  private readExports(base: bigint): ExportTable {
    const image = readImageExports((rva, length) => this.process.read(base + BigInt(rva), length) ?? Buffer.alloc(length), () => EVERY_EXPORT);
    return sortedExports(image?.functions ?? new Map());
  }
}

/** The functions an image file's COFF symbol table names, sorted (none when it cannot be read). */
function readCoff(path: string): ExportTable {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const file = fd;
    return sortedExports(
      readCoffFunctions((offset, length) => {
        const buffer = Buffer.alloc(length);
        return buffer.subarray(0, readSync(file, buffer, 0, length, offset));
      }),
    );
  } catch {
    return [];
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** The Windows folder's DLLs (C:\windows\system32\...), the program's own and third-party ones being elsewhere. */
function isSystemImage(path: string): boolean {
  const windows = (process.env.SystemRoot ?? process.env.windir ?? 'C:\\windows').toLowerCase();
  return path.toLowerCase().startsWith(windows + '\\');
}

/** Walks and symbolizes hooked calls' stacks; off when SOCKSHARE_STACKS is 0 (to measure what they cost). */
export class CallStacks {
  private readonly processes = new Map<number, ProcessSymbols | undefined>();
  private optionsSet = false;
  readonly enabled = process.env.SOCKSHARE_STACKS !== '0';
  /**
   * Stacks recorded and the time spent walking and symbolizing them (the benchmark's per-call cost); in-process, the
   * stacks the stubs captured and the time spent symbolizing them at the drain.
   */
  readonly stats = { stacks: 0, stackNs: 0, ringStacks: 0, ringStackNs: 0 };

  /**
   * The stack of a thread stopped at a hooked function's first byte (`entry`), from its caller outward.
   * The symbol handler starts at a process's first stack: by then the loader has mapped its modules.
   */
  at(traced: TracedProcess, thread: TracedThread, context: Buffer, entry: bigint): StackFrame[] | undefined {
    if (!this.enabled) return undefined;
    const started = process.hrtime.bigint();
    const symbols = this.symbolsOf(traced);
    if (!symbols) return undefined;
    const addresses = walkStack(traced.handle, thread.handle, context, entry, STACK_FRAMES + 1, symbols.memory);
    const stack = addresses.slice(1).map((address) => symbols.frame(address, true));
    this.stats.stacks++;
    this.stats.stackNs += Number(process.hrtime.bigint() - started);
    return stack.length > 0 ? stack : undefined;
  }

  /** The frames of return addresses a stub captured in the process (in-process capture), innermost first. */
  fromReturnAddresses(traced: TracedProcess, addresses: readonly bigint[]): StackFrame[] | undefined {
    if (addresses.length === 0) return undefined;
    const started = process.hrtime.bigint();
    const symbols = this.symbolsOf(traced);
    const stack = symbols ? addresses.slice(0, STACK_FRAMES).map((address) => symbols.frame(address, true)) : undefined;
    this.stats.ringStacks++;
    this.stats.ringStackNs += Number(process.hrtime.bigint() - started);
    return stack;
  }

  /** LOAD_DLL: a module loaded after the handler started is added from the event's file handle (no name needed). */
  moduleLoaded(pid: number, file: Handle, base: bigint): void {
    const symbols = this.processes.get(pid);
    symbols?.memory.imagesChanged();
    if (!symbols || file === 0n) return;
    dbghelp().SymLoadModuleExW(symbols.handle, file, null, null, base, 0, 0n, 0);
  }

  /** EXIT_PROCESS or detach: the handler is freed while the process handle is still open. */
  processEnded(pid: number): void {
    const symbols = this.processes.get(pid);
    this.processes.delete(pid);
    if (symbols) dbghelp().SymCleanup(symbols.handle);
  }

  private symbolsOf(traced: TracedProcess): ProcessSymbols | undefined {
    if (this.processes.has(traced.pid)) return this.processes.get(traced.pid);
    const help = dbghelp();
    if (!this.optionsSet) {
      help.SymSetOptions(SYMBOL_OPTIONS);
      this.optionsSet = true;
    }
    // Invading now enumerates the modules the loader has mapped; later ones come with their LOAD_DLL events.
    const symbols = help.SymInitializeW(traced.handle, null, 1) ? new ProcessSymbols(traced) : undefined;
    this.processes.set(traced.pid, symbols);
    return symbols;
  }
}
