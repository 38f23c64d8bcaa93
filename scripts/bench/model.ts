/**
 * Model throughput: reads every event of a trace into memory (not timed), then times ShareModel.apply over
 * all of them, best and median of RUNS; then what the model with history holds at the end (its compact history, the
 * heap) and the process's peak RSS (which includes the preloaded events).
 * Usage: node --expose-gc scripts/bench/model.ts TRACE [RUNS] (bench.mjs bundles it first, as dist/ is bundled).
 * Prints one JSON line: {"events","runs","bestSeconds","medianSeconds","modelEventsPerSec","modelMedianEventsPerSec",
 * "finishSeconds","findings","historyMb","modelHeapMb","modelPeakRssMb","cpuSeconds"}.
 */

import { ShareModel } from '../../tracer/model/index';
import { readTraceFile } from '../../tracer/trace/index';

async function run(file: string, runs: number): Promise<void> {
  const { events } = await readTraceFile(file);
  const gc = (globalThis as { gc?: () => void }).gc;
  const heapBefore = heapAndBuffers(gc);
  let model = new ShareModel();
  const times: number[] = [];
  /** The process's CPU time over each run (the garbage collector's helper threads included): on a busy machine it shows what waiting for a core hid. */
  const cpuSeconds: number[] = [];
  let best = Number.POSITIVE_INFINITY;
  let finishSeconds = 0;
  let findings = 0;
  for (let r = 0; r < runs; r++) {
    gc?.();
    model = new ShareModel();
    const cpuBefore = process.cpuUsage();
    const started = performance.now();
    for (let i = 0; i < events.length; i++) model.apply(events[i]);
    const seconds = (performance.now() - started) / 1000;
    const cpu = process.cpuUsage(cpuBefore);
    cpuSeconds.push((cpu.user + cpu.system) / 1e6);
    best = Math.min(best, seconds);
    times.push(seconds);
    const finishStarted = performance.now();
    model.finish();
    finishSeconds = (performance.now() - finishStarted) / 1000;
    findings = model.findingCount;
    console.error(`  model run ${r + 1}/${runs}: ${seconds.toFixed(3)} s (${Math.round(events.length / seconds).toLocaleString('en-US')} events/s; ${cpuSeconds[r].toFixed(3)} s of CPU)`);
  }
  const median = times.sort((a, b) => a - b)[Math.floor(times.length / 2)];
  const history = model.state.historyBytes();
  const historyMb = (history.sockets + history.descriptors + history.handoffs + history.findings) / 1048576;
  const modelHeapMb = (heapAndBuffers(gc) - heapBefore) / 1048576;
  console.error(`  history: ${JSON.stringify(Object.fromEntries(Object.entries(history).map(([k, v]) => [k, Number((v / 1048576).toFixed(1))])))} MB; the model's heap and buffers: ${modelHeapMb.toFixed(1)} MB`);
  const result = {
    events: events.length,
    runs,
    bestSeconds: best,
    medianSeconds: median,
    modelEventsPerSec: Math.round(events.length / best),
    modelMedianEventsPerSec: Math.round(events.length / median),
    finishSeconds,
    findings,
    historyMb: Number(historyMb.toFixed(1)),
    modelHeapMb: Number(modelHeapMb.toFixed(1)),
    modelPeakRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
    cpuSeconds: cpuSeconds.map((c) => Number(c.toFixed(3))),
  };
  console.log(JSON.stringify(result));
}

/** Heap in use plus ArrayBuffers (the compact history's buffers live outside the heap), after a collection. */
function heapAndBuffers(gc: (() => void) | undefined): number {
  gc?.();
  const usage = process.memoryUsage();
  return usage.heapUsed + usage.arrayBuffers;
}

const [file, runsText] = process.argv.slice(2);
if (!file) {
  console.error('usage: model.ts TRACE [RUNS]');
  process.exit(2);
}
run(file, Number(runsText ?? 3)).catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
