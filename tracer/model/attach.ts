/**
 * Processes the tracer attached to while they ran: the descriptors they opened before are not in the trace. A SOCKET
 * value such a process uses that the trace never saw it get is taken as one "open at attach": not a foreign
 * descriptor, not a use after close. What the model cannot know of it (its kind, its state, where it came from)
 * it does not assume: the socket is marked as of unknown origin.
 */

import { addDescriptor, createSocket } from './ops';
import type { ModelState } from './state';
import type { CallRef, DescriptorState } from './types';

/** WSAENOTSOCK: the value was no socket of the process even then; nothing to adopt. */
const WSAENOTSOCK = 10038;

export function isAttachedProcess(state: ModelState, pid: number): boolean {
  return state.processes.get(pid)?.attached === true;
}

/** A descriptor of an attached process met for the first time: recorded as open since before the attach. */
export function descriptorOpenAtAttach(state: ModelState, call: CallRef, handle: number, error: number | undefined): DescriptorState | undefined {
  if (error === WSAENOTSOCK || handle < 0 || !isAttachedProcess(state, call.pid)) return undefined;
  // Kind and flags unknown: zeros, which no rule reads as a fact (an import of it is not held to WSA_FLAG_OVERLAPPED).
  const socket = createSocket(state, call, { af: 0, type: 0, protocol: 0, overlapped: false, flags: 0, originUnknown: true });
  return addDescriptor(state, socket, call, handle, 'attach');
}
