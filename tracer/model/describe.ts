/** How the model names things in finding messages: processes, descriptors, sockets, handoffs. */

import type { ModelState } from './state';
import type { CallRef, DescriptorState, SocketState } from './types';
import { AF_NAMES, IPPROTO_NAMES, SOCK_NAMES, hex, nameOf } from './winsock';

export function baseName(path: string): string {
  const slash = Math.max(path.lastIndexOf('\\'), path.lastIndexOf('/'));
  return slash === path.length - 1 ? path : path.slice(slash + 1);
}

/**
 * "source.exe (pid 364)", or "pid 364" for a process the trace never saw start. A pid is reused once its process has
 * exited: `atSeq` names the process that had the pid then (without it, the one that has it now or had it last).
 */
export function processLabel(state: ModelState, pid: number, atSeq?: number): string {
  const p = state.process(pid, atSeq);
  return p ? `${baseName(p.image)} (pid ${pid})` : `pid ${pid}`;
}

export function handleLabel(handle: number): string {
  return handle < 0 ? String(handle) : hex(handle);
}

/** "descriptor 0x1a4 in source.exe (pid 364)": the process that created it (its pid may name another one by now). */
export function descriptorLabel(state: ModelState, d: Pick<DescriptorState, 'pid' | 'handle'> & { readonly created?: CallRef; readonly origin?: DescriptorState['origin'] }): string {
  const before = d.origin === 'attach' ? ' (open before the tracer attached: where it came from is not in the trace)' : '';
  return `descriptor ${handleLabel(d.handle)} in ${processLabel(state, d.pid, d.created?.seq)}${before}`;
}

export function socketKindLabel(s: Pick<SocketState, 'af' | 'type' | 'protocol'>): string {
  // A socket open before the tracer attached: its kind was never seen.
  if (s.af === 0 && s.type === 0 && s.protocol === 0) return 'kind unknown, open before the attach';
  if (s.type === 1 && (s.protocol === 6 || s.protocol === 0)) return s.af === 23 ? 'TCP/IPv6' : 'TCP';
  if (s.type === 2 && (s.protocol === 17 || s.protocol === 0)) return s.af === 23 ? 'UDP/IPv6' : 'UDP';
  return `${nameOf(AF_NAMES, s.af)} ${nameOf(SOCK_NAMES, s.type)} ${nameOf(IPPROTO_NAMES, s.protocol)}`;
}

/**
 * A socket bound to port 0 gets a port the system picks at bind time (or at listen/connect); only getsockname tells
 * which, and the trace does not record it. So "127.0.0.1:0" is what bind asked for, not the port in use.
 */
export function isSystemChosenPort(address: string | undefined): boolean {
  return address !== undefined && /:0$/.test(address);
}

/** "127.0.0.1:5000", or "127.0.0.1:0 (port chosen by the system)" for a socket bound to port 0. */
export function localAddressLabel(s: Pick<SocketState, 'localAddress'>): string | undefined {
  if (s.localAddress === undefined) return undefined;
  return isSystemChosenPort(s.localAddress) ? `${s.localAddress} (port chosen by the system)` : s.localAddress;
}

/** "socket #3 (TCP 127.0.0.1:5000 -> 127.0.0.1:6000)", "socket #1 (TCP 127.0.0.1:0 listening, port chosen by the system)" */
export function socketLabel(s: SocketState): string {
  const ends = s.remoteAddress ? `${s.localAddress ?? '?'} -> ${s.remoteAddress}` : (s.localAddress ?? '');
  const state = s.phase === 'listening' ? ' listening' : '';
  const port = isSystemChosenPort(s.localAddress) ? ', port chosen by the system' : '';
  return `socket #${s.id.slice(1)} (${socketKindLabel(s)}${ends ? ' ' + ends : ''}${state}${port})`;
}

/** "a", "a and b", "a, b and c" */
export function andList(items: readonly string[]): string {
  return items.length <= 1 ? (items[0] ?? '') : `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
}

export function plural(n: number, one: string, many = one + 's'): string {
  return `${n} ${n === 1 ? one : many}`;
}
