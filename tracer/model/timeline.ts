/**
 * The model as of any event: checkpoints (state snapshots) and a replay from the nearest checkpoint at or before the
 * asked-for position. Checkpoints are sized by memory, not by count: one every `interval` events while they fit in
 * the budget; when they no longer fit, every other one is dropped and the interval doubles. So a long recording
 * keeps a bounded set of checkpoints, and stepping backwards costs at most `checkpointInterval` events.
 */

import type { TraceEvent } from '../trace/schema';
import { ShareModel } from './model';
import type { ModelState } from './state';

export interface EventStore {
  readonly length: number;
  at(index: number): TraceEvent;
}

export interface TimelineOptions {
  /** Bytes the checkpoints may take together (an estimate from what each one holds). */
  checkpointBudgetBytes?: number;
}

/**
 * 48 MB of checkpoints: for the million-event benchmark trace (about 380 KB of live state each), a checkpoint every
 * 8,192 events, so a step back replays 4,096 events on average.
 */
export const DEFAULT_CHECKPOINT_BUDGET_BYTES = 48 * 1024 * 1024;

interface Checkpoint {
  /** Events applied before it was taken. */
  readonly count: number;
  readonly state: ModelState;
  readonly bytes: number;
}

export class Timeline {
  private checkpoints: Checkpoint[] = [];
  private readonly model = new ShareModel();
  private applied = 0;
  private interval: number;
  private bytes = 0;
  private readonly budgetBytes: number;

  constructor(
    private readonly events: EventStore,
    interval = 1024,
    options: TimelineOptions = {},
  ) {
    this.interval = Math.max(1, Math.floor(interval));
    this.budgetBytes = options.checkpointBudgetBytes ?? DEFAULT_CHECKPOINT_BUDGET_BYTES;
    this.addCheckpoint();
  }

  get length(): number {
    return this.events.length;
  }

  at(index: number): TraceEvent {
    return this.events.at(index);
  }

  /** Events between two checkpoints now (it doubles each time the checkpoints outgrow their budget). */
  get checkpointInterval(): number {
    return this.interval;
  }

  /** How many checkpoints are kept, and their estimated size together. */
  get checkpointCount(): number {
    return this.checkpoints.length;
  }

  get checkpointBytes(): number {
    return this.bytes;
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
    const base = this.checkpointAtOrBefore(n);
    const model = new ShareModel(base.state.snapshot());
    for (let i = base.count; i < n; i++) model.apply(this.events.at(i));
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

  /** Advances the forward model, taking a checkpoint every `checkpointInterval` events. */
  extendTo(n: number): void {
    while (this.applied < n) {
      this.model.apply(this.events.at(this.applied++));
      if (this.applied % this.interval === 0) this.addCheckpoint();
    }
  }

  private checkpointAtOrBefore(count: number): Checkpoint {
    let lo = 0;
    let hi = this.checkpoints.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.checkpoints[mid].count <= count) lo = mid;
      else hi = mid - 1;
    }
    return this.checkpoints[lo];
  }

  private addCheckpoint(): void {
    const state = this.model.state.snapshot();
    const bytes = estimateBytes(state);
    this.checkpoints.push({ count: this.applied, state, bytes });
    this.bytes += bytes;
    // The first checkpoint (no events) always stays: it is where a replay from the start begins.
    while (this.bytes > this.budgetBytes && this.checkpoints.length > 2) this.thin();
  }

  /** Keeps the checkpoints on multiples of twice the interval, and takes them that far apart from now on. */
  private thin(): void {
    this.interval *= 2;
    const kept = this.checkpoints.filter((c) => c.count % this.interval === 0);
    this.bytes = kept.reduce((sum, c) => sum + c.bytes, 0);
    this.checkpoints = kept;
  }
}

/**
 * What a snapshot holds, in bytes, from its entity counts (measured on the benchmark trace, 244 snapshots: a live
 * socket with its copied lists ~850 B, a descriptor ~250 B, a SOCKET-value table entry ~120 B, an entry of the other
 * maps, whose values are shared, ~80 B).
 */
function estimateBytes(state: ModelState): number {
  let handles = 0;
  for (const table of state.handles.values()) handles += table.size;
  const shared = state.processes.size + state.handoffs.size + state.unsettled.size + state.pendingCalls.size;
  return 2048 + state.sockets.size * 850 + state.descriptors.size * 250 + handles * 120 + shared * 80;
}

export function arrayStore(events: TraceEvent[]): EventStore {
  return { length: events.length, at: (i) => events[i] };
}
