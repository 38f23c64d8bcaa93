/**
 * Hook overhead: the handoff-cycles sample times its own loop (QueryPerformanceCounter); run untraced and traced,
 * (traced - untraced) / hooked calls in the loop is what one traced call costs. Prints one JSON line.
 * Usage: node --import tsx scripts/bench/hooks.ts [CYCLES]
 */

import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { mkdtempSync } from 'node:fs';
import { LiveCapture } from '../../tracer/capture/live';
import { resolveRuntime } from '../../tracer/capture/runtime';
import type { TraceEvent } from '../../tracer/trace/schema';
import { buildSamples } from '../build-samples.mjs';
import { ensureWindowsRuntime } from '../lib/win-runtime.mjs';
import { root } from '../lib/setup.mjs';
import { runUnderWine, winePrefix } from '../lib/wine.mjs';

const LOOP_APIS = new Set(['socket', 'WSASocketW', 'WSADuplicateSocketW', 'closesocket']);

function loopMs(stdout: string): number {
  const match = /(\d+) handoff cycles in ([\d.]+) ms/.exec(stdout);
  if (!match) throw new Error(`handoff-cycles printed no timing: ${stdout}`);
  return Number(match[2]);
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

async function traced(exe: string, cycles: number) {
  const capture = new LiveCapture({ runtime: resolveRuntime('wine'), launches: [{ program: exe, args: [String(cycles)] }], traceFile: join(mkdtempSync(join(tmpdir(), 'sockshare-bench-')), 'cycles.sockshare.jsonl'), tracerVersion: 'bench' });
  let stdout = '';
  let calls = 0;
  capture.on('event', (e: TraceEvent) => {
    if (e.kind === 'output') stdout += e.text;
    if (e.kind === 'api' && e.phase === 'call' && LOOP_APIS.has(e.api)) calls++;
  });
  const started = Date.now();
  await capture.start();
  const end = await capture.finished;
  if (end.agentExitCode !== 0) throw new Error(`traced run failed: ${end.error}`);
  return { ms: loopMs(stdout), calls, wallMs: Date.now() - started, stats: end.stats };
}

async function main(): Promise<void> {
  const cycles = Number(process.argv[2] ?? 1000);
  process.env.SOCKSHARE_WINE_NODE = ensureWindowsRuntime();
  process.env.SOCKSHARE_WINEPREFIX = winePrefix();
  await buildSamples(['handoff-cycles'], () => true);
  const exe = join(root, 'samples', 'handoff-cycles', 'handoff-cycles.exe');
  const untracedRuns: number[] = [];
  for (let i = 0; i < 3; i++) untracedRuns.push(loopMs((await runUnderWine(exe, [String(cycles)], { timeoutMs: 120_000 })).stdout));
  const tracedRuns = [];
  for (let i = 0; i < 3; i++) tracedRuns.push(await traced(exe, cycles));
  const untracedMs = median(untracedRuns);
  const tracedMs = median(tracedRuns.map((r) => r.ms));
  const calls = tracedRuns[0].calls;
  const stats = tracedRuns[0].stats;
  const perCall = (ns: number) => Number((ns / 1000 / calls).toFixed(1));
  const where = stats && { debugEventsPerCall: Number((stats.debugEvents / calls).toFixed(2)), waitUsPerCall: perCall(stats.waitNs), handleUsPerCall: perCall(stats.handleNs), continueUsPerCall: perCall(stats.continueNs) };
  const result = { cycles, hookedCalls: calls, untracedMs, tracedMs, hookOverheadUs: Number((((tracedMs - untracedMs) * 1000) / calls).toFixed(1)), ...where };
  console.error(`  untraced loop: ${untracedRuns.map((v) => v.toFixed(1)).join(', ')} ms; traced loop: ${tracedRuns.map((r) => r.ms.toFixed(1)).join(', ')} ms; ${calls} hooked calls`);
  console.log(JSON.stringify(result));
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
