/** WSADuplicateSocket exports and WSASocket(FROM_PROTOCOL_INFO) imports: the handoff rules of the Winsock pages. */

import { isProtocolInfo, PROTOCOL_INFO_FIELDS, type ProtocolInfo } from '../trace/schema';
import type { CallContext } from './context';
import { handleLabel, processLabel, socketLabel } from './describe';
import { addDescriptor, closeSocket, createSocket, openDescriptors, pendingHandoffs, raise } from './ops';
import type { ModelState } from './state';
import type { Handoff, ImportAttempt } from './types';
import { FROM_PROTOCOL_INFO, WSA_FLAG_OVERLAPPED } from './winsock';

/**
 * Two WSAPROTOCOL_INFO structures are the same export when every field matches (the provider makes each one unique):
 * a 53-bit hash of all fields (cyrb53 over the fields' values, numbers as two 32-bit halves) stands for the structure.
 */
export function protocolInfoKey(info: ProtocolInfo): number {
  // An import asks twice for its structure's key (is it an import? which export?): the last answer is kept.
  if (info === lastKeyed.info) return lastKeyed.key;
  const hash = FIELD_HASH.reset();
  for (const f of PROTOCOL_INFO_FIELDS) {
    const v = info[f];
    if (typeof v === 'number') hash.number(v);
    else if (typeof v === 'string') hash.text(v);
    else {
      hash.number(v.chainLen);
      hash.number(v.chainEntries.length);
      for (const entry of v.chainEntries) hash.number(entry);
    }
  }
  lastKeyed.info = info;
  lastKeyed.key = hash.value();
  return lastKeyed.key;
}

const lastKeyed: { info: ProtocolInfo | undefined; key: number } = { info: undefined, key: 0 };

/** cyrb53, fed 32-bit words: no text is built per structure. */
class FieldHash {
  private h1 = 0;
  private h2 = 0;

  reset(): this {
    this.h1 = 0xdeadbeef;
    this.h2 = 0x41c6ce57;
    return this;
  }

  word(w: number): void {
    this.h1 = Math.imul(this.h1 ^ w, 2654435761);
    this.h2 = Math.imul(this.h2 ^ w, 1597334677);
  }

  number(n: number): void {
    this.word(n | 0);
    this.word(Math.floor(n / 4294967296) | 0);
  }

  text(t: string): void {
    this.word(t.length);
    for (let i = 0; i < t.length; i++) this.word(t.charCodeAt(i));
  }

  value(): number {
    let { h1, h2 } = this;
    h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
    h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
    return 4294967296 * (2097151 & h2) + (h1 >>> 0);
  }
}

const FIELD_HASH = new FieldHash();

export function duplicateSocket(ctx: CallContext): void {
  const { state } = ctx;
  const handle = ctx.num('s');
  const targetPid = ctx.num('dwProcessId');
  const d = ctx.descriptor(handle);
  const socket = d && ctx.socketOf(d);
  if (socket?.qos) {
    raise(state, 'qos-socket-duplicated', `${ctx.where} duplicated ${socketLabel(socket)}, which is QOS-enabled: WSADuplicateSocket cannot be used on a QOS-enabled socket.`, [...ctx.events, socket.created.seq], { socketId: socket.id, pids: [ctx.pid] });
  }
  if (!ctx.ok) {
    raise(state, 'duplicate-failed', `${ctx.where} failed to duplicate descriptor ${handleLabel(handle)} for ${processLabel(state, targetPid)}: ${ctx.errorText()}${duplicateHint(ctx, targetPid)}`, ctx.events, { socketId: socket?.id, pids: [ctx.pid] });
    return;
  }
  const info = ctx.ret.out?.protocolInfo;
  if (!isProtocolInfo(info)) {
    // The reader requires out.protocolInfo on a successful return; null means the capture could not read the buffer.
    raise(state, 'records-lost', `${ctx.where} succeeded, but the capture could not read the WSAPROTOCOL_INFO it wrote: the import of this export cannot be linked to it, and findings about this handoff may be missing.`, ctx.events, { socketId: socket?.id, pids: [ctx.pid] });
    return;
  }
  const key = protocolInfoKey(info);
  const handoff: Handoff = {
    id: `h${state.nextHandoff++}`,
    exportCall: ctx.ref,
    sourcePid: ctx.pid,
    sourceHandle: handle,
    sourceDescriptorId: d?.id,
    socketId: socket?.id,
    targetPid,
    targetStartSeq: state.processes.get(targetPid)?.startSeq,
    key,
    imports: [],
    settled: undefined,
  };
  state.handoffs.set(handoff.id, handoff);
  state.setHandoffKey(key, handoff.id);
  state.unsettled.add(handoff.id);
  if (socket) (state.sockets.get(socket.id)?.handoffIds as string[] | undefined)?.push(handoff.id);
  markRole(state, ctx.pid, { exported: true });
  markRole(state, targetPid, { imported: true });
  checkLayeredProvider(ctx, info, socket?.id);
}

function markRole(state: ModelState, pid: number, role: { exported?: true; imported?: true }): void {
  const p = state.processes.get(pid);
  if (p && ((role.exported && !p.exported) || (role.imported && !p.imported))) state.processes.set(pid, { ...p, ...role });
}

function duplicateHint(ctx: CallContext, targetPid: number): string {
  const { state } = ctx;
  if (ctx.error === 10022 && (targetPid === 0 || !state.processes.has(targetPid) || state.processes.get(targetPid)?.exitSeq !== undefined)) {
    return ` dwProcessId ${targetPid} is not a running process in this trace.`;
  }
  if (ctx.error === 10093) return ' This process had no successful WSAStartup before the call.';
  if (ctx.error === 10038) return ' That value is not an open socket descriptor in this process.';
  return '';
}

function checkLayeredProvider(ctx: CallContext, info: ProtocolInfo, socketId?: string): void {
  if (info.protocolChain.chainLen <= 1) return;
  raise(ctx.state, 'layered-provider', `${ctx.where}: the WSAPROTOCOL_INFO names a protocol chain of ${info.protocolChain.chainLen} entries (${info.protocolChain.chainEntries.join(' -> ')}), so a layered service provider sits above the base provider "${info.szProtocol}" and takes part in this handoff.`, ctx.events, { socketId, pids: [ctx.pid] });
}

/** WSASocket with a WSAPROTOCOL_INFO that came from WSADuplicateSocket (or names FROM_PROTOCOL_INFO): an import. */
export function isImport(ctx: CallContext): boolean {
  const info = ctx.arg('lpProtocolInfo');
  if (!isProtocolInfo(info)) return false;
  if (ctx.state.handoffIdsByKey(protocolInfoKey(info)).length > 0) return true;
  return ctx.num('af') === FROM_PROTOCOL_INFO || ctx.num('type') === FROM_PROTOCOL_INFO || ctx.num('protocol') === FROM_PROTOCOL_INFO;
}

/** The start event of the process running with this pid now (undefined: none, or one whose start was not traced). */
function runningStart(state: ModelState, pid: number): number | undefined {
  return state.processes.get(pid)?.startSeq;
}

/** The export names this process: its pid, and the process that had the pid when the export was made. */
export function isTargetOf(state: ModelState, handoff: Handoff, pid: number): boolean {
  return handoff.targetPid === pid && handoff.targetStartSeq === runningStart(state, pid);
}

/** A successful import used the structure (WSADuplicateSocket: it "can only be used once"); a failed one did not. */
function used(handoff: Handoff): ImportAttempt | undefined {
  return handoff.imports.find((i) => i.ok);
}

/**
 * The export an import of this structure belongs to. One structure can stand for several exports: a provider may
 * put the same bytes in two exports (Wine does when both targets get the same handle value). The import takes an
 * export made for this process and not used yet, the oldest first; else, this process using its structure again,
 * the latest made for it; else an unused export made for another process (imported by the wrong process), the
 * oldest first; else the latest of all. Byte-equal structures are told apart by nothing else: a process that
 * imports twice is taken to reuse its own rather than to take another process's.
 */
function linkImport(state: ModelState, key: number, pid: number): Handoff | undefined {
  const candidates = state.handoffIdsByKey(key).map((id) => state.handoff(id)).filter((h): h is Handoff => h !== undefined);
  const mine = candidates.filter((h) => isTargetOf(state, h, pid));
  const unused = candidates.filter((h) => !used(h));
  return mine.find((h) => !used(h)) ?? mine[mine.length - 1] ?? unused.find((h) => !h.settled) ?? unused[0] ?? candidates[candidates.length - 1];
}

export function importSocket(ctx: CallContext): void {
  const { state } = ctx;
  const info = ctx.arg('lpProtocolInfo') as ProtocolInfo;
  const flags = ctx.num('dwFlags');
  let handoff = linkImport(state, protocolInfoKey(info), ctx.pid);
  markRole(state, ctx.pid, { imported: true });
  if (handoff) checkImportRules(ctx, handoff);
  else checkLayeredProvider(ctx, info);
  const attempt: { -readonly [K in keyof ImportAttempt]: ImportAttempt[K] } = { call: ctx.ref, ok: ctx.ok, flags };
  if (!ctx.ok) {
    attempt.error = ctx.error;
    const from = handoff ? ` exported by ${processLabel(state, handoff.sourcePid, handoff.exportCall.seq)} (event ${handoff.exportCall.seq})` : '';
    raise(state, 'import-failed', `${ctx.where} could not import the WSAPROTOCOL_INFO${from}: ${ctx.errorText()}`, [...(handoff ? [handoff.exportCall.seq] : []), ...ctx.events], { socketId: handoff?.socketId, pids: [ctx.pid] });
  } else {
    const known = handoff?.socketId === undefined ? undefined : state.sockets.get(handoff.socketId);
    const socket = known ?? createSocket(state, ctx.ref, { af: info.iAddressFamily, type: info.iSocketType, protocol: info.iProtocol, overlapped: false, flags: 0, originUnknown: true });
    if (known && known.overlapped && !(flags & WSA_FLAG_OVERLAPPED)) {
      raise(state, 'overlapped-flag-missing', `${ctx.where} imported ${socketLabel(known)} without WSA_FLAG_OVERLAPPED (dwFlags ${flags}), but the source created it with ${known.created.api === 'socket' ? 'socket()' : 'WSA_FLAG_OVERLAPPED'} (event ${known.created.seq}): the destination must pass WSA_FLAG_OVERLAPPED too.`, [known.created.seq, ...(handoff ? [handoff.exportCall.seq] : []), ...ctx.events], { socketId: known.id, pids: [known.created.pid, ctx.pid] });
    }
    attempt.descriptorId = addDescriptor(state, socket, ctx.ref, ctx.ret.result, 'import', handoff?.id).id;
  }
  if (handoff) {
    // Only the named target's successful import consumes the duplicate made for it: a failed import, or another
    // process's import, leaves it pending (it leaks if the target never imports it).
    if (ctx.ok && isTargetOf(state, handoff, ctx.pid)) state.unsettled.delete(handoff.id);
    handoff = { ...handoff, imports: [...handoff.imports, attempt] };
    // A reused structure may name an archived handoff: it comes back to the live map with its new import.
    state.handoffs.set(handoff.id, handoff);
  }
}

function checkImportRules(ctx: CallContext, handoff: Handoff): void {
  const { state } = ctx;
  const first = used(handoff);
  const at = handoff.exportCall.seq;
  const verb = ctx.ok ? 'imported' : 'tried to import';
  const source = processLabel(state, handoff.sourcePid, at);
  if (first) {
    raise(state, 'protocol-info-reused', `${ctx.call.api} in ${processLabel(state, ctx.pid)} ${verb} the WSAPROTOCOL_INFO that ${source} exported at event ${at}, which ${processLabel(state, first.call.pid, first.call.seq)} already imported at event ${first.call.seq}: that structure can only be used once.`, [at, first.call.seq, first.call.returnSeq, ...ctx.events], { socketId: handoff.socketId, pids: [handoff.sourcePid, first.call.pid, ctx.pid] });
  }
  if (!isTargetOf(state, handoff, ctx.pid)) {
    const target = processLabel(state, handoff.targetPid, at);
    // The pid is the target's, but the target exited and the system gave its pid to this new process.
    const reused = handoff.targetPid === ctx.pid ? ` pid ${ctx.pid} now names another process: the one the structure was made for ${exitText(state, handoff)}` : '';
    raise(state, 'imported-by-wrong-process', `${ctx.call.api} in ${processLabel(state, ctx.pid)} ${verb} a WSAPROTOCOL_INFO that ${source} duplicated for ${target} (event ${at}), not for this process.${reused}`, [at, ...ctx.events], { socketId: handoff.socketId, pids: [handoff.sourcePid, handoff.targetPid, ctx.pid] });
  }
}

function exitText(state: ModelState, handoff: Handoff): string {
  const target = handoff.targetStartSeq === undefined ? undefined : state.process(handoff.targetPid, handoff.targetStartSeq);
  return target?.exitSeq !== undefined ? `exited at event ${target.exitSeq}.` : 'is gone.';
}

/**
 * Handoffs that can no longer be imported: the target exited (`targetPid`), or the trace ended (no pid).
 * The duplicate made for the target leaks there and keeps the underlying socket open.
 */
export function settleNeverImported(state: ModelState, targetPid: number | undefined, events: number[]): void {
  for (const id of [...state.unsettled]) {
    const handoff = state.handoff(id);
    // A process exiting settles the exports made for it, not those made for an earlier process with its pid.
    if (!handoff || (targetPid !== undefined && !isTargetOf(state, handoff, targetPid))) continue;
    state.unsettled.delete(id);
    state.handoffs.set(handoff.id, { ...handoff, settled: 'never-imported' });
    const socket = handoff.socketId === undefined ? undefined : state.sockets.get(handoff.socketId);
    const at = handoff.exportCall.seq;
    const target = processLabel(state, handoff.targetPid, at);
    const why = targetPid !== undefined ? `${target} exited` : 'the trace ended';
    const what = socket ? socketLabel(socket) : `descriptor ${handleLabel(handoff.sourceHandle)}`;
    const instead = handoff.imports.map((i) => `${processLabel(state, i.call.pid, i.call.seq)} ${i.ok ? 'imported it instead' : 'tried to import it and failed'} (event ${i.call.seq})`).join('; ');
    raise(state, 'handoff-never-imported', `${processLabel(state, handoff.sourcePid, at)} duplicated ${what} for ${target} (event ${at}), but ${why} without importing it: the duplicate leaks in the target and keeps the socket open.${instead ? ' ' + instead + '.' : ''}`, [at, ...handoff.imports.map((i) => i.call.seq), ...events], { socketId: handoff.socketId, pids: [handoff.sourcePid, handoff.targetPid] });
    // The target's exit releases the leaked duplicate: with no other holder, the socket closes now.
    if (socket && targetPid !== undefined && openDescriptors(state, socket).length === 0 && pendingHandoffs(state, socket).length === 0) {
      closeSocket(state, socket, (label) => `${processLabel(state, targetPid)} exited holding the duplicate of ${label} it never imported, the socket's last reference, so the socket closes.`, [handoff.exportCall.seq, ...events], [targetPid]);
    }
  }
}
