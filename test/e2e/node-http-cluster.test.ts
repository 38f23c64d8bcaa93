import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { modelOf } from '../../tracer/model';
import { readTraceFile } from '../../tracer/trace/reader';
import type { TraceEvent } from '../../tracer/trace/schema';
import { expectedOf, nodeHttpCluster, record } from './support';

const REQUESTS = 40;

/** Successful calls of `api` made by `pid` (their return events). */
function succeeded(events: TraceEvent[], api: string, pid: number): number {
  const calls = new Map(events.filter((e) => e.kind === 'api' && e.phase === 'call' && e.api === api && e.pid === pid && !e.internal).map((e) => [e.seq, e]));
  return events.filter((e) => e.kind === 'api' && e.phase === 'return' && calls.has(e.callSeq) && e.result !== -1).length;
}

describe('node-http-cluster: a Node cluster HTTP server (the primary shares its listening socket with two workers)', () => {
  const expected = expectedOf('node-http-cluster');
  for (const capture of ['inprocess', 'breakpoints'] as const) {
    it(`${capture}: both workers import the listening socket, every request is answered, no error or warning finding`, async () => {
      const recording = await record(`node-http-cluster-${capture}`, [nodeHttpCluster(REQUESTS)], { capture });
      assert.equal(recording.end.agentExitCode, 0, `the agent ended with ${recording.end.agentExitCode}: ${recording.end.error ?? ''}\n${recording.stdout}`);
      assert.equal(recording.end.agentFailure, undefined);
      // In process, no thread of the server has its registers read or written (Wine would set its debug registers).
      if (capture === 'inprocess') assert.equal(recording.end.stats?.threadContextCalls, 0, 'Get/SetThreadContext calls on the programs\' threads');
      const onDisk = await readTraceFile(recording.traceFile);
      assert.deepEqual(onDisk.warnings, []);
      assert.deepEqual(onDisk.events, recording.events);

      // What the program checked itself: every answer named its request and a worker.
      for (const line of expected.observed) assert.ok(recording.stdout.includes(line), `output lacks "${line}":\n${recording.stdout}`);
      assert.match(recording.stdout, new RegExp(`every request answered: ${REQUESTS} of ${REQUESTS} \\(`));

      const model = modelOf(recording.events);
      const primary = recording.events.find((e) => e.kind === 'process-start');
      assert.ok(primary);
      const workers = recording.events.filter((e) => e.kind === 'process-start' && e.pid !== primary.pid).map((e) => e.pid);
      assert.equal(workers.length, 2, 'two workers were traced');
      for (const worker of workers) assert.equal(model.process(worker)?.parentPid, primary.pid);

      // The handoffs: one export of the one listening socket per worker, each imported once, by the worker it names.
      const handoffs = model.handoffs();
      assert.equal(handoffs.length, 2, `two handoffs: ${JSON.stringify(handoffs.map((h) => [h.sourcePid, h.targetPid]))}`);
      assert.deepEqual(handoffs.map((h) => h.targetPid).sort(), [...workers].sort());
      for (const handoff of handoffs) {
        assert.equal(handoff.sourcePid, primary.pid);
        assert.equal(handoff.imports.length, 1, `the export for ${handoff.targetPid} is imported once`);
        assert.equal(handoff.imports[0].call.pid, handoff.targetPid);
      }
      assert.equal(new Set(handoffs.map((h) => h.socketId)).size, 1, 'both workers got the same listening socket');

      // Each request is a connection of its own accepted by a worker and answered there (a WSASend or more).
      const accepted = workers.map((w) => succeeded(recording.events, 'AcceptEx', w) + succeeded(recording.events, 'WSAAccept', w) + succeeded(recording.events, 'accept', w));
      const sends = workers.map((w) => succeeded(recording.events, 'WSASend', w) + succeeded(recording.events, 'send', w));
      assert.ok(accepted[0] + accepted[1] >= REQUESTS, `the workers accepted ${accepted.join(' + ')} connections for ${REQUESTS} requests`);
      assert.ok(sends[0] + sends[1] >= REQUESTS, `the workers sent ${sends.join(' + ')} answers for ${REQUESTS} requests`);

      // The findings of expected.json, nothing forbidden, no error or warning.
      const findings = model.findings();
      for (const want of expected.findings) assert.ok(findings.some((f) => f.rule === want.rule && f.severity === want.severity), `expected ${want.rule}/${want.severity}`);
      for (const rule of expected.forbidden) assert.ok(!findings.some((f) => f.rule === rule), `${rule} must not appear: ${findings.filter((f) => f.rule === rule).map((f) => f.message).join(' | ')}`);
      const serious = findings.filter((f) => f.severity === 'error' || f.severity === 'warning');
      assert.deepEqual(serious.map((f) => `${f.rule}: ${f.message}`), []);
    });
  }
});
