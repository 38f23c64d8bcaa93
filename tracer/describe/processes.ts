/** The words for processes and threads: roles, thread names, how a process ended, who wrote to the console. */

import { baseName, type ProcessRole, type ProcessState, type ShareModel } from '../model';

/** "Source", "Target", "Source+target", "Child", "Process" */
export function roleTitle(role: ProcessRole): string {
  return role.charAt(0).toUpperCase() + role.slice(1);
}

/** "source.exe [source] pid 364 tid 368" */
export function threadName(model: ShareModel, pid: number, tid: number): string {
  const p = model.process(pid);
  const image = p ? `${baseName(p.image)} ` : '';
  return `${image}[${model.role(pid)}] pid ${pid} tid ${tid}`;
}

/**
 * "source.exe (pid 364) [source]" as of event `atSeq` (a pid is reused once its process exits), or "the programs'
 * console" for output no traced process can be named for (pid 0).
 */
export function eventOwner(model: ShareModel, pid: number, atSeq?: number): string {
  if (pid === 0) return "the programs' console";
  return `${model.processLabel(pid, atSeq)} [${model.role(pid, atSeq)}]`;
}

/** "source.exe (source)", "pid 364 (target)": a process's track or column name. */
export function processTrackName(model: ShareModel, pid: number, image?: string): string {
  return `${image ? baseName(image) : `pid ${pid}`} (${model.role(pid)})`;
}

/** The exit code, or "running" when the trace ended before the process did. */
export function exitText(p: Pick<ProcessState, 'exitCode'>): string {
  return p.exitCode === undefined ? 'running' : String(p.exitCode);
}

const RUNNING_AT_END = 'running at the end of the trace';

/** "exited at event 40 with code 0", "running at the end of the trace" */
export function processEndText(p: Pick<ProcessState, 'exitSeq' | 'exitCode'>): string {
  return p.exitSeq === undefined ? RUNNING_AT_END : `exited at event ${p.exitSeq} with code ${p.exitCode ?? '?'}`;
}

/** "exit code 0", "running at the end of the trace": how a process ended, in a short note. */
export function exitNote(p: Pick<ProcessState, 'exitCode'>): string {
  return p.exitCode === undefined ? RUNNING_AT_END : `exit code ${p.exitCode}`;
}
