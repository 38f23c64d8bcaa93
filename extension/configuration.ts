/**
 * Debug configurations: F5 on a trace file replays it; F5 with no launch.json offers to trace a program. Live
 * configurations without "trace" record into the recordings folder; under Wine the Windows runtime is checked first.
 */

import { existsSync } from 'node:fs';
import * as vscode from 'vscode';
import type { WineSettings } from '../tracer/capture/runtime';
import { ensureWindowsNodeForLaunch, newRecordingPath, pinnedNodeVersion, recordingsFolder, runsUnderWine, storedWindowsNode } from './live-launch';

export const DEBUG_TYPE = 'sockshare';
export const TRACE_LANGUAGE = 'sockshare-trace';

export function isTraceFile(uri: vscode.Uri | undefined): boolean {
  return !!uri && uri.path.endsWith('.sockshare.jsonl');
}

export function replayConfiguration(trace: string, startAt?: number): vscode.DebugConfiguration {
  return { type: DEBUG_TYPE, request: 'launch', name: `Replay ${trace.split(/[\\/]/).pop()}`, trace, ...(startAt !== undefined ? { startAt } : {}) };
}

export function liveConfiguration(program: string, target?: string, trace?: string): vscode.DebugConfiguration {
  return { type: DEBUG_TYPE, request: 'launch', name: `Trace ${program.split(/[\\/]/).pop()}`, program, ...(target ? { target } : {}), ...(trace ? { trace } : {}), stopOnEntry: false };
}

export class SockshareConfigurationProvider implements vscode.DebugConfigurationProvider {
  /** `storage`: the extension's global storage (fetched Windows runtime, recordings without a workspace folder). */
  constructor(
    private readonly storage: string,
    private readonly manifest: unknown,
  ) {}

  /** Settings fill what a configuration leaves out: the runtime and Wine paths, which APIs to hook, where to look for images. */
  private withSettings(config: vscode.DebugConfiguration): vscode.DebugConfiguration {
    const settings = vscode.workspace.getConfiguration('sockshare');
    const wine = { wine: settings.get<string>('wine.path') || undefined, prefix: settings.get<string>('wine.prefix') || undefined, node: settings.get<string>('wine.node') || this.fetchedWindowsNode() };
    const apis = settings.get<string[]>('apis');
    return {
      ...config,
      runtime: config.runtime ?? settings.get<string>('runtime', 'auto'),
      wine: { ...wine, ...(config.wine ?? {}) },
      ...(config.apis === undefined && apis && apis.length > 0 ? { apis } : {}),
      // A recording made elsewhere names its images under that machine's folders: the adapter also looks in the workspace.
      searchPaths: config.searchPaths ?? (vscode.workspace.workspaceFolders ?? []).map((f) => f.uri.fsPath),
    };
  }

  /** The node.exe the setup command fetched into global storage, when it is there. */
  private fetchedWindowsNode(): string | undefined {
    const version = pinnedNodeVersion(this.manifest);
    const node = version ? storedWindowsNode(this.storage, version) : undefined;
    return node && existsSync(node) ? node : undefined;
  }

  provideDebugConfigurations(): vscode.DebugConfiguration[] {
    return [
      { type: DEBUG_TYPE, request: 'launch', name: 'Trace a source/target pair', program: '${workspaceFolder}/source.exe', stopOnEntry: false },
      { type: DEBUG_TYPE, request: 'launch', name: 'Replay a trace', trace: '${file}' },
      { type: DEBUG_TYPE, request: 'attach', name: 'Attach to a running process', processId: '${command:pickProcess}' },
    ];
  }

  async resolveDebugConfiguration(_folder: vscode.WorkspaceFolder | undefined, config: vscode.DebugConfiguration): Promise<vscode.DebugConfiguration | undefined> {
    if (!config.type && !config.request && !config.name) {
      const editor = vscode.window.activeTextEditor;
      if (editor && (editor.document.languageId === TRACE_LANGUAGE || isTraceFile(editor.document.uri))) return this.withSettings(replayConfiguration(editor.document.uri.fsPath));
      const picked = await vscode.window.showOpenDialog({ title: 'sockshare: the program to trace (it and the processes it starts)', canSelectMany: false, filters: { 'Windows programs': ['exe'] } });
      if (!picked?.length) return undefined;
      return this.withSettings(liveConfiguration(picked[0].fsPath));
    }
    if (config.request === 'attach') {
      if (config.processId === undefined && !config.processName) {
        await vscode.window.showErrorMessage('sockshare: an attach configuration needs "processId" (e.g. "${command:pickProcess}") or "processName".');
        return undefined;
      }
      return this.withSettings(config);
    }
    if (!config.program && !config.trace) {
      await vscode.window.showErrorMessage('sockshare: the launch configuration needs "program" (trace a program) or "trace" (replay a recording).');
      return undefined;
    }
    return this.withSettings(config);
  }

  /** Live, with variables substituted: a recording file when none is given; the Windows runtime under Wine. */
  async resolveDebugConfigurationWithSubstitutedVariables(folder: vscode.WorkspaceFolder | undefined, config: vscode.DebugConfiguration): Promise<vscode.DebugConfiguration | undefined> {
    const attached = config.request === 'attach';
    if (!config.program && !attached) return config;
    // An attach's recording is named after the process it attaches to.
    const named = attached ? `attach-${String(config.processName ?? config.processId)}` : String(config.program);
    const trace = config.trace ? config.trace : newRecordingPath(recordingsFolder(folder ?? vscode.workspace.workspaceFolders?.[0], this.storage), named);
    let wine = config.wine as WineSettings | undefined;
    if (runsUnderWine(config)) {
      wine = await ensureWindowsNodeForLaunch(wine ?? {});
      if (!wine) return undefined;
    }
    return { ...config, trace, ...(wine ? { wine } : {}) };
  }
}
