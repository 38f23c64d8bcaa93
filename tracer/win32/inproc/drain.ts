/**
 * The engine's side of draining the in-process rings: each drained call stamped with its own time (TscClock), and the
 * failed returns of fail-armed APIs kept for the stop their stub is about to make.
 */

import type { ApiReturnEvent } from '../../trace/schema';
import type { EngineSink } from '../sink';
import { drainRings } from './events';
import type { InprocProcess } from './process-state';
import { TscClock } from './tsc';

export class RingDrain {
  private readonly clock = new TscClock();
  /** Per "pid:tid": the last failed return drained for a fail-armed API. */
  private readonly failedReturns = new Map<string, ApiReturnEvent>();

  constructor(private readonly sink: EngineSink) {}

  /** Drains every process's ring into the sink, in TSC order across processes. `failureApis`: fail-armed APIs. */
  drain(processes: Iterable<InprocProcess>, failureApis: ReadonlySet<string>): void {
    this.clock.sample(this.sink.now?.() ?? 0);
    const timeOf = (tsc: bigint) => this.clock.toNs(tsc);
    drainRings(
      processes,
      (e, timeNs) => {
        const seq = this.sink.record(e, timeNs);
        // A failed call whose stub is about to stop: its return event is what the stop is about.
        if (e.kind === 'api' && e.phase === 'return' && e.error !== undefined && !e.internal && failureApis.has(e.api)) this.failedReturns.set(`${e.pid}:${e.tid}`, { ...e, seq, timeNs: 0 });
        return seq;
      },
      timeOf,
    );
  }

  /** The failed return the thread's stub stopped after (drained by now), once. */
  takeFailedReturn(pid: number, tid: number): ApiReturnEvent | undefined {
    const key = `${pid}:${tid}`;
    const returned = this.failedReturns.get(key);
    this.failedReturns.delete(key);
    return returned;
  }
}
