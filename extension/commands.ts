/**
 * The extension's commands: record a program pair, open a trace for replay, export, the handoff diagram, get the
 * Windows runtime for live tracing.
 */

import { readFile, writeFile } from 'node:fs/promises';
import * as vscode from 'vscode';
import { EXPORT_FORMATS, exportFormat, type ExportFormat } from '../tracer/export';
import { modelOf } from '../tracer/model';
import { parseTraceText } from '../tracer/trace/reader';
import { DEBUG_TYPE, liveConfiguration, replayConfiguration } from './configuration';
import { showHandoffDiagram } from './diagram';

export { pickProcessCommand } from './process-picker';

export { setupWindowsRuntimeCommand } from './win-runtime';

function sockshareSession(): vscode.DebugSession | undefined {
  const session = vscode.debug.activeDebugSession;
  return session?.type === DEBUG_TYPE ? session : undefined;
}

function activeTrace(): vscode.Uri | undefined {
  const uri = vscode.window.activeTextEditor?.document.uri;
  return uri?.path.endsWith('.sockshare.jsonl') ? uri : undefined;
}

async function chooseTraceFile(title: string): Promise<string | undefined> {
  const picked = await vscode.window.showOpenDialog({ title, canSelectMany: false, filters: { 'sockshare traces': ['jsonl'] } });
  return picked?.[0]?.fsPath;
}

/** The active trace editor's file, or one the user picks. */
async function pickTrace(title: string): Promise<string | undefined> {
  return activeTrace()?.fsPath ?? chooseTraceFile(title);
}

export const CHOOSE_ANOTHER_TRACE = 'Choose another trace…';

/** Asks: the active trace editor's file (first) or another trace; with no trace editor active, the file dialog. */
async function askForTrace(title: string): Promise<string | undefined> {
  const active = activeTrace();
  if (!active) return chooseTraceFile(title);
  const name = active.path.split('/').pop() ?? active.fsPath;
  const replayActive = { label: `Replay ${name} (the active editor)`, description: vscode.workspace.asRelativePath(active), file: active.fsPath };
  const other = { label: CHOOSE_ANOTHER_TRACE, file: undefined };
  const picked = await vscode.window.showQuickPick([replayActive, other], { title });
  if (!picked) return undefined;
  return picked.file ?? chooseTraceFile(title);
}

/** The trace of the current session, or one the user picks. */
async function currentOrChosenTrace(title: string): Promise<string | undefined> {
  const session = sockshareSession();
  if (session) {
    const info = (await session.customRequest('traceInfo')) as { traceFile?: string };
    if (info.traceFile) return info.traceFile;
  }
  return pickTrace(title);
}

export async function recordCommand(): Promise<void> {
  const source = await vscode.window.showOpenDialog({ title: 'sockshare: the source program (it and the processes it starts are traced)', filters: { 'Windows programs': ['exe'] } });
  if (!source?.length) return;
  const more = await vscode.window.showQuickPick(['The source starts its target itself', 'Also start a separate target program…'], { title: 'sockshare: the target' });
  let target: string | undefined;
  if (more?.startsWith('Also')) target = (await vscode.window.showOpenDialog({ title: 'sockshare: the target program', filters: { 'Windows programs': ['exe'] } }))?.[0]?.fsPath;
  const save = await vscode.window.showSaveDialog({ title: 'sockshare: save the recording as', filters: { 'sockshare traces': ['jsonl'] }, defaultUri: vscode.Uri.file(source[0].fsPath.replace(/\.exe$/i, '') + '.sockshare.jsonl') });
  if (!save) return;
  await vscode.debug.startDebugging(vscode.workspace.workspaceFolders?.[0], liveConfiguration(source[0].fsPath, target, save.fsPath));
}

export async function openTraceCommand(uri?: vscode.Uri): Promise<void> {
  const trace = uri?.fsPath ?? (await askForTrace('sockshare: the trace to replay'));
  if (trace) await vscode.debug.startDebugging(vscode.workspace.workspaceFolders?.[0], replayConfiguration(trace));
}

export async function replayFromHereCommand(uri: vscode.Uri | string, seq: number): Promise<void> {
  const file = typeof uri === 'string' ? vscode.Uri.parse(uri).fsPath : uri.fsPath;
  await vscode.debug.startDebugging(vscode.workspace.workspaceFolders?.[0], replayConfiguration(file, seq));
}

/** Writes a trace in one of the export formats; arguments let tests and other extensions skip the dialogs. */
export async function exportCommand(format?: ExportFormat, output?: string, traceFile?: string): Promise<string | undefined> {
  const trace = traceFile ?? (await currentOrChosenTrace('sockshare: the trace to export'));
  if (!trace) return undefined;
  const chosen = format ?? (await vscode.window.showQuickPick(EXPORT_FORMATS.map((f) => ({ label: f.id, description: f.description, format: f.id })), { title: 'sockshare: export as' }))?.format;
  if (!chosen) return undefined;
  const spec = exportFormat(chosen);
  const target = output ?? (await vscode.window.showSaveDialog({ defaultUri: vscode.Uri.file(trace.replace(/\.sockshare\.jsonl$/, '') + spec.extension) }))?.fsPath;
  if (!target) return undefined;
  await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `sockshare: exporting ${trace.split(/[\\/]/).pop()} as ${chosen}` }, async (progress) => {
    progress.report({ message: 'reading the trace' });
    const { header, events } = parseTraceText(await readFile(trace, 'utf8'), trace);
    progress.report({ message: `running the model over ${events.length} events` });
    const text = spec.render(header, events, modelOf(events));
    await writeFile(target, text);
  });
  if (!output) void vscode.window.showInformationMessage(`sockshare: wrote ${target}`);
  return target;
}

export async function handoffDiagramCommand(traceFile?: string): Promise<vscode.WebviewPanel | undefined> {
  const trace = traceFile ?? (await currentOrChosenTrace('sockshare: the trace to draw'));
  if (!trace) return undefined;
  return showHandoffDiagram(trace, (seq) => void gotoEventCommand(seq));
}

/** Moves the active replay to an event (a diagram box, a Shared Sockets entry). */
export async function gotoEventCommand(seq: number): Promise<void> {
  const session = sockshareSession();
  if (session) await session.customRequest('gotoEvent', { seq });
}
