/**
 * Replay through the real debug adapter (dist/adapter.js --server, driven over DAP): time to open a trace to the
 * first stop, then at random points the latency of step, step back and a full refresh (threads, stack, every scope
 * and its variables), and the adapter's peak memory. Prints one JSON line.
 * Usage: node --import tsx scripts/bench/replay-dap.ts TRACE [POINTS]
 */

import { spawn } from 'node:child_process';
import { closeSync, fstatSync, openSync, readFileSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { DebugClient } from '@vscode/debugadapter-testsupport';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { root } from '../lib/setup.mjs';

const PORT = 47000 + Math.floor(Math.random() * 1000);

function peakRssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024;
}

/** The seq of the trace's last event, from its last line. */
function lastSeqOf(file: string): number {
  const fd = openSync(file, 'r');
  const size = fstatSync(fd).size;
  const tail = Buffer.alloc(Math.min(size, 8192));
  readSync(fd, tail, 0, tail.length, size - tail.length);
  closeSync(fd);
  const lines = tail.toString('utf8').trim().split('\n');
  return Number(/"seq":(\d+)/.exec(lines[lines.length - 1])?.[1] ?? 1);
}

const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
const worst = (v: number[]) => Math.max(...v);
const round = (n: number) => Number(n.toFixed(2));

async function timed(action: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await action();
  return performance.now() - started;
}

async function main(): Promise<void> {
  const [trace, pointsText] = process.argv.slice(2);
  const points = Number(pointsText ?? 30);
  // SOCKSHARE_BENCH_ADAPTER_ARGS: extra node options for the adapter (e.g. --cpu-prof), space-separated.
  const adapterNodeArgs = (process.env.SOCKSHARE_BENCH_ADAPTER_ARGS ?? '').split(' ').filter(Boolean);
  const adapter = spawn(process.execPath, [...adapterNodeArgs, join(root, 'dist', 'adapter.js'), `--server=${PORT}`], { stdio: ['ignore', 'ignore', 'pipe'] });
  await new Promise<void>((resolve) => adapter.stderr.on('data', (d: Buffer) => d.toString().includes('listening') && resolve()));
  const client = new DebugClient('node', '', 'sockshare');
  await client.start(PORT);
  const stopped = () => client.waitForEvent('stopped', 600_000) as Promise<DebugProtocol.StoppedEvent>;

  // Open to the first stop.
  const openStarted = performance.now();
  const first = stopped();
  const launched = client.launch({ trace, stopOnEntry: true });
  await client.waitForEvent('initialized');
  await client.configurationDoneRequest();
  await launched;
  let stop = await first;
  const replayOpenMs = performance.now() - openStarted;

  // Walk once to the end so every later jump is within the checkpoints (not timed).
  const end = stopped();
  await client.continueRequest({ threadId: 0 });
  stop = await end;
  const lastSeq = lastSeqOf(trace);

  const refresh = async (threadId: number) => {
    await client.threadsRequest();
    const frames = (await client.stackTraceRequest({ threadId })).body.stackFrames;
    if (!frames.length) return;
    // What the editor asks at a stop: every scope's variables (expanded nodes would be asked on demand).
    for (const scope of (await client.scopesRequest({ frameId: frames[0].id })).body.scopes) {
      await client.variablesRequest({ variablesReference: scope.variablesReference });
    }
  };
  const step: number[] = [];
  const stepBack: number[] = [];
  const refreshMs: number[] = [];
  let seed = 12345;
  const random = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
  for (let i = 0; i < points; i++) {
    const seq = 1 + Math.floor(random() * Math.max(1, lastSeq - 1));
    const moved = stopped();
    await client.customRequest('gotoEvent', { seq });
    stop = await moved;
    const threadId = stop.body.threadId ?? 0;
    step.push(await timed(async () => { const s = stopped(); await client.nextRequest({ threadId }); stop = await s; }));
    stepBack.push(await timed(async () => { const s = stopped(); await client.stepBackRequest({ threadId: stop.body.threadId ?? threadId }); stop = await s; }));
    refreshMs.push(await timed(() => refresh(stop.body.threadId ?? threadId)));
  }
  const peak = peakRssMb(adapter.pid ?? 0);
  await client.stop();
  adapter.kill();
  const result = {
    replayOpenMs: round(replayOpenMs),
    stepMs: { stepMedian: round(median(step)), stepWorst: round(worst(step)), stepBackMedian: round(median(stepBack)), stepBackWorst: round(worst(stepBack)), refreshMedian: round(median(refreshMs)), refreshWorst: round(worst(refreshMs)) },
    replayPeakRssMb: round(peak),
    points,
  };
  console.log(JSON.stringify(result));
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.stack : error);
  process.exit(1);
});
