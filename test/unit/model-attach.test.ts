import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TraceBuilder, tcpProtocolInfo } from '../../tracer/trace/builder';
import { validateEvent } from '../../tracer/trace/validate';
import { assertClean, assertNone, assertOne, run } from '../support/expect';

const SERVER = 300;
const WORKER = 400;
const OTHER = 500;
const LISTENER = 0x1a4;

/** A process the tracer attached to while it ran: its process-start says `attached`. */
function startAttached(trace: TraceBuilder, pid: number, image: string) {
  const handle = trace.start(pid, image);
  const start = trace.events.find((e) => e.kind === 'process-start' && e.pid === pid);
  if (start?.kind === 'process-start') start.attached = true;
  return handle;
}

describe('a process attached to while running', () => {
  it('a pre-fork server attached to after it listened hands its listener to a worker: no error or warning', () => {
    const trace = new TraceBuilder();
    const server = startAttached(trace, SERVER, 'C:\\app\\server.exe');
    const worker = trace.start(WORKER, 'C:\\app\\server.exe', SERVER);
    worker.startup();
    const info = tcpProtocolInfo(1);
    server.duplicate(LISTENER, WORKER, info);
    worker.importSocket(0x2b8, info);
    worker.accept(0x2b8, 0x2c0);
    server.close(LISTENER);
    const model = run(trace);
    assertClean(model);
    assertNone(model, 'winsock-not-initialised');
    const opened = model.state.allDescriptors().find((d) => d.pid === SERVER);
    assert.equal(opened?.origin, 'attach');
    assert.equal(model.handoffs().length, 1);
    assert.deepEqual(model.handoffs()[0].imports.map((i) => i.call.pid), [WORKER]);
  });

  it('a SOCKET value another process also holds is taken as open at attach, not as a foreign descriptor', () => {
    const trace = new TraceBuilder();
    const other = trace.start(OTHER, 'C:\\app\\other.exe');
    other.startup();
    other.socket(LISTENER);
    const server = startAttached(trace, SERVER, 'C:\\app\\server.exe');
    server.send(LISTENER);
    assertNone(run(trace), 'foreign-descriptor');
  });

  it('the same calls in a process seen from its start are still a foreign descriptor', () => {
    const trace = new TraceBuilder();
    const other = trace.start(OTHER, 'C:\\app\\other.exe');
    other.startup();
    other.socket(LISTENER);
    const server = trace.start(SERVER, 'C:\\app\\server.exe');
    server.startup();
    const sent = server.send(LISTENER);
    assertOne(run(trace), 'foreign-descriptor', 'error', [sent]);
  });

  it('a value Winsock answers WSAENOTSOCK for is not taken as a descriptor; a closed one is still used after close', () => {
    const trace = new TraceBuilder();
    const server = startAttached(trace, SERVER, 'C:\\app\\server.exe');
    server.close(0x999, 10038);
    server.close(LISTENER);
    const again = server.send(LISTENER);
    const model = run(trace);
    assert.equal(model.state.allDescriptors().filter((d) => d.pid === SERVER).length, 1);
    const found = assertOne(model, 'use-after-close', 'error', [again]);
    assert.match(found.message, /open before the tracer attached/);
  });

  it('the trace format accepts `attached: true` on process-start and refuses another value', () => {
    const event = { seq: 1, timeNs: 1, kind: 'process-start', pid: 1, parentPid: 0, image: 'a.exe', commandLine: 'a', attached: true };
    validateEvent(event);
    assert.throws(() => validateEvent({ ...event, attached: 'yes' }), /attached/);
  });
});
