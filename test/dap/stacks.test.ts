/**
 * Recorded call stacks: event-select-cancel recorded here under the tracer (on breakpoints, and in the process with --stacks), replayed with its image
 * paths moved to a folder that does not exist, so every name and line comes from the trace. At WSAEventSelect the
 * CALL STACK shows the hooked call, the sample's function that called it at its .c line, and main.
 */

import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { wineWindowsPath } from '../../tracer/capture/runtime';
import type { ApiCallEvent } from '../../tracer/trace/schema';
import { cSamples } from '../../scripts/build-samples.mjs';
import { mingwGcc } from '../../scripts/lib/wine.mjs';
import { record, sampleExe } from '../e2e/support';
import { launchAndStop, nextStop, ROOT, shutdown, startClient, tempDir } from './support';

const dir = tempDir('sockshare-dap-stacks-');
after(() => rmSync(dir, { recursive: true, force: true }));

const GONE = process.platform === 'win32' ? 'C:\\gone-5e1b\\checkout' : 'Z:\\gone-5e1b\\checkout';
const SOURCE = join(ROOT, 'samples', 'event-select-cancel', 'event-select-cancel.c');
let recorded = '';
let recordedInProcess = '';

/** The trace with its process images (and, with `sources`, the stacks' source files) moved from `from` to GONE. */
function moved(name: string, from: string, sources: boolean, trace = recorded): string {
  const move = (p: string) => (p.toLowerCase().startsWith(from.toLowerCase()) ? GONE + p.slice(from.length) : p);
  const lines = readFileSync(trace, 'utf8').split('\n').map((line) => {
    if (!line.includes('"process-start"') && !(sources && line.includes('"stack"'))) return line;
    const e = JSON.parse(line) as { image?: string; commandLine?: string; stack?: { file?: string }[] };
    if (e.image) e.image = move(e.image);
    if (e.commandLine) e.commandLine = e.commandLine.split(from).join(GONE);
    for (const frame of e.stack ?? []) if (frame.file) frame.file = move(frame.file);
    return JSON.stringify(e);
  });
  const file = join(dir, name);
  writeFileSync(file, lines.join('\n'));
  return file;
}

before(async () => {
  const made = await record('stacks-event-select-cancel', [{ program: sampleExe('event-select-cancel'), args: [] }]);
  assert.equal(made.end.agentExitCode, 0, made.end.error);
  recorded = made.traceFile;
  const calls = made.events.filter((e): e is ApiCallEvent => e.kind === 'api' && e.phase === 'call' && e.api === 'WSAEventSelect');
  assert.ok(calls.length >= 2 && calls.every((c) => (c.stack?.length ?? 0) >= 2), 'every WSAEventSelect call has a recorded stack');
  const inProcess = await record('stacks-event-select-cancel-inprocess', [{ program: sampleExe('event-select-cancel'), args: [] }], { capture: 'inprocess', stacks: true });
  assert.equal(inProcess.end.agentExitCode, 0, inProcess.end.error);
  recordedInProcess = inProcess.traceFile;
});

/** The frames of every WSAEventSelect stop of a replay, in order. */
async function stacksAtWSAEventSelect(trace: string, extra: Record<string, unknown> = {}): Promise<DebugProtocol.StackFrame[][]> {
  const client = await startClient();
  const stacks: DebugProtocol.StackFrame[][] = [];
  try {
    let stop = await launchAndStop(client, { type: 'sockshare', request: 'launch', trace, ...extra }, { functionBreakpoints: [{ name: 'WSAEventSelect' }] });
    while (stop.body.description !== 'End of the recording' && stacks.length < 4) {
      stacks.push((await client.stackTraceRequest({ threadId: stop.body.threadId ?? 0 })).body.stackFrames);
      stop = await nextStop(client, () => client.continueRequest({ threadId: stop.body.threadId ?? 0 }));
    }
  } finally {
    await shutdown(client);
  }
  return stacks;
}

function assertSampleStack(frames: DebugProtocol.StackFrame[], where: string): void {
  const names = frames.map((f) => f.name);
  assert.match(names[0], /^WSAEventSelect\(/, `${where}: the hooked call on top (${names.join(' | ')})`);
  assert.match(names[1], /^event-select-cancel\.exe!(main|target)\+0x[0-9a-f]+$/, `${where}: the sample's function that called it`);
  const caller = frames[1];
  assert.equal(caller.source?.path, SOURCE, `${where}: the caller opens the sample's .c`);
  assert.match(readFileSync(SOURCE, 'utf8').split('\n')[caller.line - 1] ?? '', /WSAEventSelect\(/, `${where}: line ${caller.line} is the call`);
  assert.ok(names.some((n) => /^event-select-cancel\.exe!main\+0x/.test(n)), `${where}: main is on the stack`);
  assert.ok(names.some((n) => /^kernel32\.dll!BaseThreadInitThunk\+0x/.test(n)), `${where}: the system frames are named from their exports`);
}

describe('recorded call stacks in the CALL STACK', () => {
  test('images moved away: WSAEventSelect, the calling function at its .c line, and main, from the trace alone', { timeout: 120_000 }, async () => {
    const trace = moved('images-gone.sockshare.jsonl', wineWindowsPath(ROOT), false);
    const stacks = await stacksAtWSAEventSelect(trace);
    assert.ok(stacks.length >= 2, 'both processes call WSAEventSelect');
    stacks.slice(0, 2).forEach((frames, i) => assertSampleStack(frames, `stop ${i + 1}`));
    const inTarget = stacks.find((frames) => /!target\+/.test(frames[1].name));
    assert.ok(inTarget, 'the imported socket is registered in target(), called from main');
    assert.match(inTarget[2].name, /^event-select-cancel\.exe!main\+0x/);
  });

  test('recorded in the process (--stacks): the same stack, from the trace alone', { timeout: 120_000 }, async () => {
    const trace = moved('inprocess-images-gone.sockshare.jsonl', wineWindowsPath(ROOT), false, recordedInProcess);
    const stacks = await stacksAtWSAEventSelect(trace);
    assert.ok(stacks.length >= 2, 'both processes call WSAEventSelect');
    stacks.slice(0, 2).forEach((frames, i) => assertSampleStack(frames, `in-process stop ${i + 1}`));
  });

  test('sources recorded elsewhere open through sourceFileMap; unmapped, the frame shows its document line', { timeout: 120_000 }, async () => {
    const trace = moved('sources-gone.sockshare.jsonl', wineWindowsPath(ROOT), true);
    const mapped = await stacksAtWSAEventSelect(trace, { sourceFileMap: { [GONE]: ROOT } });
    assertSampleStack(mapped[0], 'mapped');
    const unmapped = await stacksAtWSAEventSelect(trace);
    const caller = unmapped[0][1];
    assert.ok(caller.source?.sourceReference, 'no file on this machine: the call-in-context document');
  });

  test("a program built with plain -g (DWARF 5, which Wine's dbghelp does not read) still names its functions, from its COFF symbols", { timeout: 120_000 }, async () => {
    const sample = cSamples().find((s) => s.name === 'event-select-cancel');
    assert.ok(sample);
    const exe = join(dir, 'dwarf5-event-select-cancel.exe');
    const gcc = mingwGcc();
    assert.ok(gcc, 'mingw-w64 gcc is installed (npm test installs it)');
    const built = spawnSync(gcc, ['-g', '-O0', '-static-libgcc', '-o', exe, ...sample.sources, '-lws2_32'], { encoding: 'utf8' });
    assert.equal(built.status, 0, built.stderr);
    const made = await record('stacks-dwarf5', [{ program: exe, args: [] }]);
    assert.equal(made.end.agentExitCode, 0, made.end.error);
    const calls = made.events.filter((e): e is ApiCallEvent => e.kind === 'api' && e.phase === 'call' && e.api === 'WSAEventSelect');
    assert.ok(calls.length >= 2);
    for (const call of calls) {
      const names = (call.stack ?? []).map((f) => f.function ?? `${f.module}+0x${f.offset.toString(16)}`);
      assert.match(names[0] ?? '', /^(main|target)$/, `the calling function is named: ${names.join(' | ')}`);
      assert.ok(names.includes('main'), `main is on the stack: ${names.join(' | ')}`);
    }
  });
});
