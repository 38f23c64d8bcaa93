import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TraceBuilder, tcpProtocolInfo } from '../../tracer/trace/builder';
import { assertNone, assertOne, findingsOf, run } from '../support/expect';
import { S, SOURCE, T, TARGET, sharedSocket } from '../support/scenarios';

const FIONBIO = 0x8004667e;

const shared = sharedSocket;

describe('shared-state-changed: all state of a socket is held in common across its descriptors', () => {
  it('target sets FIONBIO; the source descriptor becomes non-blocking too', () => {
    const { trace, target, imp } = shared();
    const flip = target.call('ioctlsocket', { s: T, cmd: FIONBIO, argp: '0x5ffe00', value: 1 }, { result: 0 });
    const model = run(trace);
    const f = assertOne(model, 'shared-state-changed', 'warning', [flip]);
    assert.equal(f.message, 'target.exe (pid 512) set socket #1 (TCP ? -> 127.0.0.1:5000) non-blocking with ioctlsocket(FIONBIO=1) through its descriptor 0x2b8; the blocking mode is shared by every descriptor of the socket, so descriptor 0x1a4 in source.exe (pid 364) is non-blocking too.');
    assert.ok(imp > 0);
    assert.equal(model.sockets()[0].nonBlocking, true);
  });

  it('WSAEventSelect in one process puts the socket in non-blocking mode for the other', () => {
    const { trace, target } = shared();
    const sel = target.eventSelect(T, '0x88', 1);
    assert.match(assertOne(run(trace), 'shared-state-changed', 'warning', [sel]).message, /called WSAEventSelect through its descriptor 0x2b8, which sets socket #1 .* non-blocking; .* so descriptor 0x1a4 in source\.exe \(pid 364\) is non-blocking too\.$/);
  });

  it('setsockopt through one descriptor is seen through the other', () => {
    const { trace, target } = shared();
    const set = target.call('setsockopt', { s: T, level: 0xffff, optname: 0x1002, optval: 65536, optlen: 4 }, { result: 0 });
    const model = run(trace);
    assert.match(assertOne(model, 'shared-state-changed', 'warning', [set]).message, /set SOL_SOCKET\/SO_RCVBUF = 65536 on socket #1 .* with setsockopt through its descriptor 0x2b8; socket options are shared .* sees SOL_SOCKET\/SO_RCVBUF = 65536 too\.$/);
    assert.deepEqual(model.sockets()[0].options.map((o) => [o.optname, o.value]), [[0x1002, 65536]]);
  });

  it('shutdown in the source shuts the connection for the target', () => {
    const { trace, source } = shared();
    const sd = source.call('shutdown', { s: S, how: 1 }, { result: 0 });
    const model = run(trace);
    assertOne(model, 'shared-state-changed', 'warning', [sd]);
    assert.equal(model.sockets()[0].shutdownSend, true);
  });

  it('options set before the handoff, or after the other process closed, are not shared changes', () => {
    const trace = new TraceBuilder();
    const source = trace.start(SOURCE, 'source.exe');
    const target = trace.start(TARGET, 'target.exe', SOURCE);
    source.socket(S);
    source.call('setsockopt', { s: S, level: 6, optname: 1, optval: 1, optlen: 4 }, { result: 0 });
    const info = tcpProtocolInfo(1);
    source.duplicate(S, TARGET, info);
    target.importSocket(T, info);
    source.close(S);
    target.call('ioctlsocket', { s: T, cmd: FIONBIO, argp: '0x5ffe00', value: 1 }, { result: 0 });
    assertNone(run(trace), 'shared-state-changed');
  });

  it('setting the blocking mode it already has changes nothing', () => {
    const { trace, target } = shared();
    target.call('ioctlsocket', { s: T, cmd: FIONBIO, argp: '0x5ffe00', value: 0 }, { result: 0 });
    assertNone(run(trace), 'shared-state-changed');
  });
});

describe('source-kept-open: the socket stays open until its last descriptor is closed', () => {
  it('target closes its connection while the source still holds its copy', () => {
    const { trace, target, exp } = shared();
    const close = target.close(T);
    const f = assertOne(run(trace), 'source-kept-open', 'error', [exp, close]);
    assert.match(f.message, /the connection does not end/);
  });

  it('a target that exits without closing is the same bug', () => {
    const { trace, target } = shared();
    const exit = target.exit();
    assertOne(run(trace), 'source-kept-open', 'error', [exit]);
  });

  it('source closes after the handoff: fine', () => {
    const { trace, source, target } = shared();
    source.close(S);
    target.close(T);
    assertNone(run(trace), 'source-kept-open');
  });

  it('a listening socket the parent keeps for its workers is not a kept connection', () => {
    const { trace, target } = shared({ listening: true });
    target.close(T);
    assertNone(run(trace), 'source-kept-open');
  });
});

describe('use-after-close and foreign-descriptor: a descriptor is valid only in its process, until closed', () => {
  it('a call through a closed descriptor is reported', () => {
    const { trace, source } = shared();
    const close = source.close(S);
    const late = source.call('setsockopt', { s: S, level: 6, optname: 1, optval: 1, optlen: 4 }, { result: -1, error: 10038 });
    const model = run(trace);
    assertOne(model, 'use-after-close', 'error', [close, late]);
  });

  it('a SOCKET value reused by a new socket is valid again', () => {
    const { trace, source } = shared();
    source.close(S);
    source.socket(S);
    source.connect(S);
    assertNone(run(trace), 'use-after-close');
  });

  it('passing the SOCKET value itself to another process is reported', () => {
    const trace = new TraceBuilder();
    const source = trace.start(SOURCE, 'source.exe');
    const target = trace.start(TARGET, 'target.exe', SOURCE);
    const create = source.socket(S);
    const use = target.call('send', { s: S, len: 4, flags: 0 }, { result: -1, error: 10038 });
    assert.match(assertOne(run(trace), 'foreign-descriptor', 'error', [create, use]).message, /never created or imported/);
  });
});

describe('closing: descriptors, process exit, WSACleanup', () => {
  it('process exit closes every descriptor the process still holds', () => {
    const { trace, source, target } = shared();
    source.close(S);
    const exit = target.exit();
    const model = run(trace);
    assertOne(model, 'socket-closed', 'info', [exit]);
    assert.match(findingsOf(model, 'socket-closed')[0].message, /^target\.exe \(pid 512\) exited, which closed its descriptor 0x2b8, the last descriptor of socket #1 \(TCP \? -> 127\.0\.0\.1:5000\), so the socket closes\.$/);
  });

  it('the last WSACleanup of a process deallocates its sockets', () => {
    const { trace, source, target } = shared();
    const cleanup = source.call('WSACleanup', {}, { result: 0 });
    target.close(T);
    const model = run(trace);
    assertOne(model, 'descriptor-closed', 'info', [cleanup]);
    assertOne(model, 'socket-closed', 'info', []);
  });

  it('a failed call that has no rule of its own is reported as call-failed', () => {
    const { trace, source } = shared();
    const bind = source.call('bind', { s: S, name: '0.0.0.0:80', namelen: 16 }, { result: -1, error: 10048 });
    assert.match(assertOne(run(trace), 'call-failed', 'info', [bind]).message, /WSAEADDRINUSE/);
  });
});
