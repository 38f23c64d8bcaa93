/**
 * The lines of a trace file read from disk (a trace too large to take from the editor): one pass finds where each
 * line starts (byte offsets in a Float64Array), and a line's text is read again when asked for, through a block
 * read ahead of it. Lines are separated by '\n'; a '\r' before it is not part of the line. The file must not change
 * while it is read (the server reads it again when it is saved).
 */

import * as fs from 'node:fs';
import type { Range } from 'vscode-languageserver';
import type { TraceLines } from './line-table';

const SCAN_CHUNK_BYTES = 4 * 1024 * 1024;
const BLOCK_BYTES = 256 * 1024;
const NEWLINE = 10;
const CARRIAGE_RETURN = 13;

function read(fd: number, buffer: Buffer, length: number, position: number): Promise<number> {
  return new Promise((resolve, reject) => fs.read(fd, buffer, 0, length, position, (error, n) => (error ? reject(error) : resolve(n))));
}

export class DiskLines implements TraceLines {
  private block = Buffer.allocUnsafe(BLOCK_BYTES);
  private blockStart = 0;
  private blockEnd = 0;
  private fd: number | undefined;

  private constructor(
    readonly file: string,
    fd: number,
    /** Byte offset of each line's start, then the file's size (count + 1 entries). */
    private readonly starts: Float64Array,
    readonly count: number,
  ) {
    this.fd = fd;
  }

  /** Opens `file` and finds its lines, yielding to the event loop between reads. */
  static async open(file: string): Promise<DiskLines> {
    const fd = await new Promise<number>((resolve, reject) => fs.open(file, 'r', (error, n) => (error ? reject(error) : resolve(n))));
    try {
      let starts = new Float64Array(64 * 1024);
      let count = 1;
      const chunk = Buffer.allocUnsafe(SCAN_CHUNK_BYTES);
      let position = 0;
      for (;;) {
        const n = await read(fd, chunk, chunk.length, position);
        if (n === 0) break;
        const view = n === chunk.length ? chunk : chunk.subarray(0, n);
        for (let at = view.indexOf(NEWLINE); at !== -1; at = view.indexOf(NEWLINE, at + 1)) {
          if (count + 1 >= starts.length) {
            const grown = new Float64Array(starts.length * 2);
            grown.set(starts);
            starts = grown;
          }
          starts[count++] = position + at + 1;
        }
        position += n;
      }
      starts[count] = position;
      return new DiskLines(file, fd, starts.slice(0, count + 1), count);
    } catch (error) {
      fs.closeSync(fd);
      throw error;
    }
  }

  /** The text of a line, without its line break. */
  lineText(line: number): string {
    if (line < 0 || line >= this.count) return '';
    const start = this.starts[line];
    let end = line + 1 < this.count ? this.starts[line + 1] - 1 : this.starts[this.count];
    if (end <= start) return '';
    if (start < this.blockStart || end > this.blockEnd) this.readBlock(start, end);
    if (this.block[end - 1 - this.blockStart] === CARRIAGE_RETURN) end--;
    return this.block.toString('utf8', start - this.blockStart, end - this.blockStart);
  }

  /** The whole line as an LSP range (UTF-16 columns, as the editor counts them). */
  range(line: number): Range {
    return { start: { line, character: 0 }, end: { line, character: this.lineText(line).length } };
  }

  close(): void {
    if (this.fd === undefined) return;
    fs.closeSync(this.fd);
    this.fd = undefined;
  }

  private readBlock(start: number, end: number): void {
    if (this.fd === undefined) throw new Error(`${this.file}: closed`);
    const size = Math.max(end - start, BLOCK_BYTES);
    if (size > this.block.length) this.block = Buffer.allocUnsafe(size);
    const to = Math.min(this.starts[this.count], start + size);
    this.blockStart = this.blockEnd = 0;
    for (let done = 0; done < to - start; ) {
      const n = fs.readSync(this.fd, this.block, done, to - start - done, start + done);
      if (n === 0) throw new Error(`${this.file} got shorter while it was read`);
      done += n;
    }
    this.blockStart = start;
    this.blockEnd = to;
  }
}
