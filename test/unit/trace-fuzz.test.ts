/**
 * Seeded mutation fuzzing of the trace readers: whatever the input, a reader either succeeds or throws
 * a TraceFormatError naming the file and a line >= 1 — never a TypeError or other crash.
 * Reproduce a failure with SOCKSHARE_FUZZ_SEED=<seed from the message>.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { mulberry32 } from '../support/random';
import {
  parseTraceText,
  readTraceFile,
  TraceFormatError,
  type ProtocolInfo,
  type TraceContents,
  type TraceEvent,
  type TraceHeader,
} from '../../tracer/trace/index';

const MAX_MUTATIONS = 5000;
const MAX_MILLISECONDS = 20_000;
const STREAMED_SAMPLE_EVERY = 25;
const BASE_SEED = Number(process.env['SOCKSHARE_FUZZ_SEED'] ?? 0x5eed1234) >>> 0;


const protocolInfo: ProtocolInfo = {
  dwServiceFlags1: 0x20066, dwServiceFlags2: 0, dwServiceFlags3: 0, dwServiceFlags4: 0, dwProviderFlags: 8,
  providerId: '{E70F1AA0-AB8B-11CF-8CA3-00805F48A192}', dwCatalogEntryId: 1001,
  protocolChain: { chainLen: 1, chainEntries: [1001, 0, 0, 0, 0, 0, 0] },
  iVersion: 2, iAddressFamily: 2, iMaxSockAddr: 16, iMinSockAddr: 16, iSocketType: 1, iProtocol: 6,
  iProtocolMaxOffset: 0, iNetworkByteOrder: 0, iSecurityScheme: 0, dwMessageSize: 0, dwProviderReserved: 0,
  szProtocol: 'MSAFD Tcpip [TCP/IP]',
};

/** A parent that duplicates a socket for a child, which opens it from the protocol info: ~30 events. */
function validTrace(): { header: TraceHeader; events: TraceEvent[] } {
  const header: TraceHeader = {
    format: 'sockshare-trace', version: 1, startTime: '2025-03-04T05:06:07.089Z', hostOs: 'win32', tracerVersion: '0.1.0',
    capture: { runtime: 'node', mode: 'inject' },
  };
  const events: TraceEvent[] = [];
  let seq = 0;
  const add = (pid: number, event: Record<string, unknown>) => {
    seq += 1;
    events.push({ seq, timeNs: seq * 1500, pid, ...event } as unknown as TraceEvent);
    return seq;
  };
  const apiPair = (pid: number, tid: number, api: string, args: Record<string, unknown>, result: number, extra: Record<string, unknown> = {}) => {
    const callSeq = add(pid, { kind: 'api', phase: 'call', tid, api, args, caller: { module: pid === 100 ? 'parent.exe' : 'child.exe', offset: 0x1000 + seq } });
    add(pid, { kind: 'api', phase: 'return', tid, api, callSeq, result, ...extra });
  };
  add(100, { kind: 'process-start', parentPid: 4, image: 'C:\\demo\\parent.exe', commandLine: 'parent.exe --share' });
  add(100, { kind: 'thread-start', tid: 11 });
  add(100, { kind: 'module-load', module: 'ws2_32.dll', base: '0x7ffb12340000', path: 'C:\\Windows\\System32\\ws2_32.dll' });
  apiPair(100, 11, 'WSAStartup', { wVersionRequested: 0x202, lpWSAData: '0x000000a1b2c3d000' }, 0);
  apiPair(100, 11, 'socket', { af: 2, type: 1, protocol: 6 }, 356);
  add(200, { kind: 'process-start', parentPid: 100, image: 'C:\\demo\\child.exe', commandLine: 'child.exe "ü é"' });
  add(200, { kind: 'module-load', module: 'ws2_32.dll', base: '0x7ffb12340000' });
  apiPair(100, 11, 'WSADuplicateSocketW', { s: 356, dwProcessId: 200, lpProtocolInfo: '0x000000a1b2c3e000' }, 0, { out: { protocolInfo } });
  add(100, { kind: 'output', stream: 'stdout', text: 'duplicated for 200\n' });
  apiPair(200, 21, 'WSASocketW', { af: -1, type: -1, protocol: -1, lpProtocolInfo: protocolInfo, g: 0, dwFlags: 1 }, 412);
  apiPair(200, 21, 'setsockopt', { s: 412, level: 0xffff, optname: 4, optval: '0x01000000', optlen: 4, internalCall: false }, -1, { error: 10038 });
  add(200, { kind: 'records-lost', count: 2 });
  apiPair(100, 11, 'closesocket', { s: 356 }, 0);
  apiPair(200, 21, 'closesocket', { s: 412 }, 0);
  add(200, { kind: 'api', phase: 'call', tid: 21, api: 'WSACleanup', args: {}, caller: { module: 'ws2_32.dll', offset: 0x40 }, internal: true });
  add(200, { kind: 'thread-exit', tid: 21, exitCode: 0 });
  add(200, { kind: 'process-exit', exitCode: 0 });
  add(100, { kind: 'process-exit', exitCode: 1 });
  return { header, events };
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
const OTHER_VALUES: Json[] = [
  null, true, false, 0, -1, 1.5, 1e300, 2 ** 60, '', 'abc', '0x1', '{E70F1AA0-AB8B-11CF-8CA3-00805F48A192}',
  [], [1, 'x'], {}, { protocolChain: 1 }, { chainLen: 1, chainEntries: [] }, 'call', 'return', 'api', 'sockshare-trace',
];
const CHARACTERS = ['{', '}', '[', ']', '"', ',', ':', '\\', ' ', '\n', '\r', '0', '9', '-', 'e', '.', 'a', 'é', '😀', '\u2028', '\u0000'];

/** Every object or array inside `value`, with `value` itself first. */
function containers(value: Json, found: (Json[] | { [key: string]: Json })[] = []): (Json[] | { [key: string]: Json })[] {
  if (typeof value === 'object' && value !== null) {
    found.push(value);
    for (const child of Object.values(value)) containers(child, found);
  }
  return found;
}

/** Applies one random mutation; returns the new text and what was done. */
function mutate(text: string, random: () => number): { text: string; description: string; truncatedAt?: number } {
  const pick = (n: number) => Math.floor(random() * n);
  const lines = text.split('\n');
  const at = pick(lines.length);
  switch (pick(9)) {
    case 0:
      lines.splice(at, 1);
      return { text: lines.join('\n'), description: `delete line ${at + 1}` };
    case 1:
      lines.splice(at, 0, lines[at]!);
      return { text: lines.join('\n'), description: `duplicate line ${at + 1}` };
    case 2: {
      const other = pick(lines.length);
      [lines[at], lines[other]] = [lines[other]!, lines[at]!];
      return { text: lines.join('\n'), description: `swap lines ${at + 1} and ${other + 1}` };
    }
    case 3: {
      const i = pick(text.length);
      const c = CHARACTERS[pick(CHARACTERS.length)]!;
      return { text: text.slice(0, i) + c + text.slice(i + 1), description: `replace char ${i} with ${JSON.stringify(c)}` };
    }
    case 4: {
      const i = pick(text.length + 1);
      const c = CHARACTERS[pick(CHARACTERS.length)]!;
      return { text: text.slice(0, i) + c + text.slice(i), description: `insert ${JSON.stringify(c)} at ${i}` };
    }
    case 5: {
      const i = pick(text.length);
      return { text: text.slice(0, i) + text.slice(i + 1), description: `delete char ${i}` };
    }
    case 6: {
      const bytes = Buffer.from(text, 'utf8');
      const cut = pick(bytes.length + 1);
      return { text: bytes.subarray(0, cut).toString('utf8'), description: `truncate at byte ${cut}`, truncatedAt: cut };
    }
    default: {
      let value: Json;
      try {
        value = JSON.parse(lines[at]!) as Json;
      } catch {
        return { text: text.slice(0, -1), description: 'drop the last char (line was not JSON)' };
      }
      const targets = containers(value).filter((c) => Object.keys(c).length > 0);
      if (targets.length === 0) return { text, description: 'no change (nothing to replace)' };
      const target = targets[pick(targets.length)]!;
      const keys = Object.keys(target);
      const key = keys[pick(keys.length)]!;
      let description: string;
      if (random() < 0.5 && !Array.isArray(target)) {
        delete target[key];
        description = `drop key "${key}" on line ${at + 1}`;
      } else {
        const replacement = OTHER_VALUES[pick(OTHER_VALUES.length)]!;
        (target as Record<string, Json>)[key] = replacement;
        description = `set "${key}" on line ${at + 1} to ${JSON.stringify(replacement)}`;
      }
      lines[at] = JSON.stringify(value);
      return { text: lines.join('\n'), description };
    }
  }
}

/** The reader contract for one input: success with well-formed contents, or a TraceFormatError naming file and line. */
function checkOutcome(outcome: () => TraceContents, file: string, lineCount: number, context: () => string): TraceContents | TraceFormatError {
  let contents: TraceContents;
  try {
    contents = outcome();
  } catch (error) {
    if (!(error instanceof TraceFormatError)) {
      assert.fail(`${context()}\nthrew ${error instanceof Error ? error.stack : String(error)} instead of a TraceFormatError`);
    }
    assert.equal(error.file, file, context());
    assert.ok(Number.isInteger(error.line) && error.line >= 1 && error.line <= lineCount, `${context()}\nline ${error.line}`);
    assert.ok(error.message.startsWith(`${file}:${error.line}: `), `${context()}\n${error.message}`);
    return error;
  }
  for (let i = 1; i < contents.events.length; i++) assert.ok(contents.events[i]!.seq > contents.events[i - 1]!.seq, context());
  for (const warning of contents.warnings) {
    assert.ok(warning instanceof TraceFormatError && warning.file === file && warning.line >= 1 && warning.line <= lineCount, context());
  }
  return contents;
}

test('mutated traces either parse or fail with a TraceFormatError naming file and line', async () => {
  const { header, events } = validTrace();
  const original = [header, ...events].map((line) => `${JSON.stringify(line)}\n`).join('');
  const headerBytes = Buffer.byteLength(JSON.stringify(header)) + 1;
  assert.deepEqual(parseTraceText(original), { header, events, warnings: [] }, 'the unmutated trace must be valid');

  const tempDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sockshare-fuzz-'));
  const tempFile = path.join(tempDir, 'fuzz.jsonl');
  const started = Date.now();
  let checked = 0;
  let streamed = 0;
  let accepted = 0;
  let rejected = 0;
  try {
    for (let n = 0; n < MAX_MUTATIONS && Date.now() - started < MAX_MILLISECONDS; n++) {
      const seed = (BASE_SEED + Math.imul(n, 0x9e3779b9)) >>> 0;
      const random = mulberry32(seed);
      let text = original;
      const steps: string[] = [];
      let truncatedAt: number | undefined;
      const stepCount = random() < 0.7 ? 1 : 2 + Math.floor(random() * 3);
      for (let s = 0; s < stepCount; s++) {
        const mutation = mutate(text, random);
        text = mutation.text;
        steps.push(mutation.description);
        truncatedAt = stepCount === 1 ? mutation.truncatedAt : undefined;
      }
      const lineCount = text.split('\n').length;
      const context = () => `mutation ${n} (SOCKSHARE_FUZZ_SEED=${BASE_SEED}, mutation seed ${seed}): ${steps.join('; ')}\n${text.slice(0, 2000)}`;

      const result = checkOutcome(() => parseTraceText(text, 'fuzz.jsonl'), 'fuzz.jsonl', lineCount, context);
      checked++;
      if (result instanceof TraceFormatError) rejected++;
      else accepted++;

      // Cutting a valid trace anywhere after its header loses at most the cut line, never the trace.
      if (truncatedAt !== undefined && truncatedAt >= headerBytes) {
        assert.ok(!(result instanceof TraceFormatError), `${context()}\n${String(result)}`);
        const kept = result.events.length;
        assert.deepEqual(result.events, events.slice(0, kept), context());
      }

      if (n % STREAMED_SAMPLE_EVERY === 0) {
        fs.writeFileSync(tempFile, text);
        let streamedContents: TraceContents | undefined;
        let streamedError: unknown;
        try {
          streamedContents = await readTraceFile(tempFile);
        } catch (error) {
          streamedError = error;
        }
        const streamedResult = checkOutcome(() => {
          if (streamedContents === undefined) throw streamedError;
          return streamedContents;
        }, tempFile, lineCount, context);
        // Both readers share the line parser, so they must agree.
        if (result instanceof TraceFormatError || streamedResult instanceof TraceFormatError) {
          assert.ok(result instanceof TraceFormatError && streamedResult instanceof TraceFormatError, `${context()}\nreaders disagree`);
          assert.equal(streamedResult.line, result.line, context());
          assert.equal(streamedResult.detail, result.detail, context());
        } else {
          assert.deepEqual(streamedResult.events, result.events, context());
          assert.deepEqual(streamedResult.warnings.map((w) => w.detail), result.warnings.map((w) => w.detail), context());
        }
        streamed++;
      }
    }
  } finally {
    fs.rmSync(tempDir, { recursive: true, force: true });
  }
  assert.ok(checked > 0 && accepted > 0 && rejected > 0, `checked ${checked}: ${accepted} accepted, ${rejected} rejected`);
  assert.ok(streamed > 0, 'some mutations went through the streaming reader');
  console.log(`fuzz: ${checked} mutations (${accepted} accepted, ${rejected} rejected, ${streamed} streamed) in ${Date.now() - started} ms, seed ${BASE_SEED}`);
});
