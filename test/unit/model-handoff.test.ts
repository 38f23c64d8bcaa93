import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TraceBuilder, tcpProtocolInfo } from '../../tracer/trace/builder';
import { assertClean, assertNone, assertOne, run } from '../support/expect';
import { OTHER, S, SOURCE, T, TARGET, tenStepHandoff } from '../support/scenarios';

function pair() {
  const trace = new TraceBuilder();
  const source = trace.start(SOURCE, 'C:\\app\\source.exe');
  const target = trace.start(TARGET, 'C:\\app\\target.exe', SOURCE);
  source.startup();
  target.startup();
  return { trace, source, target };
}

describe('the handoff (WSADuplicateSocket in the source, WSASocket FROM_PROTOCOL_INFO in the target)', () => {
  it('the ten-step handoff of the seeds produces no error or warning', () => {
    assertClean(run(tenStepHandoff().trace));
  });

  it('the import is linked to its export, and both descriptors reference one underlying socket', () => {
    const s = tenStepHandoff();
    const model = run(s.trace);
    const [handoff] = model.handoffs();
    assert.equal(handoff.exportCall.seq, s.duplicate);
    assert.equal(handoff.targetPid, TARGET);
    assert.deepEqual(handoff.imports.map((i) => i.call.seq), [s.imported]);
    const [socket] = model.sockets();
    assert.deepEqual(model.descriptorsOf(socket).map((d) => [d.pid, d.handle, d.origin]), [
      [SOURCE, S, 'WSASocket'],
      [TARGET, T, 'import'],
    ]);
  });

  it('source duplicates for the target; target imports; source closes; the socket stays open', () => {
    const { trace, source, target } = pair();
    source.socket(S);
    source.connect(S);
    const info = tcpProtocolInfo(1);
    source.duplicate(S, TARGET, info);
    target.importSocket(T, info);
    const close = source.close(S);
    const model = run(trace);
    const f = assertOne(model, 'descriptor-closed', 'info', [close]);
    assert.match(f.message, /stays open, held by descriptor 0x2b8 in target\.exe \(pid 512\)/);
    assert.equal(model.sockets()[0].closedSeq, undefined);
  });

  it('the socket closes only with its last descriptor', () => {
    const s = tenStepHandoff();
    const model = run(s.trace);
    const closed = assertOne(model, 'socket-closed', 'info', [s.targetClose]);
    assert.equal(model.sockets()[0].closedSeq, closed.seq);
  });

  it('the source may close before the target imports: the pending duplicate keeps the socket open', () => {
    const { trace, source, target } = pair();
    source.socket(S);
    source.connect(S);
    const info = tcpProtocolInfo(1);
    source.duplicate(S, TARGET, info);
    source.close(S);
    target.importSocket(T, info);
    const model = run(trace);
    assertNone(model, 'socket-closed');
    assert.match(model.findings()[0].message, /not yet imported/);
    assert.equal(model.descriptorsOf(model.sockets()[0]).filter((d) => d.closedSeq === undefined).length, 1);
  });
});

describe('protocol-info-reused: the special WSAPROTOCOL_INFO can only be used once', () => {
  it('a second import of the same structure is reported with the export and both imports', () => {
    const { trace, source, target } = pair();
    source.socket(S);
    const info = tcpProtocolInfo(7);
    const exp = source.duplicate(S, TARGET, info);
    const first = target.importSocket(T, info);
    const second = target.importSocket(T + 4, info);
    assertOne(run(trace), 'protocol-info-reused', 'error', [exp, first, second]);
  });

  it('the same bytes exported again later (the provider reused its handle value) are a new handoff, not a reuse', () => {
    const { trace, source, target } = pair();
    const info = tcpProtocolInfo(7);
    for (let cycle = 0; cycle < 3; cycle++) {
      source.socket(S);
      source.duplicate(S, TARGET, info);
      target.importSocket(T, info);
      target.close(T);
      source.close(S);
    }
    const model = run(trace);
    assertNone(model, 'protocol-info-reused');
    assert.equal(model.handoffs().filter((h) => h.imports.length === 1).length, 3);
  });

  it('two exports imported once each are fine', () => {
    const { trace, source, target } = pair();
    source.socket(S);
    const a = tcpProtocolInfo(7);
    const b = tcpProtocolInfo(8);
    source.duplicate(S, TARGET, a);
    source.duplicate(S, TARGET, b);
    target.importSocket(T, a);
    target.importSocket(T + 4, b);
    assertNone(run(trace), 'protocol-info-reused');
  });
});

describe('imported-by-wrong-process: only the process named by dwProcessId may import', () => {
  it('an import by another process is reported', () => {
    const { trace, source } = pair();
    const other = trace.start(OTHER, 'C:\\app\\other.exe', SOURCE);
    other.startup();
    source.socket(S);
    const info = tcpProtocolInfo(3);
    const exp = source.duplicate(S, TARGET, info);
    const imp = other.importSocket(0x300, info);
    const f = assertOne(run(trace), 'imported-by-wrong-process', 'error', [exp, imp]);
    assert.match(f.message, /other\.exe \(pid 777\).*for target\.exe \(pid 512\)/);
  });

  it('the named target still never imported: its exit reports the leaked duplicate', () => {
    const { trace, source, target } = pair();
    const other = trace.start(OTHER, 'C:\\app\\other.exe', SOURCE);
    source.socket(S);
    const info = tcpProtocolInfo(3);
    const exp = source.duplicate(S, TARGET, info);
    const imp = other.importSocket(0x300, info);
    const exit = target.exit();
    const f = assertOne(run(trace), 'handoff-never-imported', 'error', [exp, imp, exit]);
    assert.match(f.message, /other\.exe \(pid 777\) imported it instead/);
  });

  it('the import by the named target is not', () => {
    assertNone(run(tenStepHandoff().trace), 'imported-by-wrong-process');
  });
});

describe('handoff-never-imported: the duplicate leaks in the target and keeps the socket open', () => {
  it('the target exits without importing', () => {
    const { trace, source, target } = pair();
    source.socket(S);
    source.connect(S);
    const exp = source.duplicate(S, TARGET, tcpProtocolInfo(1));
    source.close(S);
    const exit = target.exit();
    const model = run(trace);
    const f = assertOne(model, 'handoff-never-imported', 'error', [exp, exit]);
    assert.match(f.message, /target\.exe \(pid 512\) exited without importing/);
    // The target's exit releases the leaked duplicate, the last reference.
    assertOne(model, 'socket-closed', 'info', [exit]);
  });

  it('the trace ends without an import', () => {
    const { trace, source } = pair();
    source.socket(S);
    const exp = source.duplicate(S, TARGET, tcpProtocolInfo(1));
    const f = assertOne(run(trace), 'handoff-never-imported', 'error', [exp]);
    assert.match(f.message, /the trace ended without importing/);
  });

  it('an imported handoff is settled', () => {
    assertNone(run(tenStepHandoff().trace), 'handoff-never-imported');
  });
});

describe('duplicate-failed: WSADuplicateSocket returned SOCKET_ERROR', () => {
  it('a pid that is no process gives WSAEINVAL', () => {
    const { trace, source } = pair();
    source.socket(S);
    const dup = source.duplicate(S, 4242, null, 10022);
    const f = assertOne(run(trace), 'duplicate-failed', 'error', [dup]);
    assert.match(f.message, /WSAEINVAL \(10022\).*dwProcessId 4242 is not a running process/);
  });

  it('a value that is not a socket gives WSAENOTSOCK', () => {
    const { trace, source } = pair();
    const dup = source.duplicate(0x999, TARGET, null, 10038);
    assert.match(assertOne(run(trace), 'duplicate-failed', 'error', [dup]).message, /WSAENOTSOCK \(10038\): The descriptor is not a socket/);
  });

  it('a call before WSAStartup gives WSANOTINITIALISED', () => {
    const trace = new TraceBuilder();
    const source = trace.start(SOURCE, 'source.exe');
    const dup = source.duplicate(S, TARGET, null, 10093);
    const model = run(trace);
    assert.match(assertOne(model, 'duplicate-failed', 'error', [dup]).message, /WSANOTINITIALISED.*no successful WSAStartup/);
    assertOne(model, 'winsock-not-initialised', 'error', [dup]);
  });

  it('a call before WSAStartup is reported whatever error the provider gave (Wine answers WSAENOTSOCK)', () => {
    const trace = new TraceBuilder();
    const source = trace.start(SOURCE, 'source.exe');
    const dup = source.duplicate(S, TARGET, null, 10038);
    assert.match(assertOne(run(trace), 'winsock-not-initialised', 'error', [dup]).message, /Windows fails it with WSANOTINITIALISED \(10093\); it failed with WSAENOTSOCK/);
  });
});

describe('import-failed: WSASocket(FROM_PROTOCOL_INFO) returned INVALID_SOCKET', () => {
  it('the failure names the export and decodes the error', () => {
    const { trace, source, target } = pair();
    source.socket(S);
    const info = tcpProtocolInfo(1);
    const exp = source.duplicate(S, TARGET, info);
    const imp = target.importSocket(T, info, 1, 10055);
    const f = assertOne(run(trace), 'import-failed', 'error', [exp, imp]);
    assert.match(f.message, /WSAENOBUFS \(10055\)/);
  });
});

describe('overlapped-flag-missing: if the source used socket(), the destination must pass WSA_FLAG_OVERLAPPED', () => {
  function handoff(create: 'socket' | 'WSASocket', sourceFlags: number, importFlags: number) {
    const { trace, source, target } = pair();
    if (create === 'socket') source.socket(S);
    else source.wsaSocket(S, sourceFlags);
    const info = tcpProtocolInfo(1);
    source.duplicate(S, TARGET, info);
    const imp = target.importSocket(T, info, importFlags);
    return { model: run(trace), imp };
  }

  it('socket() in the source and dwFlags 0 in the target is reported', () => {
    const { model, imp } = handoff('socket', 0, 0);
    assert.match(assertOne(model, 'overlapped-flag-missing', 'error', [imp]).message, /created it with socket\(\)/);
  });

  it('WSA_FLAG_OVERLAPPED in the source and not in the target is reported', () => {
    assertOne(handoff('WSASocket', 1, 0).model, 'overlapped-flag-missing', 'error', []);
  });

  it('the same flags on both sides are fine', () => {
    assertNone(handoff('socket', 0, 1).model, 'overlapped-flag-missing');
    assertNone(handoff('WSASocket', 0, 0).model, 'overlapped-flag-missing');
  });
});

describe('qos-socket-duplicated: WSADuplicateSocket cannot be used on a QOS-enabled socket', () => {
  it('duplicating a socket connected with a QOS is reported', () => {
    const { trace, source } = pair();
    source.socket(S);
    source.call('WSAConnect', { s: S, name: '10.0.0.1:80', lpSQOS: '0x5ff000', lpGQOS: '0x0' }, { result: 0 });
    const dup = source.duplicate(S, TARGET, tcpProtocolInfo(1));
    assertOne(run(trace), 'qos-socket-duplicated', 'error', [dup]);
  });

  it('a plain socket is not', () => {
    assertNone(run(tenStepHandoff().trace), 'qos-socket-duplicated');
  });
});

describe('layered-provider: a protocol chain longer than one means a layered service provider', () => {
  it('an export through a chain of three is reported', () => {
    const { trace, source } = pair();
    source.socket(S);
    const dup = source.duplicate(S, TARGET, tcpProtocolInfo(1, [2001, 2002, 1001]));
    assert.match(assertOne(run(trace), 'layered-provider', 'warning', [dup]).message, /chain of 3 entries \(2001 -> 2002 -> 1001\)/);
  });

  it('a base provider (chain length one) is not', () => {
    assertNone(run(tenStepHandoff().trace), 'layered-provider');
  });

  it('AcceptEx pending on a pre-created socket: that socket is the accepted connection, handed over like any other', () => {
    const { trace, source, target } = pair();
    const listener = 0x2c;
    source.socket(listener);
    source.call('listen', { s: listener, backlog: 5 }, { result: 0 });
    source.wsaSocket(S, 0x01);
    source.call('AcceptEx', { sListenSocket: listener, sAcceptSocket: S, dwReceiveDataLength: 0, lpOverlapped: '0x5ff100' }, { result: 0, error: 997 });
    const info = tcpProtocolInfo(1);
    source.duplicate(S, TARGET, info);
    target.importSocket(T, info);
    const model = run(trace);
    assertNone(model, 'call-failed'); // WSA_IO_PENDING is how an overlapped accept starts
    const accepted = model.sockets().find((s) => s.acceptedFrom !== undefined);
    assert.ok(accepted, 'the accept socket became the accepted connection');
    assert.equal(accepted.phase, 'connected');
    assert.equal(accepted.handoffIds.length, 1);
  });
});
