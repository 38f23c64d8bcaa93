import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { readTraceFile } from '../../tracer/trace/reader';
import { RING_CHUNK_PREFIX } from '../../tracer/win32/inproc/ring-chunk';
import { nodeHttpCluster, processesMentioning, runCli, scratchDir, startCli, waitUntil } from './support';

const scratch: string[] = [];
after(() => scratch.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

/** Ring chunks the agent has spooled so far. */
function chunksIn(spool: string): number {
  if (!existsSync(spool)) return 0;
  return readFileSync(spool, 'utf8').split('\n').filter((line) => line.startsWith(RING_CHUNK_PREFIX)).length;
}

describe('a client that dies mid-run loses nothing: the spool keeps the recording, recover writes the trace', () => {
  it('record --quiet killed (SIGKILL) while a busy server runs: the programs die with the agent, the spool stays, recover writes every event from seq 1, and a new run will not overwrite it', async () => {
    const tmp = scratchDir('client-death');
    scratch.push(tmp);
    const trace = join(tmp, 'killed-client.sockshare.jsonl');
    const spool = `${trace}.spool`;
    // A request count of its own: the server's processes are told from other runs' by their command line.
    const requests = 1_000_000 + Math.floor(Math.random() * 900_000);
    const server = nodeHttpCluster(requests);
    const run = startCli(['record', '--quiet', '--capture', 'inprocess', '--out', trace, '--', server.program, ...server.args], tmp);
    // Mid-run: the agent has spooled the server's calls for a while (--quiet writes the trace only at the end).
    const serving = await waitUntil(() => chunksIn(spool) >= 20 || run.child.exitCode !== null, 90_000);
    assert.ok(serving && run.child.exitCode === null, `the server was serving under the tracer:\n${run.stderr().slice(-3000)}`);
    run.child.kill('SIGKILL');
    await run.exited;

    // The agent loses its client and ends the programs (kill-on-exit); what it recorded stays in the spool.
    const ours = `main.js ${requests}`;
    assert.ok(await waitUntil(() => processesMentioning(ours).length === 0, 30_000), `the server's processes are gone: ${processesMentioning(ours).join(', ')}`);
    assert.ok(existsSync(spool), 'the spool is left beside the trace');

    const recovered = runCli(['recover', spool], tmp);
    assert.equal(recovered.code, 0, recovered.stderr);
    const written = /wrote (\d+) events from/.exec(recovered.stderr);
    assert.ok(written, recovered.stderr);
    const onDisk = await readTraceFile(trace);
    assert.equal(onDisk.events.length, Number(written[1]));
    assert.deepEqual(
      onDisk.events.map((e) => e.seq),
      onDisk.events.map((_, i) => i + 1),
      'every event from seq 1, none missing',
    );
    assert.ok(onDisk.events.some((e) => e.kind === 'api' && e.api === 'WSADuplicateSocketW'), 'the handoffs to the workers are in the trace');
    assert.ok(onDisk.events.filter((e) => e.kind === 'api' && e.api === 'WSASend').length >= 20, 'the answers sent before the kill are in the trace');
    assert.ok(existsSync(spool), 'recover keeps the spool');

    const check = runCli(['check', trace], tmp);
    assert.ok(check.code === 0 || check.code === 1, `check reads the recovered trace:\n${check.stderr}`);

    // A spool already beside a trace is never overwritten by a new run.
    const spoolBytes = readFileSync(spool).length;
    const again = runCli(['record', '--quiet', '--capture', 'inprocess', '--out', trace, '--', server.program, ...server.args], tmp);
    assert.equal(again.code, 2, again.stderr);
    assert.match(again.stderr, /holds an earlier recording whose trace was never finished .*sockshare recover /);
    assert.equal(readFileSync(spool).length, spoolBytes, 'the spool is untouched');
  });

  it('recover refuses what it cannot use, saying why: no such spool, a name without .spool and no -o', () => {
    const tmp = scratchDir('recover-usage');
    scratch.push(tmp);
    const missing = runCli(['recover', join(tmp, 'none.sockshare.jsonl.spool')], tmp);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /none\.sockshare\.jsonl\.spool: no such file/);
    const unnamed = runCli(['recover', join(tmp, 'trace.jsonl')], tmp);
    assert.equal(unnamed.code, 2);
    assert.match(unnamed.stderr, /does not end in \.spool: name the trace to write with -o TRACE/);
  });
});
