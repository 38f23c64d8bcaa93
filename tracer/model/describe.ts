/** How the model names things in finding messages: processes, descriptors, sockets, handoffs. */

import type { ModelState } from './state';
import type { DescriptorState, SocketState } from './types';
import { AF_NAMES, IPPROTO_NAMES, SOCK_NAMES, hex, nameOf } from './winsock';

export function baseName(path: string): string {
  const parts = path.split(/[\\/]/);
  return parts[parts.length - 1] || path;
}

/** "source.exe (pid 364)", or "pid 364" for a process the trace never saw start. */
export function processLabel(state: ModelState, pid: number): string {
  const p = state.process(pid);
  return p ? `${baseName(p.image)} (pid ${pid})` : `pid ${pid}`;
}

export function handleLabel(handle: number): string {
  return handle < 0 ? String(handle) : hex(handle);
}

/** "descriptor 0x1a4 in source.exe (pid 364)" */
export function descriptorLabel(state: ModelState, d: Pick<DescriptorState, 'pid' | 'handle'>): string {
  return `descriptor ${handleLabel(d.handle)} in ${processLabel(state, d.pid)}`;
}

export function socketKindLabel(s: Pick<SocketState, 'af' | 'type' | 'protocol'>): string {
  if (s.type === 1 && (s.protocol === 6 || s.protocol === 0)) return s.af === 23 ? 'TCP/IPv6' : 'TCP';
  if (s.type === 2 && (s.protocol === 17 || s.protocol === 0)) return s.af === 23 ? 'UDP/IPv6' : 'UDP';
  return `${nameOf(AF_NAMES, s.af)} ${nameOf(SOCK_NAMES, s.type)} ${nameOf(IPPROTO_NAMES, s.protocol)}`;
}

/** "socket #3 (TCP 127.0.0.1:5000 -> 127.0.0.1:6000)" */
export function socketLabel(s: SocketState): string {
  const ends = s.remoteAddress ? `${s.localAddress ?? '?'} -> ${s.remoteAddress}` : (s.localAddress ?? '');
  const state = s.phase === 'listening' ? ' listening' : '';
  return `socket #${s.id.slice(1)} (${socketKindLabel(s)}${ends ? ' ' + ends : ''}${state})`;
}

export function plural(n: number, one: string, many = one + 's'): string {
  return `${n} ${n === 1 ? one : many}`;
}
