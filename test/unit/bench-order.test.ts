import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { balancedOrder } from '../../scripts/bench/order';

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
