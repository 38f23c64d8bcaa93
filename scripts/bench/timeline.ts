/**
 * The debugger's model over a whole recording (the Timeline the adapter uses, with its 4,096-event minimum interval):
 * walks every event once, then asks for the model at random points (a step back costs a replay from the nearest
 * checkpoint). Events are preloaded, so the figures are the model's and the checkpoints', not the reader's.
 * Usage: node --expose-gc scripts/bench/timeline.ts TRACE [POINTS] (bench.mjs bundles it first).
 * Prints one JSON line: {"walkSeconds","checkpoints","checkpointInterval","checkpointMb","timelineHeapMb",
 * "stepBackMedianMs","stepBackWorstMs","timelinePeakRssMb"}.
 */

import { Timeline, arrayStore } from '../../tracer/model/index';
import { readTraceFile } from '../../tracer/trace/index';
import { mulberry32 } from '../../test/support/random';

/** The adapter's CHECKPOINT_INTERVAL (adapter/runtime.ts). */
const ADAPTER_INTERVAL = 4096;

function heapAndBuffers(): number {
  (globalThis as { gc?: () => void }).gc?.();
  const usage = process.memoryUsage();
  return usage.heapUsed + usage.arrayBuffers;
}

async function run(file: string, points: number): Promise<void> {
  const { events } = await readTraceFile(file);
  const before = heapAndBuffers();
  const timeline = new Timeline(arrayStore(events), ADAPTER_INTERVAL);
  let started = performance.now();
  timeline.extendTo(events.length);
  const walkSeconds = (performance.now() - started) / 1000;
  const timelineHeapMb = (heapAndBuffers() - before) / 1048576;
  const random = mulberry32(0x5eed);
  const latencies: number[] = [];
  for (let p = 0; p < points; p++) {
    const n = Math.floor(random() * events.length);
    started = performance.now();
    timeline.after(n);
    latencies.push(performance.now() - started);
  }
  latencies.sort((a, b) => a - b);
  const result = {
    walkSeconds: Number(walkSeconds.toFixed(3)),
    checkpoints: timeline.checkpointCount,
    checkpointInterval: timeline.checkpointInterval,
    checkpointMb: Number((timeline.checkpointBytes / 1048576).toFixed(1)),
    timelineHeapMb: Number(timelineHeapMb.toFixed(1)),
    stepBackMedianMs: Number(latencies[Math.floor(latencies.length / 2)].toFixed(2)),
    stepBackWorstMs: Number(latencies[latencies.length - 1].toFixed(2)),
    timelinePeakRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
  };
  console.error(`  timeline: walked ${events.length.toLocaleString('en-US')} events in ${result.walkSeconds} s; ${result.checkpoints} checkpoints every ${result.checkpointInterval} events (~${result.checkpointMb} MB); model + checkpoints ${result.timelineHeapMb} MB`);
  console.log(JSON.stringify(result));
}

const [file, pointsText] = process.argv.slice(2);
if (!file) {
  console.error('usage: timeline.ts TRACE [POINTS]');
  process.exit(2);
}
run(file, Number(pointsText ?? 30)).catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
