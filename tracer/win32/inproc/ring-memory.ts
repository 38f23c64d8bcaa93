/**
 * Where a debuggee's ring lives, as the tracer reads and writes it.
 *
 * Shared (the default): a pagefile-backed section mapped both into the debuggee (where the stubs write) and into the
 * tracer, so a drain is a memory copy. Reading another process's memory costs far more: under Wine each
 * ReadProcessMemory is a wineserver round trip that ptrace-attaches a thread of the debuggee, stopping it, reads
 * /proc/PID/mem and detaches; a busy server's drains did that thousands of times a run.
 * Private (the fallback, when the section cannot be mapped into the debuggee): a VirtualAllocEx region read with
 * ReadProcessMemory and written with WriteProcessMemory.
 */

import koffi from 'koffi';
import { win } from '../api';
import type { TracedProcess } from '../traced-process';
import { FILE_MAP_ALL_ACCESS, INVALID_HANDLE_VALUE, MEM_COMMIT, MEM_RESERVE, PAGE_READWRITE, VIEW_UNMAP, winExtra } from './api-extra';

export interface RingMemory {
  /** The ring's address in the debuggee (what the stubs write to). */
  readonly address: bigint;
  /** True when the tracer reads it from its own mapping. */
  readonly shared: boolean;
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
  const section = BigInt(winExtra.CreateFileMappingW(INVALID_HANDLE_VALUE, 0n, PAGE_READWRITE, Math.floor(bytes / 2 ** 32), bytes % 2 ** 32, 0n));
  if (section === 0n) return undefined;
  try {
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
    // Each view keeps the section alive.
    win.CloseHandle(section);
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
