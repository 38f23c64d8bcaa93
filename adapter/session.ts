/**
 * The DAP session: translates between the Debug Adapter Protocol and the trace runtime. No Winsock meaning here:
 * the runtime moves the cursor, the model answers, the presenter shapes the answers into variables.
 */

import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { CapabilitiesEvent, ExitedEvent, Handles, InitializedEvent, LoggingDebugSession, OutputEvent, Scope, Source, StackFrame, StoppedEvent, TerminatedEvent, Thread } from '@vscode/debugadapter';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { checkProgram } from '../tracer/capture/preflight';
import type { CaptureEnd } from '../tracer/capture/live';
import { RULES } from '../tracer/model';
import type { ApiCallEvent, ApiReturnEvent } from '../tracer/trace/schema';
import { callConditionScope, compileExpression } from './condition';
import { CUSTOM_REQUESTS, type CustomRequestArguments } from './custom-requests';
import { SessionError, errorText } from './errors';
import { callScope, currentSocketId, descriptorsScope, findingsScope, handoffsScope, socketScope, threadName } from './presenter';
import type { VarNode } from './var-node';
import { type RuntimeStop, TraceRuntime } from './runtime';
import { type EventSource, LiveSource, RecordingSource } from './source';
import { type AttachArguments, attachSource } from './attach';
import { checkRuntimeKind, type LiveArguments, liveRecording, liveRuntime } from './live-arguments';
import { CallFrames } from './frames';
import { LocalFiles } from './local-files';
import { sessionEndReport } from './session-end';

export interface LaunchArguments extends DebugProtocol.LaunchRequestArguments, LiveArguments {
  /** Live: the program to start under the tracer (a Windows .exe). */
  program?: string;
  args?: string[];
  cwd?: string;
  env?: Record<string, string>;
  /** Live: a second program to start as the target, for pairs the source does not start itself. */
  target?: string;
  targetArgs?: string[];
  stopOnEntry?: boolean;
  /** Hooked APIs to stop at (as function breakpoints would). */
  stopOn?: string[];
  /** Replay: the recording to open. Live: where to save the recording. */
  trace?: string;
  /** Replay: start with the cursor on the event with this seq. */
  startAt?: number;
  /** Recorded path prefix → local folder, for recordings made elsewhere (as cppdbg's sourceFileMap). */
  sourceFileMap?: Record<string, string>;
  /** Folders searched by file name for recorded images and sources (default: the trace's folder). */
  searchPaths?: string[];
}

/** Frames: the index of the call event whose scopes they show. */
interface FrameInfo {
  index: number;
}

export class SockshareSession extends LoggingDebugSession {
  private runtime?: TraceRuntime;
  private callFrames?: CallFrames;
  private readonly variables = new Handles<() => VarNode[]>();
  private readonly frames = new Map<number, FrameInfo>();
  private nextFrame = 1;
  private configured!: Promise<void>;
  private configurationDone!: () => void;

  constructor() {
    super();
    this.setDebuggerLinesStartAt1(true);
    this.setDebuggerColumnsStartAt1(true);
    this.configured = new Promise((resolve) => (this.configurationDone = resolve));
  }

  protected override initializeRequest(response: DebugProtocol.InitializeResponse): void {
    response.body = {
      supportsConfigurationDoneRequest: true,
      supportsFunctionBreakpoints: true,
      supportsConditionalBreakpoints: true,
      supportsHitConditionalBreakpoints: true,
      supportsLogPoints: true,
      supportsStepBack: true,
      supportsEvaluateForHovers: true,
      supportsExceptionInfoRequest: true,
      supportsTerminateRequest: true,
      supportTerminateDebuggee: true,
      // Error rules tied to particular calls are on by default, like uncaught exceptions; those any call can raise
      // ('*') would hold every live call's return, so they wait to be asked for.
      exceptionBreakpointFilters: RULES.map((r) => ({ filter: r.id, label: r.title, description: r.rule, default: r.severity === 'error' && !r.triggers.includes('*') })),
    };
    this.sendResponse(response);
    this.sendEvent(new InitializedEvent());
  }

  protected override configurationDoneRequest(response: DebugProtocol.ConfigurationDoneResponse): void {
    this.configurationDone();
    this.sendResponse(response);
  }

  protected override launchRequest(response: DebugProtocol.LaunchResponse, launchArgs: LaunchArguments | undefined): Promise<void> {
    // A request without arguments (DAP clients may leave out an empty object) is a launch with nothing in it.
    const args = launchArgs ?? {};
    return this.begin(response, args, async () => this.createSource(args));
  }

  /** Running programs are traced from now on; a disconnect lets them go on (unless terminateDebuggee). */
  protected override attachRequest(response: DebugProtocol.AttachResponse, attachArgs: AttachArguments | undefined): Promise<void> {
    this.attached = true;
    const args = attachArgs ?? {};
    return this.begin(response, args, () => attachSource(args));
  }

  private attached = false;

  private async begin(response: DebugProtocol.Response, args: LaunchArguments, createSource: () => Promise<EventSource>): Promise<void> {
    let source: EventSource;
    try {
      source = await createSource();
    } catch (error) {
      return this.sendErrorResponse(response, { id: SessionError.LaunchRefused, format: errorText(error), showUser: true });
    }
    // Breakpoints and filters the client set before the launch wait in the placeholder runtime: keep them.
    const runtime = new TraceRuntime(source, this.runtime?.breakpoints);
    this.runtime = runtime;
    runtime.on('stopped', (stop: RuntimeStop) => this.onStopped(stop));
    runtime.on('output', (text: string, category: string) => this.sendEvent(new OutputEvent(text, category === 'console' ? 'console' : category)));
    this.callFrames = new CallFrames(runtime, new LocalFiles({ sourceFileMap: args.sourceFileMap, searchPaths: args.searchPaths }, source.live ? undefined : source.traceFile), (line) =>
      this.sendEvent(new OutputEvent(`sockshare: ${line}\n`, 'console')),
    );
    runtime.on('end', (end?: CaptureEnd) => {
      if (end?.error) this.sendEvent(new OutputEvent(`sockshare: ${end.error}\n`, 'stderr'));
      if (source.live) this.sendEvent(new OutputEvent(sessionEndReport(source.traceFile, runtime.model), 'console'));
      // An agent that died (a signal, a crash, a lost connection) never reads as a clean exit.
      const failed = end?.agentFailure !== undefined;
      this.sendEvent(new ExitedEvent(failed ? end?.agentExitCode || 1 : (end?.agentExitCode ?? 0)));
      this.sendEvent(new TerminatedEvent());
    });
    source.on('warning', (text: string) => this.sendEvent(new OutputEvent(`sockshare: ${text}\n`, 'stderr')));
    if (args.stopOn?.length) runtime.breakpoints.setLaunchStops(args.stopOn);
    await this.configured;
    try {
      await runtime.start(args.stopOnEntry ?? false, source.live ? undefined : args.startAt);
    } catch (error) {
      return this.sendErrorResponse(response, { id: SessionError.StartFailed, format: errorText(error), showUser: true });
    }
    if (source.live) this.sendEvent(new CapabilitiesEvent({ supportsStepBack: false }));
    this.sendResponse(response);
  }

  private createSource(args: LaunchArguments): EventSource {
    if (!args.program && !args.trace) throw new Error('launch: give "program" (trace a program live) or "trace" (replay a recording)');
    if (!args.program) {
      const trace = resolve(args.trace as string);
      if (!existsSync(trace)) throw new Error(`launch: the recording "${trace}" does not exist`);
      return new RecordingSource(trace);
    }
    checkRuntimeKind('launch', args);
    const programs = [args.program, ...(args.target ? [args.target] : [])].map((p) => resolve(args.cwd ?? '.', p));
    for (const p of programs) if (!existsSync(p)) throw new Error(`launch: "program" ${p} does not exist`);
    // Not a Windows x64 program (a Linux one, a directory, a 32-bit PE): refused here, before any agent starts.
    for (const p of programs) checkProgram(p);
    const runtime = liveRuntime('launch', args);
    return new LiveSource({
      runtime,
      launches: [
        { program: programs[0], args: args.args ?? [], cwd: args.cwd, env: args.env },
        ...(args.target ? [{ program: programs[1], args: args.targetArgs ?? [], cwd: args.cwd, env: args.env }] : []),
      ],
      ...liveRecording('launch', args),
      stopOnEntry: args.stopOnEntry,
    });
  }

  private onStopped(stop: RuntimeStop): void {
    this.variables.reset();
    this.frames.clear();
    const event: DebugProtocol.StoppedEvent = new StoppedEvent(stop.reason, stop.tid);
    event.body.description = stop.description;
    if (stop.text) event.body.text = stop.text;
    event.body.allThreadsStopped = true;
    if (stop.breakpointIds) event.body.hitBreakpointIds = stop.breakpointIds;
    this.sendEvent(event);
  }

  protected override setFunctionBreakPointsRequest(response: DebugProtocol.SetFunctionBreakpointsResponse, args: DebugProtocol.SetFunctionBreakpointsArguments): void {
    const runtime = this.requireRuntime();
    const set = runtime.breakpoints.setFunctionBreakpoints(args.breakpoints);
    runtime.applyLiveStops();
    response.body = { breakpoints: set.map((b) => ({ id: b.id, verified: b.verified, message: b.message })) };
    this.sendResponse(response);
  }

  protected override setExceptionBreakPointsRequest(response: DebugProtocol.SetExceptionBreakpointsResponse, args: DebugProtocol.SetExceptionBreakpointsArguments): void {
    const runtime = this.requireRuntime();
    runtime.breakpoints.setFilters([...args.filters, ...(args.filterOptions ?? []).map((o) => o.filterId)]);
    runtime.applyLiveStops();
    this.sendResponse(response);
  }

  protected override setBreakPointsRequest(response: DebugProtocol.SetBreakpointsResponse, args: DebugProtocol.SetBreakpointsArguments): void {
    response.body = { breakpoints: (args.breakpoints ?? []).map(() => ({ verified: false, message: 'sockshare stops at Winsock calls: use a function breakpoint on an API name (e.g. WSADuplicateSocketW)' })) };
    this.sendResponse(response);
  }

  /** The runtime exists once launch began; before that, breakpoints wait in a fresh one. */
  private requireRuntime(): TraceRuntime {
    if (!this.runtime) this.runtime = new TraceRuntime(new RecordingSource(''));
    return this.runtime;
  }

  protected override threadsRequest(response: DebugProtocol.ThreadsResponse): void {
    const runtime = this.runtime;
    const threads: Thread[] = [];
    if (runtime?.stop || runtime?.live) {
      const model = runtime.model;
      for (const p of model.running()) for (const tid of p.threads) threads.push(new Thread(tid, threadName(model, p.pid, tid)));
      const stopTid = runtime.stop?.tid;
      if (stopTid && !threads.some((t) => t.id === stopTid)) threads.push(new Thread(stopTid, `thread ${stopTid}`));
    }
    response.body = { threads };
    this.sendResponse(response);
  }

  /** The thread's current hooked event: the event at the cursor, or its latest one before. */
  private threadEventIndex(tid: number): number | undefined {
    const runtime = this.runtime;
    if (!runtime?.threads || runtime.cursor < 0) return undefined;
    return runtime.threads.findHooked(runtime.cursor, 'backward', tid, 100_000);
  }

  /** The call and, if it returned by the cursor, its return. */
  private callAt(index: number): { call: ApiCallEvent; ret?: ApiReturnEvent } | undefined {
    const runtime = this.runtime;
    const e = runtime?.event(index);
    if (!runtime || e?.kind !== 'api') return undefined;
    if (e.phase === 'return') {
      const call = runtime.callOf(e);
      return call ? { call, ret: e } : undefined;
    }
    return { call: e };
  }

  protected override stackTraceRequest(response: DebugProtocol.StackTraceResponse, args: DebugProtocol.StackTraceArguments): void {
    const index = this.threadEventIndex(args.threadId);
    const frames: StackFrame[] = [];
    const at = index === undefined ? undefined : this.callAt(index);
    const runtime = this.runtime;
    if (index !== undefined && at && runtime && this.callFrames) {
      const callIndex = at.call === runtime.event(index) ? index : runtime.indexOfSeq(at.call.seq);
      for (const view of this.callFrames.frames(callIndex, at.call, at.ret)) {
        const id = this.nextFrame++;
        this.frames.set(id, { index });
        const source = view.source.path ? new Source(view.source.name, view.source.path) : new Source(view.source.name, undefined, view.source.sourceReference, 'sockshare', 'sockshare-call');
        frames.push(new StackFrame(id, view.name, source, view.line, 1));
      }
    }
    response.body = { stackFrames: frames, totalFrames: frames.length };
    this.sendResponse(response);
  }

  /** The call-in-context documents of frames with no file on this machine. */
  protected override sourceRequest(response: DebugProtocol.SourceResponse, args: DebugProtocol.SourceArguments): void {
    const reference = args.source?.sourceReference ?? args.sourceReference;
    const content = reference ? this.callFrames?.content(reference) : undefined;
    if (content === undefined) return this.sendErrorResponse(response, { id: SessionError.UnknownSource, format: `no document with reference ${reference} in this session`, showUser: false });
    response.body = { content, mimeType: 'text/plain' };
    this.sendResponse(response);
  }

  protected override scopesRequest(response: DebugProtocol.ScopesResponse, args: DebugProtocol.ScopesArguments): void {
    const frame = this.frames.get(args.frameId);
    const runtime = this.runtime;
    const at = frame && this.callAt(frame.index);
    if (!runtime || !at) {
      response.body = { scopes: [] };
      return this.sendResponse(response);
    }
    const model = runtime.model;
    const socketId = currentSocketId(model, at.call, at.ret);
    const scope = (name: string, nodes: () => VarNode[], expensive = false) => new Scope(name, this.variables.create(nodes), expensive);
    response.body = {
      scopes: [
        scope('Call', () => callScope(at.call, at.ret)),
        scope('Descriptors', () => descriptorsScope(model, at.call.pid)),
        scope('Socket', () => (socketId ? socketScope(model, socketId) : [{ name: 'socket', value: 'none: this call names no socket' }])),
        scope('Handoffs', () => handoffsScope(model)),
        scope('Findings', () => findingsScope(model)),
      ],
    };
    this.sendResponse(response);
  }

  protected override variablesRequest(response: DebugProtocol.VariablesResponse, args: DebugProtocol.VariablesArguments): void {
    const nodes = pages(this.variables.get(args.variablesReference)?.() ?? []);
    response.body = {
      variables: nodes.map((n) => ({ name: n.name, value: n.value, type: n.type, variablesReference: n.children ? this.variables.create(n.children) : 0 })),
    };
    this.sendResponse(response);
  }

  protected override evaluateRequest(response: DebugProtocol.EvaluateResponse, args: DebugProtocol.EvaluateArguments): void {
    const frame = args.frameId === undefined ? undefined : this.frames.get(args.frameId);
    const at = frame ? this.callAt(frame.index) : this.runtime?.stop ? this.callAt(this.runtime.stop.index) : undefined;
    try {
      if (!at) throw new Error('no current call to evaluate in');
      const value = compileExpression(args.expression)(callConditionScope(at.call, at.ret));
      response.body = { result: typeof value === 'object' && value !== null ? JSON.stringify(value) : String(value), variablesReference: 0 };
      this.sendResponse(response);
    } catch (error) {
      this.sendErrorResponse(response, { id: SessionError.EvaluateFailed, format: errorText(error), showUser: false });
    }
  }

  protected override exceptionInfoRequest(response: DebugProtocol.ExceptionInfoResponse): void {
    const [finding] = this.runtime?.stop?.findings ?? [];
    response.body = finding
      ? { exceptionId: finding.rule, description: finding.message, breakMode: 'always', details: { message: finding.message, typeName: `${finding.severity} ${finding.rule}`, stackTrace: `events ${finding.events.join(', ')}` } }
      : { exceptionId: 'none', breakMode: 'never' };
    this.sendResponse(response);
  }

  private move(response: DebugProtocol.Response, action: (runtime: TraceRuntime) => Promise<void>): void {
    const runtime = this.runtime;
    if (!runtime) return this.sendErrorResponse(response, { id: SessionError.NoSession, format: 'no session' });
    this.sendResponse(response);
    action(runtime).catch((error) => this.sendEvent(new OutputEvent(`sockshare: ${errorText(error)}\n`, 'stderr')));
  }

  protected override continueRequest(response: DebugProtocol.ContinueResponse): void {
    response.body = { allThreadsContinued: true };
    this.move(response, (r) => r.continue());
  }

  protected override nextRequest(response: DebugProtocol.NextResponse, args: DebugProtocol.NextArguments): void {
    this.move(response, (r) => r.step(args.threadId));
  }

  protected override stepInRequest(response: DebugProtocol.StepInResponse): void {
    this.move(response, (r) => r.step());
  }

  protected override stepOutRequest(response: DebugProtocol.StepOutResponse, args: DebugProtocol.StepOutArguments): void {
    this.move(response, (r) => r.step(args.threadId));
  }

  protected override stepBackRequest(response: DebugProtocol.StepBackResponse, args: DebugProtocol.StepBackArguments): void {
    this.move(response, (r) => r.stepBack(args.threadId));
  }

  protected override reverseContinueRequest(response: DebugProtocol.ReverseContinueResponse): void {
    this.move(response, (r) => r.reverseContinue());
  }

  protected override pauseRequest(response: DebugProtocol.PauseResponse): void {
    this.runtime?.pause();
    this.sendResponse(response);
  }

  protected override terminateRequest(response: DebugProtocol.TerminateResponse): void {
    this.runtime?.source.terminate();
    this.sendResponse(response);
    if (!this.runtime?.live) this.sendEvent(new TerminatedEvent());
  }

  /** Answered once the capture has ended: a client that stops the adapter then cannot cut a detach short. */
  protected override async disconnectRequest(response: DebugProtocol.DisconnectResponse, args: DebugProtocol.DisconnectArguments | undefined): Promise<void> {
    const source = this.runtime?.source;
    // The arguments are optional in DAP.
    const detach = this.attached ? args?.terminateDebuggee !== true : args?.terminateDebuggee === false;
    await (source?.live && detach ? source.detach() : source?.close());
    this.sendResponse(response);
  }

  /** The custom requests (custom-requests.ts): exportTrace, gotoEvent, sharedSockets, traceInfo. */
  protected override async customRequest(command: string, response: DebugProtocol.Response, args: CustomRequestArguments | undefined): Promise<void> {
    try {
      const handler = Object.hasOwn(CUSTOM_REQUESTS, command) ? CUSTOM_REQUESTS[command] : undefined;
      if (!handler) throw new Error(`unknown request ${command}`);
      const body = await handler(this.runtime, args ?? {});
      if (body !== undefined) response.body = body;
      this.sendResponse(response);
    } catch (error) {
      this.sendErrorResponse(response, { id: SessionError.CustomRequestFailed, format: errorText(error), showUser: true });
    }
  }
}

/** Long lists (a large trace's findings, handoffs) come in pages of 100, like the editor shows long arrays. */
const PAGE = 100;
function pages(nodes: VarNode[]): VarNode[] {
  if (nodes.length <= PAGE * 2) return nodes;
  const groups: VarNode[] = [];
  for (let start = 0; start < nodes.length; start += PAGE) {
    const slice = nodes.slice(start, start + PAGE);
    groups.push({ name: `[${start}..${start + slice.length - 1}]`, value: `${slice.length} of ${nodes.length}`, children: () => pages(slice) });
  }
  return groups;
}
