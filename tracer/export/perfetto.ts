/**
 * Chrome / Perfetto JSON trace: a track per process and thread, a slice per hooked call, instants for process
 * start/exit, findings and program output, and a flow arrow from each WSADuplicateSocket slice to each WSASocket slice
 * importing it.
 * Open the file in ui.perfetto.dev or chrome://tracing.
 */

import type { OutputEvent, TraceEvent } from '../trace/schema';
import type { Finding, ShareModel } from '../model';
import { errorName, formatCall, pairCalls, processTrackName, truncate, type HookedCall } from '../describe';

/** One entry of "traceEvents" (Trace Event Format, JSON object form). */
export interface PerfettoEvent {
  name: string;
  ph: 'X' | 'i' | 'M' | 's' | 'f';
  pid: number;
  tid: number;
  cat?: string;
  /** Microseconds, fractional part from the trace's nanoseconds. */
  ts?: number;
  dur?: number;
  /** Instant scope: thread or process. */
  s?: 't' | 'p';
  args?: Record<string, unknown>;
  /** Flow v2, on the slices themselves. */
  bind_id?: number;
  flow_in?: boolean;
  flow_out?: boolean;
  /** Flow v1 ('s'/'f' events), for an export imported more than once: a slice binds one v2 flow only. */
  id?: number;
  bp?: 'e';
}

export function renderPerfetto(events: TraceEvent[], model: ShareModel): string {
  const tracks = collectTracks(events);
  const out: PerfettoEvent[] = [...trackMetadata(tracks, model)];
  const slices = new Map<number, PerfettoEvent>();
  for (const hooked of pairCalls(events)) {
    const slice = callSlice(hooked, tracks);
    slices.set(hooked.call.seq, slice);
    out.push(slice);
  }
  out.push(...handoffFlows(model, slices));
  out.push(...lifecycleInstants(events, tracks));
  out.push(...outputInstants(events, tracks));
  const bySeq = new Map(events.map((e) => [e.seq, e]));
  for (const finding of model.findings()) {
    const instant = findingInstant(finding, bySeq, tracks);
    if (instant) out.push(instant);
  }
  return JSON.stringify({ traceEvents: out, displayTimeUnit: 'ns' });
}

function micros(timeNs: number): number {
  return timeNs / 1000;
}

/**
 * The track for output no traced process can be named for (the programs share the console: the trace records pid 0).
 * Windows gives no process pid 0 (the System Idle Process), so it cannot clash with a traced one.
 */
const OUTPUT_TRACK_PID = 0;
const OUTPUT_TRACK_NAME = 'program output';

interface Tracks {
  /** Threads of each process, in order of first appearance. */
  threads: Map<number, number[]>;
  /** Output written where no traced process can be named: it goes on the "program output" track. */
  sharedOutput: boolean;
  /** Where a process's calls end when it dies mid-call: its exit, else its last event. */
  endNs: Map<number, number>;
  images: Map<number, string>;
}

function collectTracks(events: readonly TraceEvent[]): Tracks {
  const threads = new Map<number, number[]>();
  const lastNs = new Map<number, number>();
  const exitNs = new Map<number, number>();
  const images = new Map<number, string>();
  const traced = new Set(events.filter((e) => e.kind !== 'output').map((e) => e.pid));
  let sharedOutput = false;
  for (const e of events) {
    if (e.kind === 'output' && !traced.has(e.pid)) {
      sharedOutput = true;
      continue;
    }
    if (!threads.has(e.pid)) threads.set(e.pid, []);
    lastNs.set(e.pid, Math.max(lastNs.get(e.pid) ?? 0, e.timeNs));
    if (e.kind === 'process-start') images.set(e.pid, e.image);
    if (e.kind === 'process-exit') exitNs.set(e.pid, e.timeNs);
    if ('tid' in e) {
      const tids = threads.get(e.pid) as number[];
      if (!tids.includes(e.tid)) tids.push(e.tid);
    }
  }
  const endNs = new Map([...lastNs, ...exitNs]);
  return { threads, sharedOutput, endNs, images };
}

/** The thread process-wide instants go on: the process's first thread (or the pid itself when none was seen). */
function mainThread(tracks: Tracks, pid: number): number {
  return tracks.threads.get(pid)?.[0] ?? pid;
}

function trackMetadata(tracks: Tracks, model: ShareModel): PerfettoEvent[] {
  const meta: PerfettoEvent[] = [];
  let order = 0;
  for (const [pid, tids] of tracks.threads) {
    const image = tracks.images.get(pid);
    const name = processTrackName(model, pid, image);
    meta.push({ name: 'process_name', ph: 'M', pid, tid: mainThread(tracks, pid), args: { name } });
    meta.push({ name: 'process_sort_index', ph: 'M', pid, tid: mainThread(tracks, pid), args: { sort_index: order++ } });
    for (const tid of tids) meta.push({ name: 'thread_name', ph: 'M', pid, tid, args: { name: `thread ${tid}` } });
  }
  if (tracks.sharedOutput) {
    const at = { ph: 'M' as const, pid: OUTPUT_TRACK_PID, tid: OUTPUT_TRACK_PID };
    meta.push({ ...at, name: 'process_name', args: { name: OUTPUT_TRACK_NAME } });
    meta.push({ ...at, name: 'process_sort_index', args: { sort_index: order } });
    meta.push({ ...at, name: 'thread_name', args: { name: 'stdout and stderr of the traced programs (one console)' } });
  }
  return meta;
}

function callSlice({ call, ret }: HookedCall, tracks: Tracks): PerfettoEvent {
  const endNs = ret?.timeNs ?? tracks.endNs.get(call.pid) ?? call.timeNs;
  const args: Record<string, unknown> = { ...call.args, seq: call.seq, call: formatCall(call, ret) };
  if (ret) {
    args.result = ret.result;
    if (ret.error !== undefined) args.error = errorName(ret.error);
    if (ret.out) args.out = ret.out;
  } else {
    args.unfinished = 'the process ended before the call returned';
  }
  return {
    name: call.api,
    cat: call.internal ? 'winsock,internal' : 'winsock',
    ph: 'X',
    pid: call.pid,
    tid: call.tid,
    ts: micros(call.timeNs),
    dur: micros(Math.max(0, endNs - call.timeNs)),
    args,
  };
}

/**
 * A flow per export → import pair of the model's handoffs. The first import of an export binds with flow v2 on the
 * slices; further imports of the same export (a reused WSAPROTOCOL_INFO) use v1 flow events inside the slices.
 */
function handoffFlows(model: ShareModel, slices: Map<number, PerfettoEvent>): PerfettoEvent[] {
  const flows: PerfettoEvent[] = [];
  let nextId = 1;
  for (const handoff of model.handoffs()) {
    const from = slices.get(handoff.exportCall.seq);
    if (!from) continue;
    for (const attempt of handoff.imports) {
      const to = slices.get(attempt.call.seq);
      if (!to) continue;
      const id = nextId++;
      if (from.bind_id === undefined && to.bind_id === undefined) {
        Object.assign(from, { bind_id: id, flow_out: true });
        Object.assign(to, { bind_id: id, flow_in: true });
        continue;
      }
      const common = { name: 'WSAPROTOCOL_INFO', cat: 'handoff', id };
      flows.push({ ...common, ph: 's', pid: from.pid, tid: from.tid, ts: midpoint(from) });
      flows.push({ ...common, ph: 'f', bp: 'e', pid: to.pid, tid: to.tid, ts: midpoint(to) });
    }
  }
  return flows;
}

function midpoint(slice: PerfettoEvent): number {
  return (slice.ts ?? 0) + (slice.dur ?? 0) / 2;
}

function lifecycleInstants(events: readonly TraceEvent[], tracks: Tracks): PerfettoEvent[] {
  const instants: PerfettoEvent[] = [];
  for (const e of events) {
    const at = { ph: 'i' as const, s: 'p' as const, cat: 'process', pid: e.pid, tid: mainThread(tracks, e.pid), ts: micros(e.timeNs) };
    if (e.kind === 'process-start') instants.push({ ...at, name: 'process start', args: { seq: e.seq, image: e.image, commandLine: e.commandLine, parentPid: e.parentPid } });
    if (e.kind === 'process-exit') instants.push({ ...at, name: 'process exit', args: { seq: e.seq, exitCode: e.exitCode } });
  }
  return instants;
}

/**
 * What the programs wrote, an instant per output event named by its first line: on the writing process's track when
 * the trace names it, else on the "program output" track.
 */
function outputInstants(events: readonly TraceEvent[], tracks: Tracks): PerfettoEvent[] {
  return events
    .filter((e): e is OutputEvent => e.kind === 'output')
    .map((e) => {
      const own = tracks.threads.has(e.pid);
      const firstLine = e.text.split(/\r?\n/).find((line) => line.trim() !== '') ?? '';
      return {
        name: truncate(`${e.stream}: ${firstLine.trim()}`, 80),
        cat: 'output',
        ph: 'i',
        s: 't',
        pid: own ? e.pid : OUTPUT_TRACK_PID,
        tid: own ? mainThread(tracks, e.pid) : OUTPUT_TRACK_PID,
        ts: micros(e.timeNs),
        args: { seq: e.seq, stream: e.stream, text: e.text },
      };
    });
}

/** A finding as an instant on the thread of its last event (the process's first thread for a process event). */
function findingInstant(finding: Finding, bySeq: Map<number, TraceEvent>, tracks: Tracks): PerfettoEvent | undefined {
  const lastSeq = finding.events.length > 0 ? finding.events[finding.events.length - 1] : finding.seq;
  const last = bySeq.get(lastSeq) ?? bySeq.get(finding.seq);
  if (!last) return undefined;
  return {
    name: finding.rule,
    cat: `finding,${finding.severity}`,
    ph: 'i',
    s: 't',
    pid: last.pid,
    tid: 'tid' in last ? last.tid : mainThread(tracks, last.pid),
    ts: micros(last.timeNs),
    args: { rule: finding.rule, severity: finding.severity, message: finding.message, events: finding.events },
  };
}
