import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, test } from 'node:test';
import { TraceFormatError, type TraceEvent, type TraceHeader } from '../../tracer/trace/index';
import { TraceTail } from '../../tracer/trace/tail';

const tempDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sockshare-tail-'));
after(() => fs.rmSync(tempDir, { recursive: true, force: true }));
let files = 0;
const freshPath = () => path.join(tempDir, `${++files}.sockshare.jsonl`);

const header: TraceHeader = { format: 'sockshare-trace', version: 1, startTime: '2026-01-02T03:04:05.678Z', hostOs: 'linux', tracerVersion: '0.1.0', capture: { mode: 'inprocess' } };
const start: TraceEvent = { seq: 1, timeNs: 0, kind: 'process-start', pid: 40, parentPid: 0, image: 'C:\\server.exe', commandLine: 'server.exe' };
const call: TraceEvent = { seq: 2, timeNs: 10, kind: 'api', phase: 'call', pid: 40, tid: 44, api: 'closesocket', args: { s: 0x1a4 }, caller: { module: 'server.exe', offset: 0x1234 } };
const ret: TraceEvent = { seq: 3, timeNs: 20, kind: 'api', phase: 'return', pid: 40, tid: 44, api: 'closesocket', callSeq: 2, result: 0 };
const output: TraceEvent = { seq: 4, timeNs: 30, kind: 'output', pid: 40, stream: 'stdout', text: 'served "kind":"api"\n' };
const line = (value: unknown) => `${JSON.stringify(value)}\n`;

describe('following a trace file as the agent writes it', () => {
  test('before the agent has created the file there is nothing to read, and no error', () => {
    assert.deepEqual(new TraceTail(freshPath()).readNew(), []);
  });

  test('each read gives the events of the lines completed since the last; a line cut mid-write waits for its end', () => {
    const file = freshPath();
    const tail = new TraceTail(file);
    const callLine = line(call);
    fs.writeFileSync(file, line(header) + line(start) + callLine.slice(0, 25));
    assert.deepEqual(tail.readNew(), [start]);
    fs.appendFileSync(file, callLine.slice(25));
    assert.deepEqual(tail.readNew(), [call]);
    assert.deepEqual(tail.readNew(), [], 'nothing new: nothing read twice');
    fs.appendFileSync(file, line(ret) + line(output));
    assert.deepEqual(tail.readNew(), [ret, output]);
    assert.equal(tail.eventLines, 4);
    tail.close();
  });

  test('a follower that wants only some kinds gets those; the other lines are counted, even one that quotes a kind in its text', () => {
    const file = freshPath();
    fs.writeFileSync(file, [header, start, call, ret, output].map(line).join(''));
    const tail = new TraceTail(file, ['output', 'process-start']);
    assert.deepEqual(tail.readNew(), [start, output]);
    assert.equal(tail.eventLines, 4);
    tail.close();
  });

  test('a line no reader would accept is an error naming the file and its line; the events before it are kept', () => {
    const file = freshPath();
    fs.writeFileSync(file, line(header) + line(start) + line({ ...call, seq: 1 }));
    const events: TraceEvent[] = [];
    assert.throws(() => new TraceTail(file).readNew(events), (error: unknown) => error instanceof TraceFormatError && error.message.includes(`${file}:3`));
    assert.deepEqual(events, [start]);
  });
});
