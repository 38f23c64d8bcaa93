/**
 * The engine's side of draining the in-process rings: each drained call stamped with its own time (TscClock), the
 * failed returns of fail-armed APIs kept for the stop their stub is about to make, the time the drains take, and the
 * stubs' waits for room turned into a `ring-stalls` event at a process's end.
 */

import type { ApiReturnEvent, TraceEvent } from '../../trace/schema';
import type { EngineSink, UnstampedEvent } from '../sink';
import { type OnReturn, type StackOf, drainRings } from './events';
import type { InprocProcess } from './process-state';
import { TscClock, ticksToNs } from './tsc';

/** An event without its placeholder seq and time, for a sink that stamps copies. */
function unstamped(event: TraceEvent): UnstampedEvent {
  const rest: Partial<TraceEvent> = { ...event };
  delete rest.seq;
  delete rest.timeNs;
  return rest as UnstampedEvent;
}

/** A drain with more events than this is part of a burst: the next one's CPU time is measured too. */
const BUSY_DRAIN_EVENTS = 1000;

export class RingDrain {
  private busy = false;
  private readonly clock = new TscClock();
  /** Per "pid:tid": the last failed return drained for a fail-armed API. */
  private readonly failedReturns = new Map<string, ApiReturnEvent>();
  /**
   * The drains' own cost: events recorded from the rings, the time spent (reading, decoding, recording) and the CPU
   * time the agent used meanwhile (steadier than the time on a busy machine; it includes the garbage collector's).
   */
  readonly stats = { ringEvents: 0, drainNs: 0, drainCpuNs: 0, drains: 0, idleDrainNs: 0 };

  constructor(
    private readonly sink: EngineSink,
    private readonly onReturn?: OnReturn,
    private readonly stackOf?: StackOf,
  ) {}

  /** Drains every process's ring into the sink, in TSC order across processes. `failureApis`: fail-armed APIs. */
  drain(processes: Iterable<InprocProcess>, failureApis: ReadonlySet<string>): void {
    const started = process.hrtime.bigint();
    // CPU time is asked of the system only while a burst is being drained (it is a round trip under Wine).
    const cpu = this.busy ? process.cpuUsage() : undefined;
    this.clock.sample(this.sink.now?.() ?? 0);
    let events = 0;
    drainRings(
      processes,
      (e, timeNs) => {
        events++;
        const seq = this.sink.stamp ? this.sink.stamp(e, timeNs) : this.sink.record(unstamped(e), timeNs);
        // A failed call whose stub is about to stop: its return event is what the stop is about.
        if (e.kind === 'api' && e.phase === 'return' && e.error !== undefined && !e.internal && failureApis.has(e.api)) this.failedReturns.set(`${e.pid}:${e.tid}`, { ...e, seq, timeNs: 0 });
        return seq;
      },
      { clock: (tsc) => this.clock.toNs(tsc), onReturn: this.onReturn, stackOf: this.stackOf },
    );
    const spent = Number(process.hrtime.bigint() - started);
    this.stats.drains++;
    if (events > 0) {
      this.stats.ringEvents += events;
      this.stats.drainNs += spent;
      if (cpu) {
        const used = process.cpuUsage(cpu);
        this.stats.drainCpuNs += (used.user + used.system) * 1000;
      } else this.stats.drainCpuNs += spent;
    } else this.stats.idleDrainNs += spent;
    this.busy = events > BUSY_DRAIN_EVENTS;
  }

  /** The process's last word: how often and how long its stubs waited for room (nothing when they never did). */
  recordStalls(state: InprocProcess): void {
    const stalls = state.recorder?.stalls();
    if (!stalls || stalls.count === 0 || state.stallsRecorded) return;
    state.stallsRecorded = true;
    this.clock.sample(this.sink.now?.() ?? 0);
    this.sink.record({ kind: 'ring-stalls', pid: state.process.pid, count: stalls.count, waitNs: Math.round(ticksToNs(this.clock, stalls.ticks) ?? 0) });
  }

  /** The failed return the thread's stub stopped after (drained by now), once. */
  takeFailedReturn(pid: number, tid: number): ApiReturnEvent | undefined {
    const key = `${pid}:${tid}`;
    const returned = this.failedReturns.get(key);
    this.failedReturns.delete(key);
    return returned;
  }
}
