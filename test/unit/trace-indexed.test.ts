import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, test } from 'node:test';
import { Timeline, arrayStore, type EventStore } from '../../tracer/model/timeline';
import { TraceBuilder, tcpProtocolInfo } from '../../tracer/trace/builder';
import { IndexedTraceFile } from '../../tracer/trace/indexed';
import { readTraceFile, TraceFormatError, type TraceEvent } from '../../tracer/trace/index';

const tempDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sockshare-indexed-'));
after(() => fs.rmSync(tempDir, { recursive: true, force: true }));

let fixtureCount = 0;
function fixture(text: string): string {
  const file = path.join(tempDir, `${++fixtureCount}.jsonl`);
  fs.writeFileSync(file, text);
  return file;
}

/** A few hundred events of every kind the builder makes: pairs of processes handing sockets over. */
function handoffTrace(pairs = 20): TraceBuilder {
  const trace = new TraceBuilder();
  for (let pair = 0; pair < pairs; pair++) {
    const source = trace.start(1000 + pair * 8, `C:\\svc\\front-é${pair}.exe`);
    const target = trace.start(1004 + pair * 8, 'C:\\svc\\worker.exe', source.pid);
    source.startup();
    target.startup();
    source.socket(0x100);
    source.connect(0x100);
    const info = tcpProtocolInfo(pair);
    source.duplicate(0x100, target.pid, info);
    target.importSocket(0x200, info);
    target.eventSelect(0x200, '0x44', 0x21);
    source.close(0x100);
    target.close(0x200);
    target.exit();
    source.exit(pair);
  }
  return trace;
}

/** Events with big and multibyte text, so reads cross the read-ahead blocks and one line is larger than a block. */
function outputEvents(count: number, bigAt = -1): TraceEvent[] {
  const events: TraceEvent[] = [];
  for (let seq = 1; seq <= count; seq++) {
    const text = seq - 1 === bigAt ? 'x'.repeat(600 * 1024) : `é€😀 ${'.'.repeat((seq * 37) % 1200)} ${seq}`;
    events.push({ seq, timeNs: seq * 10, pid: 4, kind: 'output', stream: 'stdout', text });
  }
  return events;
}

const headerLine = JSON.stringify(new TraceBuilder().header());
const traceText = (events: readonly unknown[]) => [headerLine, ...events.map((e) => JSON.stringify(e))].join('\n') + '\n';

function readAll(trace: IndexedTraceFile, order: number[]): TraceEvent[] {
  const events: TraceEvent[] = [];
  for (const i of order) events[i] = trace.at(i);
  return events;
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

function shuffled(values: number[], seed = 7): number[] {
  const result = [...values];
  for (let i = result.length - 1; i > 0; i--) {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    const j = seed % (i + 1);
    [result[i], result[j]] = [result[j]!, result[i]!];
  }
  return result;
}

/** Asserts that IndexedTraceFile.open rejects `text` exactly as readTraceFile does (same file, line and message). */
async function assertOpenRejectedLikeReader(text: string, message: RegExp): Promise<void> {
  const file = fixture(text);
  const expected = await readTraceFile(file).then(
    () => assert.fail('readTraceFile accepted the file'),
    (error: unknown) => error as TraceFormatError,
  );
  assert.match(expected.message, message);
  await assert.rejects(IndexedTraceFile.open(file), (error: unknown) => {
    assert.ok(error instanceof TraceFormatError, String(error));
    assert.deepEqual([error.file, error.line, error.message, error.field], [expected.file, expected.line, expected.message, expected.field]);
    return true;
  });
}

describe('IndexedTraceFile', () => {
  test('reads the same header and events as readTraceFile, in any order', async () => {
    const file = fixture(handoffTrace().toJsonl());
    const expected = await readTraceFile(file);
    assert.ok(expected.events.length > 300);
    const trace = await IndexedTraceFile.open(file);
    assert.deepEqual(trace.header, expected.header);
    assert.equal(trace.length, expected.events.length);
    const n = trace.length;
    assert.deepEqual(readAll(trace, range(n)), expected.events);
    assert.deepEqual(readAll(trace, range(n).reverse()), expected.events);
    trace.close();
    const fresh = await IndexedTraceFile.open(file);
    assert.deepEqual(readAll(fresh, shuffled(range(n))), expected.events);
    assert.equal(fresh.lineOf(0), 2);
    assert.throws(() => fresh.at(n), RangeError);
    assert.throws(() => fresh.at(-1), RangeError);
    fresh.close();
    assert.deepEqual(fresh.at(n - 1), expected.events[n - 1], 'cached events stay readable after close');
  });

  test('reads across read-ahead blocks, past the cache size, and a line longer than a block', async () => {
    const events = outputEvents(12_000, 5000);
    const file = fixture(traceText(events));
    const trace = await IndexedTraceFile.open(file);
    assert.equal(trace.length, events.length);
    for (let i = 0; i < trace.length; i++) assert.deepEqual(trace.at(i), events[i]);
    for (let i = trace.length - 1; i >= 0; i -= 1) assert.equal(trace.at(i).seq, i + 1);
    for (const i of shuffled(range(trace.length)).slice(0, 3000)) assert.deepEqual(trace.at(i), events[i]);
    trace.close();
  });

  test('CRLF line ends, trailing blank lines, an indented line and an unterminated complete last line are accepted', async () => {
    const events = handoffTrace(2).events;
    const indented = traceText(events).split('\n').map((line, i) => (i === 3 ? ` \t${line}` : line)).join('\n');
    for (const text of [traceText(events).replace(/\n/g, '\r\n') + '\r\n\n  \n', traceText(events).slice(0, -1), indented]) {
      const trace = await IndexedTraceFile.open(fixture(text));
      assert.deepEqual(readAll(trace, range(trace.length)), events);
      trace.close();
    }
    const headerOnly = await IndexedTraceFile.open(fixture(headerLine));
    assert.equal(headerOnly.length, 0);
    headerOnly.close();
  });

  test('a truncated last line is dropped with the reader\'s warning', async () => {
    const events = handoffTrace(2).events;
    const file = fixture(traceText(events).slice(0, -25));
    const expected = await readTraceFile(file);
    const warnings: TraceFormatError[] = [];
    const trace = await IndexedTraceFile.open(file, { onWarning: (w) => warnings.push(w) });
    assert.equal(trace.length, events.length - 1);
    assert.deepEqual(readAll(trace, range(trace.length)), expected.events);
    assert.equal(warnings.length, 1);
    assert.deepEqual(trace.warnings, warnings);
    assert.equal(warnings[0]!.message, expected.warnings[0]!.message);
    assert.equal(warnings[0]!.line, events.length + 1);
    assert.match(warnings[0]!.message, /truncated last line \(\d+ bytes\) ignored/);
    trace.close();
  });

  test('a malformed middle line throws TraceFormatError naming its line when read, the others stay readable', async () => {
    const events = outputEvents(3000);
    const lines = traceText(events).split('\n');
    lines[1500] = lines[1500]!.slice(0, 30); // event index 1499, line 1501: cut JSON
    lines[2000] = lines[2000]!.replace('"pid":4', '"pid":"four"'); // event index 1999, line 2001
    const file = fixture(lines.join('\n'));
    const trace = await IndexedTraceFile.open(file);
    assert.equal(trace.length, 3000);
    const isError = (line: number, message: RegExp) => (error: unknown) =>
      error instanceof TraceFormatError && error.file === file && error.line === line && message.test(error.message) && error.message.startsWith(`${file}:${line}: `);
    for (let pass = 0; pass < 2; pass++) {
      assert.throws(() => trace.at(1499), isError(1501, /invalid JSON/));
      assert.throws(() => trace.at(1999), isError(2001, /field "pid": expected an integer, got "four"/));
    }
    assert.deepEqual(trace.at(1498), events[1498]);
    assert.deepEqual(trace.at(1500), events[1500]);
    assert.deepEqual(trace.at(2999), events[2999]);
    await assert.rejects(readTraceFile(file), isError(1501, /invalid JSON/));
    trace.close();
  });

  test('a seq that does not increase is rejected when events are read in order, as by the reader', async () => {
    const events = outputEvents(40);
    events[20] = { ...events[20]!, seq: 5 };
    const file = fixture(traceText(events));
    const expected = await readTraceFile(file).catch((error: unknown) => error as TraceFormatError);
    assert.ok(expected instanceof TraceFormatError);
    const trace = await IndexedTraceFile.open(file);
    for (let i = 0; i < 20; i++) trace.at(i);
    assert.throws(() => trace.at(20), (error: unknown) => error instanceof TraceFormatError && error.message === expected.message && error.field === 'seq');
    trace.close();
    const jumped = await IndexedTraceFile.open(file);
    jumped.at(19);
    jumped.at(0); // the next read starts a new run: only the cached event 19 tells it is out of order
    assert.throws(() => jumped.at(20), /seq 5 is not greater than the previous seq 20/, 'checked against a cached neighbour');
    jumped.close();
  });

  test('indexOfSeq finds an event by seq, or the last one before it', async () => {
    const events = outputEvents(500).map((e, i) => ({ ...e, seq: 10 + i * 3 }));
    const trace = await IndexedTraceFile.open(fixture(traceText(events)));
    const timeline = new Timeline(arrayStore(events));
    for (const seq of [0, 9, 10, 11, 12, 13, 700, 1506, 1507, 1508, 5000]) {
      assert.equal(trace.indexOfSeq(seq), timeline.indexOfSeq(seq), `seq ${seq}`);
    }
    assert.equal(trace.indexOfSeq(13), 1);
    assert.equal(trace.indexOfSeq(9), -1);
    assert.equal(trace.indexOfSeq(1e9), 499);
    trace.close();
    const empty = await IndexedTraceFile.open(fixture(traceText([])));
    assert.equal(empty.indexOfSeq(1), -1);
    empty.close();
  });

  test('serves the model\'s Timeline as its EventStore', async () => {
    const builder = handoffTrace(6);
    const trace = await IndexedTraceFile.open(fixture(builder.toJsonl()));
    const store: EventStore = trace;
    const fromFile = new Timeline(store, 16);
    const inMemory = new Timeline(arrayStore(builder.events), 16);
    for (const count of [trace.length, 1, 77, 40, trace.length - 3]) {
      const [a, b] = [fromFile.after(count, true), inMemory.after(count, true)];
      assert.equal(a.seq, b.seq);
      assert.deepEqual(a.sockets(), b.sockets());
      assert.deepEqual(a.findings(), b.findings());
    }
    trace.close();
  });

  test('a missing or bad header and blank lines in the middle fail open() as in the reader', async () => {
    const events = handoffTrace(1).events;
    await assertOpenRejectedLikeReader('', /:1: empty file: no header line/);
    await assertOpenRejectedLikeReader('\n \n', /:1: empty file: no header line/);
    await assertOpenRejectedLikeReader(events.map((e) => JSON.stringify(e)).join('\n') + '\n', /:1: not a sockshare trace/);
    await assertOpenRejectedLikeReader(headerLine.slice(0, 30), /:1: invalid JSON/);
    await assertOpenRejectedLikeReader(headerLine.replace('"version":1', '"version":2') + '\n', /:1: unsupported trace version 2/);
    await assertOpenRejectedLikeReader(`\n${traceText(events)}`, /:1: blank line in the middle of the trace/);
    const lines = traceText(events).split('\n');
    lines.splice(4, 0, '', ' \r');
    await assertOpenRejectedLikeReader(lines.join('\n'), /:5: blank line in the middle of the trace/);
    await assertOpenRejectedLikeReader(`${traceText(events)}\n{"seq":`, /blank line in the middle of the trace/);
    await assert.rejects(IndexedTraceFile.open(path.join(tempDir, 'missing.jsonl')), { code: 'ENOENT' });
  });
});
