/**
 * Reading trace files: a streaming reader for large traces and an in-memory one for small files
 * and editor buffers. Both feed lines to one TraceLineParser, so they accept and reject the same input.
 */
import * as fs from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import { TraceFieldError, TraceFormatError } from './errors';
import type { TraceEvent, TraceHeader } from './schema';
import { checkReturnMatchesCall, checkSeqOrder, validateEvent, validateHeader, type OpenCall } from './validate';

export interface ReadTraceOptions {
  /** Receives recoverable problems (a truncated last line); without it they are dropped silently. */
  onWarning?: (warning: TraceFormatError) => void;
}

export interface TraceContents {
  header: TraceHeader;
  events: TraceEvent[];
  warnings: TraceFormatError[];
}

const READ_CHUNK_BYTES = 64 * 1024;

function isBlank(text: string): boolean {
  return text.length === 0 || text.trim().length === 0;
}

/** Turns the lines of one trace, in order, into validated events. */
export class TraceLineParser {
  header: TraceHeader | undefined;
  eventCount = 0;
  private lineNumber = 0;
  private lastSeq: number | undefined;
  /** The first blank line not yet followed by content; an error only if content follows. */
  private pendingBlankLine = 0;
  /** Calls read and not yet returned, by seq: a return must be its call's (same process, thread and API). */
  private readonly openCalls = new Map<number, OpenCall>();
  /** The `"kind":"…"` texts of the kinds wanted (JSON.stringify writes no space there), or undefined for all. */
  private readonly kindTexts?: string[];

  /**
   * `kinds`: a follower that wants only these kinds of event (a live `record --quiet`); the other lines keep their
   * numbers and are not parsed (whoever reads the whole trace checks them).
   */
  constructor(
    readonly file: string,
    private readonly onWarning?: (warning: TraceFormatError) => void,
    kinds?: readonly TraceEvent['kind'][],
  ) {
    this.kindTexts = kinds?.map((kind) => `"kind":${JSON.stringify(kind)}`);
  }

  /** Lines parsed or passed over so far, the header's included. */
  get lineCount(): number {
    return this.lineNumber;
  }

  /** Passes over a line that is not the trace's own (a capture's ring chunk, expanded by its follower); its number. */
  countLine(): number {
    return ++this.lineNumber;
  }

  /**
   * Parses the next line (without its '\n'). `unterminated` marks the file's last line when no newline
   * follows it: if that line is bad JSON after the header, it was cut short by a crash and is only warned about.
   * Returns the event, or undefined for the header, blank lines and an ignored truncated line.
   */
  parseLine(text: string, unterminated: boolean): TraceEvent | undefined {
    const lineNumber = ++this.lineNumber;
    if (text.charCodeAt(text.length - 1) === 13) text = text.slice(0, -1); // CRLF
    if (lineNumber === 1 && text.charCodeAt(0) === 0xfeff) text = text.slice(1); // UTF-8 BOM
    if (isBlank(text)) {
      if (this.pendingBlankLine === 0) this.pendingBlankLine = lineNumber;
      return undefined;
    }
    if (this.pendingBlankLine !== 0) {
      throw new TraceFormatError(this.file, this.pendingBlankLine, 'blank line in the middle of the trace');
    }
    // A kind's text outside a string value can only be the event's own kind: escaped quotes cannot match it.
    if (this.kindTexts && this.header !== undefined && !this.kindTexts.some((kind) => text.includes(kind))) return undefined;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      if (unterminated && this.header !== undefined) {
        const events = `${this.eventCount} event${this.eventCount === 1 ? '' : 's'}`;
        const bytes = Buffer.byteLength(text, 'utf8');
        this.onWarning?.(
          new TraceFormatError(this.file, lineNumber, `truncated last line (${bytes} bytes) ignored; the ${events} before it are kept`),
        );
        return undefined;
      }
      throw new TraceFormatError(this.file, lineNumber, `invalid JSON: ${(error as Error).message}`);
    }
    try {
      if (this.header === undefined) {
        this.header = validateHeader(value);
        return undefined;
      }
      const event = validateEvent(value);
      checkSeqOrder(event.seq, this.lastSeq);
      if (event.kind === 'api') {
        // The call event itself is what its return is checked against: no record of its own per call.
        if (event.phase === 'call') this.openCalls.set(event.seq, event);
        else {
          checkReturnMatchesCall(event, this.openCalls.get(event.callSeq));
          this.openCalls.delete(event.callSeq);
        }
      } else if (event.kind === 'process-exit') this.forgetCallsOf(event.pid);
      this.lastSeq = event.seq;
      this.eventCount++;
      return event;
    } catch (error) {
      if (error instanceof TraceFieldError) throw TraceFormatError.fromFieldError(this.file, lineNumber, error);
      throw error;
    }
  }

  /** A process that exits returns from none of its calls in flight. */
  private forgetCallsOf(pid: number): void {
    for (const [seq, call] of this.openCalls) if (call.pid === pid) this.openCalls.delete(seq);
  }

  /** Call after the last line: returns the header, or throws if the input had none. */
  finish(): TraceHeader {
    if (this.header === undefined) throw new TraceFormatError(this.file, 1, 'empty file: no header line');
    return this.header;
  }
}

/** Parses every '\n'-terminated line of `text` into `events`; returns the index where the unterminated rest begins. */
export function parseTerminatedLines(parser: TraceLineParser, text: string, events: TraceEvent[]): number {
  let start = 0;
  let newline: number;
  while ((newline = text.indexOf('\n', start)) !== -1) {
    const event = parser.parseLine(text.slice(start, newline), false);
    if (event !== undefined) events.push(event);
    start = newline + 1;
  }
  return start;
}

/** Reads `file` in chunks and yields the events of each chunk; only one chunk and one partial line are held. */
async function* readEventBatches(file: string, parser: TraceLineParser): AsyncGenerator<TraceEvent[]> {
  const decoder = new StringDecoder('utf8');
  let partialLine = '';
  for await (const chunk of fs.createReadStream(file, { highWaterMark: READ_CHUNK_BYTES })) {
    const decoded = decoder.write(chunk as Buffer);
    if (!decoded.includes('\n')) {
      partialLine += decoded; // a long line spanning chunks: do not rescan it
      continue;
    }
    const text = partialLine + decoded;
    const batch: TraceEvent[] = [];
    try {
      partialLine = text.slice(parseTerminatedLines(parser, text, batch));
    } catch (error) {
      if (batch.length > 0) yield batch; // the events before the bad line still reach the consumer
      throw error;
    }
    if (batch.length > 0) yield batch;
  }
  partialLine += decoder.end();
  if (partialLine.length > 0) {
    const event = parser.parseLine(partialLine, true);
    if (event !== undefined) yield [event];
  }
  parser.finish();
}

/** Streams the events of a trace file. Throws TraceFormatError (file, 1-based line) on the first malformed line. */
export async function* readTrace(file: string, options: ReadTraceOptions = {}): AsyncGenerator<TraceEvent> {
  for await (const batch of readTraceBatches(file, options)) {
    for (const event of batch) yield event;
  }
}

/**
 * Streams the events of a trace file a read chunk at a time (a few hundred events): a consumer that loops over each
 * batch itself pays no promise per event. The events before a malformed line arrive before its TraceFormatError.
 */
export function readTraceBatches(file: string, options: ReadTraceOptions = {}): AsyncGenerator<TraceEvent[]> {
  return readEventBatches(file, new TraceLineParser(file, options.onWarning));
}

/** Reads only the header line of a trace file. */
export async function readTraceHeader(file: string): Promise<TraceHeader> {
  const parser = new TraceLineParser(file);
  const decoder = new StringDecoder('utf8');
  let text = '';
  const stream = fs.createReadStream(file, { highWaterMark: 16 * 1024 });
  try {
    for await (const chunk of stream) {
      text += decoder.write(chunk as Buffer);
      let newline: number;
      while ((newline = text.indexOf('\n')) !== -1) {
        parser.parseLine(text.slice(0, newline), false);
        if (parser.header !== undefined) return parser.header;
        text = text.slice(newline + 1);
      }
    }
  } finally {
    stream.destroy();
  }
  text += decoder.end();
  if (text.length > 0) parser.parseLine(text, true);
  return parser.finish();
}

/** Reads a whole (small) trace file into memory. */
export async function readTraceFile(file: string): Promise<TraceContents> {
  const warnings: TraceFormatError[] = [];
  const parser = new TraceLineParser(file, (warning) => warnings.push(warning));
  const events: TraceEvent[] = [];
  for await (const batch of readEventBatches(file, parser)) {
    for (const event of batch) events.push(event);
  }
  return { header: parser.finish(), events, warnings };
}

/** Parses trace text already in memory (an editor buffer); `file` names it in errors. */
export function parseTraceText(text: string, file = '<text>'): TraceContents {
  const warnings: TraceFormatError[] = [];
  const parser = new TraceLineParser(file, (warning) => warnings.push(warning));
  const events: TraceEvent[] = [];
  const rest = parseTerminatedLines(parser, text, events);
  if (rest < text.length) {
    const event = parser.parseLine(text.slice(rest), true);
    if (event !== undefined) events.push(event);
  }
  return { header: parser.finish(), events, warnings };
}
