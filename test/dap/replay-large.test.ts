/**
 * The debug adapter on a 1,000,000-event recording (the benchmark's): open it, run to a function breakpoint near its
 * end, step back, step, and read every scope. No timing is asserted (the benchmark measures); the test shows the
 * whole path works at that size within the test's time limit.
 */

import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { largeTrace, MONITOR_PID } from '../support/large-trace';
import { launchAndStop, nextStop, scopesAt, withClient } from './support';

const LIMIT = 180_000;
let trace = '';

before(() => {
  trace = largeTrace();
});

describe('replay: a 1,000,000-event recording', () => {
  test('a function breakpoint near the end, step back, step, scopes', { timeout: LIMIT }, async () => {
    await withClient(async (client) => {
      const first = await launchAndStop(client, { trace, stopOnEntry: true }, { functionBreakpoints: [{ name: 'WSACleanup', condition: `pid == ${MONITOR_PID}` }] }, 60_000);
      assert.equal(first.body.reason, 'entry');

      const hit = await nextStop(client, () => client.continueRequest({ threadId: first.body.threadId ?? 0 }), LIMIT);
      assert.equal(hit.body.reason, 'function breakpoint');
      const tid = hit.body.threadId ?? 0;
      const atBreakpoint = await scopesAt(client, tid);
      assert.match(atBreakpoint.frame.name, /^WSACleanup\(/);

      const back = await nextStop(client, () => client.stepBackRequest({ threadId: tid }), 60_000);
      assert.equal(back.body.reason, 'step');
      assert.equal(back.body.threadId, tid);
      const before = await scopesAt(client, tid);
      // The monitor's call before its cleanup: the return of its closesocket of its UDP socket.
      assert.match(before.frame.name, /^closesocket\(/);
      for (const name of ['Call', 'Descriptors', 'Socket', 'Handoffs', 'Findings']) assert.ok(before.scopes[name]?.length > 0, `${name} scope is empty`);

      const forward = await nextStop(client, () => client.nextRequest({ threadId: tid }), 60_000);
      assert.equal(forward.body.threadId, tid);
      assert.match((await scopesAt(client, tid)).frame.name, /^WSACleanup\(/);
    });
  });
});
