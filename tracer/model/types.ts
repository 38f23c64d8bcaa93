/** The shared-socket model's entities. Entities are immutable: a change replaces the object in its map. */

export type Severity = 'error' | 'warning' | 'info';

/** One hooked call as the model refers to it: its entry event and its return event. */
export interface CallRef {
  readonly seq: number;
  readonly returnSeq: number;
  readonly api: string;
  readonly pid: number;
  readonly tid: number;
}

export interface ProcessState {
  readonly pid: number;
  readonly parentPid: number;
  readonly image: string;
  readonly commandLine: string;
  readonly startSeq: number;
  readonly exitSeq?: number;
  readonly exitCode?: number;
  readonly threads: readonly number[];
  /** Successful WSAStartup calls not yet matched by WSACleanup. */
  readonly wsaStartups: number;
  /** The WSACleanup that released the last WSAStartup (Winsock calls after it fail with WSANOTINITIALISED). */
  readonly cleanedUpBy?: CallRef;
  /** It duplicated a socket for another process. */
  readonly exported?: boolean;
  /** It imported a socket, or was named as the target of a duplicate. */
  readonly imported?: boolean;
  /** The tracer attached to it while it ran: descriptors it opened before are met for the first time in use. */
  readonly attached?: boolean;
}

/** attach: open in a process the tracer attached to, since before the attach. */
export type DescriptorOrigin = 'socket' | 'WSASocket' | 'accept' | 'import' | 'attach';

export interface DescriptorState {
  readonly id: string;
  readonly pid: number;
  /** The SOCKET value in its process. */
  readonly handle: number;
  readonly socketId: string;
  readonly origin: DescriptorOrigin;
  readonly created: CallRef;
  /** The handoff this descriptor was imported from. */
  readonly handoffId?: string;
  readonly closedSeq?: number;
  readonly closedBy?: 'closesocket' | 'process-exit' | 'WSACleanup';
  /** The events that closed it: a closesocket's entry and return, or the process exit. */
  readonly closeEvents?: readonly number[];
}

export type SocketPhase = 'created' | 'bound' | 'listening' | 'connecting' | 'connected';

export interface Registration {
  readonly kind: 'WSAEventSelect' | 'WSAAsyncSelect';
  readonly call: CallRef;
  readonly descriptorId: string;
  readonly pid: number;
  readonly handle: number;
  /** FD_* mask (lNetworkEvents / lEvent). */
  readonly mask: number;
  /** WSAEventSelect's hEventObject, "0x…". */
  readonly event?: string;
  /** WSAAsyncSelect's hWnd ("0x…") and wMsg. */
  readonly window?: string;
  readonly message?: number;
  /** The call that cancelled this registration, if one did. */
  readonly cancelledBy?: CallRef;
  /** After a cancellation: the owner registered on the socket again, so its waits are answered again. */
  readonly renewedBy?: CallRef;
}

export interface OptionValue {
  readonly level: number;
  readonly optname: number;
  readonly value: number | string | null;
  readonly call: CallRef;
  readonly descriptorId: string;
}

export interface SocketState {
  readonly id: string;
  readonly af: number;
  readonly type: number;
  readonly protocol: number;
  readonly created: CallRef;
  /** Created by socket(), or by WSASocket with WSA_FLAG_OVERLAPPED: an import must pass WSA_FLAG_OVERLAPPED too. */
  readonly overlapped: boolean;
  /** WSASocket flags of the creating call (socket() counts as WSA_FLAG_OVERLAPPED). */
  readonly flags: number;
  /** The source of the socket was not traced: it first appears through an import. */
  readonly originUnknown: boolean;
  readonly phase: SocketPhase;
  readonly localAddress?: string;
  readonly remoteAddress?: string;
  /** Accepted from this listening socket. */
  readonly acceptedFrom?: string;
  readonly shutdownReceive: boolean;
  readonly shutdownSend: boolean;
  /** The call that shut the socket down (either direction), when one did. */
  readonly shutdownBy?: CallRef;
  /** The last call that shut the socket down for sending (SD_SEND or SD_BOTH). */
  readonly shutdownSendBy?: CallRef;
  readonly nonBlocking: boolean;
  /** The call that put the socket in its current blocking mode. */
  readonly nonBlockingSetBy?: CallRef;
  /** The last call that set the blocking mode, changing it or not: the cause a WSAEWOULDBLOCK names. */
  readonly nonBlockingLastSetBy?: CallRef;
  readonly qos: boolean;
  readonly options: readonly OptionValue[];
  readonly descriptorIds: readonly string[];
  /** Handoffs that exported this socket. */
  readonly handoffIds: readonly string[];
  /** The one live event registration; any WSAEventSelect/WSAAsyncSelect through any descriptor replaces it. */
  readonly registration: Registration | null;
  readonly cancelledRegistrations: readonly Registration[];
  readonly closedSeq?: number;
}

export interface ImportAttempt {
  readonly call: CallRef;
  readonly ok: boolean;
  readonly error?: number;
  readonly descriptorId?: string;
  readonly flags: number;
}

export interface Handoff {
  readonly id: string;
  readonly exportCall: CallRef;
  readonly sourcePid: number;
  readonly sourceHandle: number;
  readonly sourceDescriptorId?: string;
  readonly socketId?: string;
  readonly targetPid: number;
  /**
   * The start event of the process that had `targetPid` when the export was made (undefined: its start was not
   * traced). A pid is reused once its process exits: only the process started then is the target.
   */
  readonly targetStartSeq?: number;
  /** Hash of the exported WSAPROTOCOL_INFO, every field: an import with an equal structure is this export's. */
  readonly key: number;
  readonly imports: readonly ImportAttempt[];
  /** Set once a finding about this handoff's settlement (never imported / source kept open) was raised. */
  readonly settled?: 'never-imported' | 'source-kept-open';
}

export type RuleId =
  | 'registration-cancelled'
  | 'protocol-info-reused'
  | 'imported-by-wrong-process'
  | 'handoff-never-imported'
  | 'duplicate-failed'
  | 'import-failed'
  | 'overlapped-flag-missing'
  | 'shared-state-changed'
  | 'source-kept-open'
  | 'use-after-close'
  | 'foreign-descriptor'
  | 'qos-socket-duplicated'
  | 'layered-provider'
  | 'winsock-not-initialised'
  | 'error-caused-by-other-process'
  | 'call-failed'
  | 'records-lost'
  | 'descriptor-closed'
  | 'socket-closed';

export interface Finding {
  readonly rule: RuleId;
  readonly severity: Severity;
  readonly message: string;
  /** Sequence numbers of every event involved, ascending. */
  readonly events: readonly number[];
  /** The event at which the model raised it (the trace is at this point when it becomes true). */
  readonly seq: number;
  readonly socketId?: string;
  /** The socket as it was named when the finding was raised ("socket #3 (TCP …)"). */
  readonly socketLabel?: string;
  readonly pids: readonly number[];
}
