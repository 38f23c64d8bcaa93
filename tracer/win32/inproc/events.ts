/**
 * Ring records into trace events: each drained call and return becomes the same `api` event the breakpoint path
 * records, decoded by the same HookSpec from the registers and the memory the stub copied; all processes' records are
 * merged in timestamp (rdtsc) order (each process's in ring order, a k-way merge: no sort, no spread of a drain).
 * Pure: the agent runs it on the rings it read, the client on the ring chunks the agent wrote (ring-chunk.ts).
 */

import { apiEntry } from '../../apis';
import type { ApiCallEvent, StackFrame, TraceEvent } from '../../trace/schema';
import { type CallSite, type HookSpec, HOOKS, outcome } from '../hooks';
import type { LoadedModule } from '../traced-process';
import { type SpanCopy, spansOf } from './copy-plan';
import type { RingCall } from './process-state';
import type { DrainResult, RawRow } from './ring';

/**
 * Records an event built with placeholders `seq: 0, timeNs: 0` (the sink fills them in), at the trace time given
 * (the call's own time, from its TSC) when known. `undefined`: a row counted but not decoded (see DrainHooks.decodes).
 */
export type RecordEvent = (event: TraceEvent | undefined, timeNs?: number) => number;

/** What a call's caller is looked up in: the process's modules as the tracer knows them at the drain. */
export interface ProcessView {
  readonly pid: number;
  readonly modules: readonly LoadedModule[];
  readonly ws2?: LoadedModule;
  moduleAt(address: bigint): LoadedModule | undefined;
}

/** One process's drained ring: its records, what its API ids mean, and its calls still waiting for their return. */
export interface RingSource {
  readonly process: ProcessView;
  readonly apis: readonly string[];
  readonly result: DrainResult;
  /** Ring seq (low 32 bits) of a call already in the trace → the call, until its return is drained. */
  readonly pendingCalls: Map<number, RingCall>;
  /** The stubs' own code (their frame is dropped from a captured stack). */
  readonly isStubCode?: (address: bigint) => boolean;
  /** Symbolizes a call's captured return addresses (innermost first): the trace's `stack`. */
  readonly stackOf?: (returnAddresses: readonly bigint[]) => StackFrame[] | undefined;
}

/** What a drain does besides recording: the time of a TSC, which APIs it decodes. */
export interface DrainHooks {
  readonly clock?: (tsc: number) => number | undefined;
  /** Whether a call of `api` is decoded into its event (default: every one); the others are only counted. */
  readonly decodes?: (api: string) => boolean;
}

interface Plan {
  readonly spec: HookSpec;
  readonly entry: readonly SpanCopy[];
  readonly exit: readonly SpanCopy[];
  readonly extraParams: number;
}

const PLANS = new Map<string, Plan>();
function planOf(api: string): Plan | undefined {
  let plan = PLANS.get(api);
  const spec = HOOKS.get(api);
  const entry = apiEntry(api);
  if (plan || !spec || !entry) return plan;
  plan = { spec, entry: spansOf(entry, 'entry'), exit: spansOf(entry, 'return'), extraParams: Math.max(0, entry.paramCount - 4) };
  PLANS.set(api, plan);
  return plan;
}

/** Whether calls of `api` become events (a hooked API the catalogue describes). */
export function hasPlan(api: string): boolean {
  return planOf(api) !== undefined;
}

const NO_MEMORY = (): undefined => undefined;

/**
 * What the decoders may read: the spans the stub copied (data: span headers, the stack parameters, the bytes),
 * at the addresses they were copied from; the u32 a pointee length came from (accept's *addrlen) at its address.
 */
function copiedMemory(raw: readonly bigint[], spans: readonly SpanCopy[], extraParams: number, data: Buffer | undefined): CallSite['read'] {
  if (!data || spans.length === 0) return NO_MEMORY;
  return (address, length) => {
    let offset = 8 * spans.length + 8 * extraParams;
    for (let i = 0; i < spans.length; i++) {
      const span = spans[i];
      const copied = data.readUInt32LE(8 * i);
      const base = raw[span.pointer];
      if (base !== 0n && address >= base && address + BigInt(length) <= base + BigInt(copied)) {
        const from = offset + Number(address - base);
        return data.subarray(from, from + length);
      }
      if (span.size.kind === 'pointee' && length === 4 && address === raw[span.size.param] && address !== 0n) return data.subarray(8 * i + 4, 8 * i + 8);
      offset += copied;
    }
    return undefined;
  };
}

/** The caller's module and offset, and whether it is ws2_32 itself (an internal call), per return address. */
interface Caller {
  readonly caller: ApiCallEvent['caller'];
  readonly internal: boolean;
}

/** Per process, the callers seen (a burst makes its calls from a few call sites: one module lookup each). */
const CALLERS = new WeakMap<ProcessView, { readonly modules: number; readonly byAddress: Map<bigint, Caller> }>();
/** Call sites remembered per process: past this the cache starts over (modules may have been unloaded). */
const MAX_CALLERS = 4096;

function callerOf(process: ProcessView, address: bigint): Caller {
  let cache = CALLERS.get(process);
  // A module loaded or unloaded since: the cache starts over.
  if (!cache || cache.modules !== process.modules.length || cache.byAddress.size >= MAX_CALLERS) CALLERS.set(process, (cache = { modules: process.modules.length, byAddress: new Map() }));
  const callers = cache.byAddress;
  let known = callers.get(address);
  if (known) return known;
  const module = process.moduleAt(address);
  const caller = module ? { module: module.name, offset: Number(address - module.base) } : { module: '?', offset: Number(address) };
  known = { caller, internal: process.ws2 !== undefined && module === process.ws2 };
  // Only a caller in a known module is kept: an address outside every module may belong to one loaded later.
  if (module) callers.set(address, known);
  return known;
}

/**
 * The return addresses a call record's data ends with (after its span headers, stack parameters and span bytes),
 * without the stub's own frames: the caller of the API first and the thread's first frame last, as the breakpoint
 * path's stack is.
 */
function capturedStack(isStubCode: RingSource['isStubCode'], plan: Plan, data: Buffer): bigint[] {
  let offset = 8 * plan.entry.length + 8 * plan.extraParams;
  for (let i = 0; i < plan.entry.length; i++) offset += data.readUInt32LE(8 * i);
  if (offset + 8 > data.length) return [];
  const count = Math.min(Number(data.readBigUInt64LE(offset)), Math.floor((data.length - offset - 8) / 8));
  const addresses: bigint[] = [];
  for (let i = 0; i < count; i++) {
    const address = data.readBigUInt64LE(offset + 8 + 8 * i);
    // A null return address ends the chain (past the thread's first frame, as StackWalk64 stops there).
    if (address === 0n) break;
    if (addresses.length === 0 && isStubCode?.(address)) continue;
    addresses.push(address);
  }
  return addresses;
}

/** A return event, shaped as the breakpoint path's (tracer/win32/engine.ts onReturn). */
function returnEvent(pid: number, plan: Plan, tid: number, callSeq: number, raw: readonly bigint[], rax: bigint, lastError: number, data: Buffer | undefined, internal: boolean): TraceEvent {
  const { spec } = plan;
  const { result, error } = outcome(spec, rax, () => lastError);
  const out = error === undefined && spec.exit ? spec.exit({ raw, read: copiedMemory(raw, plan.exit, 0, data) }, result) : undefined;
  return { seq: 0, timeNs: 0, kind: 'api', phase: 'return', pid, tid, api: spec.api, callSeq, result, ...(error !== undefined ? { error } : {}), ...(out ? { out } : {}), ...(internal ? { internal: true } : {}) };
}

/** One process's drained rows, read in ring order by the merge. */
interface Cursor {
  readonly source: RingSource;
  readonly rows: RawRow[];
  at: number;
  /** The trace seq of each call of this drain (the link of its return). */
  readonly callSeqs: Map<number, { readonly seq: number; readonly internal: boolean }>;
}

/** Emits one row's event (or, for an API the drain does not decode, counts it). */
function emitRow(cursor: Cursor, row: RawRow, record: RecordEvent, timeNs: number | undefined, hooks: DrainHooks): void {
  const { decodes } = hooks;
  const { source } = cursor;
  const pid = source.process.pid;
  if (row.kind === 'return') {
    const call = row.call;
    if (call === undefined) {
      // The return of a call an earlier drain put in the trace.
      const pending = source.pendingCalls.get(row.link);
      const plan = pending && planOf(pending.api);
      if (!pending || !plan) return;
      source.pendingCalls.delete(row.link);
      // A call only counted (its API decoded since) has no registers: its return is counted too.
      const counted = (decodes && !decodes(pending.api)) || pending.raw.length === 0;
      record(counted ? undefined : returnEvent(pid, plan, pending.tid, pending.seq, pending.raw, row.rax, row.lastError, row.data, pending.internal), timeNs);
      return;
    }
    const emitted = cursor.callSeqs.get(call.seq);
    const api = source.apis[call.api];
    const plan = planOf(api);
    if (emitted === undefined || !plan) return;
    cursor.callSeqs.delete(call.seq);
    record(decodes && !decodes(api) ? undefined : returnEvent(pid, plan, call.tid, emitted.seq, call.raw, row.rax, row.lastError, row.data, emitted.internal), timeNs);
    return;
  }
  const api = source.apis[row.api];
  const plan = planOf(api);
  if (!plan) return;
  if (decodes && !decodes(api)) {
    // Counted only: its return is not decoded either, so neither its caller nor its stack parameters are needed.
    const seq = record(undefined, timeNs);
    if (row.ret) cursor.callSeqs.set(row.seq, { seq, internal: false });
    else source.pendingCalls.set(row.seq >>> 0, { seq, api, tid: row.tid, internal: false, raw: row.raw });
    return;
  }
  // The stack parameters came with the call record (its return, which also has the 5th-7th, may not be drained yet).
  if (plan.extraParams > 0 && row.data) for (let i = 0; i < plan.extraParams; i++) row.raw[4 + i] = row.data.readBigUInt64LE(8 * plan.entry.length + 8 * i);
  const { caller, internal } = callerOf(source.process, row.returnAddress);
  const args = plan.spec.entry({ raw: row.raw, read: copiedMemory(row.raw, plan.entry, plan.extraParams, row.data) });
  // Winsock's own calls carry no stack, as on the breakpoint path.
  const stack = row.stack && row.data && !internal ? source.stackOf?.(capturedStack(source.isStubCode, plan, row.data)) : undefined;
  const seq = record({ seq: 0, timeNs: 0, kind: 'api', phase: 'call', pid, tid: row.tid, api, args, caller, ...(internal ? { internal } : {}), ...(stack && stack.length > 0 ? { stack } : {}) }, timeNs);
  if (row.ret) cursor.callSeqs.set(row.seq, { seq, internal });
  else source.pendingCalls.set(row.seq >>> 0, { seq, api, tid: row.tid, internal, raw: row.raw });
}

/**
 * Records what the drained rings held, merged in timestamp order, each at its call's time when `clock` knows it
 * (a `records-lost` event first for a process that lost records). A drain of any size runs in constant stack.
 */
export function drainRings(sources: readonly RingSource[], record: RecordEvent, hooks: DrainHooks = {}): void {
  const cursors: Cursor[] = [];
  for (const source of sources) {
    const { result } = source;
    // A return whose call record was overwritten is lost with it.
    let unmatched = 0;
    for (const r of result.lateReturns) if (!source.pendingCalls.has(r.link)) unmatched++;
    const lost = result.lost + unmatched;
    if (lost > 0) record({ seq: 0, timeNs: 0, kind: 'records-lost', pid: source.process.pid, count: lost });
    if (result.rows.length > 0) cursors.push({ source, rows: result.rows, at: 0, callSeqs: new Map() });
  }
  for (;;) {
    let next: Cursor | undefined;
    let nextTsc = Infinity;
    for (const cursor of cursors) {
      if (cursor.at >= cursor.rows.length) continue;
      const tsc = cursor.rows[cursor.at].tsc;
      if (tsc < nextTsc) {
        nextTsc = tsc;
        next = cursor;
      }
    }
    if (!next) return;
    const row = next.rows[next.at++];
    emitRow(next, row, record, hooks.clock?.(nextTsc), hooks);
  }
}
