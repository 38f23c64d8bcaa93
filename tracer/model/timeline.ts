/**
 * The model as of any event: checkpoints (state snapshots) every `interval` events, and a replay from the nearest
 * checkpoint at or before the asked-for position. Stepping backwards costs at most `interval` events.
 */

import type { TraceEvent } from '../trace/schema';
import { ShareModel } from './model';
import type { ModelState } from './state';

export interface EventStore {
  readonly length: number;
  at(index: number): TraceEvent;
}

export class Timeline {
  private readonly checkpoints: ModelState[] = [];
  private readonly model = new ShareModel();
  private applied = 0;

  constructor(
    private readonly events: EventStore,
    private readonly interval = 1024,
  ) {
    this.checkpoints.push(this.model.state.snapshot());
  }

  get length(): number {
    return this.events.length;
  }

  at(index: number): TraceEvent {
    return this.events.at(index);
  }

  /** Index of the event with this seq, or of the last event before it (-1 if none). */
  indexOfSeq(seq: number): number {
    let lo = 0;
    let hi = this.events.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (this.events.at(mid).seq <= seq) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found;
  }

  /** The model after the first `count` events (count = index + 1 of the last event applied). */
  after(count: number, finishAtEnd = false): ShareModel {
    const n = Math.max(0, Math.min(count, this.events.length));
    this.extendTo(n);
    const base = Math.floor(n / this.interval);
    const model = new ShareModel(this.checkpoints[base].snapshot());
    for (let i = base * this.interval; i < n; i++) model.apply(this.events.at(i));
    if (finishAtEnd && n === this.events.length) model.finish();
    return model;
  }

  /** The model as of the event with this seq (included). */
  atSeq(seq: number): ShareModel {
    return this.after(this.indexOfSeq(seq) + 1);
  }

  /** Events applied to the forward model so far. */
  get frontier(): number {
    return this.applied;
  }

  /** The forward model: the state after `frontier` events. It changes as the frontier advances. */
  get forward(): ShareModel {
    return this.model;
  }

  /** Advances the forward model, taking a checkpoint every `interval` events. */
  extendTo(n: number): void {
    while (this.applied < n) {
      this.model.apply(this.events.at(this.applied++));
      if (this.applied % this.interval === 0) this.checkpoints.push(this.model.state.snapshot());
    }
  }
}

export function arrayStore(events: TraceEvent[]): EventStore {
  return { length: events.length, at: (i) => events[i] };
}
