/**
 * The adversarial pass: orderings real programs produce, each with the error and warning findings the rules give it
 * and the Winsock behaviour the rule assumes (`assumes`), with where Wine behaves otherwise (`wine`).
 */

import { TraceBuilder, tcpProtocolInfo, type ProcessHandle } from '../../tracer/trace/builder';

export interface Ordering {
  readonly name: string;
  /** The error and warning findings, as "rule/severity", in any order. */
  readonly expected: readonly string[];
  readonly assumes: string;
  readonly wine?: string;
  readonly build: () => TraceBuilder;
}

const SRC = 364;
const A = 600;
const B = 604;
const C = 608;
const S = 0x1a4;
const T = 0x2b8;

/** A source and workers A, B, C (as many as `workers`), each past WSAStartup. */
function world(workers = 1): { trace: TraceBuilder; src: ProcessHandle; a: ProcessHandle; b: ProcessHandle; c: ProcessHandle } {
  const trace = new TraceBuilder();
  const src = trace.start(SRC, 'C:\\app\\server.exe');
  const [a, b, c] = [A, B, C].slice(0, workers).map((pid, i) => trace.start(pid, `C:\\app\\worker-${'abc'[i]}.exe`, SRC));
  for (const p of [src, a, b, c]) p?.startup();
  return { trace, src, a, b, c };
}

/** The source has a listening (or connected) socket S. */
function serve(src: ProcessHandle, connected = false): void {
  src.socket(S);
  if (connected) src.connect(S);
  else src.listen(S);
}

const info = tcpProtocolInfo;

export const ORDERINGS: readonly Ordering[] = [
  { name: 'three processes relay: source -> A, A re-exports its descriptor to B; everyone closes', expected: [],
    assumes: 'A descriptor obtained by import is a descriptor like any other and can be duplicated again.',
    build: () => { const { trace, src, a, b } = world(2); serve(src, true); src.duplicate(S, A, info(1)); a.importSocket(T, info(1)); src.close(S); a.duplicate(T, B, info(2)); b.importSocket(T, info(2)); a.close(T); b.close(T); return trace; } },
  { name: 'source exits without closesocket after the import (listening socket)', expected: [],
    assumes: 'Process exit closes every descriptor the process still holds; the socket stays open for the other holders.',
    build: () => { const { trace, src, a } = world(); serve(src); src.duplicate(S, A, info(1)); a.importSocket(T, info(1)); src.exit(); a.close(T); return trace; } },
  { name: 'source exits without closesocket, connected, then the target closes', expected: [],
    assumes: 'The source\'s exit released its descriptor, so the target\'s close is the last one and ends the connection.',
    build: () => { const { trace, src, a } = world(); serve(src, true); src.duplicate(S, A, info(1)); a.importSocket(T, info(1)); src.exit(); a.close(T); return trace; } },
  { name: 'target exits without closesocket while the source keeps its connected descriptor', expected: ['source-kept-open/error'],
    assumes: 'The underlying socket stays open until the last descriptor closes: the connection outlives the target.',
    build: () => { const { trace, src, a } = world(); serve(src, true); src.duplicate(S, A, info(1)); a.importSocket(T, info(1)); a.exit(); return trace; } },
  { name: 'target exits before importing', expected: ['handoff-never-imported/error'],
    assumes: 'WSADuplicateSocket already made the duplicate for the target; never imported, it leaks there until the target exits.',
    wine: 'Wine duplicates the handle into the target at WSADuplicateSocket time, as the model assumes.',
    build: () => { const { trace, src, a } = world(); serve(src); src.duplicate(S, A, info(1)); a.exit(); src.close(S); return trace; } },
  { name: 'the trace ends before the import', expected: ['handoff-never-imported/error'],
    assumes: 'An export not imported by the end is reported at the end.',
    build: () => { const { trace, src } = world(); serve(src); src.duplicate(S, A, info(1)); return trace; } },
  { name: 'descriptor value reused: the source closes S, makes a new socket with the same value and hands that one over', expected: [],
    assumes: 'A SOCKET value names a new socket once closesocket deallocated the old descriptor.',
    build: () => { const { trace, src, a } = world(); src.socket(S); src.close(S); serve(src); src.duplicate(S, A, info(1)); a.importSocket(T, info(1)); src.close(S); a.close(T); return trace; } },
  { name: 'the target\'s descriptor has the same value as the source\'s', expected: [],
    assumes: 'Descriptor values are per process: equal values in two processes are unrelated.',
    wine: 'Wine often gives the target the same small handle value (0x34 in both workers of samples/prefork).',
    build: () => { const { trace, src, a } = world(); serve(src); src.duplicate(S, A, info(1)); a.importSocket(S, info(1)); src.close(S); a.close(S); return trace; } },
  { name: 'the target uses the source\'s descriptor value without importing', expected: ['foreign-descriptor/error'],
    assumes: 'A descriptor is valid only in its own process.',
    build: () => { const { trace, src, a } = world(); serve(src, true); a.send(S); return trace; } },
  { name: 'the source sends through its descriptor after closing it', expected: ['use-after-close/error'],
    assumes: 'closesocket deallocates the descriptor in its process.',
    build: () => { const { trace, src } = world(); serve(src, true); src.close(S); src.send(S, 10038); return trace; } },
  { name: 'WSADuplicateSocket fails (WSAEINVAL), the source retries and the target imports', expected: ['duplicate-failed/error'],
    assumes: 'A failed WSADuplicateSocket produces no structure: the retry is the one export.',
    build: () => { const { trace, src, a } = world(); serve(src); src.duplicate(S, A, null, 10022); src.duplicate(S, A, info(1)); a.importSocket(T, info(1)); return trace; } },
  { name: 'the import fails with WSAEMFILE and the target retries', expected: ['import-failed/error'],
    assumes: 'Only a successful WSASocket uses the WSAPROTOCOL_INFO; a failed one leaves it to be used.',
    build: () => { const { trace, src, a } = world(); serve(src); src.duplicate(S, A, info(1)); a.importSocket(T, info(1), 1, 10024); a.importSocket(T, info(1)); return trace; } },
  { name: 'the target imports twice', expected: ['protocol-info-reused/error'],
    assumes: 'The special WSAPROTOCOL_INFO can only be used once by the target process.',
    wine: 'Wine lets the second import succeed and returns the same handle.',
    build: () => { const { trace, src, a } = world(); serve(src); src.duplicate(S, A, info(1)); a.importSocket(T, info(1)); a.importSocket(T, info(1)); return trace; } },
  { name: 'the target imports, closes, and imports again', expected: ['protocol-info-reused/error'],
    assumes: 'A used structure stays used after the descriptor it gave is closed.',
    build: () => { const { trace, src, a } = world(); serve(src); src.duplicate(S, A, info(1)); a.importSocket(T, info(1)); a.close(T); a.importSocket(T, info(1)); return trace; } },
  { name: 'one structure made for A is sent to A and B; both import', expected: ['protocol-info-reused/error', 'imported-by-wrong-process/error'],
    assumes: 'The structure is made for dwProcessId and usable once: B both reuses it and is the wrong process.',
    build: () => { const { trace, src, a, b } = world(2); serve(src); src.duplicate(S, A, info(1)); a.importSocket(T, info(1)); b.importSocket(T, info(1)); return trace; } },
  { name: 'pre-fork with three workers, byte-equal structures, imported in the order C, A, B', expected: [],
    assumes: 'Each import belongs to the export made for the importing process.',
    wine: 'Under Wine the three structures are byte-equal (same target-side handle value); on Windows they differ.',
    build: () => { const { trace, src, a, b, c } = world(3); serve(src); for (const pid of [A, B, C]) src.duplicate(S, pid, info(7)); c.importSocket(T, info(7)); a.importSocket(T, info(7)); b.importSocket(T, info(7)); src.close(S); return trace; } },
  { name: 'pre-fork, worker A crashes before importing, B imports', expected: ['handoff-never-imported/error'],
    assumes: 'A\'s duplicate leaks with A; B\'s import is B\'s own even when the bytes are equal.',
    build: () => { const { trace, src, a, b } = world(2); serve(src); src.duplicate(S, A, info(7)); src.duplicate(S, B, info(7)); a.exit(3); b.importSocket(T, info(7)); src.close(S); return trace; } },
  { name: 'the target clears the source\'s registration with WSAEventSelect(s, 0, 0)', expected: ['shared-state-changed/warning', 'registration-cancelled/error'],
    assumes: 'Issuing WSAEventSelect through any shared descriptor cancels the previous registration, even with no events; WSAEventSelect sets the socket non-blocking for every holder.',
    build: () => { const { trace, src, a } = world(); serve(src, true); src.duplicate(S, A, info(1)); a.importSocket(T, info(1)); src.eventSelect(S, '0x44', 0x21); a.eventSelect(T, '0x0', 0); return trace; } },
  { name: 'the owner clears its own registration through the same descriptor', expected: ['shared-state-changed/warning'],
    assumes: 'WSAEventSelect with no events through the registering descriptor is how a program ends its registration (silent); the first WSAEventSelect set the shared socket non-blocking (the warning).',
    build: () => { const { trace, src, a } = world(); serve(src, true); src.duplicate(S, A, info(1)); a.importSocket(T, info(1)); src.eventSelect(S, '0x44', 0x21); src.eventSelect(S, '0x44', 0); return trace; } },
  { name: 'WSAAsyncSelect in the source, then WSAAsyncSelect in the target', expected: ['registration-cancelled/error'],
    assumes: 'WSAAsyncSelect is subject to the same one-registration rule; both already run non-blocking, so the mode does not change.',
    build: () => { const { trace, src, a } = world(); serve(src, true); src.asyncSelect(S, '0x10a2', 0x401, 0x21); src.duplicate(S, A, info(1)); a.importSocket(T, info(1)); a.asyncSelect(T, '0x20b4', 0x402, 0x21); return trace; } },
  { name: 'cancelled, the owner registers again (cancelling the target\'s), its wait times out', expected: ['shared-state-changed/warning', 'registration-cancelled/error', 'registration-cancelled/error'],
    assumes: 'A cancellation ends when its owner registers again; the re-registration cancels the other\'s in turn.',
    build: () => { const { trace, src, a } = world(); serve(src, true); src.duplicate(S, A, info(1)); a.importSocket(T, info(1)); src.eventSelect(S, '0x44', 1); a.eventSelect(T, '0x88', 1); src.eventSelect(S, '0x44', 1); src.wait('0x44', true); return trace; } },
  { name: 'the target cancels, the source waits on its event and times out', expected: ['shared-state-changed/warning', 'registration-cancelled/error', 'error-caused-by-other-process/warning'],
    assumes: 'The cancelled registration\'s event is never signalled again.',
    wine: 'Measured under Wine 8: the source\'s event is no longer signalled (notes).',
    build: () => { const { trace, src, a } = world(); serve(src, true); src.duplicate(S, A, info(1)); a.importSocket(T, info(1)); src.eventSelect(S, '0x44', 1); a.eventSelect(T, '0x88', 1); src.wait('0x44', true); return trace; } },
  { name: 'the source sets FIONBIO=1 after the handoff; the target recv fails with WSAEWOULDBLOCK', expected: ['shared-state-changed/warning', 'error-caused-by-other-process/error'],
    assumes: 'The blocking mode is socket state, held in common across descriptors.',
    build: () => { const { trace, src, a } = world(); serve(src, true); src.duplicate(S, A, info(1)); a.importSocket(T, info(1)); src.fionbio(S, true); a.recv(T, 10035); return trace; } },
  { name: 'the source sets FIONBIO=1, the target sets it back to 0, then its recv fails with WSAEWOULDBLOCK', expected: ['shared-state-changed/warning', 'shared-state-changed/warning'],
    assumes: 'The last change visible to the failing process is the cause; a blocking socket\'s WSAEWOULDBLOCK is no one else\'s doing.',
    build: () => { const { trace, src, a } = world(); serve(src, true); src.duplicate(S, A, info(1)); a.importSocket(T, info(1)); src.fionbio(S, true); a.fionbio(T, false); a.recv(T, 10035); return trace; } },
  { name: 'FIONBIO=1 before the handoff; the target recv fails with WSAEWOULDBLOCK', expected: ['error-caused-by-other-process/error'],
    assumes: 'A duplicated socket keeps its state: the target inherits non-blocking mode it never set.',
    build: () => { const { trace, src, a } = world(); serve(src, true); src.fionbio(S, true); src.duplicate(S, A, info(1)); a.importSocket(T, info(1)); a.recv(T, 10035); return trace; } },
  { name: 'the target shuts down sending; the source send fails with WSAESHUTDOWN', expected: ['shared-state-changed/warning', 'error-caused-by-other-process/error'],
    assumes: 'The shutdown state is held in common across descriptors.',
    build: () => { const { trace, src, a } = world(); serve(src, true); src.duplicate(S, A, info(1)); a.importSocket(T, info(1)); a.shutdown(T, 1); src.send(S, 10058); return trace; } },
  { name: 'the source calls WSACleanup before the target imports', expected: [],
    assumes: 'WSACleanup deallocates the source\'s descriptors; the pending duplicate keeps the socket open for the import.',
    build: () => { const { trace, src, a } = world(); serve(src); src.duplicate(S, A, info(1)); src.cleanup(); a.importSocket(T, info(1)); a.close(T); return trace; } },
  { name: 'a socket call after the last WSACleanup', expected: ['winsock-not-initialised/error'],
    assumes: 'Each WSACleanup undoes one WSAStartup; after the last, calls fail with WSANOTINITIALISED.',
    wine: 'Before WSAStartup Wine answers WSAENOTSOCK where Windows answers WSANOTINITIALISED.',
    build: () => { const { trace, src } = world(0); src.cleanup(); src.call('socket', { af: 2, type: 1, protocol: 6 }, { result: -1, error: 10093 }); return trace; } },
  { name: 'two WSAStartup, one WSACleanup, then a socket call', expected: [],
    assumes: 'Winsock counts WSAStartup calls; only the last WSACleanup ends the process\'s use of it.',
    build: () => { const { trace, src } = world(0); src.startup(); src.cleanup(); src.socket(S); return trace; } },
  { name: 'pid reused: the target exits after importing, a new process gets its pid and makes its own socket with the same value', expected: [],
    assumes: 'A pid and a descriptor value both name something new once their process exited.',
    build: () => { const { trace, src, a } = world(); serve(src); src.duplicate(S, A, info(1)); a.importSocket(T, info(1)); a.close(T); a.exit(); const again = trace.start(A, 'C:\\app\\other.exe', SRC); again.startup(); again.socket(T); again.close(T); return trace; } },
  { name: 'a process start for a pid still running (its exit was not recorded) settles the old process\'s pending export', expected: ['handoff-never-imported/error'],
    assumes: 'Windows reuses a pid only after its process exited: the old target is gone, its duplicate with it.',
    build: () => { const { trace, src } = world(); serve(src); src.duplicate(S, A, info(1)); const again = trace.start(A, 'C:\\app\\other.exe', SRC); again.startup(); return trace; } },
  { name: 'the capture lost records', expected: ['records-lost/warning'],
    assumes: 'Findings after lost records may be incomplete; the model says so.',
    build: () => { const { trace } = world(0); trace.events.push({ seq: trace.lastSeq + 1, timeNs: 1e9, pid: SRC, kind: 'records-lost', count: 3 }); return trace; } },
  { name: 'a layered provider in the protocol chain', expected: ['layered-provider/warning'],
    assumes: 'A chain longer than one means a layered service provider takes part in the duplication.',
    build: () => { const { trace, src, a } = world(); serve(src); src.duplicate(S, A, info(1, [1005, 1001])); a.importSocket(T, info(1, [1005, 1001])); return trace; } },
  { name: 'socket() in the source, the import without WSA_FLAG_OVERLAPPED', expected: ['overlapped-flag-missing/error'],
    assumes: 'If the source uses socket(), the destination must pass WSA_FLAG_OVERLAPPED.',
    build: () => { const { trace, src, a } = world(); serve(src); src.duplicate(S, A, info(1)); a.importSocket(T, info(1), 0); return trace; } },
  { name: 'the same socket handed to the same target twice (two structures), both imported', expected: [],
    assumes: 'Each WSADuplicateSocket call makes a new export; the target may hold two descriptors of one socket.',
    build: () => { const { trace, src, a } = world(); serve(src); src.duplicate(S, A, info(1)); a.importSocket(T, info(1)); src.duplicate(S, A, info(2)); a.importSocket(T + 4, info(2)); return trace; } },
  { name: 'the same socket exported twice to the same target with byte-equal structures, both imported', expected: [],
    assumes: 'Two exports for one process: each import takes the oldest unused one.',
    wine: 'Wine gives byte-equal structures here and returns the same handle to both imports.',
    build: () => { const { trace, src, a } = world(); serve(src); src.duplicate(S, A, info(3)); src.duplicate(S, A, info(3)); a.importSocket(T, info(3)); a.importSocket(T, info(3)); return trace; } },
  { name: 'the wrong process imports and fails, then the right target imports', expected: ['imported-by-wrong-process/error', 'import-failed/error'],
    assumes: 'A failed import does not use the structure; the right target\'s import settles the handoff.',
    build: () => { const { trace, src, a, b } = world(2); serve(src); src.duplicate(S, A, info(1)); b.importSocket(T, info(1), 1, 10022); a.importSocket(T, info(1)); return trace; } },
  { name: 'a call the model does not know, before WSAStartup, through a closed descriptor', expected: ['use-after-close/error'],
    assumes: 'Nothing is assumed of an unknown API but that its `s` names a descriptor of the process.',
    build: () => { const trace = new TraceBuilder(); const p = trace.start(SRC, 'C:\\app\\server.exe'); p.startup(); p.socket(S); p.close(S); p.cleanup(); p.call('getsockname', { s: S }, { result: -1, error: 10093 }); return trace; } },
  { name: 'the target exits without closesocket after its import; the source closes (listening)', expected: [],
    assumes: 'Exit closes the imported descriptor; source-kept-open concerns connected sockets only.',
    build: () => { const { trace, src, a } = world(); serve(src); src.duplicate(S, A, info(1)); a.importSocket(T, info(1)); a.exit(); src.close(S); return trace; } },
];
