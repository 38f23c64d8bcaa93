/**
 * Replay access to a large trace through IndexedTraceFile: the time to open and index it (the debugger's first stop
 * needs it, plus event 0), a forward pass over every event with at(), and the median latency of at() at random,
 * uncached indices. Usage: node --import tsx scripts/bench/replay.ts TRACE [RANDOM_READS]
 * Prints one JSON line: {"replayIndexMs","eventsPerSecSequential","randomAtUs","events","peakRssMb"}.
 */

import { IndexedTraceFile } from '../../tracer/trace/indexed';
import { mulberry32 } from '../../test/support/random';


const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];

async function run(file: string, randomReads: number): Promise<void> {
  let started = performance.now();
  const trace = await IndexedTraceFile.open(file, { onWarning: (w) => console.error(`  warning: ${w.message}`) });
  const replayIndexMs = performance.now() - started;
  const firstStopMs = performance.now() - started + (trace.length > 0 ? time(() => trace.at(0)) : 0);
  console.error(`  open: ${replayIndexMs.toFixed(1)} ms for ${trace.length.toLocaleString('en-US')} events (first event read by ${firstStopMs.toFixed(1)} ms)`);

  started = performance.now();
  let checksum = 0;
  for (let i = 0; i < trace.length; i++) checksum += trace.at(i).seq;
  const sequentialSeconds = (performance.now() - started) / 1000;
  const eventsPerSecSequential = Math.round(trace.length / sequentialSeconds);
  console.error(`  forward pass: ${sequentialSeconds.toFixed(2)} s (${eventsPerSecSequential.toLocaleString('en-US')} events/s, seq sum ${checksum})`);

  // Random reads far from each other and from the end, which the forward pass left in the cache.
  const random = mulberry32(0x5eed);
  const latencies: number[] = [];
  const reachable = Math.max(1, trace.length - 16_384);
  for (let r = 0; r < randomReads && trace.length > 0; r++) {
    const index = Math.floor(random() * reachable);
    latencies.push(time(() => trace.at(index)) * 1000);
  }
  latencies.sort((a, b) => a - b);
  const randomAtUs = Number((latencies.length > 0 ? percentile(latencies, 0.5) : 0).toFixed(1));
  if (latencies.length > 0) {
    console.error(`  random at(): median ${randomAtUs} µs, p99 ${percentile(latencies, 0.99).toFixed(1)} µs over ${latencies.length} reads`);
  }
  trace.close();
  const peakRssMb = Math.round(process.resourceUsage().maxRSS / 1024);
  console.log(JSON.stringify({ replayIndexMs: Number(replayIndexMs.toFixed(1)), eventsPerSecSequential, randomAtUs, events: trace.length, peakRssMb }));
}

function time(action: () => unknown): number {
  const started = performance.now();
  action();
  return performance.now() - started;
}

const [file, readsText] = process.argv.slice(2);
if (!file) {
  console.error('usage: replay.ts TRACE [RANDOM_READS]');
  process.exit(2);
}
run(file, Number(readsText ?? 2000)).catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
