/**
 * What a stub copies besides the registers, per hooked API, from the catalogue (tracer/apis): each memory span of its
 * arguments (copied at the call) and out-parameters (copied after the return), and the stack parameters (the 5th on:
 * a call still running at a drain, a blocking select, must show them before its return record exists). The stub writes them into continuation records after the call or return
 * record; ring.ts reads them back; events.ts hands them to the same decoders as the breakpoint path.
 */

import { apiEntry, type ApiEntry, type MemorySpan } from '../../apis';

/** How a span's byte count is found in the stub (see SpanLength in tracer/apis/types.ts). */
export type SpanSize =
  | { readonly kind: 'bytes'; readonly bytes: number }
  /** Another parameter's value, times `scale`; a signed (int) length below 0 copies nothing. */
  | { readonly kind: 'param'; readonly param: number; readonly scale: number; readonly signed: boolean; readonly maxBytes: number }
  /** The u32 another parameter points at (kept in the span header too: the decoders read it). */
  | { readonly kind: 'pointee'; readonly param: number; readonly maxBytes: number }
  /** A u32 count at the start of the span, then `headerBytes` in, `count` elements. */
  | { readonly kind: 'counted'; readonly headerBytes: number; readonly elementBytes: number; readonly maxBytes: number };

export interface SpanCopy {
  /** The parameter holding the address. */
  readonly pointer: number;
  readonly size: SpanSize;
}

/** How an API reports failure in RAX: SOCKET_ERROR / INVALID_SOCKET (low 32 bits all ones), or a non-zero error code. */
export type FailureTest = 'minus-one' | 'nonzero';

export interface StubPlan {
  readonly failure: FailureTest;
  readonly entrySpans: readonly SpanCopy[];
  readonly exitSpans: readonly SpanCopy[];
  /** Stack parameters (the 5th on), copied with the call record. */
  readonly extraParams: number;
  /** WSAIoctl: stop after a call that handed out an extension function pointer not seen before (to hook it). */
  readonly extensionPointerStop: boolean;
  /** The call record carries the call's stack (return addresses, stub-parts.ts captureStack). */
  readonly stack: boolean;
}

/** The most spans one record copies (select's three fd_sets). */
export const MAX_SPANS_PER_RECORD = 3;
/** Parameters whose 8 bytes the stub hands on to the original (the 5th to the 9th: WSAIoctl has nine). */
export const MAX_PARAMS = 9;
export { CONTINUATION_PAYLOAD } from './ring';

function spanSize(entry: ApiEntry, span: MemorySpan): SpanSize {
  const length = span.length;
  if ('bytes' in length) return { kind: 'bytes', bytes: length.bytes };
  if ('param' in length) {
    // The decoders read an `int` length as signed (a negative optlen reads nothing) and a DWORD as unsigned.
    const signed = entry.args.some((arg) => arg.param === length.param && arg.kind === 'int');
    return { kind: 'param', param: length.param, scale: length.scale ?? 1, signed, maxBytes: length.maxBytes };
  }
  if ('pointee' in length) return { kind: 'pointee', param: length.pointee, maxBytes: length.maxBytes };
  return { kind: 'counted', headerBytes: length.counted.headerBytes, elementBytes: length.counted.elementBytes, maxBytes: length.maxBytes };
}

/** The spans of an API's arguments (at the call) or out-parameters (after the return), in catalogue order, one per address. */
export function spansOf(entry: ApiEntry, when: MemorySpan['when']): SpanCopy[] {
  const spans: SpanCopy[] = [];
  for (const value of [...entry.args, ...(entry.out ?? [])]) {
    const span = value.memory;
    if (!span || span.when !== when) continue;
    // Two values read from one address (ioctlsocket's argp) need one copy.
    if (spans.some((s) => s.pointer === span.pointer)) continue;
    spans.push({ pointer: span.pointer, size: spanSize(entry, span) });
  }
  return spans;
}

/** SIO_GET_EXTENSION_FUNCTION_POINTER's control code. */
export const SIO_GET_EXTENSION_FUNCTION_POINTER = 0xc8000006;

/** `stack`: the call records carry the call's stack (record --stacks). */
export function stubPlan(api: string, stack = false): StubPlan {
  const entry = apiEntry(api);
  if (!entry) throw new Error(`not a hooked API: ${api}`);
  const entrySpans = spansOf(entry, 'entry');
  const exitSpans = spansOf(entry, 'return');
  if (entrySpans.length > MAX_SPANS_PER_RECORD || exitSpans.length > MAX_SPANS_PER_RECORD) throw new Error(`${api}: too many memory spans for a stub`);
  if (entry.paramCount > MAX_PARAMS) throw new Error(`${api}: too many parameters for a stub`);
  const returnsExtension = (entry.out ?? []).some((out) => out.kind === 'extension-function');
  return { failure: entry.errorInResult ? 'nonzero' : 'minus-one', entrySpans, exitSpans, extraParams: Math.max(0, entry.paramCount - 4), extensionPointerStop: returnsExtension, stack };
}
