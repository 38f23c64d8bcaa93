/**
 * Where a debuggee's ring lives, as the tracer reads and writes it.
 *
 * Shared (the default): a pagefile-backed section mapped both into the debuggee (where the stubs write) and into the
 * tracer, so a drain reads the records where they lie. Reading another process's memory costs far more: under Wine each
 * ReadProcessMemory is a wineserver round trip that ptrace-attaches a thread of the debuggee, stopping it, reads
 * /proc/PID/mem and detaches; a busy server's drains did that thousands of times a run.
 * Private (the fallback, when the section cannot be mapped into the debuggee): a VirtualAllocEx region read with
 * ReadProcessMemory and written with WriteProcessMemory.
 *
 * Under Wine a pagefile-backed section is an unlinked file in the wineserver's directory (usually under /tmp, often
 * a disk): the kernel would write the ring's pages back to that disk while the stubs fill them. There the section is
 * backed by a delete-on-close file in /dev/shm (tmpfs, memory) instead, when it can be created.
 */

import { readdirSync, unlinkSync } from 'node:fs';
import koffi from 'koffi';
import { CREATE_ALWAYS, FILE_ATTRIBUTE_TEMPORARY, FILE_FLAG_DELETE_ON_CLOSE, GENERIC_READ, GENERIC_WRITE, INVALID_HANDLE_VALUE, runsUnderWine, win } from '../api';
import type { TracedProcess } from '../traced-process';
import { FILE_MAP_ALL_ACCESS, MEM_COMMIT, MEM_RESERVE, PAGE_READWRITE, VIEW_UNMAP, winExtra } from './api-extra';

export interface RingMemory {
  /** The ring's address in the debuggee (what the stubs write to). */
  readonly address: bigint;
  /** True when the tracer reads it from its own mapping. */
  readonly shared: boolean;
  /** A shared ring's bytes in the tracer's mapping, read in place; undefined once released (and for a private ring). */
  inPlace?(): Buffer | undefined;
  /** Copies `target.length` bytes from `offset` into `target`. False when they cannot be read. */
  readInto(offset: number, target: Buffer): boolean;
  write(offset: number, bytes: Buffer): boolean;
  /** The tracer's mapping is let go (the debuggee's stays: a thread may still be inside a stub). */
  release(): void;
}

/**
 * The ring of `bytes` bytes for this debuggee: shared when the section maps into it, else private.
 * SOCKSHARE_RING_MEMORY=private makes every ring private (to measure what the shared ring saves, or to test the fallback).
 */
export function allocateRing(process: TracedProcess, bytes: number): RingMemory | undefined {
  const shared = globalThis.process.env.SOCKSHARE_RING_MEMORY === 'private' ? undefined : sharedRing(process, bytes);
  return shared ?? privateRing(process, bytes);
}

function sharedRing(process: TracedProcess, bytes: number): RingMemory | undefined {
  const file = memoryFile(process.pid);
  const section = BigInt(winExtra.CreateFileMappingW(file?.handle ?? INVALID_HANDLE_VALUE, 0n, PAGE_READWRITE, Math.floor(bytes / 2 ** 32), bytes % 2 ** 32, 0n));
  try {
    if (section === 0n) return undefined;
    const local = BigInt(winExtra.MapViewOfFile(section, FILE_MAP_ALL_ACCESS, 0, 0, BigInt(bytes)));
    if (local === 0n) return undefined;
    const base = Buffer.alloc(8);
    const size = Buffer.alloc(8);
    size.writeBigUInt64LE(BigInt(bytes));
    const status = winExtra.NtMapViewOfSection(section, process.handle, base, 0n, 0n, 0n, size, VIEW_UNMAP, 0, PAGE_READWRITE);
    if (status !== 0) {
      winExtra.UnmapViewOfFile(local);
      return undefined;
    }
    return new SharedRing(base.readBigUInt64LE(0), local, Buffer.from(koffi.view(local, bytes)));
  } finally {
    // Each view keeps the section alive, and the section its file: delete-on-close, the file goes with the last view.
    if (section !== 0n) win.CloseHandle(section);
    if (file) win.CloseHandle(file.handle);
  }
}

const MEMORY_DIR = 'Z:\\dev\\shm';
const RING_FILE_PREFIX = 'sockshare-ring-';
/** Stale ring files are looked for once, at the first ring. */
let staleFilesRemoved = false;

/** Under Wine: a new delete-on-close file in /dev/shm to back a ring's section; elsewhere (or without one) undefined. */
function memoryFile(pid: number): { handle: bigint } | undefined {
  if (!runsUnderWine()) return undefined;
  if (!staleFilesRemoved) {
    // The first ring of this agent: what a killed wineserver left behind goes first.
    staleFilesRemoved = true;
    removeStaleRingFiles();
  }
  const name = `${MEMORY_DIR}\\${RING_FILE_PREFIX}${globalThis.process.pid}-${pid}-${Date.now()}`;
  const file = BigInt(win.CreateFileW(name, (GENERIC_READ | GENERIC_WRITE) >>> 0, 0, null, CREATE_ALWAYS, FILE_ATTRIBUTE_TEMPORARY | FILE_FLAG_DELETE_ON_CLOSE, 0n));
  return file === INVALID_HANDLE_VALUE || file === 0n ? undefined : { handle: file };
}

/**
 * Ring files a killed wineserver left behind (it deletes them when their last view goes). One still mapped by a live
 * process cannot be deleted (Wine refuses, as Windows does for a mapped file) and stays.
 */
function removeStaleRingFiles(): void {
  let names: string[] = [];
  try {
    names = readdirSync(MEMORY_DIR).filter((name) => name.startsWith(RING_FILE_PREFIX));
  } catch {
    return;
  }
  for (const name of names) {
    try {
      unlinkSync(`${MEMORY_DIR}\\${name}`);
    } catch {
      // Mapped by a live process.
    }
  }
}

class SharedRing implements RingMemory {
  readonly shared = true;
  private view: Buffer | undefined;

  constructor(
    readonly address: bigint,
    private readonly local: bigint,
    view: Buffer,
  ) {
    this.view = view;
  }

  inPlace(): Buffer | undefined {
    return this.view;
  }

  readInto(offset: number, target: Buffer): boolean {
    if (!this.view) return false;
    this.view.copy(target, 0, offset, offset + target.length);
    return true;
  }

  write(offset: number, bytes: Buffer): boolean {
    if (!this.view) return false;
    bytes.copy(this.view, offset);
    return true;
  }

  release(): void {
    if (!this.view) return;
    this.view = undefined;
    winExtra.UnmapViewOfFile(this.local);
  }
}

function privateRing(process: TracedProcess, bytes: number): RingMemory | undefined {
  const address = BigInt(winExtra.VirtualAllocEx(process.handle, 0n, bytes, MEM_COMMIT | MEM_RESERVE, PAGE_READWRITE));
  if (address === 0n) return undefined;
  return {
    address,
    shared: false,
    readInto: (offset, target) => process.readInto(address + BigInt(offset), target),
    // Data the stubs read: no instruction cache to flush.
    write: (offset, data) => win.WriteProcessMemory(process.handle, address + BigInt(offset), data, data.length, 0) !== 0,
    release: () => {},
  };
}
