/**
 * What a live launch and an attach share: the runtime the tracer agent runs on, where the recording goes, and how
 * calls are recorded; both requests' arguments are checked and resolved here, with the request named in each error.
 */

import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import type { LiveOptions } from '../tracer/capture/live';
import { checkTraceOutput } from '../tracer/capture/preflight';
import { type AgentRuntime, type RuntimeKind, RuntimeError, resolveRuntime, type WineSettings } from '../tracer/capture/runtime';
import { version } from '../package.json';

export interface LiveArguments {
  /** Where to save the recording (default: a temp file). */
  trace?: string;
  runtime?: RuntimeKind;
  wine?: WineSettings;
  /** Hook only these APIs. */
  apis?: string[];
  /** breakpoints (a debug event per call) or inprocess (stubs record every hooked call in the process). */
  capture?: 'breakpoints' | 'inprocess';
  /** inprocess: a full ring makes the program wait for the tracer (default) or drops the oldest records. */
  overflow?: 'wait' | 'drop';
  /** inprocess: records per process ring (a power of two). */
  ringSize?: number;
  /** inprocess: each call's stack too (the breakpoint path always records them). */
  stacks?: boolean;
}

/** The `runtime` argument is one of the kinds (checked before anything else a request does). */
export function checkRuntimeKind(request: 'launch' | 'attach', args: LiveArguments): void {
  if (args.runtime && !['auto', 'windows', 'wine'].includes(args.runtime)) throw new Error(`${request}: "runtime" must be auto, windows or wine, not "${args.runtime}"`);
}

/** The runtime the agent of a live `request` runs on. */
export function liveRuntime(request: 'launch' | 'attach', args: LiveArguments): AgentRuntime {
  checkRuntimeKind(request, args);
  try {
    return resolveRuntime(args.runtime ?? 'auto', args.wine);
  } catch (error) {
    if (error instanceof RuntimeError) throw new Error(`${request}: ${error.message}`);
    throw error;
  }
}

/** The trace file (its folder made, checked writable) and how calls are recorded, for a live `request`. */
export function liveRecording(request: 'launch' | 'attach', args: LiveArguments): Omit<LiveOptions, 'runtime' | 'launches'> {
  const traceFile = resolve(args.trace ?? join(tmpdir(), `sockshare-${Date.now()}.sockshare.jsonl`));
  // A recordings folder named in the configuration (e.g. the workspace's .sockshare/) is made on first use.
  mkdirSync(dirname(traceFile), { recursive: true });
  checkTraceOutput(traceFile, `${request}: "trace"`);
  return { traceFile, apis: args.apis, capture: args.capture, overflow: args.overflow, ringSlots: args.ringSize, stacks: args.stacks, tracerVersion: version };
}
