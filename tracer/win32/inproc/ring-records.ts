/**
 * The spool's ring records: the bytes of every ring chunk (ring-chunk.ts), raw, in a file beside the spool. The agent
 * writes a drain's records straight from its snapshot of the ring, before the chunk's line that names where they lie:
 * no base64, no copy, no fresh buffer per drain (under Wine's node.exe each newly touched page of a fresh buffer costs
 * about as much as writing a record). The spool's reader reads them back at the offsets the chunks give.
 * Pure: no koffi.
 */

import * as fs from 'node:fs';

/** The records file is the spool's name with this added. */
export const RING_RECORDS_SUFFIX = '.rings';

export function ringRecordsFileOf(spoolFile: string): string {
  return `${spoolFile}${RING_RECORDS_SUFFIX}`;
}

/** The agent's side: appends each process's records of a chunk, written through at once (nothing waits in memory). */
export class RingRecordsWriter {
  private fd?: number;
  private size = 0;

  constructor(readonly file: string) {}

  /** Writes the records (one piece, or two where the ring wrapped) one after the other; returns where they start. */
  append(pieces: readonly Buffer[]): number {
    // Created at the first chunk: a run without in-process records leaves no file; one left by an earlier run is replaced.
    this.fd ??= fs.openSync(this.file, 'w');
    const at = this.size;
    for (const piece of pieces) {
      for (let written = 0; written < piece.length; ) written += fs.writeSync(this.fd, piece, written, piece.length - written, this.size + written);
      this.size += piece.length;
    }
    return at;
  }

  close(): void {
    if (this.fd !== undefined) fs.closeSync(this.fd);
    this.fd = undefined;
  }
}

/** The reader's side: the bytes a chunk names, read into one buffer reused from chunk to chunk. */
export class RingRecordsReader {
  private fd?: number;
  private buffer = Buffer.alloc(0);

  constructor(readonly file: string) {}

  /** The `length` bytes at `at`: valid until the next read. Throws, saying what is missing, when the file ends first. */
  read(at: number, length: number): Buffer {
    if (length === 0) return this.buffer.subarray(0, 0);
    try {
      this.fd ??= fs.openSync(this.file, 'r');
    } catch (error) {
      throw new Error(`its records file ${this.file} cannot be read: ${error instanceof Error ? error.message : String(error)}`);
    }
    if (this.buffer.length < length) this.buffer = Buffer.allocUnsafe(Math.max(length, this.buffer.length * 2));
    let read = 0;
    while (read < length) {
      const got = fs.readSync(this.fd, this.buffer, read, length - read, at + read);
      if (got === 0) throw new Error(`its records lie at bytes ${at}–${at + length} of ${this.file}, which ends at ${at + read}`);
      read += got;
    }
    return this.buffer.subarray(0, length);
  }

  close(): void {
    if (this.fd !== undefined) fs.closeSync(this.fd);
    this.fd = undefined;
  }
}
