/**
 * Following the agent's spool as it grows, and writing the trace from it. The spool is a trace whose in-process calls
 * may come as ring chunks (the records as the stubs wrote them: tracer/win32/inproc/ring-chunk.ts); each read takes
 * the lines completed since the last, copies the events' lines to the trace as they are, expands each chunk into its
 * events there, and flushes the trace. A line still being written waits for the next read.
 * Each event line is checked as any reader checks it; a follower that wants only some kinds of event names them, and
 * the other lines are copied and counted, not parsed.
 */
import * as fs from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import { TraceFormatError } from '../trace/errors';
import { TraceLineParser } from '../trace/reader';
import type { TraceEvent } from '../trace/schema';
import { TraceWriter } from '../trace/writer';
import { RING_CHUNK_PREFIX, type RingChunk, RingChunkDecoder } from '../win32/inproc/ring-chunk';

/** One read's most: a drain writes up to a megabyte at once. */
const READ_CHUNK_BYTES = 1 << 20;

export class SpoolFollower {
  private fd: number | undefined;
  private offset = 0;
  private partialLine = '';
  private readonly decoder = new StringDecoder('utf8');
  private readonly chunk = Buffer.allocUnsafe(READ_CHUNK_BYTES);
  private readonly parser: TraceLineParser;
  private readonly chunks = new RingChunkDecoder();
  private readonly kinds?: ReadonlySet<string>;
  private writer?: TraceWriter;
  /** Events written to the trace, handed on or not. */
  eventCount = 0;

  /** `kinds`: only these kinds of event are handed on (the others are still written to the trace). */
  constructor(
    readonly spoolFile: string,
    readonly traceFile: string,
    kinds?: readonly TraceEvent['kind'][],
  ) {
    this.parser = new TraceLineParser(spoolFile, undefined, kinds);
    this.kinds = kinds && new Set(kinds);
  }

  /**
   * Writes to the trace what the spool gained since the last call and adds the events wanted to `events`, in order
   * (none while the spool does not exist yet). Throws TraceFormatError (spool, line) on a line no reader would
   * accept; what came before it is written and in `events` then.
   */
  readNew(events: TraceEvent[] = []): TraceEvent[] {
    if (this.fd === undefined) {
      try {
        this.fd = fs.openSync(this.spoolFile, 'r');
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return events;
        throw error;
      }
    }
    try {
      for (;;) {
        const read = fs.readSync(this.fd, this.chunk, 0, this.chunk.length, this.offset);
        if (read === 0) return events;
        this.offset += read;
        const text = this.partialLine + this.decoder.write(this.chunk.subarray(0, read));
        let start = 0;
        for (let newline: number; (newline = text.indexOf('\n', start)) !== -1; start = newline + 1) this.follow(text.slice(start, newline), events);
        this.partialLine = text.slice(start);
      }
    } finally {
      this.writer?.flush();
    }
  }

  private follow(line: string, events: TraceEvent[]): void {
    if (line.startsWith(RING_CHUNK_PREFIX)) {
      const lineNumber = this.parser.countLine();
      let expanded: TraceEvent[];
      try {
        expanded = this.chunks.expand(JSON.parse(line) as RingChunk);
      } catch (error) {
        throw new TraceFormatError(this.spoolFile, lineNumber, `ring chunk: ${error instanceof Error ? error.message : String(error)}`);
      }
      for (const event of expanded) {
        this.written().queue(event);
        if (!this.kinds || this.kinds.has(event.kind)) events.push(event);
      }
      this.eventCount += expanded.length;
      return;
    }
    const hadHeader = this.parser.header !== undefined;
    const event = this.parser.parseLine(line, false);
    if (!hadHeader) {
      if (this.parser.header) this.writer = TraceWriter.create(this.traceFile, this.parser.header);
      return;
    }
    if (line.trim() === '') return;
    this.written().queueLine(line, event?.seq);
    this.eventCount++;
    if (event) events.push(event);
  }

  private written(): TraceWriter {
    if (!this.writer) throw new TraceFormatError(this.spoolFile, this.parser.lineCount, 'an event before the header line');
    return this.writer;
  }

  /** Closes both files; `removeSpool`: everything in it is in the trace now. */
  close(removeSpool = false): void {
    if (this.fd !== undefined) fs.closeSync(this.fd);
    this.fd = undefined;
    this.writer?.close();
    if (removeSpool) fs.rmSync(this.spoolFile, { force: true });
  }
}
