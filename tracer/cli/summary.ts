/** `sockshare summary`: what the model knows at the end of a trace, as plain text. Everything comes from the model. */

import type { Handoff, ShareModel } from '../model/index';
import {
  descriptorLabel, handleLabel, importLineText, openOrClosedText, originShortText, plural, processEndText, processLabel, settledText,
  socketEndText, socketLabel, tally, tallyLine,
} from '../describe';
import { ChunkedWriter, EXIT_OK, type CliIo } from './io';
import { streamIntoModel, type StreamedTrace } from './load';

export async function runSummary(file: string, io: CliIo): Promise<number> {
  const trace = await streamIntoModel(file, io.stderr);
  const out = new ChunkedWriter(io.stdout);
  for (const line of summaryLines(file, trace)) await out.write(`${line}\n`);
  await out.flush();
  return EXIT_OK;
}

export function* summaryLines(file: string, trace: StreamedTrace): Generator<string> {
  const { header, model } = trace;
  yield `Trace ${file}`;
  yield `  recorded ${header.startTime} on ${header.hostOs}, tracer ${header.tracerVersion}, format version ${header.version}`;
  const range = trace.firstSeq === undefined ? '' : ` (seq ${trace.firstSeq}..${trace.lastSeq})`;
  yield `  ${plural(trace.eventCount, 'event')}${range}`;
  yield '';
  yield* processLines(model);
  yield '';
  yield* socketLines(model);
  yield '';
  yield* handoffLines(model);
  yield '';
  yield `Findings: ${tallyLine(tally(model.findings()))}`;
}

function* processLines(model: ShareModel): Generator<string> {
  const processes = model.processes().sort((a, b) => a.startSeq - b.startSeq);
  yield `Processes (${processes.length})`;
  const rows = processes.map((p) => [
    `  pid ${p.pid}`,
    // A pid is reused once its process exits: each process is asked about as of its own start.
    model.role(p.pid, p.startSeq),
    `started at event ${p.startSeq}${p.parentPid ? ` by pid ${p.parentPid}` : ''}`,
    processEndText(p),
    p.image,
  ]);
  yield* table(rows);
}

function* socketLines(model: ShareModel): Generator<string> {
  const sockets = model.sockets();
  yield `Sockets (${sockets.length})`;
  const state = model.state;
  for (const socket of sockets) {
    const created = socket.originUnknown
      ? `first seen at event ${socket.created.seq} (imported; its source was not traced)`
      : `created at event ${socket.created.seq} by ${socket.created.api} in ${processLabel(state, socket.created.pid, socket.created.seq)}`;
    const end = socketEndText(socket);
    yield `  ${socketLabel(socket)}: ${created}, ${end}`;
    const rows = model.descriptorsOf(socket).map((d) => {
      const closed = d.closedSeq === undefined ? 'open at the end' : openOrClosedText(d);
      return [`    ${descriptorLabel(state, d)}`, originShortText(d), `opened at event ${d.created.seq}`, closed];
    });
    yield* table(rows);
  }
}

function* handoffLines(model: ShareModel): Generator<string> {
  const handoffs = model.handoffs();
  yield `Handoffs (${handoffs.length})`;
  const state = model.state;
  for (const h of handoffs) {
    const socket = h.socketId === undefined ? undefined : model.socket(h.socketId);
    const what = socket ? socketLabel(socket) : `descriptor ${handleLabel(h.sourceHandle)}`;
    const at = h.exportCall.seq;
    yield `  ${h.id}: event ${at} ${h.exportCall.api}, ${processLabel(state, h.sourcePid, at)} -> ${processLabel(state, h.targetPid, at)}, ${what}`;
    yield `    imports: ${importsText(model, h)}`;
  }
}

function importsText(model: ShareModel, h: Handoff): string {
  const imports = h.imports.map((i) => importLineText(model, i));
  if (imports.length > 0) return imports.join('; ');
  return h.settled === 'never-imported' ? `none (${settledText(h.settled)})` : 'none';
}

/** Left-aligned columns, two spaces apart. */
function* table(rows: string[][]): Generator<string> {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  for (const row of rows) yield row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]))).join('  ');
}
