/**
 * In-process capture: the ring that the stubs in stubs.ts write into, in the debuggee's own
 * memory, and its decoder on the tracer side.
 *
 * Read back by inproc/ring-reader.ts (ReadProcessMemory into a snapshot), turned into events by inproc/events.ts (or
 * counted by ring-count.ts and written as ring chunks, ring-chunk.ts).
 *
 * Region layout (one VirtualAllocEx region per process):
 *   header (RING_HEADER_SIZE bytes)
 *     0x00 u64 head      next sequence number; stubs take n with `lock xadd qword [head], n`
 *     0x08 u32 slots     number of 64-byte records (a power of two)
 *     0x0C u32 mask      slots - 1
 *     0x10 u64 original[MAX_APIS]  the saved pointers the stubs call/jump through (index = API id)
 *     0x210 u8 armed[MAX_APIS]     non-zero: the stub executes int3 first (a breakpoint on that API)
 *     0x250 u8 failArmed[MAX_APIS] non-zero: the stub executes int3 after a call that failed (its return recorded)
 *     0x290 u64 tail     the drain's next sequence number: records below it are read (written by the tracer)
 *     0x298 u64 stalls   how many times a stub waited for room (wait mode), `lock inc`
 *     0x2A0 u64 stall ticks  the TSC ticks spent waiting, `lock add`
 *     0x2A8 u64 ntdll!NtDelayExecution, called by a stub that has waited a while (0: spin only)
 *     0x2B0 i64 its interval: -10,000 (1 ms, relative, in 100 ns units)
 *     0x2B8 u8 waitWhenFull  non-zero: a stub waits for room instead of overwriting unread records
 *     0x2B9 u8 extensionStop non-zero: WSAIoctl's stub stops after handing out an extension pointer not listed below
 *     0x2C0 u64 knownExtensions[8]  extension function pointers the tracer has already seen
 *     0x300 u64 ntdll!RtlCaptureStackBackTrace, called by a call stub built to record stacks (0: none recorded)
 *   records (slots x 64 bytes), slot = seq & mask
 *
 * Record (64 bytes, 8 qwords). The stamp is written LAST by the stub: stamp = seq + 1, so a zeroed slot reads as empty
 * and a reader can tell a complete record (stamp === seq + 1 for the seq it expects) from one being written.
 *   call record (kind 0)                      return record (kind 1)
 *   0x00 u64 stamp                            0x00 u64 stamp
 *   0x08 u16 api id, u8 kind, u8 n, u32 tid   0x08 u16 api id, u8 kind, u8 n, u32 tid   (kind | STACK_FLAG: a stack)
 *   0x10 u64 tsc (rdtsc)                      0x10 u64 tsc
 *   0x18 RCX                                  0x18 RAX
 *   0x20 RDX                                  0x20 u32 last error (gs:[0x68]), u32 low 32 bits of the call's seq
 *   0x28 R8                                   0x28 5th argument ([rsp+0x28] at entry)
 *   0x30 R9                                   0x30 6th argument ([rsp+0x30] at entry)
 *   0x38 caller's return address              0x38 7th argument ([rsp+0x38] at entry)
 * The caller is in the call record: a call still in progress at a drain is already known as the program's or as
 * Winsock's own (internal). The 5th-7th arguments travel in the return record (a call record has no room); the
 * decoder joins them to the call through the link, and reads them as 0 for a call that has not returned yet.
 *
 * Memory arguments (copy-plan.ts): a record is followed by `n` continuation records (seq + 1 .. seq + n), each with its
 * own stamp (its seq + 1, bit 63 set: never mistaken for a record's) and 56 bytes of data. The data: one 8-byte
 * header per span (u32 bytes copied, u32 the pointee/count the length came from), the stack parameters (call records
 * of APIs with more than four), then each span's bytes, then, in a call record flagged STACK_FLAG, the call's stack: a
 * u64 count and that many return addresses, innermost first (the stub's own frame among them: the tracer drops it).
 * The stub writes the continuations first, the record's stamp last.
 */

export const RECORD_SIZE = 64;
export const MAX_APIS = 64;
export const HEAD_OFFSET = 0x00;
export const ORIGINALS_OFFSET = 0x10;
/** One byte per API: non-zero makes its stub stop (int3) instead of recording, for a breakpoint on it. */
export const ARMED_OFFSET = ORIGINALS_OFFSET + 8 * MAX_APIS;
/** One byte per API: non-zero makes its stub stop (int3) after a failed call, for a stop on a finding's failure. */
export const FAIL_ARMED_OFFSET = ARMED_OFFSET + MAX_APIS;
export const TAIL_OFFSET = FAIL_ARMED_OFFSET + MAX_APIS;
export const STALL_COUNT_OFFSET = TAIL_OFFSET + 8;
export const STALL_TICKS_OFFSET = STALL_COUNT_OFFSET + 8;
export const DELAY_FUNCTION_OFFSET = STALL_TICKS_OFFSET + 8;
export const DELAY_INTERVAL_OFFSET = DELAY_FUNCTION_OFFSET + 8;
export const WAIT_WHEN_FULL_OFFSET = DELAY_INTERVAL_OFFSET + 8;
export const EXTENSION_STOP_OFFSET = WAIT_WHEN_FULL_OFFSET + 1;
export const KNOWN_EXTENSIONS_OFFSET = WAIT_WHEN_FULL_OFFSET + 8;
export const KNOWN_EXTENSIONS = 8;
export const CAPTURE_STACK_OFFSET = KNOWN_EXTENSIONS_OFFSET + 8 * KNOWN_EXTENSIONS;
/**
 * WSAIoctl's extension-pointer stop: a lock (u32, 1 while a thread is stopped), the pointer handed out and lpvInBuffer
 * (where the GUID asked for is). The tracer reads them here rather than from the stopped thread's registers.
 */
export const EXTENSION_MAILBOX_OFFSET = CAPTURE_STACK_OFFSET + 8;
/** Header size, rounded to a cache line so records do not share one with it. */
export const RING_HEADER_SIZE = Math.ceil((EXTENSION_MAILBOX_OFFSET + 24) / 64) * 64;
/** Bit 63 of a continuation record's stamp (bit 31 of its high dword). */
export const CONTINUATION_STAMP_BIT = 2 ** 31;

/** In a record: its count of continuations (u8 n) and its rdtsc (u64). */
export const CONTINUATIONS_OFFSET = 0x0b;
export const TSC_OFFSET = 0x10;
/** A record's third 32-bit word (bytes 8–11): its API id (low 16 bits), kind (next 8), continuations (top 8). */
export const DESCRIPTION_WORD = 2;
/** In a return record: the low 32 bits of its call's seq (u32). */
export const LINK_OFFSET = 0x24;

export const KIND_CALL = 0;
export const KIND_RETURN = 1;
/** Set in a call record's kind byte when its data ends with the call's stack. */
export const STACK_FLAG = 0x80;
/** Data bytes in a continuation record (64 minus its stamp). */
export const CONTINUATION_PAYLOAD = 56;

export interface RawCall {
  readonly kind: 'call';
  readonly seq: number;
  readonly api: number;
  readonly tid: number;
  /** rdtsc at the call (a number: exact below 2^53, some 38 days of a 2.7 GHz TSC). */
  readonly tsc: number;
  /**
   * RCX, RDX, R8, R9, then the stack arguments (from the call's data, or arg5-arg7 from its linked return record);
   * only the API's own parameters are read (the others are 0n) when the drain is told how many it has.
   */
  readonly raw: bigint[];
  readonly returnAddress: bigint;
  /** The call record's continuation data (memory arguments, stack parameters, the stack), when it has any. */
  readonly data: Buffer | undefined;
  /** Its data ends with the call's stack (a count, then the return addresses). */
  readonly stack: boolean;
  ret: RawReturn | undefined;
}

/** What a return record says; `call` is its call when that was read in the same drain. */
export interface RawReturn {
  readonly kind: 'return';
  readonly seq: number;
  readonly tsc: number;
  readonly rax: bigint;
  readonly lastError: number;
  /** The out-parameters copied after the return, when the API has any. */
  readonly data: Buffer | undefined;
  /** The low 32 bits of its call's seq. */
  readonly link: number;
  call: RawCall | undefined;
}

/** One record in ring order: a call, or a return (of a call of this drain, or of an earlier one's). */
export type RawRow = RawCall | RawReturn;

export interface DrainResult {
  readonly calls: RawCall[];
  /** Every call and return of this drain, in ring order. */
  readonly rows: RawRow[];
  /** Returns of calls read in an earlier drain (the engine links them through `link`). */
  readonly lateReturns: RawReturn[];
  /** Records (64-byte slots) overwritten before they were read: sequence numbers taken minus slots read. */
  readonly lost: number;
  /** The next sequence number to read from on the following drain. */
  readonly next: number;
  /** Returns whose call record was lost or not yet read (their call is reported without args). */
  readonly orphanReturns: number;
}

export interface DrainOptions {
  /** Where the records read end: the head the reader took (default: the head field of `snapshot`'s header). */
  readonly end?: number;
  /** Drop mode: the head read again after the records. */
  readonly headAfter?: number;
  /** Wait mode: nothing is overwritten; the head may run ahead of what is written. */
  readonly wait?: boolean;
  /** Per API id, how many parameters it takes: only those are turned into BigInts. */
  readonly paramCounts?: readonly number[];
  /**
   * Per API id, true: its records are only counted (a ring chunk's reader decodes them), so neither registers nor the
   * caller nor the copied memory is read (its rows' `raw` is empty, `returnAddress` and `rax` 0n, `data` undefined).
   */
  readonly countedOnly?: readonly boolean[];
}

/** The `raw` of a row only counted (see DrainOptions.countedOnly): never written, never read. */
const NO_REGISTERS: bigint[] = [];

/**
 * A ring's bytes as little-endian 32-bit words (a view, no copy): the readers that go through every record read
 * their fields as array elements. The ring's buffers start 8-byte aligned (a mapping, or an allocation of their own).
 */
export function wordsOf(ring: Buffer): Uint32Array {
  if (ring.byteOffset % 4 !== 0) throw new Error(`a ring's bytes must start 4-byte aligned (at ${ring.byteOffset})`);
  return new Uint32Array(ring.buffer, ring.byteOffset, Math.floor(ring.byteLength / 4));
}

/** Total bytes of a region's ring part (header + records). */
export function ringBytes(slots: number): number {
  if (slots <= 0 || (slots & (slots - 1)) !== 0) throw new Error(`ring slots must be a power of two: ${slots}`);
  return RING_HEADER_SIZE + slots * RECORD_SIZE;
}

/** The header bytes to write at install (head 0, slots, mask; the originals are filled by the installer). */
export function ringHeader(slots: number, originals: readonly bigint[], options: { waitWhenFull?: boolean; delayFunction?: bigint } = {}): Buffer {
  const b = Buffer.alloc(RING_HEADER_SIZE);
  b.writeBigUInt64LE(0n, HEAD_OFFSET);
  b.writeUInt32LE(slots, 0x08);
  b.writeUInt32LE(slots - 1, 0x0c);
  originals.forEach((p, i) => b.writeBigUInt64LE(p, ORIGINALS_OFFSET + 8 * i));
  b.writeBigUInt64LE(options.delayFunction ?? 0n, DELAY_FUNCTION_OFFSET);
  b.writeBigInt64LE(-10_000n, DELAY_INTERVAL_OFFSET); // 1 ms, relative (negative), in 100 ns units
  b.writeUInt8(options.waitWhenFull ? 1 : 0, WAIT_WHEN_FULL_OFFSET);
  // CAPTURE_STACK_OFFSET stays 0 (no stacks) until the unwind data's registration thread stores the function there.
  return b;
}

/**
 * Decodes one snapshot of the ring (header + records: the tracer's mapping itself, or a copy), from sequence number
 * `from`. Records still being written (stamp not yet seq+1) stop the drain there; they are read next time.
 * Drop mode (`overflow.headAfter`: the head read again after the records): a record that a writer may have begun to
 * overwrite during the read is counted lost. Wait mode (`overflow.wait`): nothing is overwritten, nothing lost. Uses a DataView with 32-bit reads; BigInt only for the values the decoders take.
 */
export function drain(snapshot: Uint8Array, slots: number, from: number, options: DrainOptions = {}): DrainResult {
  const view = new DataView(snapshot.buffer, snapshot.byteOffset, snapshot.byteLength);
  const taken = options.end ?? view.getUint32(HEAD_OFFSET, true) + view.getUint32(HEAD_OFFSET + 4, true) * 2 ** 32;
  const { headAfter, paramCounts, countedOnly } = options;
  // Wait mode: a stub takes its seq before it waits for room, so the head may run more than a ring ahead of the
  // reader; nothing past from + slots is written yet, and nothing is ever overwritten.
  const head = options.wait ? Math.min(taken, from + slots) : taken;
  const mask = slots - 1;
  let start = from;
  let lost = 0;
  if (head - from > slots) {
    lost = head - from - slots;
    start = head - slots;
  }
  const u64 = (o: number): number => view.getUint32(o, true) + view.getUint32(o + 4, true) * 2 ** 32;
  const calls: RawCall[] = [];
  const lateReturns: RawReturn[] = [];
  const rows: RawRow[] = [];
  // A return's call is found by its slot (the link's low bits); a call of this drain is always within one ring.
  const callAt = new Map<number, RawCall>();
  let orphanReturns = 0;
  let next = start;
  for (let seq = start; seq < head; ) {
    const o = RING_HEADER_SIZE + (seq & mask) * RECORD_SIZE;
    const stampLow = view.getUint32(o, true);
    const stampHigh = view.getUint32(o + 4, true);
    if (stampHigh >= CONTINUATION_STAMP_BIT) {
      // A continuation whose record was overwritten (drop mode): lost with it. Otherwise a stale one: not written yet.
      if (stampLow + (stampHigh - CONTINUATION_STAMP_BIT) * 2 ** 32 !== seq + 1) break;
      lost++;
      next = ++seq;
      continue;
    }
    if (stampLow + stampHigh * 2 ** 32 !== seq + 1) break; // not committed yet: read next time
    const continuations = view.getUint8(o + CONTINUATIONS_OFFSET);
    if (headAfter !== undefined && seq + slots < headAfter) {
      // A writer may have been overwriting it while it was read.
      lost += 1 + continuations;
      next = seq += 1 + continuations;
      continue;
    }
    const api = view.getUint16(o + 8, true);
    const counted = countedOnly?.[api] === true;
    const data = continuations > 0 && !counted ? gather(snapshot, view, seq, continuations, mask) : undefined;
    if (data === null) {
      lost += 1 + continuations;
      next = seq += 1 + continuations;
      continue;
    }
    next = seq + 1 + continuations;
    const params = counted ? 0 : (paramCounts?.[api] ?? 7);
    const kind = view.getUint8(o + 10);
    if ((kind & ~STACK_FLAG) === KIND_CALL) {
      const raw: bigint[] = counted ? NO_REGISTERS : [0n, 0n, 0n, 0n, 0n, 0n, 0n, 0n];
      for (let i = 0; i < params && i < 4; i++) raw[i] = view.getBigUint64(o + 24 + 8 * i, true);
      const call: RawCall = { kind: 'call', seq, api, tid: view.getUint32(o + 12, true), tsc: u64(o + TSC_OFFSET), raw, returnAddress: counted ? 0n : view.getBigUint64(o + 56, true), data, stack: (kind & STACK_FLAG) !== 0, ret: undefined };
      calls.push(call);
      rows.push(call);
      callAt.set(seq & mask, call);
    } else {
      const link = view.getUint32(o + LINK_OFFSET, true);
      const ret: RawReturn = { kind: 'return', seq, tsc: u64(o + TSC_OFFSET), rax: counted ? 0n : view.getBigUint64(o + 24, true), lastError: view.getUint32(o + 32, true), data, link, call: undefined };
      const call = callAt.get(link & mask);
      rows.push(ret);
      if (call === undefined || call.seq >>> 0 !== link) {
        // Its call was read by an earlier drain (or lost): the caller of drain links it.
        orphanReturns++;
        lateReturns.push(ret);
      } else {
        for (let i = 4; i < params && i < 7; i++) call.raw[i] = view.getBigUint64(o + 40 + 8 * (i - 4), true);
        call.ret = ret;
        ret.call = call;
      }
    }
    seq = next;
  }
  return { calls, rows, lateReturns, lost, next, orphanReturns };
}

/** The continuation data of the record at `seq` (56 bytes from each), or null when one was overwritten. */
function gather(snapshot: Uint8Array, view: DataView, seq: number, continuations: number, mask: number): Buffer | null {
  const data = Buffer.alloc(continuations * CONTINUATION_PAYLOAD);
  for (let j = 1; j <= continuations; j++) {
    const o = RING_HEADER_SIZE + ((seq + j) & mask) * RECORD_SIZE;
    const stamp = view.getUint32(o, true) + (view.getUint32(o + 4, true) - CONTINUATION_STAMP_BIT) * 2 ** 32;
    if (stamp !== seq + j + 1) return null;
    data.set(snapshot.subarray(o + 8, o + RECORD_SIZE), (j - 1) * CONTINUATION_PAYLOAD);
  }
  return data;
}

/**
 * The records [start, next) of a ring snapshot (header + slots), in ring order: one view of the snapshot, or two
 * where they wrap around its end (valid until the snapshot is read into again).
 */
export function ringRecords(snapshot: Buffer, slots: number, start: number, next: number): Buffer[] {
  const pieces: Buffer[] = [];
  for (let seq = start; seq < next; ) {
    const slot = seq % slots;
    const count = Math.min(next - seq, slots - slot);
    const from = RING_HEADER_SIZE + slot * RECORD_SIZE;
    pieces.push(snapshot.subarray(from, from + count * RECORD_SIZE));
    seq += count;
  }
  return pieces;
}
