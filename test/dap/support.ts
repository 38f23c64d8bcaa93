/** Driving the real debug adapter (dist/adapter.js over stdio) with the DAP test client. */

import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { DebugClient } from '@vscode/debugadapter-testsupport';
import type { DebugProtocol } from '@vscode/debugprotocol';
import type { TraceBuilder } from '../../tracer/trace/builder';

export const ROOT = resolve(__dirname, '..', '..');
export const ADAPTER = join(ROOT, 'dist', 'adapter.js');
export const RECORDINGS = join(ROOT, 'samples', 'traces');
export const SAMPLES = join(ROOT, 'samples');

export async function startClient(env: NodeJS.ProcessEnv = process.env): Promise<DebugClient> {
  if (!existsSync(ADAPTER)) throw new Error(`${ADAPTER} is not built: run npm run build`);
  const client = new DebugClient('node', ADAPTER, 'sockshare', { env, stdio: 'pipe' });
  await client.start();
  return client;
}

/** Rejects when `promise` has not settled after `ms` (DebugClient requests have no timeout of their own). */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: no answer after ${ms} ms`)), ms)));
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export interface SessionSetup {
  functionBreakpoints?: DebugProtocol.FunctionBreakpoint[];
  filters?: string[];
  /** Called with the setFunctionBreakpoints response (to learn the breakpoints' ids). */
  onBreakpoints?: (breakpoints: DebugProtocol.Breakpoint[]) => void;
}

/** A 'stopped' event to come; a rejection nobody awaits (the launch failed first) is not an unhandled one. */
function stoppedEvent(client: DebugClient, timeout: number): Promise<DebugProtocol.StoppedEvent> {
  const stopped = client.waitForEvent('stopped', timeout) as Promise<DebugProtocol.StoppedEvent>;
  stopped.catch(() => undefined);
  return stopped;
}

/** Launches and waits for the first stop, with breakpoints set between `initialized` and `configurationDone`. */
export async function launchAndStop(client: DebugClient, args: Record<string, unknown>, setup: SessionSetup = {}, timeout = 20_000): Promise<DebugProtocol.StoppedEvent> {
  const initialized = client.waitForEvent('initialized');
  const stopped = stoppedEvent(client, timeout);
  const launched = client.launch(args);
  launched.catch(() => undefined);
  await initialized;
  if (setup.functionBreakpoints) {
    const set = await client.setFunctionBreakpointsRequest({ breakpoints: setup.functionBreakpoints });
    setup.onBreakpoints?.(set.body.breakpoints);
  }
  if (setup.filters) await client.setExceptionBreakpointsRequest({ filters: setup.filters });
  await client.configurationDoneRequest();
  await within(launched, timeout, 'launch');
  return stopped;
}

/** Launches a configuration that must fail: resolves with the error response's message (never waits forever). */
export async function launchError(client: DebugClient, args: Record<string, unknown>, timeout = 15_000): Promise<string> {
  const initialized = client.waitForEvent('initialized');
  const launched = client.launch(args);
  launched.catch(() => undefined);
  await initialized;
  await client.configurationDoneRequest();
  try {
    await within(launched, timeout, 'launch');
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    if (/no answer after/.test(message)) throw error;
    return message;
  }
  throw new Error(`launch ${JSON.stringify(args)} succeeded; expected an error response`);
}

export async function nextStop(client: DebugClient, action: () => Promise<unknown>, timeout = 20_000): Promise<DebugProtocol.StoppedEvent> {
  const stopped = stoppedEvent(client, timeout);
  await action();
  return stopped;
}

/** Moves a replay to the event with this seq (the gotoEvent custom request) and returns the stop. */
export function gotoEvent(client: DebugClient, seq: number): Promise<DebugProtocol.StoppedEvent> {
  return nextStop(client, () => client.customRequest('gotoEvent', { seq }));
}

/** Continues until the replay's end ('End of the recording'), returning every stop on the way. */
export async function continueToEnd(client: DebugClient, threadId: number, limit = 50): Promise<DebugProtocol.StoppedEvent[]> {
  const stops: DebugProtocol.StoppedEvent[] = [];
  for (let i = 0; i < limit; i++) {
    const stop = await nextStop(client, () => client.continueRequest({ threadId }));
    stops.push(stop);
    if (stop.body.description === 'End of the recording') return stops;
  }
  throw new Error(`no end of the recording after ${limit} stops`);
}

/** Every output event from now on (the array grows as they arrive). */
export function collectOutput(client: DebugClient): DebugProtocol.OutputEvent['body'][] {
  const outputs: DebugProtocol.OutputEvent['body'][] = [];
  client.on('output', (event: DebugProtocol.OutputEvent) => outputs.push(event.body));
  return outputs;
}

/** The text of the collected output events of one category. */
export function outputText(outputs: DebugProtocol.OutputEvent['body'][], category: string): string {
  return outputs.filter((o) => (o.category ?? 'console') === category).map((o) => o.output).join('');
}

/** Waits until the collected output of a category matches `pattern` (output events may follow the stop they explain). */
export async function waitForOutput(outputs: DebugProtocol.OutputEvent['body'][], category: string, pattern: RegExp, timeout = 10_000): Promise<string> {
  const deadline = Date.now() + timeout;
  for (;;) {
    const text = outputText(outputs, category);
    if (pattern.test(text)) return text;
    if (Date.now() > deadline) throw new Error(`no ${category} output matching ${pattern} after ${timeout} ms; got ${JSON.stringify(text.slice(-2000))}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export interface Scopes {
  frame: DebugProtocol.StackFrame;
  frames: DebugProtocol.StackFrame[];
  scopes: Record<string, DebugProtocol.Variable[]>;
}

/** The stopped thread's frames and every scope's top-level variables. */
export async function scopesAt(client: DebugClient, threadId: number): Promise<Scopes> {
  const trace = await client.stackTraceRequest({ threadId });
  const frames = trace.body.stackFrames;
  if (frames.length === 0) throw new Error(`thread ${threadId} has no frames`);
  const scopes = await client.scopesRequest({ frameId: frames[0].id });
  const result: Record<string, DebugProtocol.Variable[]> = {};
  for (const scope of scopes.body.scopes) result[scope.name] = (await client.variablesRequest({ variablesReference: scope.variablesReference })).body.variables;
  return { frame: frames[0], frames, scopes: result };
}

export async function children(client: DebugClient, variable: DebugProtocol.Variable | undefined): Promise<DebugProtocol.Variable[]> {
  if (!variable || !variable.variablesReference) return [];
  return (await client.variablesRequest({ variablesReference: variable.variablesReference })).body.variables;
}

export function named(variables: DebugProtocol.Variable[], name: string): DebugProtocol.Variable | undefined {
  return variables.find((v) => v.name === name);
}

/** The variable at a path of names below `variables` (expanding on the way), or undefined. */
export async function at(client: DebugClient, variables: DebugProtocol.Variable[], ...path: string[]): Promise<DebugProtocol.Variable | undefined> {
  let level = variables;
  let found: DebugProtocol.Variable | undefined;
  for (const [i, name] of path.entries()) {
    found = named(level, name);
    if (!found) return undefined;
    if (i < path.length - 1) level = await children(client, found);
  }
  return found;
}

/** name → value of a list of variables, for deepEqual / includes. */
export function valuesOf(variables: DebugProtocol.Variable[]): Record<string, string> {
  return Object.fromEntries(variables.map((v) => [v.name, v.value]));
}

/** A fresh directory for hand-made traces and exports. */
export function tempDir(prefix = 'sockshare-dap-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Writes a TraceBuilder's trace as a .sockshare.jsonl file in `dir`; returns its path. */
export function writeTrace(dir: string, name: string, trace: TraceBuilder): string {
  const file = join(dir, `${name}.sockshare.jsonl`);
  writeFileSync(file, trace.toJsonl());
  return file;
}

/** Starts a client, runs `body`, and always shuts the adapter down. */
export async function withClient<T>(body: (client: DebugClient) => Promise<T>, env?: NodeJS.ProcessEnv): Promise<T> {
  const client = await startClient(env);
  try {
    return await body(client);
  } finally {
    await shutdown(client);
  }
}

/** Disconnects and ends the adapter process; kills it if the disconnect gets no answer. */
export async function shutdown(client: DebugClient, timeout = 10_000): Promise<void> {
  try {
    await within(client.stop(), timeout, 'disconnect');
  } catch {
    (client as unknown as { stopAdapter(): void }).stopAdapter();
  }
}
