import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type AgentEndFacts, agentErrorText, agentFailureOf } from '../../tracer/capture/agent-failure';
import { AGENT_EXIT_CLIENT_LOST } from '../../tracer/capture/protocol';

const normal: AgentEndFacts = { code: 0, signal: null, log: '', stopRequested: false, killedLateAfterStop: false, stopGraceMs: 5000, killedAfterLostConnection: false, connectionLost: false, endReceived: true };

describe('how a tracer agent that did not end normally is reported', () => {
  test('exit 0 after its end message is a normal end', () => {
    assert.equal(agentFailureOf(normal), undefined);
  });

  test('exit 0 without its end message: the connection was lost, and the run never counts as a success', () => {
    assert.deepEqual(agentFailureOf({ ...normal, endReceived: false }), { failure: 'lost', error: 'the connection to the tracer agent was lost before the end of the run (the agent exited with code 0)' });
  });

  test('a crash quotes the agent\'s own last word and the stack under it', () => {
    const log = agentErrorText('starting\nsockshare agent: RangeError: Maximum call stack size exceeded\n    at drainRings (agent.js:1)\n');
    const failed = agentFailureOf({ ...normal, code: 2, endReceived: false, log });
    assert.equal(failed?.failure, 'crashed');
    assert.match(failed?.error ?? '', /died \(exit code 2\): sockshare agent: RangeError: Maximum call stack size exceeded\n {4}at drainRings/);
  });

  test('an error it reported is the reason given, with its exit code', () => {
    assert.deepEqual(agentFailureOf({ ...normal, code: 2, reported: 'cannot start x.exe' }), { failure: 'error', error: 'the tracer agent failed (exit code 2): cannot start x.exe' });
  });

  test('killed by a signal while nobody asked: it died; killed to stop the capture after the grace: said so', () => {
    assert.equal(agentFailureOf({ ...normal, code: null, signal: 'SIGKILL', endReceived: false })?.error, 'the tracer agent died: it was killed (SIGKILL)');
    assert.equal(agentFailureOf({ ...normal, code: null, signal: 'SIGKILL', stopRequested: true, killedLateAfterStop: true })?.error, 'the tracer agent was killed (SIGKILL) to stop the capture, as it had not ended within 5 s');
  });

  test('the client lost: the agent exits with its lost-client code, or is killed when it does not', () => {
    assert.equal(agentFailureOf({ ...normal, code: AGENT_EXIT_CLIENT_LOST, connectionLost: true, endReceived: false })?.failure, 'lost');
    assert.match(agentFailureOf({ ...normal, code: null, signal: 'SIGKILL', killedAfterLostConnection: true, endReceived: false })?.error ?? '', /did not exit and was killed \(SIGKILL\)/);
  });

  test('a command that could not be run at all says so', () => {
    assert.deepEqual(agentFailureOf({ ...normal, code: null, reported: 'cannot run the tracer agent (wine64): ENOENT' }), { failure: 'error', error: 'cannot run the tracer agent (wine64): ENOENT' });
  });
});
