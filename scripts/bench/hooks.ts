/**
 * What a hooked call costs, timed inside the cheap-calls sample (QueryPerformanceCounter around its loop of
 * closesocket(INVALID_SOCKET)): untraced, traced in-process (stubs and a ring), and traced with breakpoints (a debug
 * event per call), on the same machine in the same run; the breakpoint path with and without call stacks (each call's
 * stack walked and symbolized by the agent; SOCKSHARE_STACKS=0 turns them off), and the in-process path with and
 * without --stacks (RtlCaptureStackBackTrace in the stub, symbolized by the agent at the drain). Prints one JSON line.
 * Usage: node --import tsx scripts/bench/hooks.ts [INPROCESS_CALLS] [BREAKPOINT_CALLS]
 */

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LiveCapture, type LiveOptions } from '../../tracer/capture/live';
import { resolveRuntime } from '../../tracer/capture/runtime';
import type { TraceEvent } from '../../tracer/trace/schema';
import { buildSamples } from '../build-samples.mjs';
import { root } from '../lib/setup.mjs';
import { ensureWindowsRuntime } from '../lib/win-runtime.mjs';
import { runUnderWine, winePrefix } from '../lib/wine.mjs';

const EXE = join(root, 'samples', 'cheap-calls', 'cheap-calls.exe');

function loopMs(stdout: string): number {
  const match = /closesocket calls, \d+ failed with WSAENOTSOCK, in ([\d.]+) ms/.exec(stdout);
  if (!match) throw new Error(`cheap-calls printed no timing: ${stdout}`);
  return Number(match[1]);
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

async function untraced(calls: number): Promise<number> {
  const runs: number[] = [];
  for (let i = 0; i < 5; i++) runs.push(loopMs((await runUnderWine(EXE, [String(calls)], { timeoutMs: 120_000 })).stdout));
  return median(runs);
}

async function traced(calls: number, capture: LiveOptions['capture'], stacks = true, inprocessStacks = false) {
  // The agent inherits this process's environment (resolveRuntime copies it).
  if (stacks) delete process.env.SOCKSHARE_STACKS;
  else process.env.SOCKSHARE_STACKS = '0';
  const capture_ = new LiveCapture({ runtime: resolveRuntime('wine'), launches: [{ program: EXE, args: [String(calls)] }], traceFile: join(mkdtempSync(join(tmpdir(), 'sockshare-bench-')), 'calls.sockshare.jsonl'), tracerVersion: 'bench', capture, stacks: inprocessStacks });
  let stdout = '';
  let recorded = 0;
  let lost = 0;
  capture_.on('event', (e: TraceEvent) => {
    if (e.kind === 'output') stdout += e.text;
    if (e.kind === 'api' && e.phase === 'call' && e.api === 'closesocket') recorded++;
    if (e.kind === 'records-lost') lost += e.count;
  });
  await capture_.start();
  const end = await capture_.finished;
  if (end.agentExitCode !== 0) throw new Error(`traced run failed: ${end.error}`);
  return { ms: loopMs(stdout), recorded, lost, stats: end.stats };
}

async function main(): Promise<void> {
  const inprocessCalls = Number(process.argv[2] ?? 50000);
  const breakpointCalls = Number(process.argv[3] ?? 2000);
  process.env.SOCKSHARE_WINE_NODE = ensureWindowsRuntime();
  process.env.SOCKSHARE_WINEPREFIX = winePrefix();
  await buildSamples(['cheap-calls'], () => true);

  const baseInprocess = await untraced(inprocessCalls);
  const inprocessRuns = [];
  for (let i = 0; i < 5; i++) inprocessRuns.push(await traced(inprocessCalls, 'inprocess'));
  // The sample times each thread's calls alone: a debugger holding the process at a thread's start or exit (where
  // the agent may drain the ring) is not in the span.
  const bestMs = Math.min(...inprocessRuns.map((r) => r.ms));
  const medianMs = median(inprocessRuns.map((r) => r.ms));
  const hookOverheadUs = ((medianMs - baseInprocess) * 1000) / inprocessCalls;
  const hookOverheadBestUs = ((bestMs - baseInprocess) * 1000) / inprocessCalls;
  // The tracer's side of the in-process path, per event drained from the rings (a call or a return): reading,
  // decoding and recording it (drainNs), and writing it to the trace file and the client (writeNs, all events').
  const handled = inprocessRuns.map((r) => (r.stats?.ringEvents ? ((r.stats.drainNs ?? 0) + (r.stats.writeNs ?? 0)) / 1000 / r.stats.ringEvents : Number.NaN));
  const drainOnly = inprocessRuns.map((r) => (r.stats?.ringEvents ? (r.stats.drainNs ?? 0) / 1000 / r.stats.ringEvents : Number.NaN));
  // The agent's CPU time in its drains per record: what the record costs the agent, less what a busy machine adds.
  const drainCpu = inprocessRuns.map((r) => (r.stats?.ringEvents ? (r.stats.drainCpuNs ?? 0) / 1000 / r.stats.ringEvents : Number.NaN));

  // In-process with --stacks: each stub captures its call's stack; the agent symbolizes it at the drain.
  const stackRuns = [];
  for (let i = 0; i < 3; i++) stackRuns.push(await traced(inprocessCalls, 'inprocess', true, true));
  const hookOverheadStacksUs = ((median(stackRuns.map((r) => r.ms)) - baseInprocess) * 1000) / inprocessCalls;
  const ringStacks = stackRuns.map((r) => r.stats as { ringStacks?: number; ringStackNs?: number } | undefined);
  const symbolizeUs = ringStacks.map((r) => (r?.ringStacks ? (r.ringStackNs ?? 0) / 1000 / r.ringStacks : Number.NaN));
  const stackTracerUs = stackRuns.map((r) => (r.stats?.ringEvents ? ((r.stats.drainNs ?? 0) + (r.stats.writeNs ?? 0)) / 1000 / r.stats.ringEvents : Number.NaN));

  const baseInt3 = await untraced(breakpointCalls);
  const int3 = await traced(breakpointCalls, 'breakpoints');
  const hookOverheadInt3Us = ((int3.ms - baseInt3) * 1000) / breakpointCalls;
  const int3NoStacks = await traced(breakpointCalls, 'breakpoints', false);
  const hookOverheadInt3NoStacksUs = ((int3NoStacks.ms - baseInt3) * 1000) / breakpointCalls;
  // The agent's own time walking and symbolizing a call's stack (StackWalk64 + lookups), per call with a stack.
  const stackStats = int3.stats as { stacks?: number; stackNs?: number } | undefined;
  const stackUsPerCall = stackStats?.stacks ? (stackStats.stackNs ?? 0) / 1000 / stackStats.stacks : Number.NaN;
  const perCall = (ns: number) => Number((ns / 1000 / breakpointCalls).toFixed(1));
  const stats = int3.stats;
  console.error(`  in-process: ${inprocessCalls} calls, loop ${baseInprocess.toFixed(2)} ms untraced, ${inprocessRuns.map((r) => r.ms.toFixed(2)).join(' / ')} ms traced (recorded ${inprocessRuns[0].recorded}, lost ${inprocessRuns[0].lost})`);
  console.error(`  in-process with --stacks: loop ${stackRuns.map((r) => r.ms.toFixed(2)).join(' / ')} ms traced, ${ringStacks[0]?.ringStacks ?? 0} stacks symbolized`);
  console.error(`  breakpoints: ${breakpointCalls} calls, loop ${baseInt3.toFixed(2)} ms untraced, ${int3.ms.toFixed(1)} ms traced with stacks, ${int3NoStacks.ms.toFixed(1)} ms without`);
  console.log(
    JSON.stringify({
      inprocessCalls,
      hookOverheadUs: Number(hookOverheadUs.toFixed(4)),
      hookOverheadBestUs: Number(hookOverheadBestUs.toFixed(4)),
      tracerUsPerRecord: Number(median(handled).toFixed(2)),
      tracerUsPerRecordRuns: handled.map((v) => Number(v.toFixed(2))),
      tracerDrainUsPerRecord: Number(median(drainOnly).toFixed(2)),
      tracerDrainCpuUsPerRecord: Number(median(drainCpu).toFixed(2)),
      inprocessLoopMs: inprocessRuns.map((r) => Number(r.ms.toFixed(2))),
      hookOverheadStacksUs: Number(hookOverheadStacksUs.toFixed(4)),
      inprocessStackUsPerCall: Number((hookOverheadStacksUs - hookOverheadUs).toFixed(4)),
      inprocessStacksLoopMs: stackRuns.map((r) => Number(r.ms.toFixed(2))),
      inprocessStackSymbolizeUs: Number(median(symbolizeUs).toFixed(2)),
      tracerUsPerRecordWithStacks: Number(median(stackTracerUs).toFixed(2)),
      inprocessStacksRecorded: ringStacks[0]?.ringStacks ?? 0,
      breakpointCalls,
      hookOverheadInt3Us: Number(hookOverheadInt3Us.toFixed(1)),
      hookOverheadInt3NoStacksUs: Number(hookOverheadInt3NoStacksUs.toFixed(1)),
      stackCaptureUsPerCall: Number((hookOverheadInt3Us - hookOverheadInt3NoStacksUs).toFixed(1)),
      stackWalkUsPerCall: Number(stackUsPerCall.toFixed(1)),
      stacksRecorded: stackStats?.stacks ?? 0,
      ratio: Math.round(hookOverheadInt3Us / Math.max(hookOverheadUs, 1e-6)),
      recordedInprocess: inprocessRuns[0].recorded,
      lostInprocess: inprocessRuns[0].lost,
      ...(stats && { debugEventsPerCall: Number((stats.debugEvents / breakpointCalls).toFixed(2)), waitUsPerCall: perCall(stats.waitNs), handleUsPerCall: perCall(stats.handleNs), continueUsPerCall: perCall(stats.continueNs) }),
    }),
  );
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
