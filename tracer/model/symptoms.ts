/**
 * Where shared-socket bugs show: a call in one process that fails, or a wait that times out, because another process
 * holding the same socket changed its state (the blocking mode, the shutdown, the one event registration), or
 * because the descriptor it used belongs to another process.
 */

import type { CallContext } from './context';
import { descriptorLabel, handleLabel, processLabel, socketLabel } from './describe';
import { raise } from './ops';
import type { CallRef, DescriptorState, SocketState } from './types';
import { errorName } from './winsock';

const WSAENOTSOCK = 10038;
const WSAEWOULDBLOCK = 10035;
const WSAESHUTDOWN = 10058;
/** WSAWaitForMultipleEvents: no event was signalled within the timeout. */
const WSA_WAIT_TIMEOUT = 258;

function byOtherProcess(ref: CallRef | undefined, pid: number): ref is CallRef {
  return ref !== undefined && ref.pid !== pid;
}

function cause(ctx: CallContext, socket: SocketState, ref: CallRef, what: string): void {
  raise(
    ctx.state,
    'error-caused-by-other-process',
    `${ctx.where} failed with ${errorName(ctx.error ?? 0)} (${ctx.error}) because ${processLabel(ctx.state, ref.pid)} ${what} (event ${ref.seq}): ${socketLabel(socket)} is shared, and so is its state.`,
    [ref.seq, ref.returnSeq, ...ctx.events],
    { socketId: socket.id, pids: [ref.pid, ctx.pid] },
  );
}

/**
 * recv / WSARecv: WSAEWOULDBLOCK on a socket another process put in non-blocking mode. The cause is the last setting
 * of the mode before the call, whoever made it: when the failing process set it itself, it is not another's doing.
 */
export function receive(ctx: CallContext): void {
  const d = ctx.descriptor();
  const socket = d && ctx.socketOf(d);
  const setter = socket?.nonBlockingLastSetBy;
  if (!socket || ctx.ok || ctx.error !== WSAEWOULDBLOCK || !socket.nonBlocking || !byOtherProcess(setter, ctx.pid)) return;
  cause(ctx, socket, setter, `put the socket in non-blocking mode with ${setter.api}`);
}

/** send / WSASend: WSAESHUTDOWN on a socket another process shut down for sending. */
export function transmit(ctx: CallContext): void {
  const d = ctx.descriptor();
  const socket = d && ctx.socketOf(d);
  // The last shutdown of the send direction is the cause; a process's own shutdown(SD_SEND) after the other's counts.
  if (!socket || ctx.ok || ctx.error !== WSAESHUTDOWN || !socket.shutdownSend || !byOtherProcess(socket.shutdownSendBy, ctx.pid)) return;
  cause(ctx, socket, socket.shutdownSendBy, 'shut the socket down for sending');
}

/**
 * Any call failing with WSAENOTSOCK on a SOCKET value this process never had, while another process holds that value:
 * the descriptor was passed by value, and is valid only where it was created or imported.
 */
export function notASocket(ctx: CallContext): void {
  const handle = ctx.num('s', Number.NaN);
  if (ctx.ok || ctx.error !== WSAENOTSOCK || Number.isNaN(handle) || ctx.state.handleOf(ctx.pid, handle)) return;
  let owner: DescriptorState | undefined;
  for (const d of ctx.state.descriptors.values()) {
    if (d.handle !== handle || d.pid === ctx.pid) continue;
    owner = d;
    if (d.closedSeq === undefined) break; // an open one names the owner best
  }
  const socket = owner && ctx.state.sockets.get(owner.socketId);
  if (!owner || !socket) return;
  raise(
    ctx.state,
    'error-caused-by-other-process',
    `${ctx.where} failed with WSAENOTSOCK (${WSAENOTSOCK}): SOCKET ${handleLabel(handle)} was never valid in this process; it is ${descriptorLabel(ctx.state, owner)}, from ${owner.created.api} (event ${owner.created.seq}). A descriptor is valid only in its own process: hand it over with WSADuplicateSocket and import it with WSASocket.`,
    [owner.created.seq, owner.created.returnSeq, ...ctx.events],
    { socketId: socket.id, pids: [owner.pid, ctx.pid] },
  );
}

/** WSAWaitForMultipleEvents timing out on an event whose registration another process cancelled: it never comes. */
export function waitTimedOut(ctx: CallContext): void {
  if (ctx.ret.result !== WSA_WAIT_TIMEOUT) return;
  const events = String(ctx.arg('events') ?? '').split(',').filter(Boolean);
  if (events.length === 0) return;
  for (const socket of ctx.state.sockets.values()) {
    for (const cancelled of socket.cancelledRegistrations) {
      // A cancellation ends when its owner registers on the socket again (renewedBy).
      if (cancelled.pid !== ctx.pid || cancelled.renewedBy || !cancelled.event || !events.includes(cancelled.event) || !byOtherProcess(cancelled.cancelledBy, ctx.pid)) continue;
      const by = cancelled.cancelledBy;
      raise(
        ctx.state,
        'error-caused-by-other-process',
        `${ctx.where} timed out waiting on event ${cancelled.event}, registered for ${socketLabel(socket)} through ${descriptorLabel(ctx.state, { pid: cancelled.pid, handle: cancelled.handle, created: cancelled.call })} (event ${cancelled.call.seq}); ${processLabel(ctx.state, by.pid, by.seq)} cancelled that registration with ${by.api} (event ${by.seq}), so it will never be signalled.`,
        [cancelled.call.seq, by.seq, by.returnSeq, ...ctx.events],
        { socketId: socket.id, pids: [ctx.pid, by.pid], severity: 'warning' },
      );
    }
  }
}
