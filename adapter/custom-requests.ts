/**
 * The session's custom requests, one handler each: exportTrace {format, output} writes the trace as the CLI's export
 * does, gotoEvent {seq} moves a replay, sharedSockets gives the Shared Sockets view, traceInfo names the trace.
 */

import { writeFileSync } from 'node:fs';
import { EXPORT_FORMAT_IDS, isExportFormat, renderExport } from '../tracer/export';
import { modelOf } from '../tracer/model';
import { readTraceFile } from '../tracer/trace/reader';
import { sharedSocketsOverview } from './overview';
import type { TraceRuntime } from './runtime';

export interface CustomRequestArguments {
  format?: string;
  output?: string;
  seq?: number;
}

/** Answers a custom request with its response body; throws when it cannot. */
type CustomRequestHandler = (runtime: TraceRuntime | undefined, args: CustomRequestArguments) => Promise<unknown> | unknown;

export const CUSTOM_REQUESTS: Readonly<Record<string, CustomRequestHandler>> = {
  async exportTrace(runtime, args) {
    const format = args.format ?? '';
    if (!isExportFormat(format)) throw new Error(`exportTrace: format must be one of ${EXPORT_FORMAT_IDS.join(', ')}`);
    if (!args.output) throw new Error('exportTrace: missing "output"');
    const file = runtime?.source.traceFile;
    if (!file) throw new Error('exportTrace: no trace in this session');
    const { header, events } = await readTraceFile(file);
    writeFileSync(args.output, renderExport(format, header, events, modelOf(events)));
    return { output: args.output };
  },
  gotoEvent(runtime, args) {
    runtime?.goto(Number(args.seq));
    return undefined;
  },
  sharedSockets(runtime) {
    return { nodes: runtime ? sharedSocketsOverview(runtime.model) : [], seq: runtime?.event()?.seq };
  },
  traceInfo(runtime) {
    return { traceFile: runtime?.source.traceFile, live: runtime?.live ?? false };
  },
};
