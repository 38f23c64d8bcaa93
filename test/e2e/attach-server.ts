/**
 * A pre-fork server started outside the tracer, for the attach tests: prefork.exe --serve listens, writes its pid and
 * port, and starts its workers only when told (a file appears), so a tracer can attach to it first.
 */

import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ask } from '../../scripts/lib/ask.mjs';
import { runUnderWine, winPath } from '../../scripts/lib/wine.mjs';
import { listWindowsProcesses } from '../../tracer/capture/processes';
import { resolveRuntime } from '../../tracer/capture/runtime';
import { modelOf } from '../../tracer/model';
import { readTraceFile } from '../../tracer/trace/reader';
import type { TraceEvent } from '../../tracer/trace/schema';
import { sampleExe, waitUntil } from './support';

export interface ServingPrefork {
  /** Windows pid of the server, as the tracer attaches to it. */
  pid: number;
  /** Its loopback port (Linux side too: Wine's sockets are the host's). */
  port: number;
  dir: string;
  /** Lets the server start its workers. */
  go(): void;
  /** Ends the workers (each answers one "quit") and waits for the server to exit. */
  stop(): Promise<{ code: number | null; stdout: string }>;
  /** Asks a worker; when none answers, the error says what the server printed and whether it still runs. */
  ask(text: string): Promise<string>;
}

/** Starts prefork.exe --serve as a plain Wine program and finds its Windows pid in the prefix's process list. */
export async function startServingPrefork(): Promise<ServingPrefork> {
  const dir = mkdtempSync(join(tmpdir(), 'sockshare-prefork-serve-'));
  const running = runUnderWine(sampleExe('prefork'), ['--serve', winPath(dir)], { timeoutMs: 180_000 });
  const info = join(dir, 'server.txt');
  if (!(await waitUntil(() => existsSync(info), 30_000))) throw new Error('prefork --serve did not write its pid and port');
  const [pid, port] = readFileSync(info, 'utf8').trim().split(/\s+/).map(Number);
  const listed = (await listWindowsProcesses(resolveRuntime('auto'))).find((p) => p.commandLine?.includes(winPath(dir)));
  assert.equal(listed?.pid, pid, 'the process list names the server by its command line, with the pid it reports itself');
  return {
    pid,
    port,
    dir,
    go: () => writeFileSync(join(dir, 'go'), ''),
    ask: async (text) => {
      try {
        return await ask(port, text);
      } catch (error) {
        const listed = (await listWindowsProcesses(resolveRuntime('auto')).catch(() => [])).filter((p) => p.pid === pid || p.parentPid === pid);
        const output = (running as unknown as { outputSoFar(): string }).outputSoFar();
        throw new Error(`${error instanceof Error ? error.message : String(error)} asking "${text}"; the server printed:\n${output}\nits processes now: ${JSON.stringify(listed)}`, { cause: error });
      }
    },
    stop: async () => {
      // Told to start its workers if it was not yet, so that the quits reach them.
      writeFileSync(join(dir, 'go'), '');
      for (let i = 0; i < 2; i++) await ask(port, 'quit').catch(() => undefined);
      const done = await running;
      return { code: done.code, stdout: done.stdout };
    },
  };
}

/** The trace file's events so far (the agent writes each as it happens). */
export function eventsSoFar(file: string): TraceEvent[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8').split('\n').slice(1).filter((l) => l.endsWith('}')).map((l) => JSON.parse(l) as TraceEvent);
}

/** What an attached pre-fork server's trace must show: the attach, both workers' imports, no error or warning. */
export async function assertPreforkTrace(traceFile: string, serverPid: number, mode: 'breakpoints' | 'inprocess' = 'breakpoints'): Promise<void> {
  const { events } = await readTraceFile(traceFile);
  if (mode === 'inprocess') {
    // The server's stubs went in at its first hooked call after the attach, on a thread held there.
    const setups = events.filter((e) => e.kind === 'capture-setup');
    assert.ok(setups.some((e) => e.kind === 'capture-setup' && e.pid === serverPid && e.inProcess.includes('WSADuplicateSocketW') && e.unwindData));
  }
  const starts = events.filter((e) => e.kind === 'process-start');
  const server = starts.find((e) => e.pid === serverPid);
  assert.equal(server?.kind === 'process-start' && server.attached, true, 'the server\'s process-start says it was attached to');
  const workers = starts.filter((e) => e.kind === 'process-start' && e.parentPid === serverPid);
  assert.equal(workers.length, 2, 'both workers are traced');
  for (const w of workers) assert.equal(w.kind === 'process-start' && w.attached, undefined, 'a worker is followed from its start');
  const imports = events.filter((e) => e.kind === 'api' && e.phase === 'call' && e.api === 'WSASocketW' && workers.some((w) => w.pid === e.pid));
  assert.equal(imports.length, 2, 'each worker imports the listener once');
  const model = modelOf(events);
  assert.deepEqual(model.findings().filter((f) => f.severity !== 'info').map((f) => `${f.rule}: ${f.message}`), []);
  assert.equal(model.handoffs().length, 2);
  for (const handoff of model.handoffs()) assert.equal(handoff.imports.length, 1, 'each export is imported by its worker');
}
