import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { TraceEvent } from '../../tracer/trace/schema';
import { nodeHttpCluster, record, sampleExe } from './support';

const count = (events: TraceEvent[], test: (e: TraceEvent) => boolean) => events.filter(test).length;

/** How often a request's reads and writes retry depends on timing: those calls are not counted. */
const TIMING_DEPENDENT = new Set(['recv', 'send', 'WSARecv', 'WSASend', 'select', 'WSAEnumNetworkEvents', 'WSAWaitForMultipleEvents']);

/** Calls per API made by the programs themselves (not Winsock's internal ones). */
function callsPerApi(events: TraceEvent[]): Record<string, number> {
  const calls: Record<string, number> = {};
  for (const e of events) if (e.kind === 'api' && e.phase === 'call' && !e.internal && !TIMING_DEPENDENT.has(e.api)) calls[e.api] = (calls[e.api] ?? 0) + 1;
  return calls;
}

describe('in-process capture keeps up: nothing lost by default, no trap per call', () => {
  it('a burst into a small ring: the stubs wait for the drain, every call is recorded, the waits are in a ring-stalls event', async () => {
    const perThread = 25000;
    const { events, stdout, end } = await record('cheap-calls-burst-wait', [{ program: sampleExe('cheap-calls'), args: [String(perThread), '4'] }], { capture: 'inprocess', ringSlots: 4096 });
    assert.equal(end.agentExitCode, 0, end.error);
    assert.match(stdout, new RegExp(`4 threads x ${perThread} closesocket calls, ${4 * perThread} failed with WSAENOTSOCK`));
    assert.equal(count(events, (e) => e.kind === 'api' && e.api === 'closesocket' && e.phase === 'call'), 4 * perThread);
    assert.equal(count(events, (e) => e.kind === 'api' && e.api === 'closesocket' && e.phase === 'return' && e.error === 10038), 4 * perThread);
    assert.equal(count(events, (e) => e.kind === 'records-lost'), 0, 'nothing lost');
    const stalls = events.filter((e) => e.kind === 'ring-stalls');
    assert.equal(stalls.length, 1, 'one ring-stalls event for the process');
    const [stall] = stalls;
    assert.ok(stall.kind === 'ring-stalls' && stall.count > 0 && stall.waitNs > 0, JSON.stringify(stall));
  });

  it('node-http-cluster in process: no debug event per request, and the same calls as with breakpoints', async () => {
    const debugEventsFor = async (requests: number) => {
      const run = await record(`node-http-cluster-no-trap-${requests}`, [nodeHttpCluster(requests)], { capture: 'inprocess' });
      assert.equal(run.end.agentExitCode, 0, run.end.error);
      assert.match(run.stdout, new RegExp(`every request answered: ${requests} of ${requests}`));
      for (const setup of run.events.filter((e) => e.kind === 'capture-setup')) assert.ok(setup.kind === 'capture-setup' && setup.onBreakpoints.length === 0, JSON.stringify(setup));
      return { run, debugEvents: run.end.stats?.debugEvents ?? Infinity };
    };
    // Process and thread starts, DLL loads and exits, the stubs' setup: as many for 40 requests as for 200.
    const few = await debugEventsFor(40);
    const many = await debugEventsFor(200);
    assert.ok(many.debugEvents - few.debugEvents < 16, `${few.debugEvents} debug events for 40 requests, ${many.debugEvents} for 200`);
    const breakpoints = await record('node-http-cluster-no-trap-breakpoints', [nodeHttpCluster(200)], { capture: 'breakpoints' });
    assert.equal(breakpoints.end.agentExitCode, 0, breakpoints.end.error);
    assert.deepEqual(callsPerApi(many.run.events), callsPerApi(breakpoints.events));
  });

  it('a memory argument the program got wrong: the stub copies nothing (as the breakpoint path reads nothing) and the call fails as it would', async () => {
    const calls = 20;
    const launch = [{ program: sampleExe('cheap-calls'), args: [String(calls), '1', 'bad-pointer'] }];
    const runs = [await record('cheap-calls-bad-pointer-breakpoints', launch), await record('cheap-calls-bad-pointer-inprocess', launch, { capture: 'inprocess' })];
    for (const { events, stdout, end } of runs) {
      assert.equal(end.agentExitCode, 0, end.error);
      assert.match(stdout, new RegExp(`${calls} setsockopt calls with an unreadable optval, ${calls} failed with WSAEFAULT`));
      const setsockopts = events.filter((e) => e.kind === 'api' && e.api === 'setsockopt' && e.phase === 'call');
      assert.equal(setsockopts.length, calls);
      for (const call of setsockopts) assert.ok(call.kind === 'api' && call.phase === 'call' && call.args.optval === null && call.args.optlen === 4, JSON.stringify(call));
      assert.equal(count(events, (e) => e.kind === 'api' && e.api === 'setsockopt' && e.phase === 'return' && e.error === 10014), calls);
    }
  });
});
