import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { resolveRuntime } from '../../tracer/capture/runtime';
import { modelOf } from '../../tracer/model';
import { readTraceFile } from '../../tracer/trace/reader';
import type { TraceEvent } from '../../tracer/trace/schema';
import type { StopInfo } from '../../tracer/capture/live';
import { ROOT, outputDir, record, sampleExe } from './support';

/** Linux processes of a Windows program under Wine (their command line names the .exe). */
function runningCopies(exeName: string): number[] {
  const found = spawnSync('pgrep', ['-f', exeName], { encoding: 'utf8' }).stdout ?? '';
  return found.split('\n').filter(Boolean).map(Number).filter((pid) => pid !== process.pid);
}

async function waitUntil(condition: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (condition()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return condition();
}

describe('stops hold the real process', () => {
  it('stopped at WSADuplicateSocketW in the source: dwProcessId names the target, and the source does not run on until continued', async () => {
    let stoppedSeq = 0;
    let eventsWhileStopped: TraceEvent[] = [];
    const recording = await record('stop-at-duplicate', [{ program: sampleExe('handoff') }], {
      stopOn: ['WSADuplicateSocketW'],
      onStop: (stop, capture) => {
        stoppedSeq = stop.seq;
        const seen: TraceEvent[] = [];
        const listener = (e: TraceEvent) => seen.push(e);
        capture.on('event', listener);
        setTimeout(() => {
          capture.off('event', listener);
          eventsWhileStopped = seen.filter((e) => e.pid === stop.pid);
          capture.send({ cmd: 'continue' });
        }, 1500);
      },
    });
    const call = recording.events.find((e) => e.seq === stoppedSeq);
    assert.ok(call?.kind === 'api' && call.phase === 'call' && call.api === 'WSADuplicateSocketW');
    const target = recording.events.find((e) => e.kind === 'process-start' && e.pid !== call.pid);
    assert.equal(call.args.dwProcessId, target?.pid);
    assert.deepEqual(eventsWhileStopped, [], 'the stopped source made no call while held');
    assert.equal(recording.end.agentExitCode, 0);
    assert.ok(recording.stdout.includes('[source] peer then saw EOF'), 'after continue, the handoff completes');
  });
});

describe('pause', () => {
  it('pause stops the programs at their next hooked call, and continue lets them finish', async () => {
    let paused: StopInfo | undefined;
    let asked = false;
    const recording = await record('pause-at-call', [{ program: sampleExe('handoff') }], {
      onEvent: (e, capture) => {
        // Right after the export both processes go on with hooked calls (the import, the source's close).
        if (!asked && e.kind === 'api' && e.phase === 'return' && e.api === 'WSADuplicateSocketW') {
          asked = true;
          capture.send({ cmd: 'pause' });
        }
      },
      onStop: (stop, capture) => {
        paused ??= stop;
        capture.send({ cmd: 'continue' });
      },
    });
    assert.equal(paused?.reason, 'pause');
    assert.notEqual(paused?.api, '', 'the pause was taken at a hooked call');
    assert.equal(recording.end.agentExitCode, 0);
    assert.ok(recording.stdout.includes('[source] target exited with 0'), recording.stdout);
  });

  it('pause while the program waits inside a call breaks into it (DebugBreakProcess), and continue lets it finish', async () => {
    let paused: StopInfo | undefined;
    let selects = 0;
    const recording = await record('pause-break-in', [{ program: sampleExe('source-kept-open') }], {
      onEvent: (e, capture) => {
        // The source's second select waits a second for an EOF that never comes: no hooked call in that time.
        if (e.kind === 'api' && e.phase === 'call' && e.api === 'select' && ++selects === 2) capture.send({ cmd: 'pause' });
      },
      onStop: (stop, capture) => {
        paused ??= stop;
        capture.send({ cmd: 'continue' });
      },
    });
    assert.equal(paused?.reason, 'pause');
    assert.equal(paused?.api, '', 'the stop is the break-in, not a hooked call');
    assert.equal(recording.end.agentExitCode, 0);
    assert.ok(recording.stdout.includes('[source] exiting'), recording.stdout);
  });

  it('a program that is not a Windows executable gets a clear error', async () => {
    const notExe = join(outputDir, 'not-a-program.exe');
    writeFileSync(notExe, 'this is text, not a PE image\n');
    const trace = join(outputDir, 'not-a-program.sockshare.jsonl');
    const result = spawnSync(process.execPath, [join(ROOT, 'dist', 'cli.js'), 'record', '--out', trace, '--', notExe], { encoding: 'utf8' });
    assert.equal(result.status, 2, result.stderr);
    assert.match(result.stderr, /cannot start .*not-a-program\.exe: not a Windows executable/);
  });
});

describe('faults keep the trace and leave nothing suspended', () => {
  it('a traced program killed mid-run gives its exit event and a complete trace', async () => {
    const runtime = resolveRuntime('auto');
    let sourcePid: number | undefined;
    let killed = 0;
    const recording = await record('killed-target', [{ program: sampleExe('handoff') }], {
      stopOn: ['WSASocketW'],
      onStop: (stop, capture) => {
        if (sourcePid !== undefined && stop.pid !== sourcePid && killed === 0) {
          // Another process ends the target while it sits at its import.
          killed = stop.pid;
          spawnSync(runtime.command, ['taskkill', '/F', '/PID', String(stop.pid)], { env: runtime.env, stdio: 'ignore' });
        }
        capture.send({ cmd: 'continue' });
      },
      onEvent: (e) => {
        if (e.kind === 'process-start' && sourcePid === undefined) sourcePid = e.pid;
      },
    });
    assert.notEqual(killed, 0, 'the target was stopped at its import and killed');
    const exit = recording.events.find((e) => e.kind === 'process-exit' && e.pid === killed);
    assert.ok(exit, 'the killed target has its exit event');
    assert.ok(recording.events.some((e) => e.kind === 'process-exit' && e.pid === sourcePid), 'the source ran to its end');
    const onDisk = await readTraceFile(recording.traceFile);
    assert.deepEqual(onDisk.warnings, []);
    assert.deepEqual(onDisk.events, recording.events);
    // The model sees the export that the killed target never imported.
    assert.ok(modelOf(onDisk.events).findings().some((f) => f.rule === 'handoff-never-imported'));
  });

  it('killing the tracer agent keeps the trace written so far and kills the traced programs', async () => {
    const exeName = 'source-kept-open.exe';
    const recording = await record('killed-agent', [{ program: sampleExe('source-kept-open') }], {
      onEvent: (e, capture) => {
        if (e.kind === 'api' && e.phase === 'return' && e.api.startsWith('WSADuplicateSocket')) capture.killAgent();
      },
    });
    assert.notEqual(recording.end.agentExitCode, 0);
    const folder = recording.capture.agentFolder;
    assert.ok(folder && !existsSync(folder), `the agent's folder ${folder} is removed`);
    const onDisk = await readTraceFile(recording.traceFile);
    assert.ok(onDisk.events.length >= recording.events.length - 1, 'every event the client saw is on disk (but a line being written)');
    assert.ok(onDisk.events.some((e) => e.kind === 'api' && e.api.startsWith('WSADuplicateSocket')));
    assert.ok(await waitUntil(() => runningCopies(exeName).length === 0, 10_000), `no ${exeName} left running: ${runningCopies(exeName).join(', ')}`);
  });

  it('Ctrl+C on sockshare record stops the programs and keeps the trace', async () => {
    const trace = join(outputDir, 'interrupted.sockshare.jsonl');
    const child = spawn(process.execPath, [join(ROOT, 'dist', 'cli.js'), 'record', '--out', trace, '--', sampleExe('source-kept-open')], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    assert.ok(await waitUntil(() => stderr.includes('WSADuplicateSocketW('), 30_000), `recording started: ${stderr}`);
    child.kill('SIGINT');
    const code = await new Promise<number | null>((r) => child.on('exit', r));
    assert.match(stderr, /stopping the traced programs; the trace is kept/);
    assert.equal(code, 130, `an interrupted run exits 130: ${stderr}`);
    assert.ok(existsSync(trace));
    const onDisk = await readTraceFile(trace);
    assert.ok(onDisk.events.some((e) => e.kind === 'process-exit'), 'the killed programs exited in the trace');
    assert.ok(readFileSync(trace, 'utf8').includes('WSADuplicateSocketW'));
    assert.ok(await waitUntil(() => runningCopies('source-kept-open.exe').length === 0, 10_000));
  });
});

