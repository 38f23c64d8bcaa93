/**
 * `${command:pickProcess}` for an attach configuration: the Windows processes the tracer can attach to, with image,
 * pid, parent and command line. Under Wine only the processes of the tracer's Wine prefix are visible (one wineserver
 * each), which the picker says.
 */

import * as vscode from 'vscode';
import { listWindowsProcesses } from '../tracer/capture/processes';
import { resolveRuntime, type RuntimeKind } from '../tracer/capture/runtime';
import { ensureWindowsNodeForLaunch } from './live-launch';

/** The picked process's pid as a string (what a configuration variable gives), or undefined when cancelled. */
export async function pickProcessCommand(): Promise<string | undefined> {
  const settings = vscode.workspace.getConfiguration('sockshare');
  const kind = settings.get<RuntimeKind>('runtime', 'auto');
  const underWine = kind === 'wine' || (kind === 'auto' && process.platform !== 'win32');
  let wine = { wine: settings.get<string>('wine.path') || undefined, prefix: settings.get<string>('wine.prefix') || undefined, node: settings.get<string>('wine.node') || undefined };
  if (underWine) {
    const ready = await ensureWindowsNodeForLaunch(wine);
    if (!ready) return undefined;
    wine = { ...wine, ...ready };
  }
  const runtime = resolveRuntime(kind, wine);
  const processes = await vscode.window.withProgress({ location: vscode.ProgressLocation.Window, title: 'sockshare: listing Windows processes' }, () => listWindowsProcesses(runtime));
  const where = runtime.kind === 'wine' ? `the Wine prefix ${String(runtime.env.WINEPREFIX)} (Wine shows the processes of one prefix only)` : 'this machine';
  const items = processes
    .sort((a, b) => b.pid - a.pid)
    .map((p) => ({ label: p.name, description: `pid ${p.pid} · parent ${p.parentPid}`, detail: p.commandLine ?? p.image, pid: p.pid }));
  const picked = await vscode.window.showQuickPick(items, { title: `sockshare: attach to a process of ${where}`, matchOnDescription: true, matchOnDetail: true, placeHolder: 'a program name, a pid or part of its command line' });
  return picked ? String(picked.pid) : undefined;
}
