/**
 * Where a debug session's events come from: a recorded trace file, or the live tracer agent. Both give a store of the
 * events so far; the live one also runs the programs and stops them. Nothing here knows DAP or Winsock rules.
 */

import { EventEmitter } from 'node:events';
import type { EventStore } from '../tracer/model/timeline';
import { LiveCapture, type CaptureEnd, type LiveOptions, type StopInfo } from '../tracer/capture/live';
import { IndexedTraceFile } from '../tracer/trace/indexed';
import type { TraceEvent, TraceHeader } from '../tracer/trace/schema';
import type { LiveStops } from './breakpoints';

/** Events: 'event' (TraceEvent, live), 'stopped' (StopInfo, live), 'end' (CaptureEnd, live), 'warning' (string). */
export interface EventSource extends EventEmitter {
  readonly live: boolean;
  readonly store: EventStore;
  readonly header?: TraceHeader;
  /** Where the events are kept on disk. */
  readonly traceFile: string;
  start(): Promise<void>;
  // The programs' control, live only.
  resume(step?: { tid?: number }): void;
  pause(): void;
  setStops(stops: LiveStops): void;
  terminate(): void;
  /** Lets the programs run on without the tracer; resolves once the capture has ended (the trace written). */
  detach(): Promise<void>;
  /** Ends the session; resolves once a live capture has ended (the trace written). */
  close(): Promise<void>;
}

/** How long a session's end waits for the capture's (its detach, or its stop, and the trace written). */
const END_WAIT_MS = 15_000;

/** A growing in-memory store of the events a live capture has streamed. */
class GrowingStore implements EventStore {
  readonly events: TraceEvent[] = [];
  get length(): number {
    return this.events.length;
  }
  at(index: number): TraceEvent {
    return this.events[index];
  }
}

export class RecordingSource extends EventEmitter implements EventSource {
  readonly live = false;
  private file?: IndexedTraceFile;

  constructor(readonly traceFile: string) {
    super();
  }

  async start(): Promise<void> {
    this.file = await IndexedTraceFile.open(this.traceFile, { onWarning: (w) => this.emit('warning', w.message) });
  }

  get store(): EventStore {
    if (!this.file) throw new Error('the recording is not open');
    return this.file;
  }

  get header(): TraceHeader | undefined {
    return this.file?.header;
  }

  resume(): void {}
  pause(): void {}
  setStops(): void {}
  terminate(): void {}
  async detach(): Promise<void> {}
  async close(): Promise<void> {
    this.file?.close();
  }
}

export class LiveSource extends EventEmitter implements EventSource {
  readonly live = true;
  readonly store = new GrowingStore();
  private readonly capture: LiveCapture;
  private detaching = false;
  /** The capture started, and (once its end came) finished. */
  private started = false;
  private finished = false;
  readonly traceFile: string;

  constructor(options: LiveOptions) {
    super();
    this.traceFile = options.traceFile;
    this.capture = new LiveCapture(options);
    this.capture.on('event', (e: TraceEvent) => {
      this.store.events.push(e);
      this.emit('event', e);
    });
    this.capture.on('stopped', (stop: StopInfo) => this.emit('stopped', stop));
    this.capture.on('end', (end: CaptureEnd) => {
      this.finished = true;
      this.emit('end', end);
    });
  }

  async start(): Promise<void> {
    await this.capture.start();
    this.started = true;
  }

  resume(step?: { tid?: number }): void {
    this.capture.send(step ? { cmd: 'step', tid: step.tid } : { cmd: 'continue' });
  }

  pause(): void {
    this.capture.send({ cmd: 'pause' });
  }

  setStops(stops: LiveStops): void {
    this.capture.send({ cmd: 'setStops', apis: stops.entries, returns: stops.returns, failures: stops.failures });
  }

  terminate(): void {
    this.capture.stop();
  }

  detach(): Promise<void> {
    this.detaching = true;
    this.capture.send({ cmd: 'detach' });
    return this.ended();
  }

  close(): Promise<void> {
    if (!this.detaching) this.capture.stop();
    return this.ended();
  }

  /**
   * The capture's end: the agent has let the programs go (or ended them) and the trace is written from its spool.
   * An adapter that exits before then would take the agent with it mid-detach. At once when no capture runs; bounded
   * (the capture's own stop kills a stuck agent within seconds, and a session's end is never held longer than this).
   */
  private ended(): Promise<void> {
    if (!this.started || this.finished) return Promise.resolve();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, END_WAIT_MS)));
    const end = this.capture.finished.then(
      () => undefined,
      () => undefined,
    );
    return Promise.race([end, timeout]).finally(() => clearTimeout(timer));
  }

}
