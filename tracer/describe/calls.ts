/**
 * The words for hooked calls: the compact form ("WSADuplicateSocketW(s=0x1a4, dwProcessId=512) = 0"), each argument
 * by Winsock name with its raw value, the result and the error, where a call came from, and any event in one line.
 */

import type { ApiCallEvent, ApiReturnEvent, ArgValue, Args, TraceEvent } from '../trace/schema';
import { isProtocolInfo } from '../trace/schema';
import { baseName, errorName, handleLabel, hex, plural, type CallRef, type ShareModel } from '../model';
import { SOCKET_RESULT_APIS, argNamer, isHexArg, isHiddenArg } from './arguments';
import { truncate } from './text';

/** One hooked call: its entry event and, unless the process died mid-call, its return event. */
export interface HookedCall {
  readonly call: ApiCallEvent;
  readonly ret?: ApiReturnEvent;
}

/** Every hooked call in seq order, each paired with the return whose callSeq names it. */
export function pairCalls(events: readonly TraceEvent[]): HookedCall[] {
  const returns = new Map<number, ApiReturnEvent>();
  for (const e of events) if (e.kind === 'api' && e.phase === 'return') returns.set(e.callSeq, e);
  const calls: HookedCall[] = [];
  for (const e of events) if (e.kind === 'api' && e.phase === 'call') calls.push({ call: e, ret: returns.get(e.seq) });
  return calls;
}

/** The calls the program made itself (not the ones Winsock made from inside ws2_32). */
export function programCalls(events: readonly TraceEvent[]): HookedCall[] {
  return pairCalls(events).filter((c) => !c.call.internal);
}

// ---- Arguments ----

/**
 * "AF_INET", "FD_READ|FD_CLOSE", "0x1a4", "NULL", "WSAPROTOCOL_INFO": an argument (or out-parameter) of `api` as the
 * compact form shows it; `args` are the call's arguments (setsockopt's optname is named by its level).
 */
export function formatArg(api: string, name: string, value: ArgValue, args: Readonly<Record<string, ArgValue>> = {}): string {
  if (isProtocolInfo(value)) return 'WSAPROTOCOL_INFO';
  if (value === null) return 'NULL';
  const namer = argNamer(api, name);
  if (typeof value === 'number' && namer) return namer(value, args);
  return typeof value === 'string' ? value : String(value);
}

/** "s=0x1a4, dwProcessId=512": the arguments worth reading, NULL pointers and defaults left out. */
export function formatArgs(call: ApiCallEvent): string {
  return Object.entries(call.args)
    .filter(([name, value]) => value !== null && !isHiddenArg(call.api, name, value))
    .map(([name, value]) => `${name}=${formatArg(call.api, name, value, call.args)}`)
    .join(', ');
}

/** "AF_INET (2)", "FD_READ|FD_CLOSE (0x21)", "0x1a4": the argument's name for the value, with the raw value when it differs. */
export function argValue(api: string, name: string, value: ArgValue, args: Args = {}): string {
  const shown = formatArg(api, name, value, args);
  if (typeof value !== 'number' || name === 's') return shown;
  const raw = isHexArg(api, name) ? hex(value >>> 0) : String(value);
  return shown === raw || shown === String(value) ? shown : `${shown} (${raw})`;
}

// ---- Results and errors ----

function resultWithoutError(call: ApiCallEvent, ret: ApiReturnEvent): string {
  if (SOCKET_RESULT_APIS.has(call.api)) return ret.result === -1 ? 'INVALID_SOCKET' : handleLabel(ret.result);
  return ret.result === -1 ? 'SOCKET_ERROR' : String(ret.result);
}

/** "0x2b8", "SOCKET_ERROR (WSAEINVAL)", or "? (never returned)" for a call that has no return. */
export function formatResult(call: ApiCallEvent, ret?: ApiReturnEvent): string {
  if (!ret) return '? (never returned)';
  const value = resultWithoutError(call, ret);
  return ret.error === undefined ? value : `${value} (${errorName(ret.error)})`;
}

/** "0", "0x34", "-1 (SOCKET_ERROR)", "INVALID_SOCKET", or "(not returned yet)": the result on its own, as a variable. */
export function resultValue(call: ApiCallEvent, ret?: ApiReturnEvent): string {
  if (!ret) return '(not returned yet)';
  const value = resultWithoutError(call, ret);
  return value === 'SOCKET_ERROR' ? `${ret.result} (SOCKET_ERROR)` : value;
}

// ---- Calls ----

/** "WSADuplicateSocketW(s=0x1a4, dwProcessId=512) = 0" */
export function formatCall(call: ApiCallEvent, ret?: ApiReturnEvent): string {
  return `${call.api}(${formatArgs(call)}) = ${formatResult(call, ret)}`;
}

/** "WSADuplicateSocketW(s=0x1a4, dwProcessId=512)": the call as made, before it returns. */
export function formatEntry(call: ApiCallEvent): string {
  return `${call.api}(${formatArgs(call)})`;
}

/** "handoff.exe+0x17c4": where the program made the call. */
export function callerLabel(call: ApiCallEvent): string {
  return `${call.caller.module}+0x${call.caller.offset.toString(16)}`;
}

/** "WSAEventSelect in target.exe (pid 512) at event 31" */
export function callLabel(model: ShareModel, call: CallRef): string {
  return `${call.api} in ${model.processLabel(call.pid, call.seq)} at event ${call.seq}`;
}

/**
 * Any event in one line: a hooked call in its compact form (given its entry and return as far as the trace has them),
 * "process-exit (exit code 0)", "thread-start tid 368", "output on stdout: …".
 */
export function eventLine(e: TraceEvent, pair: { readonly call?: ApiCallEvent; readonly ret?: ApiReturnEvent } = {}): string {
  switch (e.kind) {
    case 'api':
      if (pair.call) return formatCall(pair.call, pair.ret);
      if (e.phase === 'call') return formatCall(e);
      return `${e.api} returned ${e.result} (its call is not in the trace)`;
    case 'process-start':
      return `process-start ${baseName(e.image)} (pid ${e.pid}, parent pid ${e.parentPid})`;
    case 'process-exit':
      return `process-exit (exit code ${e.exitCode})`;
    case 'thread-start':
      return `thread-start tid ${e.tid}`;
    case 'thread-exit':
      return `thread-exit tid ${e.tid} (exit code ${e.exitCode})`;
    case 'module-load':
      return `module-load ${e.module} at ${e.base}`;
    case 'output':
      return `output on ${e.stream}: ${truncate(e.text.replace(/\s+/g, ' ').trim(), 80)}`;
    case 'records-lost':
      return `records-lost: ${e.count} records`;
    case 'ring-stalls':
      return `ring-stalls: the stubs waited ${plural(e.count, 'time')} for the tracer to drain a full ring, ${(e.waitNs / 1e6).toFixed(1)} ms in all`;
    case 'capture-setup':
      return `capture-setup: ${e.inProcess.length} APIs recorded in the process, ${e.onBreakpoints.length} on breakpoints${e.unwindData ? '' : ', no unwind data'}${e.ringShared === false ? ', ring read with ReadProcessMemory' : ''}`;
  }
}
