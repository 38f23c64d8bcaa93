/**
 * One trace document, analysed once: where each line starts, which line holds which event, what is wrong with the
 * lines that are not events, and the model over the events (a Timeline with checkpoints, so the state as of any line
 * costs at most one checkpoint interval of replay). Events are not kept: a line is parsed again when asked for, with
 * a small cache. Every Winsock meaning comes from the model. It is data the features read (diagnostics.ts, hover.ts,
 * navigation.ts turn it into LSP values); it calls none of them, and nothing here talks to an LSP connection.
 */

import type { Range } from 'vscode-languageserver';
import { Timeline, type EventStore, type ShareModel } from '../../tracer/model';
import { TraceFormatError, TraceLineParser, type TraceEvent, type TraceHeader } from '../../tracer/trace';
import { LineTable, type TraceLines } from './line-table';

export interface LineProblem {
  /** 0-based line. */
  readonly line: number;
  readonly message: string;
  /** The field at fault (dotted path), when one is. */
  readonly field?: string;
  readonly severity: 'error' | 'warning';
}

/** Where a thread-start event is. */
export interface ProcessMark {
  readonly pid: number;
  readonly tid?: number;
  readonly line: number;
}

/** Parsed events kept, direct-mapped by index; larger than MODEL_BATCH so a batch is still cached when modelled. */
const CACHE_SIZE = 8192;
/** Events parsed before the model catches up with them. */
const MODEL_BATCH = 2048;
/** Events between the model's checkpoints: a hover replays at most this many. */
const CHECKPOINT_INTERVAL = 2048;
/** Line problems kept (a file of garbage has one a line); the rest are only counted. */
const KEPT_PROBLEMS = 5000;

/** The events as the Timeline reads them: parsed again from the text when not cached. */
class TextEventStore implements EventStore {
  constructor(private readonly index: TraceDocumentIndex) {}
  get length(): number {
    return this.index.eventCount;
  }
  at(i: number): TraceEvent {
    return this.index.event(i);
  }
}

export interface BuildOptions {
  isCancelled?: () => boolean;
  sliceMs?: number;
  onProgress?: (index: TraceDocumentIndex) => void;
}

export class TraceDocumentIndex {
  header?: TraceHeader;
  headerLine = -1;
  readonly problems: LineProblem[] = [];
  /** Every line problem, kept or not. */
  problemCount = 0;
  /** The model threw on an event (never expected): it stops there, and the failure is reported on that line. */
  modelFailure?: { readonly line: number; readonly message: string };
  eventCount = 0;
  readonly threadStarts: ProcessMark[] = [];
  readonly lineCount: number;
  readonly timeline: Timeline;
  private readonly eventLines: Uint32Array;
  private readonly eventSeqs: Float64Array;
  /** A call's return event index, a return's call event index, or -1. */
  private readonly partners: Int32Array;
  private readonly cacheIndex = new Int32Array(CACHE_SIZE).fill(-1);
  private readonly cacheEvents: (TraceEvent | undefined)[] = new Array(CACHE_SIZE);
  private readonly parser: TraceLineParser;
  private readonly pendingCalls = new Map<number, number>();
  private nextLine = 0;
  private currentLine = 0;
  private pendingBlank = -1;
  private modelled = 0;
  private finished = false;

  constructor(
    readonly uri: string,
    private readonly lines: TraceLines,
  ) {
    const count = (this.lineCount = this.lines.count);
    this.eventLines = new Uint32Array(count);
    this.eventSeqs = new Float64Array(count);
    this.partners = new Int32Array(count);
    this.parser = new TraceLineParser(uri, (warning) => this.addProblem(this.currentLine, warning, 'warning'));
    this.timeline = new Timeline(new TextEventStore(this), CHECKPOINT_INTERVAL);
  }

  /** Analyses the whole text at once (tests, small documents). */
  static fromText(uri: string, text: string): TraceDocumentIndex {
    const index = new TraceDocumentIndex(uri, new LineTable(text));
    while (!index.step(Number.MAX_SAFE_INTEGER));
    return index;
  }

  /**
   * Analyses in slices of `sliceMs`, yielding to the event loop between them so the server keeps answering;
   * resolves undefined when `isCancelled` says the text is stale. `onProgress` sees the index after each slice
   * (diagnostics so far).
   */
  static async build(uri: string, source: string | TraceLines, options: BuildOptions = {}): Promise<TraceDocumentIndex | undefined> {
    const index = new TraceDocumentIndex(uri, typeof source === 'string' ? new LineTable(source) : source);
    const sliceMs = options.sliceMs ?? 40;
    for (;;) {
      const until = performance.now() + sliceMs;
      do if (index.step(1024)) return index;
      while (performance.now() < until);
      options.onProgress?.(index);
      await new Promise((resolve) => setImmediate(resolve));
      if (options.isCancelled?.()) return undefined;
    }
  }

  /** Lets go of the file the lines are read from (an index of a file on disk). */
  close(): void {
    this.lines.close?.();
  }

  get done(): boolean {
    return this.finished;
  }

  /** Analyses up to `maxLines` more lines; true once the whole text is done. */
  step(maxLines: number): boolean {
    if (this.finished) return true;
    const last = Math.min(this.lineCount, this.nextLine + maxLines);
    while (this.nextLine < last) {
      this.analyseLine(this.nextLine++);
      if (this.eventCount - this.modelled >= MODEL_BATCH) this.extendModel();
    }
    if (this.nextLine < this.lineCount) return false;
    this.extendModel();
    if (this.header === undefined && this.problemCount === 0) this.addProblem(0, 'empty file: no header line');
    if (this.header !== undefined && !this.modelFailure) this.timeline.forward.finish();
    this.finished = true;
    return true;
  }

  private analyseLine(line: number): void {
    const text = this.lines.lineText(line);
    if (text.charCodeAt(0) !== 0x7b && text.trim().length === 0) {
      if (this.pendingBlank < 0) this.pendingBlank = line;
      return;
    }
    if (this.pendingBlank >= 0) {
      this.addProblem(this.pendingBlank, 'blank line in the middle of the trace');
      this.pendingBlank = -1;
    }
    this.currentLine = line;
    const hadHeader = this.header !== undefined;
    let event: TraceEvent | undefined;
    try {
      // The last line has no '\n' after it: if it is cut short JSON, the parser only warns (a crash mid-write).
      event = this.parser.parseLine(text, line === this.lineCount - 1);
    } catch (error) {
      this.addProblem(line, error instanceof Error ? error : String(error));
      if (!hadHeader) this.nextLine = this.lineCount; // without a header nothing after it means anything
      return;
    }
    if (!hadHeader && this.parser.header !== undefined) {
      this.header = this.parser.header;
      this.headerLine = line;
    }
    if (event !== undefined) this.record(event, line);
  }

  private addProblem(line: number, problem: Error | string, severity: LineProblem['severity'] = 'error'): void {
    this.problemCount++;
    if (this.problems.length >= KEPT_PROBLEMS) return;
    if (problem instanceof TraceFormatError) this.problems.push({ line, message: problem.detail, field: problem.field, severity });
    else this.problems.push({ line, message: typeof problem === 'string' ? problem : problem.message, severity });
  }

  private record(event: TraceEvent, line: number): void {
    const n = this.eventCount++;
    this.eventLines[n] = line;
    this.eventSeqs[n] = event.seq;
    this.partners[n] = -1;
    this.cacheIndex[n & (CACHE_SIZE - 1)] = n;
    this.cacheEvents[n & (CACHE_SIZE - 1)] = event;
    if (event.kind === 'api') {
      if (event.phase === 'call') this.pendingCalls.set(event.seq, n);
      else {
        const call = this.pendingCalls.get(event.callSeq);
        if (call !== undefined) {
          this.partners[n] = call;
          this.partners[call] = n;
          this.pendingCalls.delete(event.callSeq);
        }
      }
    } else if (event.kind === 'thread-start') this.threadStarts.push({ pid: event.pid, tid: event.tid, line });
  }

  private extendModel(): void {
    if (this.modelFailure) return;
    try {
      this.timeline.extendTo(this.eventCount);
      this.modelled = this.eventCount;
    } catch (error) {
      const failed = Math.max(0, this.timeline.frontier - 1);
      this.modelled = failed;
      this.modelFailure = { line: this.eventLines[failed], message: `the model could not apply this event: ${error instanceof Error ? error.message : String(error)}` };
    }
  }

  // ---- Lookups ----

  /** The text of a line, without its line break. */
  lineText(line: number): string {
    return this.lines.lineText(line);
  }

  lineRange(line: number): Range {
    return this.lines.range(line);
  }

  /** The event with index `i` (0-based, in trace order). */
  event(i: number): TraceEvent {
    const slot = i & (CACHE_SIZE - 1);
    if (this.cacheIndex[slot] === i) return this.cacheEvents[slot] as TraceEvent;
    const event = JSON.parse(this.lineText(this.eventLines[i])) as TraceEvent; // validated when analysed
    this.cacheIndex[slot] = i;
    this.cacheEvents[slot] = event;
    return event;
  }

  seqOf(i: number): number {
    return this.eventSeqs[i];
  }

  eventLine(i: number): number {
    return this.eventLines[i];
  }

  /** A call's return index, a return's call index, or -1. */
  partner(i: number): number {
    return i < 0 || i >= this.eventCount ? -1 : this.partners[i];
  }

  /** Index of the event on this line, or -1. */
  eventAtLine(line: number): number {
    return this.search(this.eventLines, line);
  }

  /** Index of the event with this seq, or -1. */
  indexOfSeq(seq: number): number {
    return this.search(this.eventSeqs, seq);
  }

  /** Line of the event with this seq, or -1. */
  lineOfSeq(seq: number): number {
    const i = this.indexOfSeq(seq);
    return i < 0 ? -1 : this.eventLines[i];
  }

  private search(sorted: Uint32Array | Float64Array, value: number): number {
    let lo = 0;
    let hi = this.eventCount - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (sorted[mid] < value) lo = mid + 1;
      else if (sorted[mid] > value) hi = mid - 1;
      else return mid;
    }
    return -1;
  }

  /** The model after the whole trace (finished: exports never imported are settled). */
  get model(): ShareModel {
    return this.timeline.forward;
  }

  /** The model as of the event with index `i` (included). */
  modelAt(i: number): ShareModel {
    return this.timeline.after(Math.min(i + 1, this.modelled));
  }
}
