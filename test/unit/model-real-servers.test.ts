/**
 * Orderings real servers produce (issue 11): each rule as a scenario of the seeds, the correct variant silent next
 * to the buggy one.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ShareModel, modelOf } from '../../tracer/model';
import { TraceBuilder, tcpProtocolInfo } from '../../tracer/trace/builder';
import { assertClean, assertNone, assertOne, findingsOf, run } from '../support/expect';
import {
  OTHER, S, SOURCE, T, TARGET, WORKER_A, WORKER_B, cancelledThenReRegistered, failedImport, importAfterSocketClosed, ownNonBlocking,
  pidReused, preforkServer, sharedSocket,
} from '../support/scenarios';

/** What `check` keeps (no history) must find what the full model finds. */
function findingsOnly(trace: TraceBuilder) {
  const model = ShareModel.findingsOnly();
  for (const e of trace.events) model.apply(e);
  model.finish();
  return model.findings();
}

describe('pre-fork: one listener duplicated for two workers before either imports', () => {
  it('source duplicates for A then B before either imports; each imports its own; no finding', () => {
    const s = preforkServer();
    const model = run(s.trace);
    assertClean(model);
    const [forA, forB] = model.handoffs();
    assert.deepEqual(forA.imports.map((i) => i.call.seq), [s.imports.A]);
    assert.deepEqual(forB.imports.map((i) => i.call.seq), [s.imports.B]);
  });

  it('B imports before A; each still links to the export made for it; no finding', () => {
    assertClean(run(preforkServer({ order: 'B-first' }).trace));
  });

  it('distinct structures (as on Windows) link the same way; no finding', () => {
    assertClean(run(preforkServer({ sameBytes: false }).trace));
  });

  it('A imports its structure twice and B never imports: protocol-info-reused for A, handoff-never-imported for B', () => {
    const s = preforkServer({ bug: 'A-twice' });
    const model = run(s.trace);
    assertOne(model, 'protocol-info-reused', 'error', [s.exportA, s.imports.A, s.imports.A2]);
    assertOne(model, 'handoff-never-imported', 'error', [s.exportB]);
    assertNone(model, 'imported-by-wrong-process');
  });

  it("a third process imports B's structure: imported-by-wrong-process, and B's duplicate leaks", () => {
    const s = preforkServer({ bug: 'C-imports' });
    const model = run(s.trace);
    assertOne(model, 'imported-by-wrong-process', 'error', [s.imports.C]);
    assertOne(model, 'handoff-never-imported', 'error', [s.exportB]);
    assertNone(model, 'protocol-info-reused');
    assert.ok(model.handoffs().every((h) => h.targetPid === WORKER_A || h.targetPid === WORKER_B));
  });
});

describe('what the model forgets to save memory changes no finding', () => {
  it('a structure imported again after its socket closed: protocol-info-reused, in check as in the full model', () => {
    const s = importAfterSocketClosed(true);
    const model = run(s.trace);
    assertOne(model, 'protocol-info-reused', 'error', [s.exp, s.imp, s.reimport ?? -1]);
    assert.deepEqual(findingsOnly(s.trace), model.findings());
  });

  it('the same handoff without the second import: no error, in check as in the full model', () => {
    const s = importAfterSocketClosed(false);
    assertClean(run(s.trace));
    assert.deepEqual(findingsOnly(s.trace), run(s.trace).findings());
  });
});

describe('only a successful import uses the WSAPROTOCOL_INFO', () => {
  it('the target import fails with WSAENOBUFS and it retries: import-failed, no protocol-info-reused', () => {
    const s = failedImport('retry');
    const model = run(s.trace);
    assertOne(model, 'import-failed', 'error', [s.first]);
    assertNone(model, 'protocol-info-reused');
    assertNone(model, 'handoff-never-imported');
  });

  it("the right target imports after a wrong process's import failed: no protocol-info-reused, the handoff is settled", () => {
    const s = failedImport('wrongFirst');
    const model = run(s.trace);
    assertOne(model, 'imported-by-wrong-process', 'error', [s.first]);
    assert.match(findingsOf(model, 'imported-by-wrong-process')[0].message, /tried to import/);
    assertNone(model, 'protocol-info-reused');
    assertNone(model, 'handoff-never-imported');
  });

  it('the target imports successfully, then again: protocol-info-reused', () => {
    const s = failedImport('twice');
    assertOne(run(s.trace), 'protocol-info-reused', 'error', [s.exp, s.first, s.second]);
  });
});

describe('error-caused-by-other-process names the last change the failing process saw', () => {
  it('the target sets FIONBIO=1 itself after the source did; its own WSAEWOULDBLOCK blames nobody else', () => {
    const s = ownNonBlocking(true);
    const model = run(s.trace);
    assertNone(model, 'error-caused-by-other-process');
    assertOne(model, 'shared-state-changed', 'warning', [s.sourceSet]);
  });

  it('only the source set FIONBIO=1: the target WSAEWOULDBLOCK is caused by the source', () => {
    const s = ownNonBlocking(false);
    const f = assertOne(run(s.trace), 'error-caused-by-other-process', 'error', [s.sourceSet, s.recv]);
    assert.match(f.message, /because source\.exe \(pid 364\) put the socket in non-blocking mode/);
  });

  it('the source shuts down sending, then the target shuts down sending itself: its WSAESHUTDOWN is its own', () => {
    const { trace, source, target } = sharedSocket();
    source.shutdown(S, 1);
    target.shutdown(T, 1);
    target.send(T, 10058);
    assertNone(run(trace), 'error-caused-by-other-process');
  });

  it('the source shuts down sending, the target only receiving: its WSAESHUTDOWN on send is the source\'s doing', () => {
    const { trace, source, target } = sharedSocket();
    const down = source.shutdown(S, 1);
    target.shutdown(T, 0);
    const send = target.send(T, 10058);
    assertOne(run(trace), 'error-caused-by-other-process', 'error', [down, send]);
  });
});

describe('a cancelled registration stays cancelled until its owner registers again', () => {
  it('the owner registers again: its wait timing out is an ordinary timeout', () => {
    const s = cancelledThenReRegistered(true);
    const model = run(s.trace);
    assertNone(model, 'error-caused-by-other-process');
    assertOne(model, 'registration-cancelled', 'error', [s.register, s.cancel]);
  });

  it('the owner does not register again: its wait will never be signalled', () => {
    const s = cancelledThenReRegistered(false);
    const f = assertOne(run(s.trace), 'error-caused-by-other-process', 'warning', [s.register, s.cancel, s.wait]);
    assert.match(f.message, /will never be signalled/);
  });
});

describe('pid reuse: processes are identified by pid and start event', () => {
  it('the first process imports its own, the second (same pid) gets and imports a new export: no error, each labelled with its image', () => {
    const s = pidReused(false);
    const model = run(s.trace);
    assertClean(model);
    const [first, second] = model.handoffs().map((h) => model.descriptor(h.imports[0].descriptorId ?? '')?.created.seq ?? -1);
    assert.equal(model.processLabel(TARGET, first), 'target.exe (pid 512)');
    assert.equal(model.processLabel(TARGET, second), 'other.exe (pid 512)');
    assert.deepEqual(model.processes().map((p) => p.image.split('\\').pop()), ['source.exe', 'target.exe', 'other.exe']);
  });

  it('the second process imports the structure made for the first: imported-by-wrong-process, and the first never imported', () => {
    const s = pidReused(true);
    const model = run(s.trace);
    const wrong = assertOne(model, 'imported-by-wrong-process', 'error', [s.exp, s.imp]);
    assert.match(wrong.message, /duplicated for target\.exe \(pid 512\).*pid 512 now names another process/);
    assertOne(model, 'handoff-never-imported', 'error', [s.exp, s.firstExit]);
  });
});

describe('smaller gaps', () => {
  it('WSAEventSelect(s, 0, 0) through the other process descriptor clears its registration', () => {
    const { trace, source, target } = sharedSocket();
    const register = source.eventSelect(S, '0x44', 0x21);
    const clear = target.eventSelect(T, '0x0', 0);
    const f = assertOne(run(trace), 'registration-cancelled', 'error', [register, clear]);
    assert.match(f.message, /cleared the WSAEventSelect registration for FD_READ\|FD_CLOSE/);
  });

  it('WSAEventSelect twice through one descriptor replaces the registration: nothing', () => {
    const { trace, source } = sharedSocket();
    source.eventSelect(S, '0x44', 0x21);
    source.eventSelect(S, '0x44', 0x01);
    assertNone(run(trace), 'registration-cancelled');
  });

  it('WSAAsyncSelect then WSAEventSelect through one descriptor: the second cancels the first (a warning in one process)', () => {
    const { trace, source } = sharedSocket();
    const async = source.asyncSelect(S, '0x10a2', 0x401, 0x21);
    const event = source.eventSelect(S, '0x44', 0x21);
    const f = assertOne(run(trace), 'registration-cancelled', 'warning', [async, event]);
    assert.match(f.message, /window 0x10a2 is no longer sent message 1025/);
  });

  it('an API the model does not know, before WSAStartup: nothing assumed; a hooked one: winsock-not-initialised', () => {
    const trace = new TraceBuilder();
    const p = trace.start(SOURCE, 'C:\\app\\source.exe');
    p.call('getsockname', { s: S }, { result: -1, error: 10093 });
    assertNone(run(trace), 'winsock-not-initialised');
    const hooked = p.socket(S);
    assertOne(run(trace), 'winsock-not-initialised', 'error', [hooked]);
  });

  it('a call after the last WSACleanup is reported as after WSACleanup, not before WSAStartup', () => {
    const trace = new TraceBuilder();
    const p = trace.start(SOURCE, 'C:\\app\\source.exe');
    p.startup();
    const cleanup = p.cleanup();
    const late = p.call('socket', { af: 2, type: 1, protocol: 6 }, { result: -1, error: 10093 });
    const f = assertOne(run(trace), 'winsock-not-initialised', 'error', [cleanup, late]);
    assert.match(f.message, /came after WSACleanup \(event \d+\) released that process's last WSAStartup/);
  });

  it('a return that is not its call (builder-made, the reader rejects it): the model does not apply it', () => {
    const trace = new TraceBuilder();
    const p = trace.start(SOURCE, 'C:\\app\\source.exe');
    p.startup();
    const create = p.socket(S);
    (trace.events[trace.events.length - 1] as { pid: number }).pid = OTHER;
    const model = modelOf(trace.events);
    assert.equal(model.sockets().length, 0, `socket ${create} applied`);
  });

  it('import with a byte-equal structure by a process named by an older unused export links to that export', () => {
    const { trace, source, target } = sharedSocket();
    const info = tcpProtocolInfo(1);
    source.duplicate(S, TARGET, info);
    target.importSocket(T + 8, info);
    assertClean(run(trace));
    void SOURCE;
  });
});
