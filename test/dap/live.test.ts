/**
 * The debug adapter tracing the real samples live (Windows node.exe in Wine on Linux, natively on Windows), driven
 * over DAP. The test command sets SOCKSHARE_WINEPREFIX and SOCKSHARE_WINE_NODE and builds the samples; by hand, the
 * project's prefix (.cache/wine-prefix) is used when SOCKSHARE_WINEPREFIX is not set.
 */

import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import type { DebugClient } from '@vscode/debugadapter-testsupport';
import type { DebugProtocol } from '@vscode/debugprotocol';
import {
  children, collectOutput, launchAndStop, named, nextStop, outputText, ROOT, SAMPLES, scopesAt, shutdown, startClient, tempDir, valuesOf, waitForOutput, within,
} from './support';

const TIMEOUT = { timeout: 30_000 };
/** A live launch must stop within this (starting Wine and the agent takes a second or two once the prefix exists). */
const STOP_MS = 20_000;
const dir = tempDir('sockshare-dap-live-');
after(() => rmSync(dir, { recursive: true, force: true }));

function sampleExe(name: string): string {
  const exe = join(SAMPLES, name, `${name}.exe`);
  if (!existsSync(exe)) throw new Error(`${exe} is not built: run node scripts/build-samples.mjs (the test command does)`);
  return exe;
}

/** The adapter's environment: the project's Wine prefix unless the test command named one. */
function liveEnv(): NodeJS.ProcessEnv {
  if (process.platform === 'win32') return process.env;
  const prefix = process.env.SOCKSHARE_WINEPREFIX ?? join(ROOT, '.cache', 'wine-prefix');
  return { ...process.env, SOCKSHARE_WINEPREFIX: prefix };
}

/** A live session's events: its output, and whether it exited and terminated. */
interface Live {
  client: DebugClient;
  outputs: DebugProtocol.OutputEvent['body'][];
  capabilities: DebugProtocol.Capabilities[];
  exited: Promise<DebugProtocol.ExitedEvent>;
  terminated: Promise<DebugProtocol.TerminatedEvent>;
}

async function withLive(body: (live: Live) => Promise<void>): Promise<void> {
  const client = await startClient(liveEnv());
  const outputs = collectOutput(client);
  const capabilities: DebugProtocol.Capabilities[] = [];
  client.on('capabilities', (e: DebugProtocol.CapabilitiesEvent) => capabilities.push(e.body.capabilities));
  const exited = new Promise<DebugProtocol.ExitedEvent>((resolve) => client.once('exited', resolve));
  const terminated = new Promise<DebugProtocol.TerminatedEvent>((resolve) => client.once('terminated', resolve));
  try {
    await body({ client, outputs, capabilities, exited, terminated });
  } finally {
    // A disconnect ends the capture (the programs are killed, the agent exits); then the adapter is stopped.
    await shutdown(client);
  }
}

/** The pid a thread's name gives: "handoff.exe [source] pid 276 tid 280". */
function pidOf(thread: DebugProtocol.Thread): number {
  const m = /\bpid (\d+) tid (\d+)$/.exec(thread.name);
  assert.ok(m, `thread name ${JSON.stringify(thread.name)}`);
  assert.equal(Number(m[2]), thread.id);
  return Number(m[1]);
}

describe('live: the samples under the tracer', () => {
  test('a function breakpoint on WSADuplicateSocketW stops the source there; dwProcessId is the target listed in threads; continue ends the session', TIMEOUT, () =>
    withLive(async ({ client, outputs, capabilities, exited, terminated }) => {
      const trace = join(dir, 'live-handoff.sockshare.jsonl');
      const ids: number[] = [];
      const stop = await launchAndStop(
        client,
        { type: 'sockshare', request: 'launch', name: 'live handoff', program: sampleExe('handoff'), trace },
        { functionBreakpoints: [{ name: 'WSADuplicateSocketW' }], onBreakpoints: (bps) => ids.push(...bps.map((b) => b.id ?? -1)) },
        STOP_MS,
      );
      assert.equal(stop.body.reason, 'function breakpoint');
      assert.deepEqual(stop.body.hitBreakpointIds, ids);
      assert.deepEqual(capabilities, [{ supportsStepBack: false }], 'a live session cannot step back');

      const threads = (await client.threadsRequest()).body.threads;
      assert.equal(threads.length, 2, JSON.stringify(threads));
      for (const t of threads) assert.match(t.name, /^handoff\.exe \[(process|child|source|target)\] pid \d+ tid \d+$/);
      const sourceThread = threads.find((t) => t.id === stop.body.threadId);
      assert.ok(sourceThread, `the stopped thread ${stop.body.threadId} is listed`);
      const targetThread = threads.find((t) => t !== sourceThread);
      assert.ok(targetThread);
      assert.match(targetThread.name, /\[child\]/, 'the source started the target');

      const { frames, scopes } = await scopesAt(client, sourceThread.id);
      const dwProcessId = named(scopes.Call, 'dwProcessId')?.value;
      assert.equal(dwProcessId, String(pidOf(targetThread)), 'the pid the source duplicates for is the target process');
      assert.notEqual(pidOf(sourceThread), pidOf(targetThread));
      assert.equal(frames[0].name, `WSADuplicateSocketW(s=${named(scopes.Call, 's')?.value}, dwProcessId=${dwProcessId})`);
      assert.equal(named(scopes.Call, 'result')?.value, '(not returned yet)');
      // A live breakpoint-path call carries its stack: the caller named by the sample's symbols (-g -gdwarf-4), then main's callers.
      assert.match(frames[1].name, /^handoff\.exe!main\+0x[0-9a-f]+$/);
      assert.equal(frames[1].source?.name, 'handoff.c', 'the sample is built with -g: the caller frame has its source line');
      assert.ok(frames.some((f) => /^kernel32\.dll!BaseThreadInitThunk\+0x/.test(f.name)), `the stack goes down to the thread's start: ${frames.map((f) => f.name).join(' | ')}`);
      assert.equal((await client.evaluateRequest({ expression: 'dwProcessId', frameId: frames[0].id, context: 'watch' })).body.result, dwProcessId);
      assert.deepEqual(scopes.Handoffs, [], 'held at the entry: nothing exported yet');
      assert.match(named(scopes.Socket, 'state')?.value ?? '', /^connected/);

      await client.continueRequest({ threadId: sourceThread.id });
      assert.equal((await within(exited, STOP_MS, 'exited')).body.exitCode, 0);
      await within(terminated, 5_000, 'terminated');
      assert.match(outputText(outputs, 'stdout'), /\[source\] target exited with 0/);
      assert.match(outputText(outputs, 'console'), new RegExp(`WSASocketW\\(af=FROM_PROTOCOL_INFO, .*\\) = 0x[0-9a-f]+\\n`));
      // The recording was saved where the launch said.
      const saved = readFileSync(trace, 'utf8');
      assert.match(saved, /"api":"WSADuplicateSocketW"/);
      assert.match(saved, /"kind":"process-exit"/);
    }));

  test("in-process capture: the error-caused-by-other-process filter stops blocking-flip right after the source's failing recv, which its stub reports", TIMEOUT, () =>
    withLive(async ({ client }) => {
      const stop = await launchAndStop(
        client,
        { type: 'sockshare', request: 'launch', name: 'live blocking-flip in-process', program: sampleExe('blocking-flip'), capture: 'inprocess', trace: join(dir, 'live-blocking-flip.sockshare.jsonl') },
        { filters: ['error-caused-by-other-process'] },
        STOP_MS,
      );
      assert.equal(stop.body.reason, 'exception');
      const info = await client.exceptionInfoRequest({ threadId: stop.body.threadId ?? 0 });
      assert.equal(info.body.exceptionId, 'error-caused-by-other-process');
      const { frame } = await scopesAt(client, stop.body.threadId ?? 0);
      assert.match(frame.name, /^recv\(s=0x[0-9a-f]+, .*\) = SOCKET_ERROR \(WSAEWOULDBLOCK\)$/);
    }));

  test('the registration-cancelled filter stops event-select-cancel with reason "exception"; the Socket scope lists both processes\' descriptors', TIMEOUT, () =>
    withLive(async ({ client, terminated }) => {
      const stop = await launchAndStop(
        client,
        { type: 'sockshare', request: 'launch', name: 'live event-select-cancel', program: sampleExe('event-select-cancel'), trace: join(dir, 'live-esc.sockshare.jsonl') },
        { filters: ['registration-cancelled'] },
        STOP_MS,
      );
      assert.equal(stop.body.reason, 'exception');
      assert.match(stop.body.description ?? '', /^Error: registration-cancelled \(events \d+, \d+, \d+, \d+\)$/);
      const info = await client.exceptionInfoRequest({ threadId: stop.body.threadId ?? 0 });
      assert.equal(info.body.exceptionId, 'registration-cancelled');
      assert.match(info.body.description ?? '', /a shared socket has one event registration/);

      const threads = (await client.threadsRequest()).body.threads;
      const pids = new Set(threads.map(pidOf));
      assert.equal(pids.size, 2);
      const { frame, scopes } = await scopesAt(client, stop.body.threadId ?? 0);
      assert.match(frame.name, /^WSAEventSelect\(s=0x[0-9a-f]+, hEventObject=0x[0-9a-f]+, lNetworkEvents=FD_READ\) = 0$/);
      const socket = valuesOf(scopes.Socket);
      assert.equal(socket.descriptors, '2 (2 open)');
      assert.equal(socket['cancelled registrations'], '1');
      const descriptors = await children(client, named(scopes.Socket, 'descriptors'));
      const holders = descriptors.map((d) => Number(/\(pid (\d+)\)$/.exec(d.name)?.[1]));
      assert.deepEqual(new Set(holders), pids, `both processes hold a descriptor: ${descriptors.map((d) => d.name).join('; ')}`);
      assert.match(descriptors[1].value, /^open, imported from handoff h1 at event \d+$/);

      // Terminate ends the programs and the session.
      await client.terminateRequest();
      await within(terminated, STOP_MS, 'terminated');
    }));

  test('stopOnEntry stops at the first hooked call', TIMEOUT, () =>
    withLive(async ({ client, exited }) => {
      const stop = await launchAndStop(client, { type: 'sockshare', request: 'launch', name: 'live entry', program: sampleExe('handoff'), stopOnEntry: true, trace: join(dir, 'live-entry.sockshare.jsonl') }, {}, STOP_MS);
      assert.equal(stop.body.reason, 'entry');
      assert.equal(stop.body.description, 'Stopped at the first hooked call');
      const { frame, scopes } = await scopesAt(client, stop.body.threadId ?? 0);
      assert.match(frame.name, /^WSAStartup\(wVersionRequested=0x202, lpWSAData=0x[0-9a-f]+\)$/);
      assert.equal(named(scopes.Call, 'result')?.value, '(not returned yet)');
      // Stepping in a live session goes to the thread's next hooked event: the return of the same call.
      const step = await nextStop(client, () => client.nextRequest({ threadId: stop.body.threadId ?? 0 }), STOP_MS);
      assert.equal(step.body.reason, 'step');
      assert.equal(step.body.threadId, stop.body.threadId);
      assert.equal(step.body.description, 'Returned from WSAStartup');
      assert.equal(named((await scopesAt(client, stop.body.threadId ?? 0)).scopes.Call, 'result')?.value, '0');
      await client.continueRequest({ threadId: stop.body.threadId ?? 0 });
      await within(exited, STOP_MS, 'exited');
    }));

  test('pause sent while the agent is still starting (before any event) stops the programs at their next hooked call', TIMEOUT, () =>
    withLive(async ({ client, outputs }) => {
      const initialized = client.waitForEvent('initialized');
      const stopped = client.waitForEvent('stopped', STOP_MS) as Promise<DebugProtocol.StoppedEvent>;
      const launched = client.launch({ type: 'sockshare', request: 'launch', name: 'live early pause', program: sampleExe('handoff'), trace: join(dir, 'live-early-pause.sockshare.jsonl') });
      launched.catch(() => undefined);
      await initialized;
      await client.configurationDoneRequest();
      // Asked before the launch answered: the threads and the pause must not fail on a model that has no events yet.
      assert.deepEqual((await client.threadsRequest()).body.threads, []);
      await client.pauseRequest({ threadId: 0 });
      const stop = await stopped;
      assert.equal(stop.body.reason, 'pause');
      const { frame } = await scopesAt(client, stop.body.threadId ?? 0);
      assert.ok(frame.source, 'the paused thread\'s frame has a source');
      assert.doesNotMatch(outputText(outputs, 'stderr'), /TypeError/);
      await within(launched, STOP_MS, 'launch');
    }));

  test('disconnect with terminateDebuggee false answers at once and the session ends with exited and terminated', TIMEOUT, () =>
    withLive(async ({ client, exited, terminated }) => {
      await launchAndStop(client, { type: 'sockshare', request: 'launch', name: 'live detach', program: sampleExe('handoff'), stopOnEntry: true, trace: join(dir, 'live-detach-1.sockshare.jsonl') }, {}, STOP_MS);
      await within(client.disconnectRequest({ terminateDebuggee: false }), 5_000, 'disconnect');
      await within(exited, 10_000, 'exited');
      await within(terminated, 5_000, 'terminated');
    }));

  test(
    'disconnect with terminateDebuggee false detaches: the program completes and its output reaches the Debug Console as stdout',
    TIMEOUT,
    () =>
      withLive(async ({ client, outputs, terminated }) => {
        await launchAndStop(client, { type: 'sockshare', request: 'launch', name: 'live detach', program: sampleExe('handoff'), stopOnEntry: true, trace: join(dir, 'live-detach-2.sockshare.jsonl') }, {}, STOP_MS);
        await within(client.disconnectRequest({ terminateDebuggee: false }), 5_000, 'disconnect');
        // The adapter stays up (the test client does not kill it after a bare disconnect request): the output can still come.
        const stdout = await waitForOutput(outputs, 'stdout', /\[source\] target exited with 0/, 8_000);
        assert.match(stdout, /\[target\] imported the socket as 0x[0-9a-f]+/);
        await within(terminated, 5_000, 'terminated');
      }),
  );
});
