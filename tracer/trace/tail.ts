/**
 * Following a trace file while another process writes it (the tracer agent): each read takes what was appended
 * since the last, and yields the events of its whole lines, checked as any reader checks them. A line still being
 * written stays for the next read. A follower that wants only some kinds of event names them: the other lines are
 * counted, not parsed.
 */
import * as fs from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import { parseTerminatedLines, TraceLineParser } from './reader';
import type { TraceEvent } from './schema';

/** One read's most: a drain writes up to a megabyte at once. */
const READ_CHUNK_BYTES = 1 << 20;

export class TraceTail {
  private fd: number | undefined;
  private offset = 0;
  private partialLine = '';
  private readonly decoder = new StringDecoder('utf8');
  private readonly chunk = Buffer.allocUnsafe(READ_CHUNK_BYTES);
  private readonly parser: TraceLineParser;

  /** `kinds`: only these kinds of event are parsed and handed on (the other lines are counted). */
  constructor(
    readonly file: string,
    kinds?: readonly TraceEvent['kind'][],
  ) {
    this.parser = new TraceLineParser(file, undefined, kinds);
  }

  /** Complete event lines read, parsed or not. */
  get eventLines(): number {
    return Math.max(0, this.parser.lineCount - 1);
  }

  /**
   * Adds to `events` those of the lines completed since the last call, in order (none while the file does not exist
   * yet) and returns it. Throws TraceFormatError (file, line) on a line no reader would accept; the events before
   * that line are in `events` then.
   */
  readNew(events: TraceEvent[] = []): TraceEvent[] {
    if (this.fd === undefined) {
      try {
        this.fd = fs.openSync(this.file, 'r');
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return events;
        throw error;
      }
    }
    for (;;) {
      const read = fs.readSync(this.fd, this.chunk, 0, this.chunk.length, this.offset);
      if (read === 0) return events;
      this.offset += read;
      const text = this.partialLine + this.decoder.write(this.chunk.subarray(0, read));
      this.partialLine = text.slice(parseTerminatedLines(this.parser, text, events));
    }
  }

  close(): void {
    if (this.fd !== undefined) fs.closeSync(this.fd);
    this.fd = undefined;
  }
}
