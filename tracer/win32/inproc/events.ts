/**
 * Ring records into trace events: each drained call and return becomes the same `api` event the breakpoint path
 * records, decoded by the same HookSpec; all processes' records are merged in timestamp (rdtsc) order.
 */

import type { ApiCallEvent, ApiReturnEvent } from '../../trace/schema';
import { HOOKS, outcome } from '../hooks';
import type { UnstampedEvent } from '../sink';
import type { TracedProcess } from '../traced-process';
import type { InprocProcess } from './process-state';
import type { InprocRecorder } from './recorder';

/** Records an event, at the trace time given (the call's own time, from its TSC) when known. */
type RecordEvent = (event: UnstampedEvent, timeNs?: number) => number;

interface Item {
  readonly tsc: bigint;
  emit(record: RecordEvent): void;
}

function callerOf(process: TracedProcess, address: bigint): ApiCallEvent['caller'] {
  const module = process.moduleAt(address);
  return module ? { module: module.name, offset: Number(address - module.base) } : { module: '?', offset: Number(address) };
}

function returnEvent(process: TracedProcess, api: string, tid: number, callSeq: number, rax: bigint, lastError: number): Omit<ApiReturnEvent, 'seq' | 'timeNs'> | undefined {
  const spec = HOOKS.get(api);
  if (!spec) return undefined;
  const { result, error } = outcome(spec, rax, () => lastError);
  return { kind: 'api', phase: 'return', pid: process.pid, tid, api, callSeq, result, ...(error !== undefined ? { error } : {}) };
}

/** What one process's recorder has to say since its last drain, as items to merge. */
function itemsOf(state: InprocProcess, recorder: InprocRecorder): Item[] {
  const result = recorder.drain();
  if (!result) return [];
  const process = state.process;
  const calls = state.pendingCalls;
  const items: Item[] = [];
  // A return whose call record was overwritten is lost with it.
  const unmatched = result.lateReturns.filter((r) => !calls.has(r.link)).length;
  const lost = result.lost + unmatched;
  if (lost > 0) items.push({ tsc: 0n, emit: (record) => record({ kind: 'records-lost', pid: process.pid, count: lost }) });
  for (const c of result.calls) {
    const api = recorder.apis[c.api];
    const spec = HOOKS.get(api);
    if (!spec) continue;
    const caller = callerOf(process, c.returnAddress);
    const internal = process.ws2 !== undefined && caller.module === process.ws2.name;
    let seq = 0;
    items.push({
      tsc: c.tsc,
      emit: (record) => {
        const args = spec.entry({ raw: c.raw, read: (a, n) => process.read(a, n) });
        seq = record({ kind: 'api', phase: 'call', pid: process.pid, tid: c.tid, api, args, caller, ...(internal ? { internal } : {}) });
        if (!c.ret) calls.set(c.seq >>> 0, { seq, api, tid: c.tid, internal });
      },
    });
    const ret = c.ret;
    if (ret) {
      items.push({
        tsc: ret.tsc,
        emit: (record) => {
          const event = returnEvent(process, api, c.tid, seq, ret.rax, ret.lastError);
          if (event) record(internal ? { ...event, internal } : event);
        },
      });
    }
  }
  for (const r of result.lateReturns) {
    const call = calls.get(r.link);
    if (!call) continue;
    calls.delete(r.link);
    items.push({
      tsc: r.tsc,
      emit: (record) => {
        const event = returnEvent(process, call.api, call.tid, call.seq, r.rax, r.lastError);
        if (event) record(call.internal ? { ...event, internal: true } : event);
      },
    });
  }
  return items;
}

/** Drains every process's ring and records what it held, in timestamp order, each at its call's time when `clock` knows it. */
export function drainRings(processes: Iterable<InprocProcess>, record: RecordEvent, clock?: (tsc: bigint) => number | undefined): void {
  const items: Item[] = [];
  for (const state of processes) if (state.recorder) items.push(...itemsOf(state, state.recorder));
  items.sort((a, b) => (a.tsc < b.tsc ? -1 : a.tsc > b.tsc ? 1 : 0));
  for (const item of items) item.emit((event) => record(event, item.tsc === 0n ? undefined : clock?.(item.tsc)));
}
