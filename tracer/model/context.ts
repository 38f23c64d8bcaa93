/** What a call handler gets: the call's entry and return, and the descriptor lookups every handler needs. */

import type { ApiCallEvent, ApiReturnEvent, ArgValue } from '../trace/schema';
import { descriptorOpenAtAttach } from './attach';
import { descriptorLabel, handleLabel, processLabel } from './describe';
import { callEvents, raise } from './ops';
import type { ModelState } from './state';
import type { CallRef, DescriptorState, SocketState } from './types';
import { describeError } from './winsock';

export class CallContext {
  readonly ref: CallRef;
  readonly ok: boolean;
  readonly error?: number;

  constructor(
    readonly state: ModelState,
    readonly call: ApiCallEvent,
    readonly ret: ApiReturnEvent,
  ) {
    this.ref = { seq: call.seq, returnSeq: ret.seq, api: call.api, pid: call.pid, tid: call.tid };
    // WSAStartup returns its error code instead of setting WSAGetLastError.
    this.error = ret.error ?? (call.api === 'WSAStartup' && ret.result !== 0 ? ret.result : undefined);
    this.ok = this.error === undefined && ret.result !== -1;
  }

  get pid(): number {
    return this.call.pid;
  }

  get events(): number[] {
    return callEvents(this.ref);
  }

  num(name: string, fallback = 0): number {
    return toNumber(this.call.args[name], fallback);
  }

  arg(name: string): ArgValue | undefined {
    return this.call.args[name];
  }

  /** "WSADuplicateSocketW in source.exe (pid 364)" */
  get where(): string {
    return `${this.call.api} in ${processLabel(this.state, this.pid)}`;
  }

  errorText(): string {
    return this.error === undefined ? 'an unknown error' : describeError(this.error);
  }

  /**
   * The open descriptor the call names, or undefined. A SOCKET value closed in this process is a use after close;
   * one this process never had but another process holds is a descriptor passed by value instead of by handoff.
   */
  descriptor(handle = this.num('s', Number.NaN)): DescriptorState | undefined {
    if (Number.isNaN(handle)) return undefined;
    const state = this.state;
    const known = state.handleOf(this.pid, handle);
    if (known && known.closedSeq === undefined) return known;
    if (known) {
      raise(
        state,
        'use-after-close',
        `${this.where} used ${descriptorLabel(state, known)} after ${known.closedBy ?? 'closesocket'} deallocated it (event ${known.closedSeq}).`,
        [...(known.closeEvents ?? []), ...this.events],
        { socketId: known.socketId, pids: [this.pid] },
      );
      return undefined;
    }
    const openAtAttach = descriptorOpenAtAttach(state, this.ref, handle, this.error);
    if (openAtAttach) return openAtAttach;
    for (const other of state.descriptors.values()) {
      if (other.handle !== handle || other.pid === this.pid || other.closedSeq !== undefined) continue;
      raise(
        state,
        'foreign-descriptor',
        `${this.where} used SOCKET ${handleLabel(handle)}, which this process never created or imported; ${descriptorLabel(state, other)} has that value. A descriptor is valid only in its own process: hand it over with WSADuplicateSocket and import it with WSASocket.`,
        [other.created.seq, ...this.events],
        { socketId: other.socketId, pids: [this.pid, other.pid] },
      );
      break;
    }
    return undefined;
  }

  socketOf(d: DescriptorState): SocketState | undefined {
    return this.state.sockets.get(d.socketId);
  }
}

export function toNumber(value: ArgValue | undefined, fallback = 0): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'string' && /^(0x[0-9a-f]+|-?\d+)$/i.test(value)) return Number(value);
  if (typeof value === 'boolean') return value ? 1 : 0;
  return fallback;
}

/** A pointer argument that is NULL ("0x0", 0 or null). */
export function isNullPointer(value: ArgValue | undefined): boolean {
  return value === undefined || value === null || value === 0 || value === '0x0' || value === '0';
}
