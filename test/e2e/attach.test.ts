/**
 * Attaching to a server started outside the tracer: prefork.exe --serve listens, waits for a file before it starts
 * its workers, and the tracer attaches to it by pid first. The workers it then starts are traced too (followed at
 * CreateProcessInternalW), the trace holds their imports and no error or warning, and after the detach the server
 * still answers. And a Node cluster server whose workers already share its listening socket, attached to whole.
 */

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { startWaitingServer } from '../../scripts/lib/attach-server.mjs';
import { modelOf } from '../../tracer/model';
import type { TraceEvent } from '../../tracer/trace/schema';
import { assertPreforkTrace, eventsSoFar, startServingPrefork } from './attach-server';
import { ROOT, record, waitUntil } from './support';

for (const mode of ['breakpoints', 'inprocess'] as const) {
  describe(`record --attach PID (${mode})`, () => {
    it('traces a running pre-fork server and the workers it starts, then detaches and leaves it serving', { timeout: 240_000 }, async () => {
      const server = await startServingPrefork();
      const traceFile = join(server.dir, 'attach.sockshare.jsonl');
      const record = spawn(process.execPath, [join(ROOT, 'dist', 'cli.js'), 'record', '--out', traceFile, '--capture', mode, '--attach', String(server.pid)], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      record.stderr.on('data', (chunk) => (stderr += chunk.toString('utf8')));
      const exited = new Promise<number | null>((resolve) => record.on('exit', (code) => resolve(code)));
      try {
        // Hooked once ws2_32's LOAD_DLL event (one per module already loaded) is handled.
        assert.ok(await waitUntil(() => eventsSoFar(traceFile).some((e) => e.kind === 'module-load' && e.pid === server.pid), 60_000), `the tracer attached: ${stderr}`);
        server.go();
        const imported = () => eventsSoFar(traceFile).filter((e) => e.kind === 'api' && e.phase === 'return' && e.api === 'WSASocketW' && e.pid !== server.pid).length >= 2;
        assert.ok(await waitUntil(imported, 60_000), `both workers imported under the tracer: ${stderr}`);
        assert.match(await server.ask('hello'), /^server-[AB]$/, 'a worker answers while traced');
        record.kill('SIGINT');
        assert.equal(await exited, 0, `record ends with check's status after the detach: ${stderr}`);
        assert.match(stderr, /detached \(SIGINT\)/);
        await assertPreforkTrace(traceFile, server.pid, mode);
        // Detached: the server's workers still answer, with no tracer.
        assert.match(await server.ask('after'), /^server-[AB]$/, 'a worker answers after the detach');
      } finally {
        if (record.exitCode === null) record.kill('SIGKILL');
        const end = await server.stop();
        assert.equal(end.code, 0, `the server ran to its end after the detach: ${end.stdout}`);
      }
    });
  });
}

describe('record --attach to a Node cluster server already serving (its primary and both workers), in process', () => {
  /** The server started untraced; its requests start once the tracer holds all three processes. */
  async function attachedRecording(requests: number) {
    const server = await startWaitingServer({ requests, concurrency: 4 });
    try {
      const attached = new Set<number>();
      const recording = await record(`node-http-cluster-attached-${requests}`, [], {
        capture: 'inprocess',
        attaches: server.pids,
        onEvent: (e: TraceEvent) => {
          if (e.kind !== 'process-start' || !e.attached) return;
          attached.add(e.pid);
          if (server.pids.every((pid) => attached.has(pid))) server.go();
        },
      });
      const run = await server.finished;
      assert.equal(run.code, 0, `the server ran to its end: ${run.stdout}`);
      assert.match(run.stdout, new RegExp(`every request answered: ${requests} of ${requests} \\(`));
      assert.equal(recording.end.agentExitCode, 0, `the agent ended with ${recording.end.agentExitCode}: ${recording.end.error ?? ''}`);
      assert.deepEqual([...attached].sort(), [...server.pids].sort(), 'each process is reported as attached to');
      return { recording, pids: server.pids };
    } finally {
      await server.stop();
    }
  }

  it('its requests are recorded in the processes, AcceptEx too (handed out before the attach), no trap each; no error or warning', { timeout: 300_000 }, async () => {
    const few = await attachedRecording(40);
    const { recording, pids } = await attachedRecording(200);
    // Attaching reports every thread and module; the stubs go in at each process's first hooked call. The requests'
    // own calls trap no more: 200 requests make about as many debug events as 40.
    const [fewEvents, manyEvents] = [few.recording, recording].map((r) => r.end.stats?.debugEvents ?? Number.NaN);
    assert.ok(manyEvents - fewEvents < 16, `${fewEvents} debug events for 40 requests, ${manyEvents} for 200`);
    const setups = recording.events.filter((e) => e.kind === 'capture-setup');
    assert.deepEqual(setups.map((e) => e.pid).sort(), [...pids].sort(), 'the stubs went into each process');
    for (const setup of setups) assert.ok(setup.kind === 'capture-setup' && setup.onBreakpoints.length === 0, JSON.stringify(setup));
    const [, ...workers] = pids;
    const calls = (api: string, pid: number) => recording.events.filter((e) => e.kind === 'api' && e.phase === 'call' && e.api === api && e.pid === pid && !e.internal).length;
    const accepted = workers.reduce((sum, pid) => sum + calls('AcceptEx', pid), 0);
    const sends = workers.reduce((sum, pid) => sum + calls('WSASend', pid), 0);
    assert.ok(accepted >= 200 && sends >= 200, `the workers accepted ${accepted} connections and sent ${sends} answers for 200 requests`);
    const findings = modelOf(recording.events).findings();
    assert.deepEqual(findings.filter((f) => f.severity !== 'info').map((f) => `${f.rule}: ${f.message}`), []);
  });
});
