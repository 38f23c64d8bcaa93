import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  ConditionError, callConditionScope, compileCondition, compileHitCondition, hitConditionMatches, interpolateLogMessage,
} from '../../adapter/condition';
import type { ApiCallEvent, ApiReturnEvent } from '../../tracer/trace/schema';
import { S, SOURCE, T, TARGET, tenStepHandoff } from '../support/scenarios';

function callAt(seq: number): ApiCallEvent {
  const event = tenStepHandoff().trace.events.find((e) => e.seq === seq);
  assert.ok(event && event.kind === 'api' && event.phase === 'call');
  return event;
}

function returnOf(call: ApiCallEvent): ApiReturnEvent {
  const ret = tenStepHandoff().trace.events.find((e) => e.kind === 'api' && e.phase === 'return' && e.callSeq === call.seq);
  assert.ok(ret && ret.kind === 'api' && ret.phase === 'return');
  return ret;
}

const scenario = tenStepHandoff();
const duplicate = callConditionScope(callAt(scenario.duplicate));
const imported = callConditionScope(callAt(scenario.imported));

function holds(text: string, scope = duplicate): boolean {
  return compileCondition(text)(scope);
}

function syntaxError(text: string): ConditionError {
  try {
    compileCondition(text);
  } catch (error) {
    assert.ok(error instanceof ConditionError, `expected a ConditionError, got ${String(error)}`);
    return error;
  }
  assert.fail(`'${text}' should not compile`);
}

describe('breakpoint conditions over a call', () => {
  it('s == 0x1a4 matches the descriptor the call names, in hex or decimal', () => {
    assert.equal(holds('s == 0x1a4'), true);
    assert.equal(holds(`s == ${S}`), true);
    assert.equal(holds(`s == ${T}`), false);
    assert.equal(holds('s != 0x1a4'), false);
  });

  it('pid and the call arguments combine with && and ||', () => {
    assert.equal(holds(`pid == ${SOURCE} && dwProcessId == ${TARGET}`), true);
    assert.equal(holds(`pid == ${TARGET} && dwProcessId == ${TARGET}`), false);
    assert.equal(holds(`pid == ${TARGET} || dwProcessId == ${TARGET}`), true);
  });

  it('api, seq and tid are in the scope', () => {
    assert.equal(holds("api == 'WSADuplicateSocketW'"), true);
    assert.equal(holds('api == "WSASocketW"'), false);
    assert.equal(holds(`seq == ${scenario.duplicate} && tid == ${SOURCE + 4}`), true);
  });

  it('a WSAPROTOCOL_INFO argument is reachable by dotted names', () => {
    assert.equal(holds('lpProtocolInfo.iAddressFamily == 2', imported), true);
    assert.equal(holds('lpProtocolInfo.iSocketType == 1 && lpProtocolInfo.protocolChain.chainLen == 1', imported), true);
    assert.equal(holds('lpProtocolInfo.szProtocol == "MSAFD Tcpip [TCP/IP]"', imported), true);
    assert.equal(holds('lpProtocolInfo.iAddressFamily == 23', imported), false);
  });

  it('comparisons order numbers numerically, and a hex-string argument equals its number', () => {
    assert.equal(holds('lpProtocolInfo == 0x5ffd30'), true);
    assert.equal(holds('lpProtocolInfo > 0x100'), true);
    assert.equal(holds('dwProcessId >= 512 && dwProcessId <= 512 && dwProcessId < 513 && !(dwProcessId > 512)'), true);
    assert.equal(holds('dwFlags == 1 && af == -1', imported), true);
  });

  it('unknown identifiers are undefined: every comparison is false except !=', () => {
    assert.equal(holds('nosuch == 1'), false);
    assert.equal(holds('nosuch < 1'), false);
    assert.equal(holds('nosuch == null'), false);
    assert.equal(holds('nosuch != 1'), true);
    assert.equal(holds('lpProtocolInfo.iAddressFamily == 2'), false);
    assert.equal(holds('constructor == 1 || toString != 1'), true);
  });

  it('true, false, null, ! and parentheses', () => {
    assert.equal(holds('true && !false'), true);
    assert.equal(holds('!(s == 0x1a4) || false'), false);
    assert.equal(holds('(pid == 1 || pid == 364) && (s == 0x1a4)'), true);
    assert.equal(holds('null == null'), true);
  });

  it('after the return, result and error and the out-parameters are in the scope', () => {
    const call = callAt(scenario.duplicate);
    const scope = callConditionScope(call, returnOf(call));
    assert.equal(holds('result == 0 && error == null', scope), false);
    assert.equal(holds('result == 0 && protocolInfo.dwProviderReserved == 0x3c', scope), true);
  });
});

describe('condition syntax errors name the column and what was wrong', () => {
  it('an unexpected closing parenthesis', () => {
    const error = syntaxError('s == 0x1a4)');
    assert.equal(error.message, "unexpected ')' at column 11");
    assert.equal(error.column, 11);
  });

  it('a single = suggests ==', () => {
    assert.match(syntaxError('pid = 364').message, /^unexpected '=' at column 5 \(use '==' to compare\)$/);
  });

  it('a missing operand, a missing parenthesis, a bad character, an unterminated string', () => {
    assert.equal(syntaxError('pid ==').message, 'unexpected end of expression at column 7');
    assert.equal(syntaxError('(pid == 364').message, "expected ')' at column 12");
    assert.equal(syntaxError('pid == 364 # x').message, "unexpected '#' at column 12");
    assert.equal(syntaxError("api == 'socket").message, 'unterminated string starting at column 8');
    assert.equal(syntaxError('pid == 364 364').message, "unexpected '364' at column 12");
    assert.equal(syntaxError('').message, 'empty expression');
  });

  it('comparisons do not chain', () => {
    assert.match(syntaxError('1 < 2 < 3').message, /^unexpected '<' at column 7/);
  });
});

describe('log messages', () => {
  it('{expr} is replaced by its value; s prints in hex, other numbers in decimal', () => {
    assert.equal(interpolateLogMessage('{api} s={s} for {dwProcessId} at #{seq}', duplicate), `WSADuplicateSocketW s=0x1a4 for 512 at #${scenario.duplicate}`);
    assert.equal(interpolateLogMessage('af {lpProtocolInfo.iAddressFamily} ok={pid == 512}', imported), 'af 2 ok=true');
  });

  it('{{ and }} are literal braces', () => {
    assert.equal(interpolateLogMessage('{{pid}} = {pid}}}', duplicate), `{pid} = ${SOURCE}}`);
  });

  it('a bad expression prints its error in place and the rest still prints', () => {
    assert.equal(interpolateLogMessage('x {pid ==} y {pid}', duplicate), `x {error: unexpected end of expression at column 7} y ${SOURCE}`);
    assert.equal(interpolateLogMessage('open {pid', duplicate), "open {error: missing '}'}");
  });

  it("a '}' inside a string does not close the expression", () => {
    assert.equal(interpolateLogMessage("{api == '}'}", duplicate), 'false');
  });
});

describe('hit conditions', () => {
  it('a bare number means from that hit on (>= N)', () => {
    assert.deepEqual([1, 2, 3, 4, 5, 6].map((n) => hitConditionMatches('5', n)), [false, false, false, false, true, true]);
  });

  it('comparison forms', () => {
    assert.equal(hitConditionMatches('>= 3', 3), true);
    assert.equal(hitConditionMatches('> 3', 3), false);
    assert.equal(hitConditionMatches('==3', 3), true);
    assert.equal(hitConditionMatches('== 3', 4), false);
    assert.equal(hitConditionMatches('< 3', 2), true);
    assert.equal(hitConditionMatches('<= 3', 4), false);
  });

  it('% N stops on every Nth hit', () => {
    const hit = compileHitCondition('% 3');
    assert.deepEqual([1, 2, 3, 4, 5, 6].map(hit), [false, false, true, false, false, true]);
  });

  it('anything else is a ConditionError', () => {
    for (const bad of ['', 'abc', '>> 3', '= 3', '3.5', '% 0', '-1']) {
      assert.throws(() => hitConditionMatches(bad, 1), ConditionError, `'${bad}' should be rejected`);
    }
  });
});
