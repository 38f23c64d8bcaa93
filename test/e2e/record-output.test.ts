import assert from 'node:assert/strict';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { readTraceFile } from '../../tracer/trace/reader';
import { runCli, sampleExe, scratchDir } from './support';

/** record's line for one call as it returns: "#27  pid 276  WSADuplicateSocketW(s=0x2c, dwProcessId=284) = 0". */
const CALL_LINE = /^#\d+ {2}pid \d+ {2}[A-Za-z]+\(/m;

describe('record prints what it reads back from the trace file as the agent writes it', () => {
  const tmp = scratchDir('record-output');
  after(() => rmSync(tmp, { recursive: true, force: true }));

  it('source duplicates for the target; target imports: every call is printed once, as it returns, in the order of the trace', async () => {
    const out = join(tmp, 'printed.sockshare.jsonl');
    const run = runCli(['record', '--capture', 'inprocess', '--out', out, '--', sampleExe('handoff')], tmp, [], 120_000);
    assert.equal(run.code, 0, run.stderr);
    const printed = [...run.stderr.matchAll(/^#(\d+) {2}pid \d+ {2}([A-Za-z]+)\(/gm)].map((m) => `${m[1]} ${m[2]}`);
    const { events } = await readTraceFile(out);
    const calls = events.flatMap((e) => (e.kind === 'api' && e.phase === 'return' && !e.internal ? [`${e.callSeq} ${e.api}`] : []));
    assert.deepEqual(printed, calls);
    assert.ok(printed.some((line) => line.endsWith('WSADuplicateSocketW')));
    assert.match(run.stdout, /\[source\] peer then saw EOF/, 'the programs\' own output passes through');
    assert.equal(existsSync(`${out}.spool`), false, "the agent's spool, wholly in the trace, is removed");
  });

  it('--quiet: no line per call; the programs\' output, starts, exits and findings still printed; the trace, written at the end, holds every call', async () => {
    const out = join(tmp, 'quiet.sockshare.jsonl');
    const run = runCli(['record', '--quiet', '--capture', 'inprocess', '--out', out, '--', sampleExe('event-select-cancel')], tmp, [], 120_000);
    assert.equal(run.code, 1, `the finding's exit status, as check gives it\n${run.stderr}`);
    assert.doesNotMatch(run.stderr, CALL_LINE, run.stderr);
    assert.equal([...run.stderr.matchAll(/ {2}started /g)].length, 2, run.stderr);
    assert.equal([...run.stderr.matchAll(/ {2}exited with 0/g)].length, 2, run.stderr);
    assert.match(run.stdout, /registration-cancelled/);
    assert.match(run.stdout, /1 error, 0 warnings/);
    assert.match(run.stdout + run.stderr, /\[target\] target received: data for FD_READ/, 'the programs\' own output passes through');
    const { events } = await readTraceFile(out);
    const registering = new Set(events.flatMap((e) => (e.kind === 'api' && e.api === 'WSAEventSelect' && e.phase === 'call' ? [e.pid] : [])));
    assert.equal(registering.size, 2, 'both processes\' WSAEventSelect calls are in the trace');
    assert.match(run.stderr, new RegExp(`recorded ${events.length} events`), 'the count is of the whole trace, not of what was printed');
    assert.equal(existsSync(`${out}.spool`), false, 'written from the spool at the end, which is then removed');
  });
});
