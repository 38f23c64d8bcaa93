/**
 * The Call scope: the current call's arguments with Winsock names, a WSAPROTOCOL_INFO decoded field by field, the
 * result, the error and the out-parameters. The words come from tracer/describe.
 */

import { argType, argValue, describeError, outParamFilling, protocolInfoFact, resultValue } from '../tracer/describe';
import { isProtocolInfo, type ApiCallEvent, type ApiReturnEvent, type ArgValue, type Args } from '../tracer/trace/schema';
import type { VarNode } from './var-node';

function argNode(call: ApiCallEvent, name: string, value: ArgValue, back?: ArgValue): VarNode {
  const type = argType(call.api, name);
  if (isProtocolInfo(value)) return protocolInfoFact(name, value);
  const shown = argValue(call.api, name, value, call.args);
  if (back === undefined) return { name, value: shown, ...(type ? { type } : {}) };
  if (isProtocolInfo(back)) return protocolInfoFact(name, back, shown);
  return { name, value: `${shown} → ${argValue(call.api, name, back, call.args)}`, ...(type ? { type } : {}) };
}

/**
 * The Call scope: every argument (an out-buffer argument shows what the call wrote there), then `result`, `error`
 * (when the call failed) and the out-parameters no argument names.
 */
export function callScope(call: ApiCallEvent, ret?: ApiReturnEvent): VarNode[] {
  const out: Args = { ...(ret?.out ?? {}) };
  const nodes = Object.entries(call.args).map(([name, value]) => {
    const key = outParamFilling(call.api, name) ?? name;
    const back = Object.hasOwn(out, key) ? out[key] : undefined;
    delete out[key];
    return argNode(call, name, value, back);
  });
  nodes.push({ name: 'result', value: resultValue(call, ret) });
  if (ret?.error !== undefined) nodes.push({ name: 'error', value: describeError(ret.error), type: 'int' });
  for (const [name, value] of Object.entries(out)) nodes.push(argNode(call, name, value));
  return nodes;
}
