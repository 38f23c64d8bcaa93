/**
 * How closed sockets, their descriptors and settled handoffs are written to a RecordPool and read back. Each codec
 * writes a presence mask of the optional properties first, so a decoded entity has exactly the original's properties.
 */

import { RecordReader, RecordWriter, setIfPresent } from './records';
import type { DescriptorState, Handoff, ImportAttempt, OptionValue, Registration, SocketState } from './types';

export interface Codec<T> {
  write(out: RecordWriter, item: T): void;
  read(input: RecordReader): T;
}

type Writable<T> = { -readonly [K in keyof T]: T[K] };

const DESCRIPTOR_OPTIONAL = ['handoffId', 'closedSeq', 'closedBy', 'closeEvents'] as const;

export const descriptorCodec: Codec<DescriptorState> = {
  write(out, d) {
    out.presence(d, DESCRIPTOR_OPTIONAL);
    out.id(d.id);
    out.num(d.pid);
    out.num(d.handle);
    out.id(d.socketId);
    out.name(d.origin);
    out.ref(d.created);
    out.id(d.handoffId);
    out.optNum(d.closedSeq);
    out.name(d.closedBy);
    numberList(out, d.closeEvents);
  },
  read(input) {
    const mask = input.num();
    const d: Writable<DescriptorState> = {
      id: input.id('d') ?? '',
      pid: input.num(),
      handle: input.num(),
      socketId: input.id('s') ?? '',
      origin: input.name() as DescriptorState['origin'],
      created: input.ref(),
    };
    const keys = DESCRIPTOR_OPTIONAL;
    setIfPresent(d, mask, keys, 'handoffId', input.id('h'));
    setIfPresent(d, mask, keys, 'closedSeq', input.optNum());
    setIfPresent(d, mask, keys, 'closedBy', input.name());
    setIfPresent(d, mask, keys, 'closeEvents', readNumberList(input));
    return d;
  },
};

/** A list of numbers, or undefined (count -1). */
function numberList(out: RecordWriter, list: readonly number[] | undefined): void {
  out.num(list === undefined ? -1 : list.length);
  for (const n of list ?? []) out.num(n);
}

function readNumberList(input: RecordReader): number[] | undefined {
  const count = input.num();
  if (count === -1) return undefined;
  const list: number[] = [];
  for (let i = 0; i < count; i++) list.push(input.num());
  return list;
}

function idList(out: RecordWriter, ids: readonly string[]): void {
  out.num(ids.length);
  for (const id of ids) out.id(id);
}

function readIdList(input: RecordReader, letter: string): string[] {
  const count = input.num();
  const ids: string[] = [];
  for (let i = 0; i < count; i++) ids.push(input.id(letter) ?? '');
  return ids;
}

const REGISTRATION_OPTIONAL = ['event', 'window', 'message', 'cancelledBy', 'renewedBy'] as const;

function writeRegistration(out: RecordWriter, r: Registration): void {
  out.presence(r, REGISTRATION_OPTIONAL);
  out.name(r.kind);
  out.ref(r.call);
  out.id(r.descriptorId);
  out.num(r.pid);
  out.num(r.handle);
  out.num(r.mask);
  out.text(r.event);
  out.text(r.window);
  out.optNum(r.message);
  out.optRef(r.cancelledBy);
  out.optRef(r.renewedBy);
}

function readRegistration(input: RecordReader): Registration {
  const mask = input.num();
  const r: Writable<Registration> = {
    kind: input.name() as Registration['kind'],
    call: input.ref(),
    descriptorId: input.id('d') ?? '',
    pid: input.num(),
    handle: input.num(),
    mask: input.num(),
  };
  const keys = REGISTRATION_OPTIONAL;
  setIfPresent(r, mask, keys, 'event', input.text());
  setIfPresent(r, mask, keys, 'window', input.text());
  setIfPresent(r, mask, keys, 'message', input.optNum());
  setIfPresent(r, mask, keys, 'cancelledBy', input.optRef());
  setIfPresent(r, mask, keys, 'renewedBy', input.optRef());
  return r;
}

/** An option's value: a number, a string (hex bytes) or null; tagged 0, 1, 2. */
function writeOption(out: RecordWriter, o: OptionValue): void {
  out.num(o.level);
  out.num(o.optname);
  if (typeof o.value === 'number') {
    out.num(0);
    out.num(o.value);
  } else if (typeof o.value === 'string') {
    out.num(1);
    out.text(o.value);
  } else out.num(2);
  out.ref(o.call);
  out.id(o.descriptorId);
}

function readOption(input: RecordReader): OptionValue {
  const level = input.num();
  const optname = input.num();
  const tag = input.num();
  const value = tag === 0 ? input.num() : tag === 1 ? (input.text() ?? '') : null;
  return { level, optname, value, call: input.ref(), descriptorId: input.id('d') ?? '' };
}

const SOCKET_OPTIONAL = [
  'localAddress', 'remoteAddress', 'acceptedFrom', 'shutdownBy', 'shutdownSendBy', 'nonBlockingSetBy', 'nonBlockingLastSetBy', 'closedSeq',
] as const;

export const socketCodec: Codec<SocketState> = {
  write(out, s) {
    out.presence(s, SOCKET_OPTIONAL);
    out.id(s.id);
    out.num(s.af);
    out.num(s.type);
    out.num(s.protocol);
    out.ref(s.created);
    out.bool(s.overlapped);
    out.num(s.flags);
    out.bool(s.originUnknown);
    out.name(s.phase);
    out.text(s.localAddress);
    out.text(s.remoteAddress);
    out.id(s.acceptedFrom);
    out.bool(s.shutdownReceive);
    out.bool(s.shutdownSend);
    out.optRef(s.shutdownBy);
    out.optRef(s.shutdownSendBy);
    out.bool(s.nonBlocking);
    out.optRef(s.nonBlockingSetBy);
    out.optRef(s.nonBlockingLastSetBy);
    out.bool(s.qos);
    out.num(s.options.length);
    for (const o of s.options) writeOption(out, o);
    idList(out, s.descriptorIds);
    idList(out, s.handoffIds);
    out.bool(s.registration !== null);
    if (s.registration !== null) writeRegistration(out, s.registration);
    out.num(s.cancelledRegistrations.length);
    for (const r of s.cancelledRegistrations) writeRegistration(out, r);
    out.optNum(s.closedSeq);
  },
  read(input) {
    const mask = input.num();
    const id = input.id('s') ?? '';
    const af = input.num();
    const type = input.num();
    const protocol = input.num();
    const created = input.ref();
    const overlapped = input.bool();
    const flags = input.num();
    const originUnknown = input.bool();
    const phase = input.name() as SocketState['phase'];
    const s = { id, af, type, protocol, created, overlapped, flags, originUnknown, phase } as Writable<SocketState>;
    const keys = SOCKET_OPTIONAL;
    setIfPresent(s, mask, keys, 'localAddress', input.text());
    setIfPresent(s, mask, keys, 'remoteAddress', input.text());
    setIfPresent(s, mask, keys, 'acceptedFrom', input.id('s'));
    s.shutdownReceive = input.bool();
    s.shutdownSend = input.bool();
    setIfPresent(s, mask, keys, 'shutdownBy', input.optRef());
    setIfPresent(s, mask, keys, 'shutdownSendBy', input.optRef());
    s.nonBlocking = input.bool();
    setIfPresent(s, mask, keys, 'nonBlockingSetBy', input.optRef());
    setIfPresent(s, mask, keys, 'nonBlockingLastSetBy', input.optRef());
    s.qos = input.bool();
    const options: OptionValue[] = [];
    for (let i = input.num(); i > 0; i--) options.push(readOption(input));
    s.options = options;
    s.descriptorIds = readIdList(input, 'd');
    s.handoffIds = readIdList(input, 'h');
    s.registration = input.bool() ? readRegistration(input) : null;
    const cancelled: Registration[] = [];
    for (let i = input.num(); i > 0; i--) cancelled.push(readRegistration(input));
    s.cancelledRegistrations = cancelled;
    setIfPresent(s, mask, keys, 'closedSeq', input.optNum());
    return s;
  },
};

const IMPORT_OPTIONAL = ['error', 'descriptorId'] as const;
const HANDOFF_OPTIONAL = ['sourceDescriptorId', 'socketId', 'targetStartSeq', 'settled'] as const;

export const handoffCodec: Codec<Handoff> = {
  write(out, h) {
    out.presence(h, HANDOFF_OPTIONAL);
    out.id(h.id);
    out.ref(h.exportCall);
    out.num(h.sourcePid);
    out.num(h.sourceHandle);
    out.id(h.sourceDescriptorId);
    out.id(h.socketId);
    out.num(h.targetPid);
    out.optNum(h.targetStartSeq);
    out.num(h.key);
    out.num(h.imports.length);
    for (const i of h.imports) {
      out.presence(i, IMPORT_OPTIONAL);
      out.ref(i.call);
      out.bool(i.ok);
      out.optNum(i.error);
      out.id(i.descriptorId);
      out.num(i.flags);
    }
    out.name(h.settled);
  },
  read(input) {
    const mask = input.num();
    const h = { id: input.id('h') ?? '', exportCall: input.ref(), sourcePid: input.num(), sourceHandle: input.num() } as Writable<Handoff>;
    const keys = HANDOFF_OPTIONAL;
    setIfPresent(h, mask, keys, 'sourceDescriptorId', input.id('d'));
    setIfPresent(h, mask, keys, 'socketId', input.id('s'));
    h.targetPid = input.num();
    setIfPresent(h, mask, keys, 'targetStartSeq', input.optNum());
    h.key = input.num();
    const imports: ImportAttempt[] = [];
    for (let n = input.num(); n > 0; n--) {
      const importMask = input.num();
      const attempt = { call: input.ref(), ok: input.bool() } as Writable<ImportAttempt>;
      setIfPresent(attempt, importMask, IMPORT_OPTIONAL, 'error', input.optNum());
      setIfPresent(attempt, importMask, IMPORT_OPTIONAL, 'descriptorId', input.id('d'));
      attempt.flags = input.num();
      imports.push(attempt);
    }
    h.imports = imports;
    setIfPresent(h, mask, keys, 'settled', input.name());
    return h;
  },
};
