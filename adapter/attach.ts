/** The attach request's arguments: which running programs to trace (by pid or by image name) and how. */

import type { DebugProtocol } from '@vscode/debugprotocol';
import { listWindowsProcesses, type WindowsProcess } from '../tracer/capture/processes';
import type { AgentRuntime } from '../tracer/capture/runtime';
import { type LiveArguments, liveRecording, liveRuntime } from './live-arguments';
import { LiveSource } from './source';

export interface AttachArguments extends DebugProtocol.AttachRequestArguments, LiveArguments {
  /** Windows pid(s); strings of digits too (what `${command:…}` variables give). */
  processId?: number | string | (number | string)[];
  /** The image file name of exactly one running process (case-insensitive; ".exe" may be left out). */
  processName?: string;
  stopOn?: string[];
}

/** processId as pids: a number, a string of digits, or a list of them. */
export function processIds(value: AttachArguments['processId']): number[] {
  const items = Array.isArray(value) ? value : [value];
  const pids = items.map((item) => (typeof item === 'string' && /^\s*\d+\s*$/.test(item) ? Number(item) : item));
  const bad = pids.find((pid) => typeof pid !== 'number' || !Number.isInteger(pid) || pid <= 0);
  if (items.length === 0 || bad !== undefined) throw new Error(`attach: "processId" must be a Windows pid (a number or a string of digits) or a list of them, not ${JSON.stringify(bad ?? value)}`);
  return [...new Set(pids as number[])];
}

function imageName(p: WindowsProcess): string {
  return (p.image ?? p.name).split(/[\\/]/).pop() ?? p.name;
}

/** The one process whose image file name is `name`; an error listing the candidates otherwise. */
export function processByName(processes: readonly WindowsProcess[], name: string): number {
  const wanted = name.toLowerCase();
  const matches = processes.filter((p) => [p.name, imageName(p)].some((n) => n.toLowerCase() === wanted || n.toLowerCase() === `${wanted}.exe`));
  if (matches.length === 1) return matches[0].pid;
  const describe = (p: WindowsProcess) => `pid ${p.pid} ${p.commandLine ?? imageName(p)}`;
  if (matches.length > 1) throw new Error(`attach: ${matches.length} processes are named "${name}": give "processId" instead (${matches.map(describe).join('; ')})`);
  const names = [...new Set(processes.map(imageName))].sort().join(', ');
  throw new Error(`attach: no running process is named "${name}" (running: ${names || 'none'})`);
}

async function targetPids(args: AttachArguments, runtime: AgentRuntime): Promise<number[]> {
  if (args.processId !== undefined && args.processName !== undefined) throw new Error('attach: give "processId" or "processName", not both');
  if (args.processId !== undefined) return processIds(args.processId);
  if (typeof args.processName === 'string' && args.processName.trim() !== '') return [processByName(await listWindowsProcesses(runtime), args.processName.trim())];
  throw new Error('attach: give "processId" (a Windows pid, or a list) or "processName" (an image file name)');
}

/** The live source of an attach: the agent attaches to the programs named and records to `trace` (or a temp file). */
export async function attachSource(args: AttachArguments): Promise<LiveSource> {
  const runtime = liveRuntime('attach', args);
  const attaches = await targetPids(args, runtime);
  return new LiveSource({ runtime, launches: [], attaches, ...liveRecording('attach', args) });
}
