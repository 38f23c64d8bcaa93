/**
 * Field-by-field checks of parsed JSON values against schema.ts. Each function returns its input,
 * typed, or throws a TraceFieldError; unknown extra keys are allowed.
 */
import { TraceFieldError } from './errors';
import {
  EVENT_KINDS,
  PROTOCOL_INFO_FIELDS,
  TRACE_FORMAT,
  TRACE_VERSION,
  type EventKind,
  type ProtocolInfo,
  type TraceEvent,
  type TraceHeader,
} from './schema';

type JsonObject = Record<string, unknown>;

const GUID_PATTERN = /^\{[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\}$/;
const ISO_DATE_PATTERN = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/;

/** A short, readable rendering of a bad value for error messages. */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
    case 'object':
      return 'an object';
    case 'undefined':
      return 'nothing';
    default:
      return String(value);
  }
}

function fail(field: string, expected: string, value: unknown): never {
  const problem = value === undefined ? `missing, expected ${expected}` : `expected ${expected}, got ${describeValue(value)}`;
  throw new TraceFieldError(`field "${field}": ${problem}`, field);
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

// `prefix` is the path of the enclosing object ("" or "args.lpProtocolInfo."); paths are built only on failure.
function checkInteger(obj: JsonObject, key: string, prefix = '', min?: number): void {
  const value = obj[key];
  if (typeof value !== 'number' || !Number.isInteger(value)) fail(prefix + key, 'an integer', value);
  if (min !== undefined && value < min) fail(prefix + key, `an integer >= ${min}`, value);
}

function checkString(obj: JsonObject, key: string, prefix = ''): void {
  if (typeof obj[key] !== 'string') fail(prefix + key, 'a string', obj[key]);
}

function checkStringArray(obj: JsonObject, key: string): void {
  const value = obj[key];
  if (!Array.isArray(value)) fail(key, 'an array of strings', value);
  value.forEach((item, i) => {
    if (typeof item !== 'string') fail(`${key}[${i}]`, 'a string', item);
  });
}

/** A call's `stack`: frames each with `module` and `offset`, and optionally `function`, `functionOffset`, `file`, `line`. */
function checkStack(stack: unknown): void {
  if (!Array.isArray(stack)) fail('stack', 'an array of frames', stack);
  stack.forEach((frame: unknown, i) => {
    const prefix = `stack[${i}].`;
    if (!isObject(frame)) fail(`stack[${i}]`, 'a frame object ({module, offset, ...})', frame);
    checkString(frame, 'module', prefix);
    checkInteger(frame, 'offset', prefix, 0);
    if (frame['function'] !== undefined) checkString(frame, 'function', prefix);
    if (frame['functionOffset'] !== undefined) checkInteger(frame, 'functionOffset', prefix, 0);
    if (frame['file'] !== undefined) checkString(frame, 'file', prefix);
    if (frame['line'] !== undefined) checkInteger(frame, 'line', prefix, 1);
    if ((frame['file'] === undefined) !== (frame['line'] === undefined)) fail(prefix + (frame['file'] === undefined ? 'file' : 'line'), 'present with ' + (frame['file'] === undefined ? 'line' : 'file'), undefined);
  });
}

function checkObject(obj: JsonObject, key: string, prefix = ''): JsonObject {
  const value = obj[key];
  if (!isObject(value)) fail(prefix + key, 'an object', value);
  return value;
}

function checkProtocolInfo(info: JsonObject, prefix: string): void {
  for (const key of PROTOCOL_INFO_FIELDS) {
    if (key === 'providerId') {
      const id = info[key];
      if (typeof id !== 'string' || !GUID_PATTERN.test(id)) {
        fail(prefix + key, 'a GUID string like "{xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx}"', id);
      }
    } else if (key === 'szProtocol') {
      checkString(info, key, prefix);
    } else if (key === 'protocolChain') {
      const chain = checkObject(info, key, prefix);
      const chainPrefix = `${prefix}protocolChain.`;
      checkInteger(chain, 'chainLen', chainPrefix);
      const entries = chain['chainEntries'];
      if (!Array.isArray(entries)) fail(`${chainPrefix}chainEntries`, 'an array of integers', entries);
      for (let i = 0; i < entries.length; i++) {
        if (!Number.isInteger(entries[i])) fail(`${chainPrefix}chainEntries[${i}]`, 'an integer', entries[i]);
      }
    } else {
      checkInteger(info, key, prefix);
    }
  }
}

/** An ArgValue: number, string, boolean, null, or a ProtocolInfo (an object with `protocolChain`). */
function checkArgValue(value: unknown, field: string): void {
  switch (typeof value) {
    case 'number':
    case 'string':
    case 'boolean':
      return;
    case 'object':
      if (value === null) return;
      if (isObject(value) && 'protocolChain' in value) return checkProtocolInfo(value, `${field}.`);
  }
  const expected = 'a number, string, boolean, null or ProtocolInfo object';
  if (isObject(value)) throw new TraceFieldError(`field "${field}": expected ${expected}, got an object without "protocolChain"`, field);
  fail(field, expected, value);
}

/**
 * INVALID_SOCKET is ~0: a capture that writes the SOCKET unsigned writes 2^64-1, which JSON numbers round to 2^64.
 * The format says INVALID_SOCKET and SOCKET_ERROR are -1: read it so.
 */
const UNSIGNED_INVALID_SOCKET = 2 ** 64;

function normalizeInvalidSocket(obj: JsonObject, key: string): void {
  if (obj[key] === UNSIGNED_INVALID_SOCKET) obj[key] = -1;
}

function checkArgs(obj: JsonObject, key: string): void {
  const args = checkObject(obj, key);
  // for…in over a parsed JSON object: its own keys, without a key list per event.
  for (const name in args) {
    const value = args[name];
    // Numbers and strings are the common case: checked here without building the field's path.
    if (typeof value === 'string') continue;
    if (typeof value === 'number' && value !== UNSIGNED_INVALID_SOCKET) continue;
    normalizeInvalidSocket(args, name);
    checkArgValue(args[name], `${key}.${name}`);
  }
}

/** The SOCKET argument(s) of every hooked API that takes one: the model cannot apply the call without them. */
const SOCKET_ARGS: Readonly<Record<string, readonly string[]>> = Object.fromEntries([
  ...['closesocket', 'WSAEventSelect', 'WSAAsyncSelect', 'setsockopt', 'ioctlsocket', 'WSAIoctl', 'shutdown', 'bind', 'listen',
    'connect', 'WSAConnect', 'accept', 'WSAAccept', 'recv', 'send', 'WSARecv', 'WSASend', 'WSAEnumNetworkEvents',
    'WSADuplicateSocketA', 'WSADuplicateSocketW'].map((api) => [api, ['s']]),
  ['AcceptEx', ['sListenSocket', 'sAcceptSocket']],
]);

/** Other integer arguments a hooked call's meaning depends on (the format's "arguments per API"). */
const INTEGER_ARGS: Readonly<Record<string, readonly string[]>> = {
  WSADuplicateSocketA: ['dwProcessId'],
  WSADuplicateSocketW: ['dwProcessId'],
  WSAEventSelect: ['lNetworkEvents'],
  WSAAsyncSelect: ['lEvent'],
  ioctlsocket: ['cmd'],
  WSAIoctl: ['dwIoControlCode'],
  shutdown: ['how'],
  setsockopt: ['level', 'optname'],
  WSASocketA: ['dwFlags'],
  WSASocketW: ['dwFlags'],
};

/** Per API, every argument that must be an integer (SOCKET_ARGS then INTEGER_ARGS), listed once. */
const REQUIRED_INTEGER_ARGS = new Map<string, readonly string[]>(
  [...new Set([...Object.keys(SOCKET_ARGS), ...Object.keys(INTEGER_ARGS)])].map((api) => [api, [...(SOCKET_ARGS[api] ?? []), ...(INTEGER_ARGS[api] ?? [])]]),
);
const NO_ARGS: readonly string[] = [];

function checkApiArgs(e: JsonObject): void {
  const api = e['api'] as string;
  const args = e['args'] as JsonObject;
  for (const name of REQUIRED_INTEGER_ARGS.get(api) ?? NO_ARGS) {
    const value = args[name];
    if (typeof value !== 'number' || !Number.isInteger(value)) fail(`args.${name}`, `an integer (${api} takes it)`, value);
  }
  if ((api === 'WSASocketA' || api === 'WSASocketW') && !('lpProtocolInfo' in args)) {
    fail('args.lpProtocolInfo', `a decoded WSAPROTOCOL_INFO or null (${api} takes it)`, undefined);
  }
}

/** A successful WSADuplicateSocket returns the structure it filled in: without it no import can be linked. */
function checkApiReturn(e: JsonObject): void {
  const api = e['api'];
  if ((api !== 'WSADuplicateSocketA' && api !== 'WSADuplicateSocketW') || e['result'] !== 0) return;
  const out = e['out'];
  if (!isObject(out) || !('protocolInfo' in out)) {
    fail('out.protocolInfo', `the WSAPROTOCOL_INFO a successful ${api} filled in (or null if it could not be read)`, undefined);
  }
  if (out['protocolInfo'] !== null && !(isObject(out['protocolInfo']) && 'protocolChain' in out['protocolInfo'])) {
    fail('out.protocolInfo', 'a decoded WSAPROTOCOL_INFO or null', out['protocolInfo']);
  }
}

export function validateProtocolInfo(value: unknown, field = 'protocolInfo'): ProtocolInfo {
  if (!isObject(value)) fail(field, 'a ProtocolInfo object', value);
  checkProtocolInfo(value, `${field}.`);
  return value as unknown as ProtocolInfo;
}

export function validateHeader(value: unknown): TraceHeader {
  if (!isObject(value)) throw new TraceFieldError('not a sockshare trace: the first line is not a JSON object');
  if (value['format'] !== TRACE_FORMAT) {
    throw new TraceFieldError(
      `not a sockshare trace: field "format" is ${describeValue(value['format'])}, expected "${TRACE_FORMAT}"`,
      'format',
    );
  }
  checkInteger(value, 'version');
  if (value['version'] !== TRACE_VERSION) {
    throw new TraceFieldError(
      `unsupported trace version ${String(value['version'])}; this sockshare reads version ${TRACE_VERSION}`,
      'version',
    );
  }
  const startTime = value['startTime'];
  if (typeof startTime !== 'string' || !ISO_DATE_PATTERN.test(startTime) || Number.isNaN(Date.parse(startTime))) {
    fail('startTime', 'an ISO 8601 date string', startTime);
  }
  checkString(value, 'hostOs');
  checkString(value, 'tracerVersion');
  if (value['capture'] !== undefined) checkObject(value, 'capture');
  return value as unknown as TraceHeader;
}

const KIND_CHECKS: Record<EventKind, (event: JsonObject) => void> = {
  'process-start': (e) => {
    checkInteger(e, 'parentPid', '', 0);
    checkString(e, 'image');
    checkString(e, 'commandLine');
    if (e.attached !== undefined && e.attached !== true) fail('attached', 'true when present', e.attached);
  },
  'process-exit': (e) => checkInteger(e, 'exitCode'),
  'thread-start': (e) => checkInteger(e, 'tid', '', 0),
  'thread-exit': (e) => {
    checkInteger(e, 'tid', '', 0);
    checkInteger(e, 'exitCode');
  },
  'module-load': (e) => {
    checkString(e, 'module');
    checkString(e, 'base');
    if (e['path'] !== undefined) checkString(e, 'path');
  },
  output: (e) => {
    if (e['stream'] !== 'stdout' && e['stream'] !== 'stderr') fail('stream', '"stdout" or "stderr"', e['stream']);
    checkString(e, 'text');
  },
  'records-lost': (e) => checkInteger(e, 'count', '', 0),
  'ring-stalls': (e) => {
    checkInteger(e, 'count', '', 0);
    checkInteger(e, 'waitNs', '', 0);
  },
  'capture-setup': (e) => {
    checkStringArray(e, 'inProcess');
    const fallbacks = e['onBreakpoints'];
    if (!Array.isArray(fallbacks)) fail('onBreakpoints', 'an array', fallbacks);
    fallbacks.forEach((f: unknown, i) => {
      if (!isObject(f)) fail(`onBreakpoints[${i}]`, 'an object', f);
      checkString(f, 'api', `onBreakpoints[${i}].`);
      checkString(f, 'reason', `onBreakpoints[${i}].`);
    });
    if (typeof e['unwindData'] !== 'boolean') fail('unwindData', 'true or false', e['unwindData']);
    if (e['ringShared'] !== undefined && typeof e['ringShared'] !== 'boolean') fail('ringShared', 'true or false', e['ringShared']);
  },
  api: (e) => {
    checkInteger(e, 'tid', '', 0);
    checkString(e, 'api');
    if (e['phase'] === 'call') {
      checkArgs(e, 'args');
      checkApiArgs(e);
      const caller = checkObject(e, 'caller');
      checkString(caller, 'module', 'caller.');
      checkInteger(caller, 'offset', 'caller.', 0);
      if (e['stack'] !== undefined) checkStack(e['stack']);
    } else if (e['phase'] === 'return') {
      checkInteger(e, 'callSeq', '', 0);
      normalizeInvalidSocket(e, 'result');
      checkInteger(e, 'result');
      if (e['error'] !== undefined) checkInteger(e, 'error');
      if (e['out'] !== undefined) checkArgs(e, 'out');
      checkApiReturn(e);
    } else {
      fail('phase', '"call" or "return"', e['phase']);
    }
    if (e['internal'] !== undefined && typeof e['internal'] !== 'boolean') fail('internal', 'a boolean', e['internal']);
  },
};

const KNOWN_KINDS: ReadonlySet<string> = new Set(EVENT_KINDS);

export function validateEvent(value: unknown): TraceEvent {
  if (!isObject(value)) throw new TraceFieldError(`expected an event object, got ${describeValue(value)}`);
  const kind = value['kind'];
  if (typeof kind !== 'string' || !KNOWN_KINDS.has(kind)) {
    if (typeof kind === 'string') throw new TraceFieldError(`field "kind": unknown event kind ${describeValue(kind)}`, 'kind');
    fail('kind', `one of ${EVENT_KINDS.join(', ')}`, kind);
  }
  checkInteger(value, 'seq', '', 0);
  checkInteger(value, 'timeNs', '', 0);
  checkInteger(value, 'pid', '', 0);
  KIND_CHECKS[kind as EventKind](value);
  return value as unknown as TraceEvent;
}

/** What a return is checked against: its call's process, thread and API. */
export interface OpenCall {
  readonly pid: number;
  readonly tid: number;
  readonly api: string;
}

/**
 * A return belongs to its call: the same process, thread and API, after it. `call` is undefined when the call was
 * not seen (a reader started in the middle of the file).
 */
export function checkReturnMatchesCall(ret: { seq: number; callSeq: number; pid: number; tid: number; api: string }, call: OpenCall | undefined): void {
  if (ret.callSeq >= ret.seq) throw new TraceFieldError(`field "callSeq": ${ret.callSeq} is not before this return's seq ${ret.seq}`, 'callSeq');
  if (!call) return;
  for (const field of ['pid', 'tid', 'api'] as const) {
    if (ret[field] !== call[field]) {
      throw new TraceFieldError(`field "${field}": this return has ${describeValue(ret[field])}, but its call (seq ${ret.callSeq}) has ${describeValue(call[field])}`, field);
    }
  }
}

/** Events must come in strictly increasing seq order; `previous` is undefined before the first event. */
export function checkSeqOrder(seq: number, previous: number | undefined): void {
  if (previous !== undefined && seq <= previous) {
    throw new TraceFieldError(`seq ${seq} is not greater than the previous seq ${previous}`, 'seq');
  }
}
