/**
 * Following the agent's spool as it grows, and writing the trace from it. The spool is a trace whose in-process calls
 * may come as ring chunks (the records as the stubs wrote them, in the records file beside it: ring-chunk.ts and
 * ring-records.ts in tracer/win32/inproc); the trace gets the
 * events' lines as they are and each chunk expanded into its events, flushed at each write. A line still being written
 * waits for the next read. Each event line handed on is checked as any reader checks it.
 *
 * A follower that wants only some kinds of event names them; the other lines are not parsed. Events its client got
 * another way (the agent's messages: see notHandedOn) are not handed on again, so a client may read the spool only at
 * stops and at the end and still miss none of the events it wants.
 */
import * as fs from 'node:fs';
import { resolve } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { TraceFormatError } from '../trace/errors';
import { TraceLineParser } from '../trace/reader';
import type { TraceEvent } from '../trace/schema';
import { TraceWriter } from '../trace/writer';
import { RING_CHUNK_PREFIX, type RingChunk, RingChunkDecoder, chunkRecordBytes } from '../win32/inproc/ring-chunk';
import { RingRecordsReader, ringRecordsFileOf } from '../win32/inproc/ring-records';

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
}

export class SpoolFollower {
  private readonly lines: AppendedLines;
  private readonly parser: TraceLineParser;
  private readonly chunks = new RingChunkDecoder();
  /** The chunks' records, beside the spool. */
  private readonly records: RingRecordsReader;
  private readonly kinds?: ReadonlySet<string>;
  private writer?: TraceWriter;
  /** Events written to the trace, handed on or not. */
  eventCount = 0;
  /** The last seq handed on, from the spool or (notHandedOn) otherwise: what is not after it was handed on already. */
  private lastHandedOn = 0;

  constructor(
    readonly spoolFile: string,
    readonly traceFile: string,
    options: SpoolOptions = {},
  ) {
    this.lines = new AppendedLines(spoolFile);
    this.records = new RingRecordsReader(ringRecordsFileOf(spoolFile));
    this.kinds = options.kinds && new Set(options.kinds);
    this.parser = new TraceLineParser(spoolFile, undefined, options.kinds);
  }

  /**
   * Writes to the trace the lines the spool gained since the last call, and adds to `events` the events wanted among
   * them, in order, but for those handed on already. Throws TraceFormatError (spool, line) on a line no reader would
   * accept; what came before it is handed on and written then.
   */
  readNew(events: TraceEvent[] = []): TraceEvent[] {
    try {
      this.lines.read((line) => this.follow(line, events));
    } finally {
      this.writer?.flush();
    }
    return events;
  }

  /**
   * Of events the client got another way (in order), those not handed on yet: the spool will not hand them on again.
   */
  notHandedOn(events: readonly TraceEvent[]): TraceEvent[] {
    const fresh = events.filter((event) => event.seq > this.lastHandedOn);
    this.lastHandedOn = Math.max(this.lastHandedOn, fresh.at(-1)?.seq ?? 0);
    return fresh;
  }

  /** True if the event with this seq is wanted and was not handed on yet (then it counts as handed on now). */
  private handOn(event: TraceEvent): boolean {
    if (event.seq <= this.lastHandedOn || (this.kinds && !this.kinds.has(event.kind))) return false;
    this.lastHandedOn = event.seq;
    return true;
  }

  private follow(line: string, events: TraceEvent[]): void {
    if (line.startsWith(RING_CHUNK_PREFIX)) {
      const lineNumber = this.parser.countLine();
      let expanded: TraceEvent[];
      try {
        expanded = this.chunks.expand(JSON.parse(line) as RingChunk, (p) => this.records.read(p.at, chunkRecordBytes(p)));
      } catch (error) {
        throw new TraceFormatError(this.spoolFile, lineNumber, `ring chunk: ${error instanceof Error ? error.message : String(error)}`);
      }
      const writer = this.written();
      for (const event of expanded) {
        writer.queue(event);
        if (this.handOn(event)) events.push(event);
      }
      this.eventCount += expanded.length;
      return;
    }
    const hadHeader = this.parser.header !== undefined;
    const event = this.parser.parseLine(line, false);
    if (!hadHeader || line.trim() === '') return;
    this.written().queueLine(line, event?.seq);
    this.eventCount++;
    if (event && this.handOn(event)) events.push(event);
  }

  /** The trace, created at its first event (a run that recorded nothing leaves none, as the agent leaves no spool). */
  private written(): TraceWriter {
    if (this.writer) return this.writer;
    const header = this.parser.header;
    if (!header) throw new TraceFormatError(this.spoolFile, this.parser.lineCount, 'an event before the header line');
    return (this.writer = TraceWriter.create(this.traceFile, header));
  }

  /** Closes the files; `removeSpool`: everything in it (and in its records file) is in the trace now. */
  close(removeSpool = false): void {
    this.lines.close();
    this.records.close();
    this.writer?.close();
    if (!removeSpool) return;
    fs.rmSync(this.spoolFile, { force: true });
    fs.rmSync(this.records.file, { force: true });
  }
}
