/** Driving the real debug adapter (dist/adapter.js over stdio) with the DAP test client. */

import { join, resolve } from 'node:path';
import { DebugClient } from '@vscode/debugadapter-testsupport';
import type { DebugProtocol } from '@vscode/debugprotocol';

export const ROOT = resolve(__dirname, '..', '..');
export const ADAPTER = join(ROOT, 'dist', 'adapter.js');
export const RECORDINGS = join(ROOT, 'samples', 'traces');

export async function startClient(): Promise<DebugClient> {
  const client = new DebugClient('node', ADAPTER, 'sockshare');
  await client.start();
  return client;
}

export interface SessionSetup {
  functionBreakpoints?: DebugProtocol.FunctionBreakpoint[];
  filters?: string[];
}

/** Launches and waits for the first stop, with breakpoints set between `initialized` and `configurationDone`. */
export async function launchAndStop(client: DebugClient, args: Record<string, unknown>, setup: SessionSetup = {}): Promise<DebugProtocol.StoppedEvent> {
  const initialized = client.waitForEvent('initialized');
  const stopped = client.waitForEvent('stopped', 20_000) as Promise<DebugProtocol.StoppedEvent>;
  const launched = client.launch(args);
  await initialized;
  if (setup.functionBreakpoints) await client.setFunctionBreakpointsRequest({ breakpoints: setup.functionBreakpoints });
  if (setup.filters) await client.setExceptionBreakpointsRequest({ filters: setup.filters });
  await client.configurationDoneRequest();
  await launched;
  return stopped;
}

export async function nextStop(client: DebugClient, action: () => Promise<unknown>): Promise<DebugProtocol.StoppedEvent> {
  const stopped = client.waitForEvent('stopped', 20_000) as Promise<DebugProtocol.StoppedEvent>;
  await action();
  return stopped;
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
