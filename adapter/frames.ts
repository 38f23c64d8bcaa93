/**
 * The frames of a stop, each with a source the editor can open: the hooked call on top, then the call's recorded
 * stack (module!function+0xoff; a frame with a file and line opens it, mapped like the images), or for a trace
 * without stacks its caller alone. The
 * caller's source is the program's line where its executable and line table are found (as recorded, mapped, or by
 * name); otherwise, and always for the hooked call itself, a read-only document served by reference: the call in
 * context (decoded call and return, this thread's hooked calls around it, its seq). No DAP here: the session translates.
 */

import { baseName, callerLabel, formatCall, formatEntry, threadName } from '../tracer/describe';
import type { ApiCallEvent, ApiReturnEvent, StackFrame } from '../tracer/trace/schema';
import type { TraceRuntime } from './runtime';
import { fileNameOf, type LocalFiles } from './local-files';
import { callerLine } from './symbols';

export interface FrameSource {
  name: string;
  /** A file on this machine. */
  path?: string;
  /** A document served by the `source` request. */
  sourceReference?: number;
}

export interface FrameView {
  name: string;
  source: FrameSource;
  line: number;
  /** The index of the call's event (the scopes' subject). */
  index: number;
}

/** Calls listed before and after the call in its document; events scanned at most to find them. */
const CONTEXT_CALLS = 12;
const SCAN_LIMIT = 50_000;
const DOCUMENT_CACHE = 64;

interface CallDocument {
  name: string;
  text: string;
  /** 1-based lines: the call's own line, and the line naming its caller. */
  callLine: number;
  callerLine: number;
  /** The line of each recorded stack frame. */
  stackLines: number[];
}

interface ContextCall {
  call: ApiCallEvent;
  ret?: ApiReturnEvent;
}

export class CallFrames {
  private readonly documents = new Map<number, CallDocument>();

  constructor(
    private readonly runtime: TraceRuntime,
    private readonly files: LocalFiles,
    /** Tells the user, once per file, where a recorded file was found or that it was not. */
    private readonly say: (line: string) => void,
  ) {}

  /** The call's frames: `callIndex` is the index of its entry event; `ret` its return if the cursor passed it. */
  frames(callIndex: number, call: ApiCallEvent, ret?: ApiReturnEvent): FrameView[] {
    const doc = this.document(callIndex, call);
    const reference = { name: doc.name, sourceReference: referenceOf(call) };
    const top: FrameView = { name: ret ? formatCall(call, ret) : formatEntry(call), source: reference, line: doc.callLine, index: callIndex };
    if (call.stack && call.stack.length > 0) return [top, ...call.stack.map((frame, i) => this.stackFrame(call, frame, i, doc, reference, callIndex))];
    const callerName = callerLabel(call);
    const line = this.programLine(call);
    const caller: FrameView = line
      ? { name: callerName, source: { name: fileNameOf(line.path), path: line.path }, line: line.line, index: callIndex }
      : { name: callerName, source: reference, line: doc.callerLine, index: callIndex };
    return [top, caller];
  }

  /**
   * A recorded stack frame: its source line where the recorded file is on this machine (as recorded, mapped or found
   * by name); for the caller without a recorded line, the program's line from its executable; else its document line.
   */
  private stackFrame(call: ApiCallEvent, frame: StackFrame, position: number, doc: CallDocument, reference: FrameSource, index: number): FrameView {
    const name = stackFrameLabel(frame);
    if (frame.file !== undefined && frame.line !== undefined) {
      const source = this.files.locate(frame.file);
      this.tell(this.files.reportOnce(source, 'source'));
      if (source.local) return { name, source: { name: fileNameOf(source.local), path: source.local }, line: frame.line, index };
    } else if (position === 0) {
      const line = this.programLine(call);
      if (line) return { name, source: { name: fileNameOf(line.path), path: line.path }, line: line.line, index };
    }
    return { name, source: reference, line: doc.stackLines[position] ?? doc.callerLine, index };
  }

  /** The text of a document served by reference, or undefined for a reference this session never gave. */
  content(reference: number): string | undefined {
    const seq = reference - 1;
    const cached = this.documents.get(seq);
    if (cached) return cached.text;
    const index = this.runtime.indexOfSeq(seq);
    const e = index >= 0 ? this.runtime.event(index) : undefined;
    if (e?.kind !== 'api' || e.phase !== 'call' || e.seq !== seq) return undefined;
    return this.document(index, e).text;
  }

  /** The program's source line of the call, with the file on this machine; undefined when either cannot be had. */
  private programLine(call: ApiCallEvent): { path: string; line: number } | undefined {
    return this.lookUpProgramLine(call, true).found;
  }

  /**
   * The program's source line of the call with the file on this machine, or why there is none (the call document
   * says so). Only the program's own image: the trace names other modules without their paths. `report`: tell the
   * user where the files were found (a frame's lookup does; the document's only words it).
   */
  private lookUpProgramLine(call: ApiCallEvent, report = false): { found?: { path: string; line: number }; note: string } {
    const image = this.runtime.model.process(call.pid)?.image;
    if (!image) return { note: `the process's image is not in the recording` };
    if (baseName(image).toLowerCase() !== call.caller.module.toLowerCase()) return { note: `${call.caller.module} is not the program's image (${baseName(image)}): no source line` };
    const executable = this.files.locate(image);
    if (report) this.tell(this.files.reportOnce(executable, 'executable'));
    if (!executable.local) return { note: `${baseName(image)} is not on this machine (recorded at ${image}): no source line` };
    const line = callerLine(executable.local, call.caller.offset);
    if (!line) return { note: `${executable.local} has no line for this address (built without -g, or another build)` };
    const source = this.files.locate(line.file);
    if (report) this.tell(this.files.reportOnce(source, 'source'));
    if (!source.local) return { note: `source: ${line.file}:${line.line}, not on this machine` };
    return { found: { path: source.local, line: line.line }, note: `source: ${source.local}:${line.line}` };
  }

  private tell(line: string | undefined): void {
    if (line) this.say(line);
  }

  private document(callIndex: number, call: ApiCallEvent): CallDocument {
    const cached = this.documents.get(call.seq);
    if (cached) return cached;
    const doc = this.render(callIndex, call);
    if (this.documents.size >= DOCUMENT_CACHE) this.documents.delete(this.documents.keys().next().value as number);
    this.documents.set(call.seq, doc);
    return doc;
  }

  private render(callIndex: number, call: ApiCallEvent): CallDocument {
    const model = this.runtime.model;
    const calls = this.threadCalls(callIndex, call);
    const self = calls.find((c) => c.call.seq === call.seq);
    const lines = [
      `${formatCall(call, self?.ret)}`,
      `  called from ${callerLabel(call)} · event #${call.seq} · ${threadName(model, call.pid, call.tid)}`,
      `  ${this.lookUpProgramLine(call).note}`,
      '',
    ];
    const stackLines: number[] = [];
    if (call.stack && call.stack.length > 0) {
      lines.push('Stack, as recorded (the caller first):');
      call.stack.forEach((frame, i) => {
        lines.push(`  ${String(i).padStart(2)}  ${stackFrameLabel(frame)}${frame.file !== undefined ? `  ${frame.file}:${frame.line}` : ''}`);
        stackLines.push(lines.length);
      });
      lines.push('');
    }
    lines.push(
      `Hooked calls of thread ${call.tid} around it (→ marks this one):`,
    );
    let callLine = 0;
    const width = String(calls[calls.length - 1]?.call.seq ?? call.seq).length;
    for (const c of calls) {
      const mark = c.call.seq === call.seq ? '→' : ' ';
      lines.push(`${mark} #${String(c.call.seq).padEnd(width)}  ${formatCall(c.call, c.ret)}`);
      if (c.call.seq === call.seq) callLine = lines.length;
    }
    return { name: `#${call.seq} ${call.api} · pid ${call.pid} tid ${call.tid}`, text: lines.join('\n') + '\n', callLine, callerLine: 2, stackLines };
  }

  /** This thread's hooked calls (not Winsock's own) around the call, each with its return where the recording has it. */
  private threadCalls(callIndex: number, call: ApiCallEvent): ContextCall[] {
    const runtime = this.runtime;
    const threads = runtime.threads;
    // The thread index says which events are this thread's without parsing the others.
    const ofThread = (i: number): boolean => !threads || (threads.tidOf(i) === call.tid && threads.pidOf(i) === call.pid);
    const isThreadCall = (i: number): ApiCallEvent | undefined => {
      if (!ofThread(i)) return undefined;
      const e = runtime.event(i);
      return e?.kind === 'api' && e.phase === 'call' && e.tid === call.tid && e.pid === call.pid && !e.internal ? e : undefined;
    };
    const before: ApiCallEvent[] = [];
    for (let i = callIndex - 1, scanned = 0; i >= 0 && before.length < CONTEXT_CALLS && scanned < SCAN_LIMIT; i--, scanned++) {
      const c = isThreadCall(i);
      if (c) before.unshift(c);
    }
    const listed: ContextCall[] = [...before, call].map((c) => ({ call: c }));
    const pending = new Map(listed.map((c) => [c.call.seq, c]));
    const start = before.length > 0 ? runtime.indexOfSeq(before[0].seq) : callIndex;
    let after = 0;
    for (let i = start + 1, scanned = 0; i < runtime.length && scanned < SCAN_LIMIT; i++, scanned++) {
      if (!ofThread(i)) continue;
      const e = runtime.event(i);
      if (e?.kind !== 'api' || e.tid !== call.tid || e.pid !== call.pid) continue;
      if (e.phase === 'return') {
        const owner = pending.get(e.callSeq);
        if (owner) {
          owner.ret = e;
          pending.delete(e.callSeq);
        }
      } else if (i > callIndex && !e.internal && after < CONTEXT_CALLS) {
        const entry = { call: e };
        listed.push(entry);
        pending.set(e.seq, entry);
        after++;
      }
      if (after >= CONTEXT_CALLS && pending.size === 0) break;
    }
    return listed;
  }
}

/** "event-select-cancel.exe!target+0xc9", or "ntdll.dll+0x5dca8" where nothing named the function. */
export function stackFrameLabel(frame: StackFrame): string {
  if (frame.function === undefined) return `${frame.module}+0x${frame.offset.toString(16)}`;
  return `${frame.module}!${frame.function}+0x${(frame.functionOffset ?? 0).toString(16)}`;
}

/** A call's document reference: its seq + 1 (references are positive), the same for the call at every stop. */
function referenceOf(call: ApiCallEvent): number {
  return call.seq + 1;
}
