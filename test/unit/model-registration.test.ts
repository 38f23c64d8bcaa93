import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TraceBuilder, tcpProtocolInfo } from '../../tracer/trace/builder';
import { assertNone, assertOne, run } from '../support/expect';
import { S, SOURCE, T, TARGET, sharedSocket } from '../support/scenarios';

const FD_READ = 0x01;
const FD_WRITE = 0x02;
const FD_CLOSE = 0x20;

const shared = sharedSocket;

describe('registration-cancelled: WSAEventSelect/WSAAsyncSelect through any descriptor cancels the previous registration', () => {
  it('source registers FD_READ; target registers FD_WRITE; the source registration is cancelled', () => {
    const { trace, source, target } = shared();
    const mine = source.eventSelect(S, '0x44', FD_READ | FD_CLOSE);
    const theirs = target.eventSelect(T, '0x88', FD_WRITE);
    const model = run(trace);
    const f = assertOne(model, 'registration-cancelled', 'error', [mine, theirs]);
    assert.match(f.message, /cancelled the WSAEventSelect registration for FD_READ\|FD_CLOSE that source\.exe \(pid 364\) made through descriptor 0x1a4/);
    assert.deepEqual(f.pids, [SOURCE, TARGET]);
    const [socket] = model.sockets();
    assert.equal(socket.registration?.pid, TARGET);
    assert.equal(socket.registration?.mask, FD_WRITE);
    assert.equal(socket.cancelledRegistrations.length, 1);
    assert.equal(socket.cancelledRegistrations[0].cancelledBy?.seq, theirs);
  });

  it('WSAAsyncSelect in the target cancels WSAEventSelect in the source', () => {
    const { trace, source, target } = shared();
    const mine = source.eventSelect(S, '0x44', FD_READ);
    const theirs = target.call('WSAAsyncSelect', { s: T, hWnd: '0x10010', wMsg: 0x401, lEvent: FD_READ }, { result: 0 });
    assertOne(run(trace), 'registration-cancelled', 'error', [mine, theirs]);
  });

  it('deregistering (lNetworkEvents 0) through the other descriptor cancels too', () => {
    const { trace, source, target } = shared();
    source.eventSelect(S, '0x44', FD_READ);
    target.eventSelect(T, '0x0', 0);
    const model = run(trace);
    assertOne(model, 'registration-cancelled', 'error', []);
    assert.equal(model.sockets()[0].registration, null);
  });

  it('two descriptors of one socket in the same process: a warning', () => {
    const trace = new TraceBuilder();
    const p = trace.start(SOURCE, 'server.exe');
    p.startup();
    p.socket(S);
    const info = tcpProtocolInfo(1);
    p.duplicate(S, SOURCE, info);
    p.importSocket(T, info);
    p.eventSelect(S, '0x44', FD_READ);
    p.eventSelect(T, '0x48', FD_READ);
    assertOne(run(trace), 'registration-cancelled', 'warning', []);
  });

  it('registering again through the same descriptor only changes the mask', () => {
    const { trace, source } = shared();
    source.eventSelect(S, '0x44', FD_READ);
    source.eventSelect(S, '0x44', FD_READ | FD_WRITE);
    const model = run(trace);
    assertNone(model, 'registration-cancelled');
    assert.equal(model.sockets()[0].registration?.mask, FD_READ | FD_WRITE);
  });

  it('a registration ends with the descriptor that made it', () => {
    const { trace, source, target } = shared();
    source.eventSelect(S, '0x44', FD_READ);
    source.close(S);
    target.eventSelect(T, '0x88', FD_READ);
    assertNone(run(trace), 'registration-cancelled');
  });
});
