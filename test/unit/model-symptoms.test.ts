import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assertNone, assertOne, run } from '../support/expect';
import { S, T, sharedSocket } from '../support/scenarios';

const FIONBIO = 0x8004667e;

const shared = sharedSocket;

describe('error-caused-by-other-process: the symptom in one process, linked to its cause in the other', () => {
  it('target sets FIONBIO; the source\'s recv fails with WSAEWOULDBLOCK instead of blocking', () => {
    const { trace, source, target } = shared();
    const flip = target.call('ioctlsocket', { s: T, cmd: FIONBIO, argp: '0x5ffe00', value: 1 }, { result: 0 });
    const recv = source.call('recv', { s: S, buf: '0x5ff000', len: 64, flags: 0 }, { result: -1, error: 10035 });
    const f = assertOne(run(trace), 'error-caused-by-other-process', 'error', [flip, recv]);
    assert.match(f.message, /recv in source\.exe \(pid 364\) failed with WSAEWOULDBLOCK .* because target\.exe \(pid 512\) put the socket in non-blocking mode with ioctlsocket/);
  });

  it("target registers with WSAEventSelect, which makes the socket non-blocking; the source's recv fails with WSAEWOULDBLOCK", () => {
    const { trace, source, target } = shared();
    const register = target.eventSelect(T, '0x88', 1);
    const recv = source.call('recv', { s: S, buf: '0x5ff000', len: 64, flags: 0 }, { result: -1, error: 10035 });
    assert.match(assertOne(run(trace), 'error-caused-by-other-process', 'error', [register, recv]).message, /non-blocking mode with WSAEventSelect/);
  });

  it('a process that set non-blocking mode itself gets WSAEWOULDBLOCK as it asked', () => {
    const { trace, source } = shared();
    source.call('ioctlsocket', { s: S, cmd: FIONBIO, argp: '0x5ffe00', value: 1 }, { result: 0 });
    source.call('recv', { s: S, buf: '0x5ff000', len: 64, flags: 0 }, { result: -1, error: 10035 });
    assertNone(run(trace), 'error-caused-by-other-process');
  });

  it('target shuts the socket down for sending; the source\'s send fails with WSAESHUTDOWN', () => {
    const { trace, source, target } = shared();
    const sd = target.call('shutdown', { s: T, how: 1 }, { result: 0 });
    const send = source.call('send', { s: S, buf: '0x5ff000', len: 4, flags: 0 }, { result: -1, error: 10058 });
    assert.match(assertOne(run(trace), 'error-caused-by-other-process', 'error', [sd, send]).message, /shut the socket down/);
  });

  it('the cancelled side\'s wait times out: its event is never signalled', () => {
    const { trace, source, target } = shared();
    const mine = source.eventSelect(S, '0x44', 1);
    const theirs = target.eventSelect(T, '0x88', 1);
    const wait = source.call('WSAWaitForMultipleEvents', { cEvents: 1, events: '0x44', fWaitAll: 0, dwTimeout: 3000, fAlertable: 0 }, { result: 258 });
    const f = assertOne(run(trace), 'error-caused-by-other-process', 'warning', [mine, theirs, wait]);
    assert.match(f.message, /timed out waiting on event 0x44, .* cancelled that registration with WSAEventSelect/);
  });

  it('a wait that times out on an event still registered says nothing', () => {
    const { trace, source } = shared();
    source.eventSelect(S, '0x44', 1);
    source.call('WSAWaitForMultipleEvents', { cEvents: 1, events: '0x44', fWaitAll: 0, dwTimeout: 3000, fAlertable: 0 }, { result: 258 });
    assertNone(run(trace), 'error-caused-by-other-process');
  });

  it("the target uses the source's SOCKET value without importing it: its call fails with WSAENOTSOCK, linked to the source's descriptor", () => {
    const { trace, source, target } = shared();
    const created = trace.events.find((e) => e.kind === 'api' && e.phase === 'call' && e.pid === source.pid && e.api === 'socket')?.seq;
    const call = target.call('setsockopt', { s: S, level: 0xffff, optname: 0x1001, optval: 8192, optlen: 4 }, { result: -1, error: 10038 });
    const f = assertOne(run(trace), 'error-caused-by-other-process', 'error', [call]);
    assert.ok(created !== undefined && f.events.includes(created), 'names the event that created the descriptor in the source');
    assert.match(f.message, /setsockopt in target\.exe \(pid 512\) failed with WSAENOTSOCK \(10038\): SOCKET .* was never valid in this process; it is .*source\.exe/);
  });

  it('a value this process never had fails with WSAENOTSOCK, and no other process has it: nothing to link', () => {
    const { trace, target } = shared();
    target.call('setsockopt', { s: 0x9999, level: 0xffff, optname: 0x1001, optval: 8192, optlen: 4 }, { result: -1, error: 10038 });
    assertNone(run(trace), 'error-caused-by-other-process');
  });
});
