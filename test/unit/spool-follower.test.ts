import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, test } from 'node:test';
import { SpoolFollower } from '../../tracer/capture/spool';
import { TraceFormatError, readTrace, type TraceEvent, type TraceHeader } from '../../tracer/trace/index';
import { ringRecords } from '../../tracer/win32/inproc/ring';
import { ringChunkLine } from '../../tracer/win32/inproc/ring-chunk';
import { RingRecordsWriter, ringRecordsFileOf } from '../../tracer/win32/inproc/ring-records';
import { FakeRing } from '../support/fake-ring';

const tempDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sockshare-spool-'));
after(() => fs.rmSync(tempDir, { recursive: true, force: true }));
let files = 0;
/** A spool and the trace written from it. */
function freshPair(): { spool: string; trace: string } {
  const trace = path.join(tempDir, `${++files}.sockshare.jsonl`);
  return { spool: `${trace}.spool`, trace };
}

const header: TraceHeader = { format: 'sockshare-trace', version: 1, startTime: '2026-01-02T03:04:05.678Z', hostOs: 'linux', tracerVersion: '0.1.0', capture: { mode: 'inprocess' } };
const start: TraceEvent = { seq: 1, timeNs: 0, kind: 'process-start', pid: 40, parentPid: 0, image: 'C:\\server.exe', commandLine: 'server.exe' };
const call: TraceEvent = { seq: 2, timeNs: 10, kind: 'api', phase: 'call', pid: 40, tid: 44, api: 'closesocket', args: { s: 0x1a4 }, caller: { module: 'server.exe', offset: 0x1234 } };
const ret: TraceEvent = { seq: 3, timeNs: 20, kind: 'api', phase: 'return', pid: 40, tid: 44, api: 'closesocket', callSeq: 2, result: 0 };
const output: TraceEvent = { seq: 4, timeNs: 30, kind: 'output', pid: 40, stream: 'stdout', text: 'served "kind":"api"\n' };
const line = (value: unknown) => `${JSON.stringify(value)}\n`;

/** A chunk of one closesocket call and its return, as the agent writes it: its records to the spool's records file, its line returned. */
function spooledChunk(spool: string): string {
  const ring = new FakeRing(16);
  ring.ret(ring.call(0, 44, [0x1a4n]), 0n, 0);
  const records = new RingRecordsWriter(ringRecordsFileOf(spool));
  const at = records.append(ringRecords(ring.bytes, 16, 0, 2));
  records.close();
  return ringChunkLine({ ringChunk: 1, seq: 2, count: 2, lastTimeNs: 0, knownNow: 15, processes: [{ pid: 40, start: 0, next: 2, at, fresh: true, apis: ['closesocket'], modules: [['server.exe', '0x140000000', 0x10000]] }] });
}

async function traceEvents(file: string): Promise<TraceEvent[]> {
  const events: TraceEvent[] = [];
  for await (const event of readTrace(file)) events.push(event);
  return events;
}

describe("following the agent's spool into the trace", () => {
  test('before the agent has created the spool there is nothing to read, no error and no trace yet', () => {
    const { spool, trace } = freshPair();
    assert.deepEqual(new SpoolFollower(spool, trace).readNew(), []);
    assert.equal(fs.existsSync(trace), false);
  });

  test('a spool that holds its header alone (a run that recorded nothing) leaves no trace', () => {
    const { spool, trace } = freshPair();
    fs.writeFileSync(spool, line(header));
    const follower = new SpoolFollower(spool, trace);
    assert.deepEqual(follower.readNew(), []);
    follower.close(true);
    assert.equal(fs.existsSync(trace), false);
  });

  test('each read writes the lines completed since the last and hands on their events; a line cut mid-write waits for its end', async () => {
    const { spool, trace } = freshPair();
    const follower = new SpoolFollower(spool, trace);
    const callLine = line(call);
    fs.writeFileSync(spool, line(header) + line(start) + callLine.slice(0, 25));
    assert.deepEqual(follower.readNew(), [start]);
    fs.appendFileSync(spool, callLine.slice(25));
    assert.deepEqual(follower.readNew(), [call]);
    assert.deepEqual(follower.readNew(), [], 'nothing new: nothing read twice');
    fs.appendFileSync(spool, line(ret) + line(output));
    assert.deepEqual(follower.readNew(), [ret, output]);
    assert.equal(follower.eventCount, 4);
    assert.deepEqual(await traceEvents(trace), [start, call, ret, output], 'the trace holds every event, flushed at each read');
    follower.close(true);
    assert.equal(fs.existsSync(spool), false, 'a spool wholly in the trace is removed');
  });

  test('a follower that wants only some kinds gets those; every line still reaches the trace, even one that quotes a kind in its text', async () => {
    const { spool, trace } = freshPair();
    fs.writeFileSync(spool, [header, start, call, ret, output].map(line).join(''));
    const follower = new SpoolFollower(spool, trace, { kinds: ['output', 'process-start'] });
    assert.deepEqual(follower.readNew(), [start, output]);
    assert.equal(follower.eventCount, 4);
    follower.close();
    assert.deepEqual(await traceEvents(trace), [start, call, ret, output]);
  });

  test("a ring chunk becomes its events in the trace, between the lines around it, in seq order", async () => {
    const { spool, trace } = freshPair();
    const chunk = spooledChunk(spool);
    fs.writeFileSync(spool, line(header) + line(start) + `${chunk}\n` + line(output));
    const follower = new SpoolFollower(spool, trace);
    const events = follower.readNew();
    follower.close();
    assert.deepEqual(events, await traceEvents(trace));
    assert.deepEqual(
      events.map((e) => `${e.seq} ${e.kind === 'api' ? `${e.api} ${e.phase}` : e.kind}`),
      ['1 process-start', '2 closesocket call', '3 closesocket return', '4 output'],
    );
    assert.deepEqual(events[1].kind === 'api' && events[1].phase === 'call' ? [events[1].args, events[1].caller] : undefined, [{ s: 0x1a4 }, { module: 'server.exe', offset: 0x1234 }]);
  });

  test('a spool wholly in the trace is removed with its records file; a kept one keeps both', () => {
    const kept = freshPair();
    fs.writeFileSync(kept.spool, line(header) + line(start) + `${spooledChunk(kept.spool)}\n`);
    const keeping = new SpoolFollower(kept.spool, kept.trace);
    keeping.readNew();
    keeping.close();
    assert.deepEqual([fs.existsSync(kept.spool), fs.existsSync(ringRecordsFileOf(kept.spool))], [true, true]);
    const removed = freshPair();
    fs.writeFileSync(removed.spool, line(header) + line(start) + `${spooledChunk(removed.spool)}\n`);
    const removing = new SpoolFollower(removed.spool, removed.trace);
    removing.readNew();
    removing.close(true);
    assert.deepEqual([fs.existsSync(removed.spool), fs.existsSync(ringRecordsFileOf(removed.spool))], [false, false]);
  });

  test("a ring chunk whose records file is gone is an error naming the spool's line and the records file; what came before it is in the trace", async () => {
    const { spool, trace } = freshPair();
    const chunk = spooledChunk(spool);
    fs.rmSync(ringRecordsFileOf(spool));
    fs.writeFileSync(spool, line(header) + line(start) + `${chunk}\n`);
    const follower = new SpoolFollower(spool, trace);
    assert.throws(() => follower.readNew(), (error: unknown) => error instanceof TraceFormatError && error.message.includes(`${spool}:3`) && error.message.includes(`${ringRecordsFileOf(spool)} cannot be read`));
    follower.close();
    assert.deepEqual(await traceEvents(trace), [start]);
  });

  test('events the client got from the agent are not handed on again when the spool is read at a stop; the rest are', async () => {
    const { spool, trace } = freshPair();
    const chunk = spooledChunk(spool);
    const later = { ...output, seq: 5, text: 'later\n' };
    fs.writeFileSync(spool, line(header) + line(start) + `${chunk}\n` + line(output) + line(later));
    const follower = new SpoolFollower(spool, trace, { kinds: ['output', 'process-start'] });
    assert.deepEqual(follower.notHandedOn([start, output]), [start, output]);
    assert.equal(fs.existsSync(trace), false, 'nothing read from the spool yet');
    assert.deepEqual(follower.readNew(), [later], 'only the event the agent did not send');
    assert.deepEqual(follower.notHandedOn([later]), [], 'sent after the spool handed it on: not again');
    assert.equal(follower.eventCount, 5);
    assert.deepEqual(
      (await traceEvents(trace)).map((e) => `${e.seq} ${e.kind === 'api' ? `${e.api} ${e.phase}` : e.kind}`),
      ['1 process-start', '2 closesocket call', '3 closesocket return', '4 output', '5 output'],
    );
    follower.close(true);
  });

  test('a line no reader would accept is an error naming the spool and its line; what came before it is in the trace', async () => {
    const { spool, trace } = freshPair();
    fs.writeFileSync(spool, line(header) + line(start) + line({ ...call, seq: 1 }));
    const events: TraceEvent[] = [];
    const follower = new SpoolFollower(spool, trace);
    assert.throws(() => follower.readNew(events), (error: unknown) => error instanceof TraceFormatError && error.message.includes(`${spool}:3`));
    assert.deepEqual(events, [start]);
    follower.close();
    assert.deepEqual(await traceEvents(trace), [start]);
  });
});
