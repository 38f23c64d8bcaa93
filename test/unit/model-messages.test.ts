import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TraceBuilder, tcpProtocolInfo } from '../../tracer/trace/builder';
import { localAddressLabel, socketLabel } from '../../tracer/model';
import { assertOne, findingsOf, run } from '../support/expect';
import { OTHER, S, SOURCE, T, TARGET, sharedSocket } from '../support/scenarios';

const FIONBIO = 0x8004667e;

/** A finding message is one or more sentences: a capital or a name first, a full stop last, no "(…)." glued to an error text. */
function assertSentence(message: string): void {
  assert.match(message, /^[A-Za-z#]/, message);
  assert.match(message, /[.]$/, message);
  assert.doesNotMatch(message, /\.\s*\(/, `no parenthesis after a full stop: ${message}`);
  assert.doesNotMatch(message, /\b1 (records|errors|warnings|descriptors|entries)\b/, `singular after 1: ${message}`);
}

describe('finding messages read as sentences in Winsock terms', () => {
  it('shared-state-changed for FIONBIO=0 says the socket is blocking again for the other holder', () => {
    const { trace, target } = sharedSocket();
    target.call('ioctlsocket', { s: T, cmd: FIONBIO, argp: '0x5ffe00', value: 1 }, { result: 0 });
    const back = target.call('ioctlsocket', { s: T, cmd: FIONBIO, argp: '0x5ffe00', value: 0 }, { result: 0 });
    const f = findingsOf(run(trace), 'shared-state-changed').find((x) => x.events.includes(back));
    assert.match(f?.message ?? '', /set socket #1 .* blocking with ioctlsocket\(FIONBIO=0\) through its descriptor 0x2b8; .* is blocking too\.$/);
  });

  it('shared-state-changed names every other holder, joined with "and", with a plural verb', () => {
    const { trace, source, target } = sharedSocket();
    const third = trace.start(OTHER, 'C:\\app\\third.exe', SOURCE);
    const info = tcpProtocolInfo(2);
    source.duplicate(S, OTHER, info);
    third.importSocket(0x3c0, info);
    const flip = target.call('ioctlsocket', { s: T, cmd: FIONBIO, argp: '0x5ffe00', value: 1 }, { result: 0 });
    const f = assertOne(run(trace), 'shared-state-changed', 'warning', [flip]);
    assert.match(f.message, /so descriptor 0x1a4 in source\.exe \(pid 364\) and descriptor 0x3c0 in third\.exe \(pid 777\) are non-blocking too\.$/);
  });

  it('shared-state-changed for shutdown(SD_SEND) says the other holder can no longer send', () => {
    const { trace, source } = sharedSocket();
    const sd = source.call('shutdown', { s: S, how: 1 }, { result: 0 });
    const f = assertOne(run(trace), 'shared-state-changed', 'warning', [sd]);
    assert.equal(f.message, 'source.exe (pid 364) shut down socket #1 (TCP ? -> 127.0.0.1:5000) for sending with shutdown(SD_SEND) through its descriptor 0x1a4; the shutdown state is shared by every descriptor of the socket, so descriptor 0x2b8 in target.exe (pid 512) can no longer send through it either.');
  });

  it('descriptor-closed says who closed which descriptor and who still holds the socket', () => {
    const { trace, source } = sharedSocket();
    const close = source.close(S);
    const f = assertOne(run(trace), 'descriptor-closed', 'info', [close]);
    assert.equal(f.message, 'source.exe (pid 364) closed its descriptor 0x1a4 with closesocket. Only that descriptor is deallocated: socket #1 (TCP ? -> 127.0.0.1:5000) stays open, held by descriptor 0x2b8 in target.exe (pid 512).');
  });

  it('source-kept-open names the target process once, then the source descriptor', () => {
    const { trace, target } = sharedSocket();
    const close = target.close(T);
    const f = assertOne(run(trace), 'source-kept-open', 'error', [close]);
    assert.match(f.message, /^target\.exe \(pid 512\) closed its imported descriptor 0x2b8 with closesocket, but the source still holds descriptor 0x1a4 in source\.exe \(pid 364\): /);
  });

  it('duplicate-failed puts the hint after the error text as its own sentence', () => {
    const trace = new TraceBuilder();
    const source = trace.start(SOURCE, 'source.exe');
    source.startup();
    source.socket(S);
    const dup = source.duplicate(S, 4242, null, 10022);
    const f = assertOne(run(trace), 'duplicate-failed', 'error', [dup]);
    assert.equal(f.message, 'WSADuplicateSocketW in source.exe (pid 364) failed to duplicate descriptor 0x1a4 for pid 4242: WSAEINVAL (10022): One of the specified parameters was invalid. dwProcessId 4242 is not a running process in this trace.');
  });

  it('records-lost counts one record in the singular', () => {
    const trace = new TraceBuilder();
    trace.start(SOURCE, 'source.exe');
    trace.events.push({ seq: trace.lastSeq + 1, timeNs: 1e6, pid: SOURCE, kind: 'records-lost', count: 1 });
    assert.match(assertOne(run(trace), 'records-lost', 'warning', []).message, /^The capture lost 1 record in source\.exe/);
  });

  it('every message of a busy handoff scenario is a sentence', () => {
    const { trace, source, target } = sharedSocket();
    target.call('ioctlsocket', { s: T, cmd: FIONBIO, argp: '0x5ffe00', value: 1 }, { result: 0 });
    source.call('setsockopt', { s: S, level: 6, optname: 1, optval: 1, optlen: 4 }, { result: 0 });
    source.call('recv', { s: S, buf: '0x1000', len: 16, flags: 0 }, { result: -1, error: 10035 });
    source.duplicate(S, 4242, null, 10022);
    target.close(T);
    source.close(S);
    source.call('send', { s: S, buf: '0x1000', len: 4, flags: 0 }, { result: -1, error: 10038 });
    source.exit();
    target.exit();
    const model = run(trace);
    assert.ok(model.findings().length >= 6);
    for (const f of model.findings()) assertSentence(f.message);
  });
});

describe('a socket bound to port 0: the system chooses the port and the trace does not record which', () => {
  function listening(name: string) {
    const trace = new TraceBuilder();
    const p = trace.start(SOURCE, 'server.exe');
    p.startup();
    p.socket(S);
    p.call('bind', { s: S, name, namelen: 16 }, { result: 0 });
    p.call('listen', { s: S, backlog: 1 }, { result: 0 });
    return run(trace).sockets()[0];
  }

  it('the label of a listener bound to 127.0.0.1:0 says the system chose the port', () => {
    const socket = listening('127.0.0.1:0');
    assert.equal(socket.localAddress, '127.0.0.1:0');
    assert.equal(socketLabel(socket), 'socket #1 (TCP 127.0.0.1:0 listening, port chosen by the system)');
    assert.equal(localAddressLabel(socket), '127.0.0.1:0 (port chosen by the system)');
  });

  it('an IPv6 address bound to port 0 is recognised too', () => {
    assert.equal(localAddressLabel(listening('[::1]:0')), '[::1]:0 (port chosen by the system)');
  });

  it('a listener bound to a port of its own shows that port and nothing more', () => {
    const socket = listening('0.0.0.0:8080');
    assert.equal(socketLabel(socket), 'socket #1 (TCP 0.0.0.0:8080 listening)');
    assert.equal(localAddressLabel(socket), '0.0.0.0:8080');
  });

  it('a socket with no bind has no local address to show', () => {
    const { trace } = sharedSocket();
    assert.equal(localAddressLabel(run(trace).sockets()[0]), undefined);
    assert.ok(TARGET > 0);
  });
});
