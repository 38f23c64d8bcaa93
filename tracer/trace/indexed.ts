/**
 * Random access to a trace too large to parse up front (the debugger's replay). open() validates the header and
 * scans the file once for line starts, keeping only byte offsets; at(i) reads event i's line and parses it on demand.
 * Every line goes through the reader's TraceLineParser, so this accepts and rejects what readTraceFile does and names
 * the same file and line; a malformed event line is reported when it is read, not when the file is opened.
 *
 * An IndexedTraceFile has `length` and `at(index)`, so it serves as the model's EventStore (tracer/model/timeline.ts).
 */
import * as fs from 'node:fs';
import { promisify } from 'node:util';
import { TraceFieldError, TraceFormatError } from './errors';
import { TraceLineParser, type ReadTraceOptions } from './reader';
import type { TraceEvent, TraceHeader } from './schema';
import { checkSeqOrder } from './validate';

/** Reads while scanning for line starts in open(). */
const SCAN_CHUNK_BYTES = 4 * 1024 * 1024;
/** Read-ahead when events are read one after another (forwards or backwards). */
const SEQUENTIAL_BLOCK_BYTES = 256 * 1024;
/** Read around an event reached by a jump (binary search, a checkpoint): a few dozen lines. */
const RANDOM_BLOCK_BYTES = 16 * 1024;
/** Parsed events kept, direct-mapped by index: the last CACHE_SIZE consecutive events always fit. */
const CACHE_SIZE = 8192;
const OPEN_BRACE = 0x7b;

const openFile = promisify(fs.open);

function readAt(fd: number, buffer: Buffer, length: number, position: number): Promise<number> {
  return new Promise((resolve, reject) => {
    fs.read(fd, buffer, 0, length, position, (error, bytesRead) => (error ? reject(error) : resolve(bytesRead)));
  });
}

/** Reads exactly `length` bytes at `position`; the trace must not shrink while it is open. */
function readFully(fd: number, file: string, buffer: Buffer, length: number, position: number): void {
  for (let done = 0; done < length; ) {
    const n = fs.readSync(fd, buffer, done, length - done, position + done);
    if (n === 0) throw new Error(`${file}: the trace file got shorter while it was open`);
    done += n;
  }
}

function readText(fd: number, file: string, start: number, end: number): string {
  const buffer = Buffer.allocUnsafe(end - start);
  readFully(fd, file, buffer, end - start, start);
  return buffer.toString('utf8');
}

/** What open() learns from one pass over the file. */
interface LineIndex {
  header: TraceHeader;
  /** The header line as read, to start a TraceLineParser anywhere after it. */
  headerText: string;
  /** Line number of the first event. */
  firstLine: number;
  /** Byte offset of each event line's start, then one past the end of the last event line's '\n' (count + 1 entries). */
  offsets: Float64Array;
  count: number;
}

/**
 * Finds the event lines of an open trace: Buffer.indexOf('\n') over large reads, one Float64Array entry a line.
 * The lines up to the header go through a TraceLineParser from line 1; after it, a line is looked at only if it does
 * not start with '{' (to tell blank lines), and only the unterminated last line is parsed (truncated or not).
 */
async function indexLines(fd: number, file: string, onWarning: (warning: TraceFormatError) => void): Promise<LineIndex> {
  const headerParser = new TraceLineParser(file);
  let headerText: string | undefined;
  let firstLine = 0;
  let offsets = new Float64Array(64 * 1024);
  let count = 0;
  let contentEnd = 0;
  let lineNumber = 0;
  let firstBlankLine = 0;
  const chunk = Buffer.allocUnsafe(SCAN_CHUNK_BYTES);
  let chunkStart = 0;
  const text = (start: number, end: number): string =>
    start >= chunkStart ? chunk.toString('utf8', start - chunkStart, end - chunkStart) : readText(fd, file, start, end);

  /** Whether an unterminated last line is cut short: bad JSON, which TraceLineParser warns about and skips. */
  const truncated = (line: string): boolean => {
    let warning: TraceFormatError | undefined;
    const parser = new TraceLineParser(file, (w) => (warning = w));
    parser.parseLine(headerText as string, false);
    parser.eventCount = count;
    try {
      parser.parseLine(line, true);
    } catch {
      return false; // complete JSON but not a valid event: at() reports it like any other bad line
    }
    if (warning !== undefined) onWarning(new TraceFormatError(file, lineNumber, warning.detail));
    return warning !== undefined;
  };

  const addLine = (start: number, end: number, unterminated: boolean): void => {
    lineNumber++;
    if (headerText === undefined) {
      const line = text(start, end);
      headerParser.parseLine(line, unterminated); // blank lines before the header are its business
      if (headerParser.header !== undefined) {
        headerText = line;
        firstLine = lineNumber + 1;
      }
      return;
    }
    const startsEvent = start < end && start >= chunkStart && chunk[start - chunkStart] === OPEN_BRACE;
    const line = startsEvent && !unterminated ? '' : text(start, end);
    if (!startsEvent && line.trim().length === 0) {
      // A blank line is an error only if content follows, as in TraceLineParser (same message).
      if (firstBlankLine === 0) firstBlankLine = lineNumber;
      return;
    }
    if (firstBlankLine !== 0) throw new TraceFormatError(file, firstBlankLine, 'blank line in the middle of the trace');
    if (unterminated && truncated(line)) return;
    if (count + 1 >= offsets.length) {
      const grown = new Float64Array(offsets.length * 2);
      grown.set(offsets);
      offsets = grown;
    }
    offsets[count++] = start;
    contentEnd = end + 1;
  };

  let position = 0;
  let lineStart = 0;
  for (;;) {
    const bytesRead = await readAt(fd, chunk, chunk.length, position);
    if (bytesRead === 0) break;
    chunkStart = position;
    const view = bytesRead === chunk.length ? chunk : chunk.subarray(0, bytesRead);
    for (let newline = view.indexOf(10); newline !== -1; newline = view.indexOf(10, newline + 1)) {
      addLine(lineStart, chunkStart + newline, false);
      lineStart = chunkStart + newline + 1;
    }
    position += bytesRead;
  }
  if (lineStart < position) addLine(lineStart, position, true);
  const header = headerParser.finish(); // throws for a file without a header line
  offsets[count] = contentEnd;
  return { header, headerText: headerText as string, firstLine, offsets: offsets.slice(0, count + 1), count };
}

export class IndexedTraceFile {
  readonly header: TraceHeader;
  /** Number of events (the lines after the header, without trailing blank lines or a truncated last line). */
  readonly length: number;
  /** Recoverable problems found by open() (a truncated last line), also passed to options.onWarning. */
  readonly warnings: TraceFormatError[];
  private fd: number | undefined;
  private readonly headerText: string;
  private readonly firstLine: number;
  private readonly offsets: Float64Array;
  private block = Buffer.allocUnsafe(SEQUENTIAL_BLOCK_BYTES);
  /** File range [blockStart, blockEnd) held in `block`. */
  private blockStart = 0;
  private blockEnd = 0;
  private readonly cachedIndex = new Float64Array(CACHE_SIZE).fill(-1);
  private readonly cachedEvent: (TraceEvent | undefined)[] = new Array<TraceEvent | undefined>(CACHE_SIZE);
  private lastIndex = -2;
  /** The parser that read event runNext - 1; it goes on with runNext, checking seq order as the reader does. */
  private runParser: TraceLineParser | undefined;
  private runNext = -1;

  private constructor(
    readonly file: string,
    fd: number,
    index: LineIndex,
    warnings: TraceFormatError[],
  ) {
    this.fd = fd;
    this.header = index.header;
    this.headerText = index.headerText;
    this.firstLine = index.firstLine;
    this.offsets = index.offsets;
    this.length = index.count;
    this.warnings = warnings;
  }

  /** Opens `file`, checks its header and indexes its lines. Throws TraceFormatError as readTraceFile does for a bad header. */
  static async open(file: string, options: ReadTraceOptions = {}): Promise<IndexedTraceFile> {
    const fd = await openFile(file, 'r');
    try {
      const warnings: TraceFormatError[] = [];
      const index = await indexLines(fd, file, (warning) => {
        warnings.push(warning);
        options.onWarning?.(warning);
      });
      return new IndexedTraceFile(file, fd, index, warnings);
    } catch (error) {
      fs.closeSync(fd);
      throw error;
    }
  }

  /** The event at `index` (0-based). Throws TraceFormatError (this file, the event's line) if its line is malformed. */
  at(index: number): TraceEvent {
    if (!Number.isInteger(index) || index < 0 || index >= this.length) {
      throw new RangeError(`${this.file}: event index ${index} out of range (${this.length} events)`);
    }
    const slot = index % CACHE_SIZE;
    let event = this.cachedIndex[slot] === index ? this.cachedEvent[slot] : undefined;
    if (event === undefined) {
      event = this.parse(index);
      this.cachedIndex[slot] = index;
      this.cachedEvent[slot] = event;
    }
    this.lastIndex = index;
    return event;
  }

  /** The 1-based line of the event at `index` in the file. */
  lineOf(index: number): number {
    return this.firstLine + index;
  }

  /** Index of the event with this seq, or of the last event before it (-1 if none), as Timeline.indexOfSeq. */
  indexOfSeq(seq: number): number {
    let lo = 0;
    let hi = this.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (this.at(mid).seq <= seq) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found;
  }

  /** Closes the file; events already parsed and cached stay readable. */
  close(): void {
    if (this.fd === undefined) return;
    fs.closeSync(this.fd);
    this.fd = undefined;
    this.runParser = undefined;
  }

  private parse(index: number): TraceEvent {
    const text = this.lineText(index);
    const continues = this.runParser !== undefined && this.runNext === index;
    const parser = continues ? (this.runParser as TraceLineParser) : this.startParser();
    this.runParser = undefined;
    try {
      const event = parser.parseLine(text, false);
      if (event === undefined) throw new Error(`${this.file}:${this.lineOf(index)}: the trace file changed while it was open`);
      if (!continues && index > 0) {
        const previous = this.cachedEvent[(index - 1) % CACHE_SIZE];
        if (this.cachedIndex[(index - 1) % CACHE_SIZE] === index - 1 && previous !== undefined) checkSeqOrder(event.seq, previous.seq);
      }
      this.runParser = parser;
      this.runNext = index + 1;
      return event;
    } catch (error) {
      // The parser counts its own lines; name the event's line in the file instead.
      if (error instanceof TraceFormatError) throw new TraceFormatError(this.file, this.lineOf(index), error.detail, error.field);
      if (error instanceof TraceFieldError) throw TraceFormatError.fromFieldError(this.file, this.lineOf(index), error);
      throw error;
    }
  }

  /** A TraceLineParser past the header, for event lines read from anywhere in the file. */
  private startParser(): TraceLineParser {
    const parser = new TraceLineParser(this.file);
    parser.parseLine(this.headerText, false);
    return parser;
  }

  /** Event `index`'s line without its '\n', read through `block`. */
  private lineText(index: number): string {
    const start = this.offsets[index];
    const end = this.offsets[index + 1] - 1;
    if (start < this.blockStart || end > this.blockEnd) this.readBlock(index, start, end);
    return this.block.toString('utf8', start - this.blockStart, end - this.blockStart);
  }

  /** Reads a block holding [start, end): ahead of it when reading forwards, behind it when reading backwards. */
  private readBlock(index: number, start: number, end: number): void {
    if (this.fd === undefined) throw new Error(`${this.file}: the indexed trace is closed`);
    const sequential = index === this.lastIndex + 1 || index === this.lastIndex - 1;
    const size = Math.max(end - start, sequential ? SEQUENTIAL_BLOCK_BYTES : RANDOM_BLOCK_BYTES);
    if (size > this.block.length) this.block = Buffer.allocUnsafe(size);
    const contentEnd = this.offsets[this.length] - 1;
    const from = index < this.lastIndex ? Math.max(this.offsets[0], end - size) : start;
    const to = Math.min(contentEnd, from + size);
    this.blockStart = this.blockEnd = 0; // nothing valid if the read throws
    readFully(this.fd, this.file, this.block, to - from, from);
    this.blockStart = from;
    this.blockEnd = to;
  }
}
