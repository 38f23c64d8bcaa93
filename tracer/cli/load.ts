/** Getting a trace file into the model: streamed for check and summary, whole for export. Errors become InputError. */

import { ShareModel } from '../model/index';
import { readTraceBatches, readTraceFile, readTraceHeader, TraceFormatError, type TraceContents, type TraceHeader } from '../trace/index';
import { InputError, type OutputStream } from './io';

export interface StreamedTrace {
  header: TraceHeader;
  model: ShareModel;
  eventCount: number;
  firstSeq?: number;
  lastSeq?: number;
}

/** Reports recoverable reader problems (a truncated last line) on stderr; they do not change the exit code. */
function warner(stderr: OutputStream): (warning: TraceFormatError) => void {
  return (warning) => stderr.write(`sockshare: warning: ${warning.message}\n`);
}

/**
 * Streams `file` event by event into a fresh model and finishes it; only the model's state stays in memory.
 * Without `history` the model drops closed sockets as it goes (enough for findings).
 */
export async function streamIntoModel(file: string, stderr: OutputStream, history = true): Promise<StreamedTrace> {
  return guard(file, async () => {
    const header = await readTraceHeader(file);
    const model = history ? new ShareModel() : ShareModel.findingsOnly();
    let eventCount = 0;
    let firstSeq: number | undefined;
    let lastSeq: number | undefined;
    for await (const batch of readTraceBatches(file, { onWarning: warner(stderr) })) {
      for (let i = 0; i < batch.length; i++) model.apply(batch[i]);
      if (batch.length === 0) continue;
      firstSeq ??= batch[0].seq;
      lastSeq = batch[batch.length - 1].seq;
      eventCount += batch.length;
    }
    model.finish();
    return { header, model, eventCount, firstSeq, lastSeq };
  });
}

/** Reads the whole of `file` into memory (export needs every event). */
export async function readWhole(file: string, stderr: OutputStream): Promise<TraceContents> {
  return guard(file, async () => {
    const contents = await readTraceFile(file);
    const warn = warner(stderr);
    for (const warning of contents.warnings) warn(warning);
    return contents;
  });
}

async function guard<T>(file: string, body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (error) {
    if (error instanceof TraceFormatError) throw new InputError(error.message);
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new InputError(`${file}: no such file`);
    if (code === 'EISDIR') throw new InputError(`${file}: is a directory, not a trace file`);
    if (code === 'EACCES' || code === 'EPERM') throw new InputError(`${file}: permission denied`);
    if (code !== undefined) throw new InputError(`${file}: cannot read: ${(error as Error).message}`);
    throw error;
  }
}
