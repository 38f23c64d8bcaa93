/**
 * Following the agent's spool as it grows, and writing the trace from it. The spool is a trace whose in-process calls
 * may come as ring chunks (the records as the stubs wrote them: tracer/win32/inproc/ring-chunk.ts); the trace gets the
 * events' lines as they are and each chunk expanded into its events, flushed at each write. A line still being written
 * waits for the next read. Each event line handed on is checked as any reader checks it.
 *
 * A follower that wants only some kinds of event names them; the other lines are not parsed. With `traceAtStops` it
 * also leaves the trace to catchUp() (called at stops and at the end): it hands on the events it wants as the spool
 * grows, passing over the chunks, and the work of expanding them waits until the programs are held or done. The
 * spool holds everything meanwhile.
 */
import * as fs from 'node:fs';
import { resolve } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { TraceFormatError } from '../trace/errors';
import { TraceLineParser } from '../trace/reader';
import type { TraceEvent } from '../trace/schema';
import { TraceWriter } from '../trace/writer';
import { RING_CHUNK_PREFIX, type RingChunk, RingChunkDecoder } from '../win32/inproc/ring-chunk';

/** The agent's spool is its trace's file name with this added, beside it. */
export const SPOOL_SUFFIX = '.spool';

/** Where the agent spools a trace: beside it, so a client that dies leaves the recording there. */
export function spoolFileOf(traceFile: string): string {
  return `${resolve(traceFile)}${SPOOL_SUFFIX}`;
}

/** One read's most: a drain writes up to a megabyte at once. */
const READ_CHUNK_BYTES = 1 << 20;

/** The whole lines appended to a file since the last read (none while it does not exist). */
class AppendedLines {
  private fd: number | undefined;
  private offset = 0;
  private partialLine = '';
  private readonly decoder = new StringDecoder('utf8');
  private readonly chunk = Buffer.allocUnsafe(READ_CHUNK_BYTES);

  constructor(readonly file: string) {}

  read(onLine: (line: string) => void): void {
    if (this.fd === undefined) {
      try {
        this.fd = fs.openSync(this.file, 'r');
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
        throw error;
      }
    }
    for (;;) {
      const read = fs.readSync(this.fd, this.chunk, 0, this.chunk.length, this.offset);
      if (read === 0) return;
      this.offset += read;
      const text = this.partialLine + this.decoder.write(this.chunk.subarray(0, read));
      let start = 0;
      for (let newline: number; (newline = text.indexOf('\n', start)) !== -1; start = newline + 1) onLine(text.slice(start, newline));
      this.partialLine = text.slice(start);
    }
  }

  close(): void {
    if (this.fd !== undefined) fs.closeSync(this.fd);
    this.fd = undefined;
  }
}

export interface SpoolOptions {
  /** Only these kinds of event are handed on (the others are still written to the trace). */
  readonly kinds?: readonly TraceEvent['kind'][];
  /** The trace is written at catchUp() only (stops and the end), not at each read. */
  readonly traceAtStops?: boolean;
}

export class SpoolFollower {
  /** Writes the trace (and, unless `traceAtStops`, hands on the events as it goes). */
  private readonly writing: AppendedLines;
  private readonly parser: TraceLineParser;
  /** With `traceAtStops`: hands on the events wanted, ahead of the trace. */
  private readonly ahead?: { readonly lines: AppendedLines; readonly parser: TraceLineParser };
  private readonly chunks = new RingChunkDecoder();
  private readonly kinds?: ReadonlySet<string>;
  private writer?: TraceWriter;
  /** Events written to the trace, handed on or not. */
  eventCount = 0;

  constructor(
    readonly spoolFile: string,
    readonly traceFile: string,
    options: SpoolOptions = {},
  ) {
    this.writing = new AppendedLines(spoolFile);
    this.kinds = options.kinds && new Set(options.kinds);
    if (options.traceAtStops) {
      this.ahead = { lines: new AppendedLines(spoolFile), parser: new TraceLineParser(spoolFile, undefined, options.kinds) };
      // The lines are checked where they are handed on; the trace's writer passes over every event line.
      this.parser = new TraceLineParser(spoolFile, undefined, []);
    } else this.parser = new TraceLineParser(spoolFile, undefined, options.kinds);
  }

  /**
   * Adds to `events` the events wanted among the lines the spool gained since the last call, in order, and (unless
   * `traceAtStops`) writes them to the trace. Throws TraceFormatError (spool, line) on a line no reader would accept;
   * what came before it is handed on and written then.
   */
  readNew(events: TraceEvent[] = []): TraceEvent[] {
    const ahead = this.ahead;
    if (!ahead) {
      this.writeTrace(events);
      return events;
    }
    ahead.lines.read((line) => {
      if (line.startsWith(RING_CHUNK_PREFIX)) ahead.parser.countLine();
      else {
        const event = ahead.parser.parseLine(line, false);
        if (event) events.push(event);
      }
    });
    return events;
  }

  /** Writes the trace up to what the spool holds now (with `traceAtStops`: at a stop, and at the end). */
  catchUp(): void {
    if (this.ahead) this.writeTrace(undefined);
  }

  private writeTrace(events: TraceEvent[] | undefined): void {
    try {
      this.writing.read((line) => this.follow(line, events));
    } finally {
      this.writer?.flush();
    }
  }

  private follow(line: string, events: TraceEvent[] | undefined): void {
    if (line.startsWith(RING_CHUNK_PREFIX)) {
      const lineNumber = this.parser.countLine();
      let expanded: TraceEvent[];
      try {
        expanded = this.chunks.expand(JSON.parse(line) as RingChunk);
      } catch (error) {
        throw new TraceFormatError(this.spoolFile, lineNumber, `ring chunk: ${error instanceof Error ? error.message : String(error)}`);
      }
      const writer = this.written();
      for (const event of expanded) {
        writer.queue(event);
        if (events && (!this.kinds || this.kinds.has(event.kind))) events.push(event);
      }
      this.eventCount += expanded.length;
      return;
    }
    const hadHeader = this.parser.header !== undefined;
    const event = this.parser.parseLine(line, false);
    if (!hadHeader || line.trim() === '') return;
    this.written().queueLine(line, event?.seq);
    this.eventCount++;
    if (event && events) events.push(event);
  }

  /** The trace, created at its first event (a run that recorded nothing leaves none, as the agent leaves no spool). */
  private written(): TraceWriter {
    if (this.writer) return this.writer;
    const header = this.parser.header;
    if (!header) throw new TraceFormatError(this.spoolFile, this.parser.lineCount, 'an event before the header line');
    return (this.writer = TraceWriter.create(this.traceFile, header));
  }

  /** Closes the files; `removeSpool`: everything in it is in the trace now. */
  close(removeSpool = false): void {
    this.writing.close();
    this.ahead?.lines.close();
    this.writer?.close();
    if (removeSpool) fs.rmSync(this.spoolFile, { force: true });
  }
}
