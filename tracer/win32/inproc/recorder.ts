/**
 * The in-process recording path for one debuggee: a region with the ring and a call+return stub per API
 * (VirtualAllocEx), the import-address-table slots that call into ws2_32 redirected to the stubs, and the drain that
 * reads back what the stubs recorded. Only APIs whose arguments are all in registers are redirected: the others are
 * decoded from memory at the call (structures, buffers) and stay on the breakpoint path.
 */

import { win } from '../api';
import { readImportSlots } from '../pe';
import type { LoadedModule, TracedProcess } from '../traced-process';
import { MEM_COMMIT, MEM_RESERVE, PAGE_EXECUTE_READWRITE, winExtra } from './api-extra';
import { ARMED_OFFSET, HEAD_OFFSET, RECORD_SIZE, RING_HEADER_SIZE, drain, ringBytes, ringHeader, type DrainResult } from './ring';
import { STUB_BREAK_OFFSET, buildStubs } from './stubs';

/** Hooked APIs whose every argument is a register or stack value (nothing to read from memory at the call). */
export const REGISTER_ONLY_APIS: readonly string[] = ['WSAStartup', 'WSACleanup', 'socket', 'closesocket', 'WSAEventSelect', 'WSAAsyncSelect', 'shutdown', 'listen', 'recv', 'send', 'WSARecv', 'WSASend'];

interface PatchedSlot {
  readonly address: bigint;
  readonly original: bigint;
}

export class InprocRecorder {
  private next = 0;
  private readonly snapshot: Buffer;
  private readonly patched = new Map<string, PatchedSlot[]>();
  /** The int3 in each stub (taken when its API is armed) → the API and its original entry point. */
  readonly breaks = new Map<bigint, { api: string; original: bigint }>();

  private constructor(
    private readonly process: TracedProcess,
    private readonly region: bigint,
    readonly slots: number,
    /** API id (the stub's index) → name. */
    readonly apis: readonly string[],
  ) {
    this.snapshot = Buffer.alloc(ringBytes(slots));
  }

  /**
   * Allocates the region, writes the ring (touched once, so the stubs take no page faults) and the stubs, and
   * redirects the ws2_32 import slots of every loaded module but ws2_32 itself. Returns undefined if it cannot.
   */
  static install(process: TracedProcess, exports: ReadonlyMap<string, bigint>, apis: readonly string[], modules: readonly LoadedModule[], slots = 262144): InprocRecorder | undefined {
    // The stubs' length does not depend on where they go: size the region for them exactly.
    const size = ringBytes(slots) + buildStubs(apis.length, 0n).code.length;
    const region = BigInt(winExtra.VirtualAllocEx(process.handle, 0n, size, MEM_COMMIT | MEM_RESERVE, PAGE_EXECUTE_READWRITE));
    if (region === 0n) return undefined;
    const ring = Buffer.alloc(ringBytes(slots));
    ringHeader(slots, apis.map((api) => exports.get(api) ?? 0n)).copy(ring);
    const { code, offsets } = buildStubs(apis.length, region);
    if (!write(process, region, ring) || !write(process, region + BigInt(ring.length), code)) return undefined;
    const recorder = new InprocRecorder(process, region, slots, apis);
    apis.forEach((api, id) => recorder.breaks.set(region + BigInt(ring.length + offsets[id] + STUB_BREAK_OFFSET), { api, original: exports.get(api) ?? 0n }));
    const stubOf = new Map(apis.map((api, id) => [exports.get(api) ?? -1n, region + BigInt(ring.length + offsets[id])]));
    const apiOf = new Map(apis.map((api) => [exports.get(api) ?? -1n, api]));
    for (const module of modules) {
      if (module === process.ws2) continue;
      const read = (rva: number, length: number) => process.read(module.base + BigInt(rva), length) ?? Buffer.alloc(length);
      for (const rva of readImportSlots(read, 'ws2_32.dll')) {
        const address = module.base + BigInt(rva);
        const target = process.readU64(address);
        const stub = target === undefined ? undefined : stubOf.get(target);
        if (target === undefined || stub === undefined) continue;
        const value = Buffer.alloc(8);
        value.writeBigUInt64LE(stub);
        if (!write(process, address, value)) continue;
        const api = apiOf.get(target) as string;
        recorder.patched.set(api, [...(recorder.patched.get(api) ?? []), { address, original: target }]);
      }
    }
    return recorder;
  }

  /** The APIs whose calls now go through a stub (and need no breakpoint). */
  redirected(): string[] {
    return [...this.patched.keys()];
  }

  /** Arms or disarms an API's stub: armed, each call stops at the stub's int3 and runs on the breakpoint path. */
  setArmed(api: string, armed: boolean): void {
    const id = this.apis.indexOf(api);
    if (id >= 0) write(this.process, this.region + BigInt(ARMED_OFFSET + id), Buffer.from([armed ? 1 : 0]));
  }

  /** Reads what was recorded since the last drain: the header, then only the records between (one or two reads). */
  drain(): DrainResult | undefined {
    const head = this.process.read(this.region + BigInt(HEAD_OFFSET), 8);
    if (!head) return undefined;
    head.copy(this.snapshot, HEAD_OFFSET);
    const end = Number(head.readBigUInt64LE(0));
    const from = Math.max(this.next, end - this.slots);
    for (let seq = from; seq < end; ) {
      const slot = seq % this.slots;
      const count = Math.min(end - seq, this.slots - slot);
      const offset = RING_HEADER_SIZE + slot * RECORD_SIZE;
      const bytes = this.process.read(this.region + BigInt(offset), count * RECORD_SIZE);
      if (!bytes) return undefined;
      bytes.copy(this.snapshot, offset);
      seq += count;
    }
    const result = drain(this.snapshot, this.slots, this.next);
    this.next = result.next;
    return result;
  }
}

function write(process: TracedProcess, address: bigint, bytes: Buffer): boolean {
  const ok = win.WriteProcessMemory(process.handle, address, bytes, bytes.length, 0) !== 0;
  win.FlushInstructionCache(process.handle, address, bytes.length);
  return ok;
}
