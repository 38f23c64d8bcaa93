import assert from 'node:assert/strict';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { modelOf } from '../../tracer/model';
import type { TraceEvent } from '../../tracer/trace/schema';
import { wineWindowsPath } from '../../tracer/capture/runtime';
import { type Recording, SAMPLES, expectedOf, normalisedOutput, record, sampleExe, windowsNode } from './support';

const C_SAMPLES = readdirSync(SAMPLES).filter((name) => existsSync(join(SAMPLES, name, `${name}.c`)) && name !== 'cheap-calls' && name !== 'handoff-cycles');

/** Error and warning findings as "rule/severity", sorted: what must not depend on the capture mode. */
function problems(events: TraceEvent[]): string[] {
  return modelOf(events)
    .findings()
    .filter((f) => f.severity !== 'info')
    .map((f) => `${f.rule}/${f.severity}`)
    .sort();
}

/** Each pid's place in the order the processes started. */
function processOrder(events: TraceEvent[]): Map<number, number> {
  const order = new Map<number, number>();
  for (const e of events) if (e.kind === 'process-start' && !order.has(e.pid)) order.set(e.pid, order.size);
  return order;
}

/**
 * Each process's own calls in order, processes named by their start order (pids differ between runs). Across
 * processes only the handoff is ordered (the source's peer and the target run concurrently in between).
 */
function callSequences(events: TraceEvent[]): string[][] {
  const order = processOrder(events);
  const perProcess: string[][] = [...order.keys()].map(() => []);
  for (const e of events) if (e.kind === 'api' && !e.internal) perProcess[order.get(e.pid) ?? 0].push(`${e.api} ${e.phase}`);
  return perProcess;
}

/** Each process's calls with their stacks (function or module+offset, and file:line where known), in order. */
function callStacks(events: TraceEvent[]): string[][] {
  const order = processOrder(events);
  const perProcess: string[][] = [...order.keys()].map(() => []);
  for (const e of events) {
    if (e.kind !== 'api' || e.phase !== 'call' || e.internal) continue;
    const frames = (e.stack ?? []).map((f) => `${f.function ?? `${f.module}+0x${f.offset.toString(16)}`}${f.file ? ` ${f.file.split('\\').pop()}:${f.line}` : ''}`);
    perProcess[order.get(e.pid) ?? 0].push(`${e.api} ${frames.join(' ')}`);
  }
  return perProcess;
}

/**
 * Per process (in callStacks' order), the indexes of its calls without a stack that its thread made before any call
 * with one (a stub that read the capture function before the unwind data was registered).
 */
function firstCallsWithoutStack(events: TraceEvent[]): number[][] {
  const order = processOrder(events);
  const perProcess: number[][] = [...order.keys()].map(() => []);
  const counts = [...order.keys()].map(() => 0);
  const stacked = new Set<string>();
  for (const e of events) {
    if (e.kind !== 'api' || e.phase !== 'call' || e.internal) continue;
    const p = order.get(e.pid) ?? 0;
    if (e.stack !== undefined) stacked.add(`${e.pid}:${e.tid}`);
    else if (!stacked.has(`${e.pid}:${e.tid}`)) perProcess[p].push(counts[p]);
    counts[p]++;
  }
  return perProcess;
}

/** Arguments that are sockets, and the calls whose result is one. */
const SOCKET_ARGS = new Set(['s', 'sListenSocket', 'sAcceptSocket']);
const FD_SET_ARGS = new Set(['readfds', 'writefds', 'exceptfds']);
const RETURNS_SOCKET = new Set(['socket', 'WSASocketA', 'WSASocketW', 'accept', 'WSAAccept']);

/**
 * Each process's calls as decoded (arguments, result, error, out-parameters), sorted: what the two paths must agree
 * on call for call. What differs from run to run is masked: pids, ports, buffer addresses, and socket handle values
 * (a target's imported handle varies between runs: sockets are named by their order of appearance in the process).
 */
function decodedCalls(events: TraceEvent[]): string[][] {
  const order = processOrder(events);
  const perProcess: string[][] = [...order.keys()].map(() => []);
  const socketNames = new Map<number, Map<unknown, string>>();
  const socketName = (pid: number, value: unknown): unknown => {
    if (value === -1) return value;
    const names = socketNames.get(pid) ?? new Map<unknown, string>();
    socketNames.set(pid, names);
    if (!names.has(value)) names.set(value, `socket#${names.size}`);
    return names.get(value);
  };
  const mask = (pid: number, value: unknown, key = ''): unknown => {
    if (key === 'dwProcessId') return 'pid';
    if (key === 'dwServiceFlags3') return 'handle';
    if (SOCKET_ARGS.has(key)) return socketName(pid, value);
    // An fd_set lists socket values as "0x30,0x34": named like any other socket (handle values differ run to run).
    if (FD_SET_ARGS.has(key) && typeof value === 'string' && value !== '') return value.split(',').map((v) => socketName(pid, Number(v))).join(',');
    if (typeof value === 'string') return value.replace(/:\d+$/, ':port').replace(/^0x[0-9a-f]{5,}$/, 'address');
    if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, mask(pid, v, k)]));
    return value;
  };
  for (const e of events) {
    if (e.kind !== 'api' || e.internal) continue;
    const shown =
      e.phase === 'call'
        ? { api: e.api, args: mask(e.pid, e.args) }
        : { api: e.api, result: RETURNS_SOCKET.has(e.api) ? socketName(e.pid, e.result) : e.result, error: e.error, out: mask(e.pid, e.out) };
    perProcess[order.get(e.pid) ?? 0].push(JSON.stringify(shown));
  }
  return perProcess.map((calls) => calls.sort());
}

const exitCodes = (events: TraceEvent[]) => events.flatMap((e) => (e.kind === 'process-exit' ? [e.exitCode] : [])).sort();

const count = (events: TraceEvent[], test: (e: TraceEvent) => boolean) => events.filter(test).length;

/** The capture-setup event of the (first) process: what its stubs record. */
function setupOf(events: TraceEvent[]) {
  const setup = events.find((e) => e.kind === 'capture-setup');
  assert.ok(setup && setup.kind === 'capture-setup', 'the trace says what the in-process path set up');
  return setup;
}

describe('in-process capture: stubs record every hooked call in the process, memory arguments copied into the ring', () => {
  for (const sample of C_SAMPLES) {
    it(`${sample}: the same findings as with breakpoints`, async () => {
      const breakpoints = await record(`${sample}-breakpoints`, [{ program: sampleExe(sample) }]);
      const inprocess = await record(`${sample}-inprocess`, [{ program: sampleExe(sample) }], { capture: 'inprocess' });
      const outputs = `\n--- breakpoints:\n${breakpoints.stdout}\n--- inprocess:\n${inprocess.stdout}`;
      assert.equal(breakpoints.end.agentExitCode, 0, `breakpoints: ${breakpoints.end.error}${outputs}`);
      assert.equal(inprocess.end.agentExitCode, 0, `inprocess: ${inprocess.end.error}${outputs}`);
      // The stubs change nothing the programs can see: they exit as they do under breakpoints.
      assert.deepEqual(exitCodes(inprocess.events), exitCodes(breakpoints.events), outputs);
      assert.deepEqual(problems(inprocess.events), problems(breakpoints.events), outputs);
      // Call for call: the same decoded arguments, results, errors and out-parameters in each process.
      assert.deepEqual(decodedCalls(inprocess.events), decodedCalls(breakpoints.events), outputs);
    });
  }

  it('handoff: both modes record the same calls in the same order in each process, the export before the import', async () => {
    const breakpoints = await record('handoff-order-breakpoints', [{ program: sampleExe('handoff') }]);
    const inprocess = await record('handoff-order-inprocess', [{ program: sampleExe('handoff') }], { capture: 'inprocess' });
    assert.deepEqual(callSequences(inprocess.events), callSequences(breakpoints.events));
    const seqOf = (events: TraceEvent[], api: string) => events.find((e) => e.kind === 'api' && e.api === api && e.phase === 'call' && !e.internal)?.seq ?? -1;
    for (const run of [breakpoints, inprocess]) assert.ok(seqOf(run.events, 'WSADuplicateSocketW') < seqOf(run.events.filter((e) => e.kind === 'api' && e.api === 'WSASocketW' && e.phase === 'call' && e.args.af === -1), 'WSASocketW'), 'the export comes before the import');
    // Each process prints the same; how the two processes' lines interleave depends on timing.
    assert.deepEqual(normalisedOutput(inprocess.stdout), normalisedOutput(breakpoints.stdout));
  });

  it('--stacks: each call the program makes carries the stack the breakpoint path walks, from its caller to the thread\'s first frame', async () => {
    const breakpoints = await record('stacks-breakpoints', [{ program: sampleExe('event-select-cancel') }]);
    const inprocess = await record('stacks-inprocess', [{ program: sampleExe('event-select-cancel') }], { capture: 'inprocess', stacks: true });
    const plain = await record('stacks-off-inprocess', [{ program: sampleExe('event-select-cancel') }], { capture: 'inprocess' });
    for (const run of [breakpoints, inprocess, plain]) assert.equal(run.end.agentExitCode, 0, run.end.error);
    // The stubs capture stacks once their unwind data is registered (by a thread of the tracer's, racing the program's
    // first calls): a thread's first calls may have none, never a wrong one; every later call has the breakpoint path's.
    const expected = callStacks(breakpoints.events);
    const stacks = callStacks(inprocess.events);
    const unstackedEarly = firstCallsWithoutStack(inprocess.events);
    unstackedEarly.forEach((calls, p) => calls.forEach((index) => (stacks[p][index] = expected[p][index])));
    assert.deepEqual(stacks, expected);
    const framesOf = stacks.flat().filter((call) => call.startsWith('WSAEventSelect '));
    assert.ok(framesOf.length >= 2 && framesOf.every((call) => /^WSAEventSelect (main|target) event-select-cancel\.c:\d+ /.test(call) && call.includes('main event-select-cancel.c:') && call.endsWith('RtlUserThreadStart')), `WSAEventSelect's stacks name the .c line, main and the thread's start:\n${framesOf.join('\n')}`);
    // Off by default: no call has a stack, not even a process's first hooked call, which installs the stubs on its
    // breakpoint; no stack is walked and no symbol handler started.
    const stacked = plain.events.filter((e) => e.kind === 'api' && e.phase === 'call' && e.stack !== undefined);
    assert.deepEqual(stacked.map((e) => e.kind === 'api' && e.api), [], 'without --stacks, no call has a stack');
    assert.equal(plain.end.stats?.stacks, 0, 'without --stacks, no stack is walked');
  });

  it('4 threads x 5,000 calls: every call and return recorded, each on its own thread, nothing lost', async () => {
    const { events, stdout } = await record('cheap-calls-4x5000', [{ program: sampleExe('cheap-calls'), args: ['5000', '4'] }], { capture: 'inprocess' });
    assert.match(stdout, /4 threads x 5000 closesocket calls, 20000 failed with WSAENOTSOCK/);
    const calls = events.filter((e) => e.kind === 'api' && e.api === 'closesocket' && e.phase === 'call');
    assert.equal(calls.length, 20000);
    assert.equal(count(events, (e) => e.kind === 'api' && e.api === 'closesocket' && e.phase === 'return' && e.error === 10038), 20000);
    assert.equal(new Set(calls.map((e) => (e.kind === 'api' ? e.tid : 0))).size, 4);
    assert.equal(count(events, (e) => e.kind === 'records-lost'), 0);
  });

  it('each ring is a section the tracer maps too, and each capture-setup says so; a ring that cannot be mapped is read with ReadProcessMemory, with the same calls and nothing lost', async () => {
    // Under Wine the section is backed by a delete-on-close file in /dev/shm (memory, not the wineserver's disk).
    const ringFiles = () => (existsSync('/dev/shm') ? readdirSync('/dev/shm').filter((f) => f.startsWith('sockshare-ring-')) : []);
    // What a wineserver killed mid-run leaves (it deletes a ring's file when the last view goes): the next agent removes it.
    const stale = '/dev/shm/sockshare-ring-0-0-0';
    if (existsSync('/dev/shm')) writeFileSync(stale, 'a ring file nobody maps');
    const before = ringFiles().filter((f) => f !== 'sockshare-ring-0-0-0');
    let backedDuring = 0;
    const shared = await record('handoff-ring-shared', [{ program: sampleExe('handoff') }], { capture: 'inprocess', onEvent: (e) => void (e.kind === 'capture-setup' && (backedDuring = Math.max(backedDuring, ringFiles().filter((f) => !before.includes(f)).length))) });
    process.env.SOCKSHARE_RING_MEMORY = 'private';
    let unmapped: Recording;
    let burst: Recording;
    try {
      unmapped = await record('handoff-ring-private', [{ program: sampleExe('handoff') }], { capture: 'inprocess' });
      burst = await record('cheap-calls-ring-private', [{ program: sampleExe('cheap-calls'), args: ['3000', '2'] }], { capture: 'inprocess' });
    } finally {
      delete process.env.SOCKSHARE_RING_MEMORY;
    }
    for (const run of [shared, unmapped, burst]) assert.equal(run.end.agentExitCode, 0, run.end.error);
    const ringShared = (run: Recording) => run.events.flatMap((e) => (e.kind === 'capture-setup' ? [e.ringShared] : []));
    assert.ok(ringShared(shared).length === 2 && ringShared(shared).every((s) => s === true), `every process's ring mapped: ${ringShared(shared)}`);
    assert.ok(ringShared(unmapped).length === 2 && ringShared(unmapped).every((s) => s === false), `every ring read with ReadProcessMemory: ${ringShared(unmapped)}`);
    assert.deepEqual(decodedCalls(unmapped.events), decodedCalls(shared.events));
    assert.equal(count(burst.events, (e) => e.kind === 'api' && e.api === 'closesocket' && e.phase === 'return' && e.error === 10038), 6000);
    assert.equal(count(burst.events, (e) => e.kind === 'records-lost'), 0);
    if (existsSync('/dev/shm')) assert.ok(backedDuring >= 1, 'while the handoff ran, its rings were files in /dev/shm');
    assert.deepEqual(ringFiles().filter((f) => !before.includes(f)), [], 'no ring file outlives its recording');
    assert.ok(!existsSync(stale), 'a ring file no live process maps is removed by the next recording');
  });

  it('a breakpoint set on a recorded API arms its stub: every call stops once, and is recorded once', async () => {
    let stops = 0;
    const { events, stdout, end } = await record('cheap-calls-armed', [{ program: sampleExe('cheap-calls'), args: ['20', '1'] }], {
      capture: 'inprocess',
      stopOnEntry: true,
      onStop: (stop, capture) => {
        // At the first hooked call the stubs are in place: a breakpoint on closesocket now arms its stub.
        if (stop.reason === 'entry') capture.send({ cmd: 'setStops', apis: ['closesocket'] });
        else if (stop.api === 'closesocket') stops++;
        capture.send({ cmd: 'continue' });
      },
    });
    assert.equal(end.agentExitCode, 0, end.error);
    assert.match(stdout, /20 failed with WSAENOTSOCK/);
    assert.equal(stops, 20);
    assert.equal(count(events, (e) => e.kind === 'api' && e.api === 'closesocket' && e.phase === 'call'), 20);
    assert.equal(count(events, (e) => e.kind === 'api' && e.api === 'closesocket' && e.phase === 'return' && e.error === 10038), 20);
  });

  it('a stop on failure: a stub fail-armed for an API stops after each failed call, with its return in the trace', async () => {
    const stops: number[] = [];
    const { events, stdout, end } = await record('cheap-calls-failures', [{ program: sampleExe('cheap-calls'), args: ['20', '1'] }], {
      capture: 'inprocess',
      stopOnEntry: true,
      onStop: (stop, capture) => {
        if (stop.reason === 'entry') capture.send({ cmd: 'setStops', apis: [], failures: ['closesocket', 'WSACleanup'] });
        else stops.push(stop.seq);
        capture.send({ cmd: 'continue' });
      },
    });
    assert.equal(end.agentExitCode, 0, end.error);
    assert.match(stdout, /20 failed with WSAENOTSOCK/);
    // closesocket(INVALID_SOCKET) fails every time; WSACleanup succeeds and never stops.
    assert.equal(stops.length, 20);
    for (const seq of stops) {
      const stopped = events.find((e) => e.seq === seq);
      assert.ok(stopped?.kind === 'api' && stopped.phase === 'return' && stopped.api === 'closesocket' && stopped.error === 10038);
    }
    assert.equal(count(events, (e) => e.kind === 'api' && e.api === 'closesocket' && e.phase === 'call'), 20, 'each call recorded once');
  });

  it('a stop on failure costs nothing while calls succeed: the handoff, fail-armed on recv, send and closesocket, never stops', async () => {
    let stops = 0;
    const { stdout, end } = await record('handoff-failures', [{ program: sampleExe('handoff') }], {
      capture: 'inprocess',
      stopOnEntry: true,
      onStop: (stop, capture) => {
        if (stop.reason === 'entry') capture.send({ cmd: 'setStops', apis: [], failures: ['recv', 'send', 'closesocket'] });
        else stops++;
        capture.send({ cmd: 'continue' });
      },
    });
    assert.equal(end.agentExitCode, 0, end.error);
    assert.ok(stdout.includes('[source] target exited with 0'));
    assert.equal(stops, 0);
  });

  it('--overflow drop: a ring forced to overflow reports exactly how many records it lost', async () => {
    const calls = 20000;
    const { events, stdout } = await record('cheap-calls-overflow', [{ program: sampleExe('cheap-calls'), args: [String(calls), '1'] }], { capture: 'inprocess', ringSlots: 1024, overflow: 'drop' });
    assert.match(stdout, new RegExp(`${calls} failed with WSAENOTSOCK`));
    const lost = events.reduce((sum, e) => sum + (e.kind === 'records-lost' ? e.count : 0), 0);
    assert.ok(lost > 0, 'a 1,024-record ring cannot hold 40,000 records');
    // Every record the stubs wrote (a call and a return per closesocket, and WSACleanup's) is either in the trace or counted lost.
    const recorded = count(events, (e) => e.kind === 'api' && (e.api === 'closesocket' || e.api === 'WSACleanup'));
    assert.equal(recorded + lost, 2 * calls + 2);
    assert.ok(modelOf(events).findings().some((f) => f.rule === 'records-lost'), 'check reports the loss');
  });

  it('a call through a GetProcAddress pointer goes through the inline hook: every call recorded, no debug event per call', async () => {
    const { events, stdout, end } = await record('cheap-calls-pointer', [{ program: sampleExe('cheap-calls'), args: ['5000', '1', 'pointer'] }], { capture: 'inprocess' });
    assert.equal(end.agentExitCode, 0, end.error);
    assert.match(stdout, /5000 closesocket calls through a GetProcAddress pointer, 5000 failed with WSAENOTSOCK/);
    assert.ok(setupOf(events).inProcess.includes('closesocket'));
    assert.equal(count(events, (e) => e.kind === 'api' && e.api === 'closesocket' && e.phase === 'return' && e.error === 10038), 5000);
    assert.ok(end.stats && end.stats.debugEvents < 500, `${end.stats?.debugEvents} debug events for 5,000 recorded calls`);
  });

  it("a stack walk, a longjmp and an exception from inside WSAAccept's condition callback get through the stub to the caller", async () => {
    const { events, stdout, end } = await record('stack-walk-inprocess', [{ program: sampleExe('stack-walk') }], { capture: 'inprocess' });
    assert.equal(end.agentExitCode, 0, end.error);
    const setup = setupOf(events);
    assert.ok(setup.inProcess.includes('WSAAccept'), 'WSAAccept is recorded by its stub, which is on the stack during the callback');
    assert.equal(setup.unwindData, true, "the stubs' unwind data is registered");
    for (const line of expectedOf('stack-walk').observed) assert.ok(stdout.includes(line), `${line}\n--- output:\n${stdout}`);
    assert.deepEqual(exitCodes(events), [0]);
    assert.ok(count(events, (e) => e.kind === 'api' && e.api === 'WSAAccept' && e.phase === 'call' && e.caller.module === 'stack-walk.exe') >= 3);
  });

  it('detached, the programs run on: entry points put back and every stub disarmed', async () => {
    let detached = false;
    const { stdout, end } = await record('handoff-inprocess-detach', [{ program: sampleExe('handoff') }], {
      capture: 'inprocess',
      stopOnEntry: true,
      onStop: (_stop, capture) => {
        if (detached) return capture.send({ cmd: 'continue' });
        detached = true;
        // An armed stub left behind would execute int3 with no debugger to take it, and end the program.
        capture.send({ cmd: 'setStops', apis: ['closesocket', 'send', 'recv'] });
        capture.send({ cmd: 'detach' });
      },
    });
    assert.equal(end.agentExitCode, 0, end.error);
    assert.ok(detached);
    for (const line of ['[target] send returned 21', '[source] peer received: hello from the target', '[source] target exited with 0']) assert.ok(stdout.includes(line), `${line}\n--- output:\n${stdout}`);
  });

  for (const capture of ['breakpoints', 'inprocess'] as const) {
    it(`${capture}: AcceptEx is hooked at the pointer WSAIoctl hands out, and the socket it accepted is the one handed over`, async () => {
      const { events, end } = await record(`acceptex-${capture}`, [{ program: sampleExe('acceptex') }], { capture });
      assert.equal(end.agentExitCode, 0, end.error);
      const ioctl = events.find((e) => e.kind === 'api' && e.phase === 'return' && e.api === 'WSAIoctl' && e.out?.extensionFunction === 'AcceptEx');
      assert.ok(ioctl, 'WSAIoctl(SIO_GET_EXTENSION_FUNCTION_POINTER) names AcceptEx');
      const acceptEx = events.find((e) => e.kind === 'api' && e.phase === 'call' && e.api === 'AcceptEx');
      assert.ok(acceptEx && acceptEx.kind === 'api' && acceptEx.phase === 'call');
      // The sample accepts with AcceptEx alone: the one accepted socket is AcceptEx's, and the one handed over.
      const accepted = modelOf(events)
        .sockets()
        .filter((s) => s.acceptedFrom !== undefined);
      assert.equal(accepted.length, 1, 'the accept socket became the connection accepted on the listener');
      assert.equal(accepted[0].handoffIds.length, 1, 'and it is the socket handed to the target');
      assert.deepEqual(exitCodes(events), [0, 0]);
    });
  }

  it("node-cluster (Windows node.exe): libuv's calls are recorded in both processes, AcceptEx at its pointer, and the handoff is traced", async () => {
    const { events, end } = await record('node-cluster-inprocess', [{ program: windowsNode(), args: [wineWindowsPath(join(SAMPLES, 'node-cluster', 'main.js'))] }], { capture: 'inprocess' });
    assert.equal(end.agentExitCode, 0, end.error);
    const setups = events.filter((e) => e.kind === 'capture-setup');
    assert.equal(setups.length, 2, 'the parent and the forked child each get stubs');
    for (const setup of setups) assert.ok(setup.kind === 'capture-setup' && setup.inProcess.includes('closesocket') && setup.unwindData);
    assert.ok(count(events, (e) => e.kind === 'api' && e.phase === 'call' && e.api === 'AcceptEx') > 0, 'libuv accepts with AcceptEx');
    const [handoff] = modelOf(events)
      .handoffs()
      .filter((h) => h.imports.length > 0);
    assert.ok(handoff, 'the socket handoff from the parent to the child was traced');
    assert.deepEqual(exitCodes(events), [0, 0]);
  });
});
