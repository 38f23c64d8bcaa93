/**
 * Recordings replayed on a machine that is not the one they were made on: the images they name are absent (or
 * elsewhere), and every frame must still have a source the editor can open; multi-threaded recordings step from
 * start to end and back. The recordings: the bundled ones, and fresh ones made here under the tracer (every C sample in
 * both capture modes, and Node's cluster), copied with their image paths moved to a folder that does not exist.
 */

import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { DebugClient } from '@vscode/debugadapter-testsupport';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { wineWindowsPath } from '../../tracer/capture/runtime';
import { record, sampleExe, windowsNode } from '../e2e/support';
import { collectOutput, launchAndStop, nextStop, outputText, RECORDINGS, ROOT, SAMPLES, shutdown, startClient, tempDir, writeTrace } from './support';
import { TraceBuilder } from '../../tracer/trace/builder';

const dir = tempDir('sockshare-dap-anywhere-');
after(() => rmSync(dir, { recursive: true, force: true }));

/** A folder no machine has: recorded paths moved under it name nothing. */
const GONE = process.platform === 'win32' ? 'C:\\gone-7f3a\\checkout' : 'Z:\\gone-7f3a\\checkout';

/** The trace with every process image, command line and stack source file moved from `from` to `to` (a recording made elsewhere). */
function relocated(trace: string, from: string, to: string, name = basename(trace)): string {
  const lines = readFileSync(trace, 'utf8').split('\n').map((line) => {
    if (!line.includes('"process-start"') && !line.includes('"stack"')) return line;
    const e = JSON.parse(line) as { image?: string; commandLine?: string; stack?: { file?: string }[] };
    const move = (p: string) => (p.toLowerCase().startsWith(from.toLowerCase()) ? to + p.slice(from.length) : p);
    if (e.image) e.image = move(e.image);
    for (const frame of e.stack ?? []) if (frame.file) frame.file = move(frame.file);
    if (e.commandLine) e.commandLine = e.commandLine.split(from).join(to);
    return JSON.stringify(e);
  });
  const file = join(dir, name);
  writeFileSync(file, lines.join('\n'));
  return file;
}

/** The folder a recording's first process image lies in, two levels up (samples/<name>/<name>.exe → the checkout). */
function recordedRoot(trace: string): string {
  const start = readFileSync(trace, 'utf8').split('\n').find((l) => l.includes('"process-start"'));
  const image = (JSON.parse(start ?? '{}') as { image: string }).image;
  return image.split('\\').slice(0, -3).join('\\');
}

const recordings: { name: string; file: string }[] = [];

/** The C samples, as the e2e suite records them (each with its expected.json). */
const C_SAMPLES = readdirSync(SAMPLES).filter((name) => existsSync(join(SAMPLES, name, `${name}.c`)) && existsSync(join(SAMPLES, name, 'expected.json')));

before(async () => {
  for (const f of readdirSync(RECORDINGS).filter((f) => f.endsWith('.sockshare.jsonl'))) recordings.push({ name: `bundled ${f}`, file: join(RECORDINGS, f) });
  // Every sample the e2e suite records, in both capture modes, recorded here so the test needs nothing of another run.
  for (const sample of C_SAMPLES) {
    for (const capture of ['breakpoints', 'inprocess'] as const) {
      const made = await record(`anywhere-${sample}-${capture}`, [{ program: sampleExe(sample), args: [] }], { capture });
      assert.equal(made.end.agentExitCode, 0, `${sample} (${capture}): ${made.end.error ?? ''}`);
      recordings.push({ name: `recorded ${sample} (${capture})`, file: made.traceFile });
    }
  }
  const cluster = await record('anywhere-node-cluster', [{ program: windowsNode(), args: [wineWindowsPath(join(SAMPLES, 'node-cluster', 'main.js'))] }]);
  assert.equal(cluster.end.agentExitCode, 0, cluster.end.error);
  recordings.push({ name: 'recorded node-cluster', file: cluster.traceFile });
});

async function withReplay(trace: string, extra: Record<string, unknown>, body: (client: DebugClient, first: DebugProtocol.StoppedEvent, outputs: DebugProtocol.OutputEvent['body'][]) => Promise<void>): Promise<void> {
  const client = await startClient();
  const outputs = collectOutput(client);
  try {
    const first = await launchAndStop(client, { type: 'sockshare', request: 'launch', trace, stopOnEntry: true, ...extra });
    await body(client, first, outputs);
  } finally {
    await shutdown(client);
  }
}

/** Every frame of the stopped thread: a file that exists, or a reference whose `source` request returns the call. */
async function assertFramesOpen(client: DebugClient, threadId: number, where: string): Promise<DebugProtocol.StackFrame[]> {
  const frames = (await client.stackTraceRequest({ threadId })).body.stackFrames;
  assert.ok(frames.length >= 2, `${where}: the call and its caller (got ${frames.length} frames)`);
  for (const frame of frames) {
    const source = frame.source;
    assert.ok(source, `${where}: frame "${frame.name}" has a source`);
    assert.ok(frame.line > 0, `${where}: frame "${frame.name}" has a line`);
    if (source.sourceReference) {
      const content = (await client.sourceRequest({ source, sourceReference: source.sourceReference })).body.content;
      const line = content.split('\n')[frame.line - 1] ?? '';
      assert.ok(line.length > 0, `${where}: line ${frame.line} of "${source.name}" exists`);
      assert.match(content, /Hooked calls of thread \d+ around it/, `${where}: the document shows the call in context`);
    } else {
      assert.ok(source.path && readFileSync(source.path, 'utf8').length > 0, `${where}: ${source.path} opens`);
    }
  }
  return frames;
}

describe('replay elsewhere: every frame has a source', () => {
  test('each bundled and freshly recorded trace, its images absent: every stop from the first hooked call to the end shows frames that open', { timeout: 300_000 }, async () => {
    assert.ok(recordings.length >= 2 + 2 * C_SAMPLES.length + 1, 'the bundled recordings and those made here');
    for (const { name, file } of recordings) {
      const moved = relocated(file, recordedRoot(file), GONE, `absent-${basename(file)}`);
      await withReplay(moved, {}, async (client, first, outputs) => {
        let stop = first;
        for (let stops = 0; stop.body.description !== 'End of the recording'; stops++) {
          assert.ok(stops < 5000, `${name}: the end after at most 5000 steps`);
          const frames = await assertFramesOpen(client, stop.body.threadId ?? 0, `${name} at "${stop.body.description}"`);
          assert.ok(frames.every((f) => f.source?.sourceReference), `${name}: no image on this machine, so every frame is a call document`);
          stop = await nextStop(client, () => client.stepInRequest({ threadId: stop.body.threadId ?? 0 }));
        }
        await assertFramesOpen(client, stop.body.threadId ?? 0, `${name} at the end`);
        assert.match(outputText(outputs, 'console'), /not found on this machine/, `${name}: the Debug Console says the image was not found`);
      });
    }
  });

  test('a sourceFileMap from the recorded folder to this checkout resolves the caller to its .c line, and says so once', { timeout: 60_000 }, async () => {
    const recorded = recordings.find((r) => r.name === 'recorded event-select-cancel (breakpoints)');
    assert.ok(recorded);
    const moved = relocated(recorded.file, wineWindowsPath(ROOT), GONE, 'mapped-event-select-cancel.sockshare.jsonl');
    const breakpoints = [{ name: 'WSAEventSelect' }];
    const client = await startClient();
    const outputs = collectOutput(client);
    try {
      const stop = await launchAndStop(client, { type: 'sockshare', request: 'launch', trace: moved, sourceFileMap: { [GONE]: ROOT } }, { functionBreakpoints: breakpoints });
      const frames = await assertFramesOpen(client, stop.body.threadId ?? 0, 'mapped');
      const caller = frames[1];
      assert.equal(caller.source?.name, 'event-select-cancel.c');
      const line = readFileSync(caller.source?.path ?? '', 'utf8').split('\n')[caller.line - 1];
      assert.match(line, /WSAEventSelect\(/, `line ${caller.line} is the call`);
      await nextStop(client, () => client.continueRequest({ threadId: stop.body.threadId ?? 0 }));
      const console = outputText(outputs, 'console');
      // A recorded stack names the .c itself; a trace without one finds it through the executable.
      assert.match(console, /event-select-cancel\.(exe|c): recorded at .*gone-7f3a.*, mapped by sourceFileMap to /);
      assert.equal(console.split('mapped by sourceFileMap').length - 1, 1, 'said once');
    } finally {
      await shutdown(client);
    }
  });

  test('without a map, the image is found by name in the search paths', { timeout: 60_000 }, async () => {
    const recorded = recordings.find((r) => r.name === 'recorded event-select-cancel (breakpoints)');
    assert.ok(recorded);
    const moved = relocated(recorded.file, wineWindowsPath(ROOT), GONE, 'by-name-event-select-cancel.sockshare.jsonl');
    const client = await startClient();
    const outputs = collectOutput(client);
    try {
      const stop = await launchAndStop(client, { type: 'sockshare', request: 'launch', trace: moved, searchPaths: [SAMPLES] }, { functionBreakpoints: [{ name: 'WSAEventSelect' }] });
      const frames = await assertFramesOpen(client, stop.body.threadId ?? 0, 'by name');
      assert.equal(frames[1].source?.name, 'event-select-cancel.c');
      assert.match(outputText(outputs, 'console'), /event-select-cancel\.(exe|c): recorded at .*, found by name at /);
    } finally {
      await shutdown(client);
    }
  });
});

describe('replay: stepping a multi-threaded recording (node-cluster: threads that exit)', () => {
  function cluster(): string {
    const found = recordings.find((r) => r.name === 'recorded node-cluster');
    assert.ok(found);
    return found.file;
  }

  /** The seqs of the recording's hooked events (the program's own calls and returns), in order. */
  function hookedSeqs(trace: string): number[] {
    return readFileSync(trace, 'utf8').split('\n').slice(1).filter(Boolean).map((l) => JSON.parse(l) as { seq: number; kind: string; internal?: boolean })
      .filter((e) => e.kind === 'api' && !e.internal).map((e) => e.seq);
  }

  /** The seq of the event the replay's cursor is on. */
  async function seqOf(client: DebugClient): Promise<number> {
    return Number(((await client.customRequest('sharedSockets')) as DebugProtocol.Response & { body: { seq: number } }).body.seq);
  }

  test('F5 with no finding stops at the first handoff, not at the end; the stop has a thread with frames', { timeout: 60_000 }, async () => {
    const client = await startClient();
    try {
      const stop = await launchAndStop(client, { type: 'sockshare', request: 'launch', trace: cluster() }, { filters: [] });
      assert.equal(stop.body.reason, 'entry');
      assert.match(stop.body.description ?? '', /No finding: stopped at the first handoff/);
      await assertFramesOpen(client, stop.body.threadId ?? 0, 'first stop');
      const threads = (await client.threadsRequest()).body.threads;
      assert.ok(threads.some((t) => t.id === stop.body.threadId), 'the stopped thread is listed');
    } finally {
      await shutdown(client);
    }
  });

  test('stepIn from the first hooked call visits every hooked event in order to the end', { timeout: 240_000 }, async () => {
    const expected = hookedSeqs(cluster());
    await withReplay(cluster(), { stopOnEntry: true }, async (client, first) => {
      const visited: number[] = [];
      let stop = first;
      while (stop.body.description !== 'End of the recording') {
        visited.push(await seqOf(client));
        stop = await nextStop(client, () => client.stepInRequest({ threadId: stop.body.threadId ?? 0 }));
      }
      assert.deepEqual(visited, expected, 'every hooked event, once, in order');
    });
  });

  /** The first hooked call of the recording's second process (Node's worker: its thread ends before the primary's). */
  function firstCallOfChild(trace: string): number {
    const events = readFileSync(trace, 'utf8').split('\n').slice(1).filter(Boolean).map((l) => JSON.parse(l) as { seq: number; kind: string; pid: number; phase?: string; internal?: boolean });
    const primary = events[0].pid;
    const call = events.find((e) => e.kind === 'api' && e.phase === 'call' && !e.internal && e.pid !== primary);
    assert.ok(call, 'the worker made hooked calls');
    return call.seq;
  }

  test('next in the worker\'s thread stays in it until it exits, then reaches the end; stepBack from the end walks back to the start one call at a time', { timeout: 240_000 }, async () => {
    await withReplay(cluster(), { stopOnEntry: true }, async (client) => {
      let stop = await nextStop(client, () => client.customRequest('gotoEvent', { seq: firstCallOfChild(cluster()) }));
      const worker = stop.body.threadId ?? 0;
      let previous = await seqOf(client);
      let switched = false;
      for (;;) {
        stop = await nextStop(client, () => client.nextRequest({ threadId: stop.body.threadId ?? 0 }));
        if (stop.body.description === 'End of the recording') break;
        const seq = await seqOf(client);
        assert.ok(seq > previous, `forward: ${seq} after ${previous}`);
        if (/makes no more hooked calls/.test(stop.body.text ?? '')) switched = true;
        if (!switched) assert.equal(stop.body.threadId, worker, 'next stays in the worker\'s thread while it runs');
        previous = seq;
      }
      // At the end: a listed thread with frames, and stepping back moves one hooked call at a time.
      await assertFramesOpen(client, stop.body.threadId ?? 0, 'end');
      let backSteps = 0;
      previous = Number.MAX_SAFE_INTEGER;
      for (;;) {
        stop = await nextStop(client, () => client.stepBackRequest({ threadId: stop.body.threadId ?? 0 }));
        if (stop.body.description === 'Start of the recording') break;
        const seq = await seqOf(client);
        assert.ok(seq < previous, `backward: ${seq} before ${previous}`);
        previous = seq;
        backSteps++;
      }
      assert.ok(backSteps > 10, `stepping back went through the calls (${backSteps} steps), not straight to the start`);
      await assertFramesOpen(client, stop.body.threadId ?? 0, 'start');
    });
  });
});

describe('replay: a step whose thread ends goes on in another thread', () => {
  /** A (pid 100) and B (pid 200) both call; B exits; A calls once more. */
  function twoThreads(): { trace: string; a: number; b: number; aLast: number; bFirst: number; bLast: number } {
    const builder = new TraceBuilder();
    const a = builder.start(100, 'C:\\gone\\a.exe');
    const b = builder.start(200, 'C:\\gone\\b.exe', 100);
    a.startup();
    const bFirst = b.startup();
    const bLast = b.socket(0x40);
    builder.exit(200);
    const aLast = a.socket(0x50);
    builder.exit(100);
    return { trace: writeTrace(dir, 'two-threads', builder), a: a.tid, b: b.tid, aLast, bFirst, bLast };
  }

  test('next on B\'s last call, B exits: the step stops at A\'s next call and says B makes no more hooked calls', { timeout: 30_000 }, async () => {
    const t = twoThreads();
    await withReplay(t.trace, {}, async (client) => {
      await nextStop(client, () => client.customRequest('gotoEvent', { seq: t.bLast + 1 }));
      const stop = await nextStop(client, () => client.nextRequest({ threadId: t.b }));
      assert.equal(stop.body.threadId, t.a);
      assert.equal(stop.body.description, 'Entering socket');
      assert.match(stop.body.text ?? '', new RegExp(`Thread ${t.b} makes no more hooked calls this way: the step went on in thread ${t.a}`));
      await assertFramesOpen(client, t.a, 'after the switch');
    });
  });

  test('stepBack on B\'s first call, B began there: the step stops at A\'s previous event', { timeout: 30_000 }, async () => {
    const t = twoThreads();
    await withReplay(t.trace, {}, async (client) => {
      await nextStop(client, () => client.customRequest('gotoEvent', { seq: t.bFirst }));
      const stop = await nextStop(client, () => client.stepBackRequest({ threadId: t.b }));
      assert.equal(stop.body.threadId, t.a);
      assert.equal(stop.body.description, 'Returned from WSAStartup');
    });
  });
});
