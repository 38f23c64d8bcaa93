/** The catalogue of finding rules: stable ids, default severity, a title (debugger exception filters use it) and the rule in Winsock terms. */

import type { HookedApi } from '../apis';
import type { RuleId, Severity } from './types';

/** A hooked API, or any ('*'). */
type Trigger = HookedApi | '*';

export interface RuleInfo {
  readonly id: RuleId;
  readonly severity: Severity;
  readonly title: string;
  readonly rule: string;
  /** The hooked APIs whose return can raise it ('*': any); a debugger stops after these calls to catch it live. */
  readonly triggers: readonly Trigger[];
  /**
   * APIs whose return raises it only when the call failed ('*': any): a live debugger needs to stop after these calls
   * only when they fail, which the in-process stubs test themselves (successful calls never leave the process).
   */
  readonly failureTriggers?: readonly Trigger[];
}

const IMPORT: Trigger[] = ['WSASocketA', 'WSASocketW'];
const DUPLICATE: Trigger[] = ['WSADuplicateSocketA', 'WSADuplicateSocketW'];
const SELECT: Trigger[] = ['WSAEventSelect', 'WSAAsyncSelect'];
const CLOSE: Trigger[] = ['closesocket', 'WSACleanup'];

export const RULES: readonly RuleInfo[] = [
  { id: 'registration-cancelled', severity: 'error', title: 'Event registration cancelled', rule: 'Issuing WSAEventSelect or WSAAsyncSelect through any shared descriptor cancels any previous event registration for the socket, regardless of which descriptor made it.' , triggers: SELECT },
  { id: 'protocol-info-reused', severity: 'error', title: 'Protocol info reused', rule: 'The special WSAPROTOCOL_INFO returned by WSADuplicateSocket can only be used once by the target process.' , triggers: IMPORT },
  { id: 'imported-by-wrong-process', severity: 'error', title: 'Imported by the wrong process', rule: 'WSADuplicateSocket prepares the WSAPROTOCOL_INFO for the process named by dwProcessId; only that process may import it.' , triggers: IMPORT },
  { id: 'handoff-never-imported', severity: 'error', title: 'Handoff never imported', rule: 'A WSAPROTOCOL_INFO that is never passed to WSASocket leaves a duplicate in the target that keeps the underlying socket open.' , triggers: [] },
  { id: 'duplicate-failed', severity: 'error', title: 'WSADuplicateSocket failed', rule: 'WSADuplicateSocket returned SOCKET_ERROR; WSAGetLastError says why.' , triggers: DUPLICATE },
  { id: 'import-failed', severity: 'error', title: 'Import failed', rule: 'WSASocket(FROM_PROTOCOL_INFO) returned INVALID_SOCKET; WSAGetLastError says why.' , triggers: IMPORT },
  { id: 'overlapped-flag-missing', severity: 'error', title: 'WSA_FLAG_OVERLAPPED missing on import', rule: 'If the source process uses socket() (or WSA_FLAG_OVERLAPPED) to create the socket, the destination process must pass WSA_FLAG_OVERLAPPED to its WSASocket call.' , triggers: IMPORT },
  { id: 'shared-state-changed', severity: 'warning', title: 'Shared state changed by another process', rule: 'All state of a socket is held in common across its descriptors: an option, the blocking mode or the shutdown state set through one descriptor is seen through all of them.' , triggers: ['setsockopt', 'ioctlsocket', 'WSAIoctl', 'shutdown', ...SELECT] },
  { id: 'source-kept-open', severity: 'error', title: 'Source kept its descriptor open', rule: 'The underlying socket remains open until closesocket is called on the last remaining descriptor: a source that keeps its copy keeps the connection alive after the target closes.' , triggers: CLOSE },
  { id: 'use-after-close', severity: 'error', title: 'Descriptor used after close', rule: 'closesocket deallocates the descriptor in its process; later calls through it are invalid.' , triggers: ['*'] },
  { id: 'foreign-descriptor', severity: 'error', title: 'Descriptor from another process', rule: 'A socket descriptor is valid only in the process that owns it; another process must import it with WSADuplicateSocket and WSASocket.' , triggers: ['*'] },
  { id: 'qos-socket-duplicated', severity: 'error', title: 'QOS socket duplicated', rule: 'WSADuplicateSocket cannot be used on a QOS-enabled socket.' , triggers: DUPLICATE },
  { id: 'layered-provider', severity: 'warning', title: 'Layered service provider in the chain', rule: 'A protocol chain longer than one means a layered service provider sits above the base provider and takes part in the duplication.' , triggers: [...DUPLICATE, ...IMPORT] },
  { id: 'winsock-not-initialised', severity: 'error', title: 'Winsock call before WSAStartup', rule: 'A successful WSAStartup must occur before using any other Winsock function; Windows fails the call with WSANOTINITIALISED.' , triggers: ['*'] },
  { id: 'error-caused-by-other-process', severity: 'error', title: 'Call failed because of another process', rule: 'A call fails, or a wait times out, because of socket state another process holding the socket changed: its blocking mode, its shutdown, or the event registration it cancelled; or a call fails with WSAENOTSOCK on a descriptor that belongs to another process.', triggers: ['WSAWaitForMultipleEvents'], failureTriggers: ['*'] },
  { id: 'call-failed', severity: 'info', title: 'Winsock call failed', rule: 'A hooked Winsock call returned an error.' , triggers: ['*'] },
  { id: 'records-lost', severity: 'warning', title: 'Capture lost records', rule: 'The capture could not keep every call: the model saw fewer events than happened.' , triggers: [] },
  { id: 'descriptor-closed', severity: 'info', title: 'Descriptor closed, socket stays open', rule: 'closesocket on a shared descriptor deallocates that descriptor only; the underlying socket remains open.' , triggers: CLOSE },
  { id: 'socket-closed', severity: 'info', title: 'Socket closed', rule: 'closesocket on the last remaining descriptor closes the underlying socket.' , triggers: CLOSE },
];

const BY_ID = new Map(RULES.map((r) => [r.id, r]));

export function ruleInfo(id: RuleId): RuleInfo {
  const info = BY_ID.get(id);
  if (!info) throw new Error(`unknown rule ${id}`);
  return info;
}
