/** The adversarial pass: each ordering gets exactly its expected error and warning findings. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { modelOf } from '../../tracer/model';
import { ORDERINGS } from '../support/orderings';

describe('orderings real programs produce', () => {
  it('there are at least 30 of them', () => assert.ok(ORDERINGS.length >= 30));
  for (const ordering of ORDERINGS) {
    it(`${ordering.name}: ${ordering.expected.length === 0 ? 'no error or warning' : ordering.expected.join(', ')}`, () => {
      const model = modelOf(ordering.build().events);
      const got = model.findings().filter((f) => f.severity !== 'info');
      assert.deepEqual(got.map((f) => `${f.rule}/${f.severity}`).sort(), [...ordering.expected].sort(), got.map((f) => f.message).join('\n'));
    });
  }
});
