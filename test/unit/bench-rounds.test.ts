import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type RetriedRun, balancedOrder, wineStartFailure, withWineStartRetry } from '../../scripts/bench/rounds';

describe('the benchmark runs its variants in a balanced order', () => {
  const count = 6;
  const rows = Array.from({ length: count }, (_, round) => balancedOrder(count, round));

  it('every round runs each variant once', () => {
    for (const row of rows) assert.deepEqual([...row].sort(), [0, 1, 2, 3, 4, 5]);
  });

  it('over six rounds each variant runs first once', () => {
    assert.deepEqual(rows.map((row) => row[0]).sort(), [0, 1, 2, 3, 4, 5]);
  });

  it('over six rounds each variant follows every other exactly once', () => {
    const follows = new Map<string, number>();
    for (const row of rows) for (let i = 1; i < row.length; i++) follows.set(`${row[i - 1]}>${row[i]}`, (follows.get(`${row[i - 1]}>${row[i]}`) ?? 0) + 1);
    assert.equal(follows.size, count * (count - 1));
    for (const [pair, times] of follows) assert.equal(times, 1, `${pair} ${times} times`);
  });

  it('the seventh round starts the square again', () => {
    assert.deepEqual(balancedOrder(count, 6), rows[0]);
  });
});

describe('a benchmark run that Wine failed to start runs once more, and says so', () => {
  const wineFailure = 'node-http-cluster exited with 1 (wine: failed to map the shared user data: c0000018): ...';

  /** A run that fails with each of `failures` in turn, then answers 42; counts its calls. */
  function runFailing(...failures: string[]) {
    const state = { calls: 0 };
    const run = async () => {
      const failure = failures[state.calls++];
      if (failure !== undefined) throw new Error(failure);
      return 42;
    };
    return { run, state };
  }

  it("Wine's start failure: the run is run once more and the retry is noted and logged", async () => {
    const { run, state } = runFailing(wineFailure);
    const retried: RetriedRun[] = [];
    const logged: string[] = [];
    assert.equal(await withWineStartRetry(run, retried, 10, 'untraced', (line) => logged.push(line)), 42);
    assert.equal(state.calls, 2);
    assert.deepEqual(retried, [{ round: 10, variant: 'untraced', wineSaid: 'wine: failed to map the shared user data: c0000018): ...' }]);
    assert.match(logged[0], /round 10, untraced: Wine failed to start a process/);
  });

  it("Wine's line is found in whichever output holds it, up to its end", () => {
    const stderr = 'fixme:ntdll\n0288:err:virtual:virtual_alloc_first_teb wine: failed to map the shared user data: c0000018\nnode:internal/child_process\n';
    assert.equal(wineStartFailure('[primary] forked 2 workers\n', stderr), 'wine: failed to map the shared user data: c0000018');
    assert.equal(wineStartFailure('exited with 1', 'Error: spawn UNKNOWN'), undefined);
  });

  it('any other failure is thrown at once, not retried', async () => {
    const { run, state } = runFailing('record --capture inprocess exited with 3');
    const retried: RetriedRun[] = [];
    await assert.rejects(withWineStartRetry(run, retried, 1, 'quiet', () => {}), /exited with 3/);
    assert.equal(state.calls, 1);
    assert.deepEqual(retried, []);
  });

  it('a second failure of the same run is thrown', async () => {
    const { run, state } = runFailing(wineFailure, wineFailure);
    await assert.rejects(withWineStartRetry(run, [], 1, 'debugged', () => {}), /shared user data/);
    assert.equal(state.calls, 2);
  });
});
