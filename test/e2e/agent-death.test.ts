import assert from 'node:assert/strict';
import { existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { EXIT_AGENT_FAILED } from '../../tracer/cli/record';
import { readTraceFile } from '../../tracer/trace/reader';
import { eventsSoFar, startServingPrefork } from './attach-server';
import { agentFolders, agentProcesses, nodeHttpCluster, processesMentioning, scratchDir, startCli, waitUntil } from './support';

/** Calls printed by `record` as they return: "#1234  pid 280  WSASend(...)". */
function printedCalls(stderr: string, api: string): number[] {
  return [...stderr.matchAll(new RegExp(`^#(\\d+) {2}pid \\d+ {2}${api}\\(`, 'gm'))].map((m) => Number(m[1]));
}

const scratch: string[] = [];
after(() => scratch.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

describe('a tracer agent that dies mid-run is a failed run, and the trace keeps what it wrote', () => {
  for (const capture of ['inprocess', 'breakpoints'] as const) {
    it(`${capture}: the agent killed (SIGKILL) while a busy server runs makes record exit ${EXIT_AGENT_FAILED}, say so, and leave a readable trace`, async () => {
      const tmp = scratchDir(`agent-death-${capture}`);
      scratch.push(tmp);
      const trace = join(tmp, 'killed-agent.sockshare.jsonl');
      // A request count of its own: the server's processes are told from other runs' by their command line.
      const requests = 1_000_000 + Math.floor(Math.random() * 900_000);
      const server = nodeHttpCluster(requests);
      const run = startCli(['record', '--capture', capture, '--out', trace, '--', server.program, ...server.args], tmp);
      // Mid-run: the workers have answered requests (each answer is a WSASend printed as it returns).
      const serving = await waitUntil(() => printedCalls(run.stderr(), 'WSASend').length >= 20 || run.child.exitCode !== null, 90_000);
      assert.ok(serving && run.child.exitCode === null, `the server was serving under the tracer:\n${run.stderr().slice(-3000)}`);
      const agents = agentProcesses(tmp);
      assert.equal(agents.length, 1, `one agent process for the run: ${agents.join(', ')} (folders ${agentFolders(tmp).join(', ')})`);
      const printedBeforeKill = Math.max(...[...run.stderr().matchAll(/^#(\d+) /gm)].map((m) => Number(m[1])));
      process.kill(agents[0], 'SIGKILL');

      const code = await run.exited;
      const stderr = run.stderr();
      assert.equal(code, EXIT_AGENT_FAILED, `record exits ${EXIT_AGENT_FAILED} when its agent dies:\n${stderr.slice(-3000)}`);
      assert.match(stderr, /sockshare: the tracer agent died: it was killed \(SIGKILL\)/);
      assert.match(stderr, /the tracer agent died during the run \(exit 3\): the traced programs died with it; the trace holds the \d+ events recorded before/);

      // The trace: every line but at most one cut mid-write is whole, the events run from seq 1 without a gap, and
      // every call printed before the kill is in it.
      assert.ok(existsSync(trace));
      const onDisk = await readTraceFile(trace);
      assert.ok(onDisk.warnings.length <= 1, `at most the last line is cut: ${JSON.stringify(onDisk.warnings)}`);
      assert.deepEqual(
        onDisk.events.map((e) => e.seq),
        onDisk.events.map((_, i) => i + 1),
      );
      const last = onDisk.events[onDisk.events.length - 1]?.seq ?? 0;
      assert.ok(last >= printedBeforeKill, `the trace reaches event ${last}; record printed up to #${printedBeforeKill} before the kill`);
      assert.ok(onDisk.events.some((e) => e.kind === 'api' && e.api === 'WSADuplicateSocketW'), 'the handoffs to the workers are in the trace');
      assert.ok(onDisk.events.filter((e) => e.kind === 'api' && e.api === 'WSASend').length >= 20, 'the answers sent before the kill are in the trace');

      // The programs die with the agent (kill-on-exit), and the agent's folder is removed.
      const ours = `main.js ${requests}`;
      assert.ok(await waitUntil(() => processesMentioning(ours).length === 0, 15_000), `the server's processes are gone: ${processesMentioning(ours).join(', ')}`);
      assert.deepEqual(agentFolders(tmp), []);
    });
  }

  it(`inprocess --quiet: the agent killed mid-run makes record exit ${EXIT_AGENT_FAILED}; the trace is written from the spool at the end, and every output in it was printed`, async () => {
    const tmp = scratchDir('agent-death-quiet');
    scratch.push(tmp);
    const trace = join(tmp, 'killed-quiet.sockshare.jsonl');
    const requests = 1_000_000 + Math.floor(Math.random() * 900_000);
    const server = nodeHttpCluster(requests);
    const run = startCli(['record', '--quiet', '--capture', 'inprocess', '--out', trace, '--', server.program, ...server.args], tmp);
    // --quiet prints no call: the primary's own line, sent by the agent as it happens, says the requests began.
    const making = await waitUntil(() => /making \d+ requests/.test(run.stdout()) || run.child.exitCode !== null, 90_000);
    assert.ok(making && run.child.exitCode === null, `the server was serving under the tracer:\n${run.stdout().slice(-2000)}${run.stderr().slice(-2000)}`);
    assert.equal(existsSync(trace), false, 'no trace written while the programs run: record does not read the spool');
    await new Promise((r) => setTimeout(r, 1500));
    const agents = agentProcesses(tmp);
    assert.equal(agents.length, 1, `one agent process for the run: ${agents.join(', ')}`);
    process.kill(agents[0], 'SIGKILL');

    const code = await run.exited;
    assert.equal(code, EXIT_AGENT_FAILED, `record exits ${EXIT_AGENT_FAILED} when its agent dies:\n${run.stderr().slice(-3000)}`);
    assert.match(run.stderr(), /sockshare: the tracer agent died: it was killed \(SIGKILL\)/);
    const onDisk = await readTraceFile(trace);
    assert.ok(onDisk.warnings.length <= 1, `at most the last line is cut: ${JSON.stringify(onDisk.warnings)}`);
    assert.deepEqual(
      onDisk.events.map((e) => e.seq),
      onDisk.events.map((_, i) => i + 1),
    );
    assert.ok(onDisk.events.filter((e) => e.kind === 'api' && e.api === 'WSASend').length >= 20, 'the answers sent before the kill are in the trace');
    const printed = run.stdout() + run.stderr();
    const outputs = onDisk.events.flatMap((e) => (e.kind === 'output' ? [e.text] : []));
    assert.ok(outputs.some((text) => text.includes('making')), 'the primary\'s line is in the trace');
    for (const text of outputs) assert.ok(printed.includes(text.trimEnd()), `printed: ${JSON.stringify(text)}`);
    const ours = `main.js ${requests}`;
    assert.ok(await waitUntil(() => processesMentioning(ours).length === 0, 15_000), `the server's processes are gone: ${processesMentioning(ours).join(', ')}`);
  });

  it(`attached: the agent killed (SIGKILL) makes record exit ${EXIT_AGENT_FAILED}, and the server dies with it rather than run on with the tracer's int3s in it`, async () => {
    const server = await startServingPrefork();
    const tmp = scratchDir('agent-death-attached');
    scratch.push(tmp);
    const trace = join(tmp, 'killed-agent-attached.sockshare.jsonl');
    // The server's TMPDIR: Wine's processes see one another only under one wineserver, one per prefix and TMPDIR.
    const before = new Set(agentFolders(tmpdir()));
    const run = startCli(['record', '--attach', String(server.pid), '--out', trace], tmpdir());
    try {
      const hooked = await waitUntil(() => eventsSoFar(trace).some((e) => e.kind === 'module-load' && e.pid === server.pid) || run.child.exitCode !== null, 60_000);
      assert.ok(hooked && run.child.exitCode === null, `attached to the server:\n${run.stderr().slice(-3000)}`);
      const agents = agentFolders(tmpdir())
        .filter((folder) => !before.has(folder))
        .flatMap((folder) => processesMentioning(folder));
      assert.equal(agents.length, 1, `one agent process for the run: ${agents.join(', ')}`);
      process.kill(agents[0], 'SIGKILL');
      const code = await run.exited;
      const stderr = run.stderr();
      assert.equal(code, EXIT_AGENT_FAILED, stderr.slice(-3000));
      assert.match(stderr, /the tracer agent died during the run \(exit 3\): the traced programs died with it; the trace holds the \d+ events recorded before/);
      // Gone with the agent (Wine ends it with exit code 0): its listener refuses, and it never started its workers.
      assert.ok(await waitUntil(() => processesMentioning(server.dir.split('/').pop() ?? server.dir).length === 0, 30_000), 'the server process is gone');
      await assert.rejects(server.ask('anyone there?'), /ECONNREFUSED/);
      const end = await server.stop();
      assert.doesNotMatch(end.stdout, /both workers imported/, 'the server did not run on');
    } finally {
      run.child.kill('SIGKILL');
    }
  });
});
