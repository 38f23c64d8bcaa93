/**
 * Writes a trace file one line at a time. Each line goes to the OS in one fs.writeSync on an
 * O_APPEND descriptor before write() returns: nothing is buffered in JS, so a crash of this process
 * loses no line already written (at worst the reader sees a truncated last line, which it tolerates).
 * A burst (an in-process ring drained at once) can be queued and written with one flush(): the capture flushes
 * before it lets the programs go on, so nothing it has recorded is held only in memory while they run.
 */
import * as fs from 'node:fs';
import { TraceFieldError, TraceFormatError } from './errors';
import { readTrace, type ReadTraceOptions } from './reader';
import type { TraceEvent, TraceHeader } from './schema';
import { checkSeqOrder, validateEvent, validateHeader } from './validate';

const { O_CREAT, O_TRUNC, O_WRONLY, O_APPEND } = fs.constants;

export class TraceWriter {
  private fd: number | undefined;
  private queued: string[] = [];
  private queuedBytes = 0;

  private constructor(
    readonly file: string,
    fd: number,
    private lastSeq: number | undefined,
    private linesWritten: number,
  ) {
    this.fd = fd;
  }

  /** Creates (or empties) `file` and writes the header line. */
  static create(file: string, header: TraceHeader): TraceWriter {
    try {
      validateHeader(header);
    } catch (error) {
      throw error instanceof TraceFieldError ? TraceFormatError.fromFieldError(file, 1, error) : error;
    }
    const writer = new TraceWriter(file, fs.openSync(file, O_CREAT | O_TRUNC | O_WRONLY | O_APPEND), undefined, 0);
    writer.writeLine(JSON.stringify(header));
    return writer;
  }

  /**
   * Opens an existing trace to add events after its last one. The whole file is read and checked first;
   * a truncated last line (left by a crash) and trailing blank lines are cut off so the result stays readable.
   */
  static async append(file: string, options: ReadTraceOptions = {}): Promise<TraceWriter> {
    let lastSeq: number | undefined;
    let eventCount = 0;
    let truncatedLastLine = false;
    const onWarning: ReadTraceOptions['onWarning'] = (warning) => {
      truncatedLastLine = true;
      options.onWarning?.(warning);
    };
    for await (const event of readTrace(file, { onWarning })) {
      lastSeq = event.seq;
      eventCount++;
    }
    const fd = fs.openSync(file, 'a+');
    try {
      const contentEnd = endOfLastLine(fd, truncatedLastLine);
      fs.ftruncateSync(fd, contentEnd);
      writeAll(fd, '\n');
    } catch (error) {
      fs.closeSync(fd);
      throw error;
    }
    return new TraceWriter(file, fd, lastSeq, 1 + eventCount);
  }

  /** Appends one event; throws TraceFormatError if it is malformed or its seq does not increase. */
  write(event: TraceEvent): void {
    this.queue(event);
    this.flush();
  }

  /** Checks one event and queues its line for the next flush() (written at once past 1 MB). */
  queue(event: TraceEvent): void {
    if (this.fd === undefined) throw new Error(`${this.file}: TraceWriter is closed`);
    try {
      validateEvent(event);
      checkSeqOrder(event.seq, this.lastSeq);
    } catch (error) {
      throw error instanceof TraceFieldError ? TraceFormatError.fromFieldError(this.file, this.linesWritten + this.queued.length + 1, error) : error;
    }
    const json = JSON.stringify(event);
    this.queued.push(json);
    this.queuedBytes += json.length;
    this.lastSeq = event.seq;
    if (this.queuedBytes > 1 << 20) this.flush();
  }

  /**
   * Queues a line as is: an event's line already checked, or a capture's ring chunk (its events' seqs up to `lastSeq`:
   * the next event must come after them).
   */
  queueLine(line: string, lastSeq?: number): void {
    if (this.fd === undefined) throw new Error(`${this.file}: TraceWriter is closed`);
    this.queued.push(line);
    this.queuedBytes += line.length;
    if (lastSeq !== undefined) this.lastSeq = lastSeq;
    if (this.queuedBytes > 1 << 20) this.flush();
  }

  /** Writes the queued lines with one write. */
  flush(): void {
    if (this.fd === undefined || this.queued.length === 0) return;
    writeAll(this.fd, `${this.queued.join('\n')}\n`);
    this.linesWritten += this.queued.length;
    this.queued = [];
    this.queuedBytes = 0;
  }

  close(): void {
    if (this.fd === undefined) return;
    this.flush();
    fs.closeSync(this.fd);
    this.fd = undefined;
  }

  private writeLine(json: string): void {
    writeAll(this.fd as number, `${json}\n`);
    this.linesWritten++;
  }
}

function writeAll(fd: number, text: string | Buffer): void {
  const bytes = typeof text === 'string' ? Buffer.from(text, 'utf8') : text;
  for (let offset = 0; offset < bytes.length; ) offset += fs.writeSync(fd, bytes, offset);
}

/**
 * Byte offset just after the last line's content (its closing '}'), skipping trailing whitespace,
 * and first the text after the last '\n' when that is a truncated line. Reads the file backwards.
 */
function endOfLastLine(fd: number, skipTruncatedLine: boolean): number {
  const buffer = Buffer.alloc(64 * 1024);
  let skippingTruncated = skipTruncatedLine;
  let end = fs.fstatSync(fd).size;
  while (end > 0) {
    const start = Math.max(0, end - buffer.length);
    const length = fs.readSync(fd, buffer, 0, end - start, start);
    for (let i = length - 1; i >= 0; i--) {
      const byte = buffer[i];
      if (skippingTruncated) {
        if (byte === 0x0a) skippingTruncated = false;
      } else if (byte !== 0x0a && byte !== 0x0d && byte !== 0x20 && byte !== 0x09) {
        return start + i + 1;
      }
    }
    end = start;
  }
  return 0;
}
