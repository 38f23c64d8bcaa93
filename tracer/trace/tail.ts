/**
 * Following a trace file while another process writes it (the tracer agent): each read takes what was appended
 * since the last, and yields the events of its whole lines, checked as any reader checks them. A line still being
 * written stays for the next read. A follower that wants only some kinds of event names them: the other lines are
 * counted, not parsed.
 */
import * as fs from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import { TraceLineParser } from './reader';
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
  /** The `"kind":"…"` texts of the kinds wanted (JSON.stringify writes no space there), or undefined for all. */
  private readonly kindTexts?: string[];
  /** Complete event lines read, parsed or not. */
  eventLines = 0;

  constructor(
    readonly file: string,
    kinds?: readonly TraceEvent['kind'][],
  ) {
    this.parser = new TraceLineParser(file);
    this.kindTexts = kinds?.map((kind) => `"kind":${JSON.stringify(kind)}`);
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
      this.partialLine = text.slice(this.parseLines(text, events));
    }
  }

  /** Parses the wanted '\n'-terminated lines of `text` into `events`; returns where the unterminated rest begins. */
  private parseLines(text: string, events: TraceEvent[]): number {
    let start = 0;
    let newline: number;
    while ((newline = text.indexOf('\n', start)) !== -1) {
      const line = text.slice(start, newline);
      start = newline + 1;
      const isHeader = this.parser.header === undefined;
      if (!isHeader) this.eventLines++;
      // A kind's text outside a string value can only be the event's own kind: escaped quotes cannot match it.
      if (!isHeader && this.kindTexts && !this.kindTexts.some((kind) => line.includes(kind))) {
        this.parser.skipLine();
        continue;
      }
      const event = this.parser.parseLine(line, false);
      if (event !== undefined) events.push(event);
    }
    return start;
  }

  close(): void {
    if (this.fd !== undefined) fs.closeSync(this.fd);
    this.fd = undefined;
  }
}
