/**
 * In-process capture: the ring that the stubs in stubs.ts write into, in the debuggee's own
 * memory, and its decoder on the tracer side.
 *
 * Drained by inproc/recorder.ts (one or two ReadProcessMemory per drain), turned into events by inproc/events.ts.
 *
 * Region layout (one VirtualAllocEx region per process):
 *   header (RING_HEADER_SIZE bytes)
 *     0x00 u64 head      next sequence number; stubs take one with `lock xadd qword [head], 1`
 *     0x08 u32 slots     number of 64-byte records (a power of two)
 *     0x0C u32 mask      slots - 1
 *     0x10 u64 original[MAX_APIS]  the saved pointers the stubs call/jump through (index = API id)
 *     0x210 u8 armed[MAX_APIS]     non-zero: the stub executes int3 first (a breakpoint on that API)
 *     0x250 u8 failArmed[MAX_APIS] non-zero: the stub executes int3 after a call that failed (its return recorded)
 *   records (slots x 64 bytes), slot = seq & mask
 *
 * Record (64 bytes, 8 qwords). The stamp is written LAST by the stub: stamp = seq + 1, so a zeroed slot reads as empty
 * and a reader can tell a complete record (stamp === seq + 1 for the seq it expects) from one being written.
 *   call record (kind 0)                      return record (kind 1)
 *   0x00 u64 stamp                            0x00 u64 stamp
 *   0x08 u16 api id, u16 kind, u32 tid        0x08 u16 api id, u16 kind, u32 tid
 *   0x10 u64 tsc (rdtsc)                      0x10 u64 tsc
 *   0x18 RCX                                  0x18 RAX
 *   0x20 RDX                                  0x20 u32 last error (gs:[0x68]), u32 low 32 bits of the call's seq
 *   0x28 R8                                   0x28 5th argument ([rsp+0x28] at entry)
 *   0x30 R9                                   0x30 6th argument ([rsp+0x30] at entry)
 *   0x38 caller's return address              0x38 7th argument ([rsp+0x38] at entry)
 * The caller is in the call record: a call still in progress at a drain is already known as the program's or as
 * Winsock's own (internal). The 5th-7th arguments travel in the return record (a call record has no room); the
 * decoder joins them to the call through the link, and reads them as 0 for a call that has not returned yet.
 */

export const RECORD_SIZE = 64;
export const MAX_APIS = 64;
export const HEAD_OFFSET = 0x00;
export const ORIGINALS_OFFSET = 0x10;
/** One byte per API: non-zero makes its stub stop (int3) instead of recording, for a breakpoint on it. */
export const ARMED_OFFSET = ORIGINALS_OFFSET + 8 * MAX_APIS;
/** One byte per API: non-zero makes its stub stop (int3) after a failed call, for a stop on a finding's failure. */
export const FAIL_ARMED_OFFSET = ARMED_OFFSET + MAX_APIS;
/** Header size, rounded to a cache line so records do not share one with it. */
export const RING_HEADER_SIZE = Math.ceil((FAIL_ARMED_OFFSET + MAX_APIS) / 64) * 64;

export const KIND_CALL = 0;
export const KIND_RETURN = 1;

export interface RawCall {
  readonly seq: number;
  readonly api: number;
  readonly tid: number;
  readonly tsc: bigint;
  /** RCX, RDX, R8, R9, then arg5-arg7 from the linked return record (0 while the call has not returned). */
  readonly raw: bigint[];
  readonly returnAddress: bigint;
  ret?: { readonly seq: number; readonly tsc: bigint; readonly rax: bigint; readonly lastError: number };
}

/** A return whose call record came in an earlier drain: the engine links it through `link`. */
export interface RawReturn {
  readonly seq: number;
  readonly link: number;
  readonly tsc: bigint;
  readonly rax: bigint;
  readonly lastError: number;
}

export interface DrainResult {
  readonly calls: RawCall[];
  /** Returns of calls read in an earlier drain. */
  readonly lateReturns: RawReturn[];
  /** Records overwritten before they were read (exact: sequence numbers taken minus records seen). */
  readonly lost: number;
  /** The next sequence number to read from on the following drain. */
  readonly next: number;
  /** Returns whose call record was lost or not yet read (their call is reported without args). */
  readonly orphanReturns: number;
}

/** Total bytes of a region's ring part (header + records). */
export function ringBytes(slots: number): number {
  if (slots <= 0 || (slots & (slots - 1)) !== 0) throw new Error(`ring slots must be a power of two: ${slots}`);
  return RING_HEADER_SIZE + slots * RECORD_SIZE;
}

/** The header bytes to write at install (head 0, slots, mask; the originals are filled by the installer). */
export function ringHeader(slots: number, originals: readonly bigint[]): Buffer {
  const b = Buffer.alloc(RING_HEADER_SIZE);
  b.writeBigUInt64LE(0n, HEAD_OFFSET);
  b.writeUInt32LE(slots, 0x08);
  b.writeUInt32LE(slots - 1, 0x0c);
  originals.forEach((p, i) => b.writeBigUInt64LE(p, ORIGINALS_OFFSET + 8 * i));
  return b;
}

/**
 * Decodes one snapshot of the ring (header + records read with ONE ReadProcessMemory), from sequence number `from`.
 * Records still being written (stamp not yet seq+1) stop the drain there; they are read next time.
 * Uses a DataView with 32-bit reads; BigInt only for the values handed to the decoders.
 */
export function drain(snapshot: Uint8Array, slots: number, from: number): DrainResult {
  const view = new DataView(snapshot.buffer, snapshot.byteOffset, snapshot.byteLength);
  const head = view.getUint32(HEAD_OFFSET, true) + view.getUint32(HEAD_OFFSET + 4, true) * 2 ** 32;
  const mask = slots - 1;
  let start = from;
  let lost = 0;
  if (head - from > slots) {
    lost = head - from - slots;
    start = head - slots;
  }
  const q = (o: number): bigint => BigInt(view.getUint32(o, true)) | (BigInt(view.getUint32(o + 4, true)) << 32n);
  const calls: RawCall[] = [];
  const lateReturns: RawReturn[] = [];
  const bySeqLow = new Map<number, RawCall>();
  let orphanReturns = 0;
  let next = start;
  for (let seq = start; seq < head; seq++) {
    const o = RING_HEADER_SIZE + (seq & mask) * RECORD_SIZE;
    const stamp = view.getUint32(o, true) + view.getUint32(o + 4, true) * 2 ** 32;
    if (stamp !== seq + 1) break; // not committed yet (or overwritten while reading: counted next time)
    next = seq + 1;
    const api = view.getUint16(o + 8, true);
    const kind = view.getUint16(o + 10, true);
    const tid = view.getUint32(o + 12, true);
    const tsc = q(o + 16);
    if (kind === KIND_CALL) {
      const call: RawCall = { seq, api, tid, tsc, raw: [q(o + 24), q(o + 32), q(o + 40), q(o + 48), 0n, 0n, 0n], returnAddress: q(o + 56) };
      calls.push(call);
      bySeqLow.set(seq >>> 0, call);
    } else {
      const link = view.getUint32(o + 36, true);
      const call = bySeqLow.get(link);
      if (call === undefined) {
        // Its call was read by an earlier drain (or lost): the caller of drain links it.
        orphanReturns++;
        lateReturns.push({ seq, link, tsc, rax: q(o + 24), lastError: view.getUint32(o + 32, true) });
        continue;
      }
      call.raw.splice(4, 3, q(o + 40), q(o + 48), q(o + 56));
      call.ret = { seq, tsc, rax: q(o + 24), lastError: view.getUint32(o + 32, true) };
    }
  }
  return { calls, lateReturns, lost, next, orphanReturns };
}

/**
 * rdtsc -> QueryPerformanceCounter ticks: two (tsc, qpc) pairs taken by the engine at install and at each drain give
 * a linear map; under Wine on one machine the TSC is shared by all processes, so ordering by tsc orders across them.
 */
export interface TscCalibration {
  readonly tsc0: bigint;
  readonly qpc0: bigint;
  readonly tsc1: bigint;
  readonly qpc1: bigint;
}

export function tscToQpc(c: TscCalibration, tsc: bigint): number {
  const dt = Number(c.tsc1 - c.tsc0);
  const dq = Number(c.qpc1 - c.qpc0);
  return Number(c.qpc0) + (dt === 0 ? 0 : (Number(tsc - c.tsc0) * dq) / dt);
}
