/**
 * Model throughput: reads every event of a trace into memory (not timed), then times ShareModel.apply over
 * all of them, best of RUNS. Usage: node --import tsx scripts/bench/model.ts TRACE [RUNS]
 * Prints one JSON line: {"events","runs","bestSeconds","modelEventsPerSec","finishSeconds","findings"}.
 */

import { ShareModel } from '../../tracer/model/index';
import { readTraceFile } from '../../tracer/trace/index';

async function run(file: string, runs: number): Promise<void> {
  const { events } = await readTraceFile(file);
  const gc = (globalThis as { gc?: () => void }).gc;
  let best = Number.POSITIVE_INFINITY;
  let finishSeconds = 0;
  let findings = 0;
  for (let r = 0; r < runs; r++) {
    gc?.();
    const model = new ShareModel();
    const started = performance.now();
    for (let i = 0; i < events.length; i++) model.apply(events[i]);
    const seconds = (performance.now() - started) / 1000;
    best = Math.min(best, seconds);
    const finishStarted = performance.now();
    model.finish();
    finishSeconds = (performance.now() - finishStarted) / 1000;
    findings = model.findings().length;
    console.error(`  model run ${r + 1}/${runs}: ${seconds.toFixed(3)} s (${Math.round(events.length / seconds).toLocaleString('en-US')} events/s)`);
  }
  const result = { events: events.length, runs, bestSeconds: best, modelEventsPerSec: Math.round(events.length / best), finishSeconds, findings };
  console.log(JSON.stringify(result));
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
