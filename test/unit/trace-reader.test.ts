import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, test } from 'node:test';
import {
  parseTraceText,
  readTrace,
  readTraceFile,
  readTraceHeader,
  TraceFormatError,
  TraceWriter,
  type ProtocolInfo,
  type TraceEvent,
  type TraceHeader,
} from '../../tracer/trace/index';

const tempDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sockshare-trace-'));
after(() => fs.rmSync(tempDir, { recursive: true, force: true }));

let fixtureCount = 0;
/** A path named trace.jsonl in a directory of its own, not yet created. */
const freshPath = (): string => path.join(fs.mkdtempSync(path.join(tempDir, `${++fixtureCount}-`)), 'trace.jsonl');

function fixture(text: string): string {
  const file = freshPath();
  fs.writeFileSync(file, text);
  return file;
}

const header: TraceHeader = {
  format: 'sockshare-trace', version: 1, startTime: '2025-01-02T03:04:05.678Z', hostOs: 'win32', tracerVersion: '0.1.0', capture: { mode: 'inject' },
};

const protocolInfo: ProtocolInfo = {
  dwServiceFlags1: 0x20066, dwServiceFlags2: 0, dwServiceFlags3: 0, dwServiceFlags4: 0, dwProviderFlags: 8,
  providerId: '{E70F1AA0-AB8B-11CF-8CA3-00805F48A192}', dwCatalogEntryId: 1001,
  protocolChain: { chainLen: 1, chainEntries: [0, 0, 0, 0, 0, 0, 0] },
  iVersion: 2, iAddressFamily: 2, iMaxSockAddr: 16, iMinSockAddr: 16, iSocketType: 1, iProtocol: 6,
  iProtocolMaxOffset: 0, iNetworkByteOrder: 0, iSecurityScheme: 0, dwMessageSize: 0, dwProviderReserved: 0,
  szProtocol: 'MSAFD Tcpip [TCP/IP]',
};

/** One event of every kind (and both api phases), seq 1..n. */
function sampleEvents(): TraceEvent[] {
  const base = (seq: number) => ({ seq, timeNs: seq * 1000, pid: 100 });
  return [
    { ...base(1), kind: 'process-start', parentPid: 4, image: 'C:\\parent.exe', commandLine: 'parent.exe' },
    { ...base(2), kind: 'thread-start', tid: 7 },
    { ...base(3), kind: 'module-load', module: 'ws2_32.dll', base: '0x7ff800000000', path: 'C:\\Windows\\System32\\ws2_32.dll' },
    { ...base(4), kind: 'api', phase: 'call', tid: 7, api: 'WSASocketW', caller: { module: 'parent.exe', offset: 0x1234 },
      args: { af: 2, type: 1, protocol: 6, lpProtocolInfo: protocolInfo, g: 0, dwFlags: 1, name: 'x', ok: true, none: null } },
    { ...base(5), kind: 'api', phase: 'return', tid: 7, api: 'WSASocketW', callSeq: 4, result: 300, out: { protocolInfo } },
    { ...base(6), kind: 'output', stream: 'stdout', text: 'hello\n' },
    { ...base(7), kind: 'records-lost', count: 3 },
    { ...base(8), kind: 'thread-exit', tid: 7, exitCode: 0 },
    { ...base(9), kind: 'process-exit', exitCode: 0 },
  ];
}

const OPTIONAL_KEYS = new Set(['path', 'internal', 'error', 'out']);

function traceText(events: readonly unknown[], head: unknown = header): string {
  return [head, ...events].map((line) => `${JSON.stringify(line)}\n`).join('');
}

/** Asserts that both the streaming and the in-memory reader reject `text` with the same TraceFormatError. */
async function assertRejected(text: string, expected: { line: number; message: RegExp; field?: string }): Promise<void> {
  const file = fixture(text);
  const check = (fileName: string) => (error: unknown): true => {
    assert.ok(error instanceof TraceFormatError, `expected a TraceFormatError, got ${String(error)}`);
    assert.equal(error.line, expected.line, error.message);
    assert.equal(error.file, fileName);
    assert.ok(error.message.startsWith(`${fileName}:${expected.line}: `));
    assert.match(error.message, expected.message);
    if (expected.field !== undefined) assert.equal(error.field, expected.field);
    return true;
  };
  await assert.rejects(readTraceFile(file), check(file));
  assert.throws(() => parseTraceText(text, 'trace.jsonl'), check('trace.jsonl'));
}

describe('reading a well-formed trace', () => {
  test('every event kind reads back equal to what was written', async () => {
    const events = sampleEvents();
    const contents = await readTraceFile(fixture(traceText(events)));
    assert.deepEqual(contents, { header, events, warnings: [] });
    assert.deepEqual(parseTraceText(traceText(events)), contents);
  });

  test('a header-only trace has no events', async () => {
    assert.deepEqual((await readTraceFile(fixture(traceText([])))).events, []);
    assert.deepEqual(parseTraceText(JSON.stringify(header)).events, []);
  });

  test('unknown extra keys are allowed', () => {
    const [first] = sampleEvents();
    const text = traceText([{ ...first, future: { a: 1 } }], { ...header, extra: 1 });
    assert.equal(parseTraceText(text).events.length, 1);
  });

  test('CRLF line ends and trailing empty lines are accepted', () => {
    const text = traceText(sampleEvents()).replace(/\n/g, '\r\n') + '\r\n\n';
    assert.equal(parseTraceText(text).events.length, sampleEvents().length);
  });

  test('a large trace streams in order across chunk boundaries, multibyte text included', async () => {
    const events: TraceEvent[] = [];
    for (let seq = 1; seq <= 20000; seq++) {
      events.push({ seq, timeNs: seq, pid: 1, kind: 'output', stream: 'stderr', text: `é€😀 line ${seq}` });
    }
    const file = fixture(traceText(events));
    let count = 0;
    for await (const event of readTrace(file)) assert.deepEqual(event, events[count++]);
    assert.equal(count, events.length);
  });

  test('the stream yields the events before a bad line, then throws; stopping early does not read on', async () => {
    const file = fixture(traceText(sampleEvents()) + 'not json\n');
    const seen: number[] = [];
    await assert.rejects(async () => {
      for await (const event of readTrace(file)) seen.push(event.seq);
    }, (error: unknown) => error instanceof TraceFormatError && error.line === 11);
    assert.deepEqual(seen, sampleEvents().map((e) => e.seq));
    for await (const event of readTrace(file)) if (event.seq === 1) break;
  });

  test('readTraceHeader reads only the first line', async () => {
    assert.deepEqual(await readTraceHeader(fixture(`${JSON.stringify(header)}\nnot json\n`)), header);
    assert.deepEqual(await readTraceHeader(fixture(JSON.stringify(header))), header);
    await assert.rejects(readTraceHeader(fixture('')), /empty file: no header line/);
  });
});

describe('malformed traces', () => {
  test('bad JSON in the middle names the file and its line', async () => {
    const lines = traceText(sampleEvents()).split('\n');
    lines[3] = lines[3]!.slice(0, 20);
    await assertRejected(lines.join('\n'), { line: 4, message: /trace\.jsonl:4: invalid JSON/ });
  });

  test('an unknown version names the file and line 1', async () => {
    await assertRejected(traceText(sampleEvents(), { ...header, version: 2 }), {
      line: 1,
      message: /trace\.jsonl:1: unsupported trace version 2; this sockshare reads version 1$/,
      field: 'version',
    });
  });

  test('a wrong format name is not a sockshare trace', async () => {
    await assertRejected(traceText([], { ...header, format: 'other-trace' }), { line: 1, message: /:1: not a sockshare trace/ });
    await assertRejected(traceText([], [1, 2]), { line: 1, message: /not a sockshare trace/ });
  });

  test('a header field of the wrong type is rejected', async () => {
    await assertRejected(traceText([], { ...header, startTime: 'yesterday' }), { line: 1, message: /field "startTime"/, field: 'startTime' });
    await assertRejected(traceText([], { ...header, hostOs: undefined }), { line: 1, message: /field "hostOs": missing/ });
  });

  test('every required field of every event kind is checked', () => {
    const events = sampleEvents();
    events.forEach((event, index) => {
      for (const key of Object.keys(event).filter((k) => !OPTIONAL_KEYS.has(k))) {
        const broken = events.map((e, i) => (i === index ? { ...e, [key]: undefined } : e));
        assert.throws(
          () => parseTraceText(traceText(broken), 'trace.jsonl'),
          (error: unknown) => error instanceof TraceFormatError && error.line === index + 2 && error.field === key,
          `${event.kind} without ${key}`,
        );
      }
    });
  });

  test('every ProtocolInfo field is checked', () => {
    for (const key of Object.keys(protocolInfo)) {
      const events = sampleEvents();
      events[3] = { ...events[3], args: { lpProtocolInfo: { ...protocolInfo, [key]: undefined } } } as TraceEvent;
      assert.throws(() => parseTraceText(traceText(events)), (error: unknown) =>
        error instanceof TraceFormatError && error.line === 5 &&
        // without protocolChain the object is no ProtocolInfo at all
        error.field === (key === 'protocolChain' ? 'args.lpProtocolInfo' : `args.lpProtocolInfo.${key}`));
    }
  });

  test('a field of the wrong type names the field and the bad value', async () => {
    const events = sampleEvents();
    (events[1] as unknown as Record<string, unknown>)['pid'] = 'abc';
    await assertRejected(traceText(events), { line: 3, message: /trace\.jsonl:3: field "pid": expected an integer, got "abc"$/, field: 'pid' });
  });

  test('ProtocolInfo values must have the right types', async () => {
    const withInfo = (info: unknown) => {
      const events = sampleEvents();
      events[4] = { ...events[4], out: { protocolInfo: info } } as TraceEvent;
      return traceText(events);
    };
    await assertRejected(withInfo({ ...protocolInfo, providerId: 'E70F1AA0' }), { line: 6, message: /GUID/, field: 'out.protocolInfo.providerId' });
    await assertRejected(withInfo({ ...protocolInfo, iProtocol: '6' }), { line: 6, message: /expected an integer, got "6"/ });
    await assertRejected(withInfo({ ...protocolInfo, protocolChain: { chainLen: 1, chainEntries: [0, 'x'] } }), {
      line: 6, message: /chainEntries\[1\]/, field: 'out.protocolInfo.protocolChain.chainEntries[1]',
    });
    await assertRejected(withInfo([1]), { line: 6, message: /expected a number, string, boolean, null or ProtocolInfo/ });
  });

  test('a truncated last line is reported and the events before it are kept', async () => {
    const events = sampleEvents();
    const full = traceText(events);
    const text = full.slice(0, full.length - 30); // cuts the last event short, no newline after it
    const warnings: TraceFormatError[] = [];
    const streamed: TraceEvent[] = [];
    for await (const event of readTrace(fixture(text), { onWarning: (w) => warnings.push(w) })) streamed.push(event);
    assert.deepEqual(streamed, events.slice(0, -1));
    assert.equal(warnings.length, 1);
    const lastLine = text.slice(text.lastIndexOf('\n') + 1);
    assert.match(warnings[0]!.message, new RegExp(`:${events.length + 1}: truncated last line \\(${Buffer.byteLength(lastLine)} bytes\\) ignored; the 8 events before it are kept$`));
    const parsed = parseTraceText(text);
    assert.deepEqual(parsed.events, streamed);
    assert.equal(parsed.warnings[0]!.line, events.length + 1);
  });

  test('a broken last line followed by a newline is an error, not a truncation', async () => {
    const full = traceText(sampleEvents());
    await assertRejected(`${full.slice(0, -30)}\n`, { line: 10, message: /invalid JSON/ });
  });

  test('a truncated header is an error', async () => {
    await assertRejected(JSON.stringify(header).slice(0, 25), { line: 1, message: /:1: invalid JSON/ });
  });

  test('a seq that does not increase is rejected', async () => {
    const events = sampleEvents();
    events[2] = { ...events[2]!, seq: 7 };
    events[3] = { ...events[3]!, seq: 5 };
    await assertRejected(traceText(events), { line: 5, message: /:5: seq 5 is not greater than the previous seq 7$/, field: 'seq' });
    events[3] = { ...events[3]!, seq: 7 };
    await assertRejected(traceText(events), { line: 5, message: /seq 7 is not greater than the previous seq 7/ });
  });

  test('an unknown kind is rejected', async () => {
    await assertRejected(traceText([{ seq: 1, timeNs: 0, pid: 1, kind: 'socket-open' }]), {
      line: 2, message: /field "kind": unknown event kind "socket-open"/, field: 'kind',
    });
    await assertRejected(traceText([{ seq: 1, timeNs: 0, pid: 1 }]), { line: 2, message: /field "kind": missing/ });
  });

  test('an api phase other than call or return is rejected', async () => {
    const events = sampleEvents();
    events[3] = { ...events[3], phase: 'enter' } as unknown as TraceEvent;
    await assertRejected(traceText(events), { line: 5, message: /field "phase": expected "call" or "return", got "enter"/, field: 'phase' });
  });

  test('a blank line in the middle names the blank line', async () => {
    const lines = traceText(sampleEvents()).split('\n');
    lines.splice(3, 0, '');
    await assertRejected(lines.join('\n'), { line: 4, message: /:4: blank line in the middle of the trace/ });
  });

  test('an empty file has no header line', async () => {
    await assertRejected('', { line: 1, message: /empty file: no header line/ });
    await assertRejected('\n\n', { line: 1, message: /empty file: no header line/ });
  });
});

describe('events the model would otherwise act on silently', () => {
  const call = (seq: number, api: string, args: Record<string, unknown>, pid = 100) => ({ seq, timeNs: seq, pid, kind: 'api', phase: 'call', tid: 7, api, args, caller: { module: 'app.exe', offset: 1 } });
  const ret = (seq: number, callSeq: number, api: string, extra: Record<string, unknown> = {}, pid = 100) => ({ seq, timeNs: seq, pid, kind: 'api', phase: 'return', tid: 7, api, callSeq, result: 0, ...extra });
  const parse = (events: unknown[]) => parseTraceText(traceText(events as TraceEvent[]), 'trace.jsonl');
  const rejects = (events: unknown[], line: number, field: string, message: RegExp) =>
    assert.throws(() => parse(events), (error: unknown) => error instanceof TraceFormatError && error.line === line && error.field === field && message.test(error.message));

  test('a closesocket without s is an error naming the line and the field', () => {
    rejects([call(1, 'closesocket', {})], 2, 'args.s', /trace\.jsonl:2: field "args\.s": missing, expected an integer \(closesocket takes it\)/);
  });

  test('a WSADuplicateSocketW without dwProcessId is an error naming the field', () => {
    rejects([call(1, 'WSADuplicateSocketW', { s: 4, lpProtocolInfo: '0x10' })], 2, 'args.dwProcessId', /dwProcessId/);
  });

  test('a successful WSADuplicateSocketW return without out.protocolInfo is an error; null (unreadable) is accepted', () => {
    const dup = call(1, 'WSADuplicateSocketW', { s: 4, dwProcessId: 8, lpProtocolInfo: '0x10' });
    rejects([dup, ret(2, 1, 'WSADuplicateSocketW')], 3, 'out.protocolInfo', /field "out\.protocolInfo": missing/);
    assert.equal(parse([dup, ret(2, 1, 'WSADuplicateSocketW', { out: { protocolInfo: null } })]).events.length, 2);
    assert.equal(parse([dup, ret(2, 1, 'WSADuplicateSocketW', { result: -1, error: 10022 })]).events.length, 2);
  });

  test("a return whose pid or api is not its call's is an error naming the field", () => {
    const sock = call(1, 'socket', { af: 2, type: 1, protocol: 6 });
    rejects([sock, ret(2, 1, 'socket', {}, 200)], 3, 'pid', /field "pid": this return has 200, but its call \(seq 1\) has 100/);
    rejects([sock, ret(2, 1, 'closesocket')], 3, 'api', /field "api": this return has "closesocket", but its call \(seq 1\) has "socket"/);
    rejects([sock, ret(2, 2, 'socket')], 3, 'callSeq', /not before this return's seq 2/);
  });

  test('an unsigned INVALID_SOCKET (2^64-1) reads as INVALID_SOCKET (-1), as a result and as an argument', () => {
    const text = traceText([call(1, 'socket', { af: 2, type: 1, protocol: 6 }) as TraceEvent]) +
      '{"seq":2,"timeNs":2,"pid":100,"kind":"api","phase":"return","tid":7,"api":"socket","callSeq":1,"result":18446744073709551615,"error":10024}\n' +
      '{"seq":3,"timeNs":3,"pid":100,"kind":"api","phase":"call","tid":7,"api":"closesocket","args":{"s":18446744073709551615},"caller":{"module":"app.exe","offset":1}}\n';
    const { events } = parseTraceText(text, 'trace.jsonl');
    assert.equal((events[1] as { result: number }).result, -1);
    assert.equal((events[2] as unknown as { args: { s: number } }).args.s, -1);
  });
});

describe('TraceWriter', () => {
  test('written events read back equal', async () => {
    const file = freshPath();
    const writer = TraceWriter.create(file, header);
    for (const event of sampleEvents()) writer.write(event);
    writer.close();
    assert.deepEqual(await readTraceFile(file), { header, events: sampleEvents(), warnings: [] });
  });

  test('a written line is on disk as soon as write() returns', () => {
    const file = freshPath();
    const writer = TraceWriter.create(file, header);
    assert.equal(fs.readFileSync(file, 'utf8'), `${JSON.stringify(header)}\n`);
    const [first] = sampleEvents();
    writer.write(first!);
    assert.deepEqual(parseTraceText(fs.readFileSync(file, 'utf8')).events, [first]);
    writer.close();
  });

  test('queued lines are written in order with one flush, multibyte text included', () => {
    const file = freshPath();
    const writer = TraceWriter.create(file, header);
    writer.queueLine('{"a":"é"}');
    writer.queueLine('{"c":"✓"}');
    writer.queueLine('{"e":"ü"}');
    assert.equal(fs.readFileSync(file, 'utf8'), `${JSON.stringify(header)}\n`);
    writer.flush();
    assert.equal(fs.readFileSync(file, 'utf8'), `${JSON.stringify(header)}\n{"a":"é"}\n{"c":"✓"}\n{"e":"ü"}\n`);
    writer.close();
  });

  test('append continues an existing trace after its header check', async () => {
    const events = sampleEvents();
    const file = fixture(traceText(events.slice(0, 4)));
    const writer = await TraceWriter.append(file);
    assert.throws(() => writer.write(events[1]!), /:6: seq 2 is not greater than the previous seq 4/);
    for (const event of events.slice(4)) writer.write(event);
    writer.close();
    assert.deepEqual((await readTraceFile(file)).events, events);
  });

  test('append refuses a file that is not a trace', async () => {
    await assert.rejects(TraceWriter.append(fixture(traceText([], { ...header, version: 2 }))), /unsupported trace version 2/);
    await assert.rejects(TraceWriter.append(fixture('')), /empty file/);
  });

  test('append cuts off a truncated last line and trailing blank lines', async () => {
    const events = sampleEvents();
    for (const tail of [traceText(events.slice(0, 3)).slice(0, -10), `${traceText(events.slice(0, 2))}\n \n`]) {
      const file = fixture(tail);
      const warnings: TraceFormatError[] = [];
      const writer = await TraceWriter.append(file, { onWarning: (w) => warnings.push(w) });
      writer.write(events[5]!);
      writer.close();
      const contents = await readTraceFile(file);
      assert.deepEqual(contents.events, [events[0], events[1], events[5]]);
      assert.equal(contents.warnings.length, 0);
      assert.equal(warnings.length, tail.endsWith('\n') ? 0 : 1);
    }
  });

  test('the writer rejects a seq that does not increase and a malformed event', () => {
    const file = freshPath();
    const writer = TraceWriter.create(file, header);
    writer.write(sampleEvents()[2]!);
    assert.throws(() => writer.write(sampleEvents()[2]!), (e: unknown) => e instanceof TraceFormatError && e.line === 3 && e.field === 'seq');
    assert.throws(() => writer.write({ ...sampleEvents()[8]!, pid: -1 }), /field "pid": expected an integer >= 0, got -1/);
    writer.close();
    assert.throws(() => writer.write(sampleEvents()[8]!), /closed/);
    assert.equal(parseTraceText(fs.readFileSync(file, 'utf8')).events.length, 1);
  });
});
