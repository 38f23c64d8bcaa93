/** Debug configurations: F5 on a trace file replays it; F5 with no launch.json offers to trace a program. */

import * as vscode from 'vscode';

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

/** Settings fill what a configuration leaves out: the runtime and Wine paths, which APIs to hook. */
function withSettings(config: vscode.DebugConfiguration): vscode.DebugConfiguration {
  const settings = vscode.workspace.getConfiguration('sockshare');
  const wine = { wine: settings.get<string>('wine.path') || undefined, prefix: settings.get<string>('wine.prefix') || undefined, node: settings.get<string>('wine.node') || undefined };
  const apis = settings.get<string[]>('apis');
  return {
    ...config,
    runtime: config.runtime ?? settings.get<string>('runtime', 'auto'),
    wine: { ...wine, ...(config.wine ?? {}) },
    ...(config.apis === undefined && apis && apis.length > 0 ? { apis } : {}),
  };
}

export class SockshareConfigurationProvider implements vscode.DebugConfigurationProvider {
  provideDebugConfigurations(): vscode.DebugConfiguration[] {
    return [
      { type: DEBUG_TYPE, request: 'launch', name: 'Trace a source/target pair', program: '${workspaceFolder}/source.exe', stopOnEntry: false, trace: '${workspaceFolder}/.sockshare/last.sockshare.jsonl' },
      { type: DEBUG_TYPE, request: 'launch', name: 'Replay a trace', trace: '${file}' },
    ];
  }

  async resolveDebugConfiguration(_folder: vscode.WorkspaceFolder | undefined, config: vscode.DebugConfiguration): Promise<vscode.DebugConfiguration | undefined> {
    if (!config.type && !config.request && !config.name) {
      const editor = vscode.window.activeTextEditor;
      if (editor && (editor.document.languageId === TRACE_LANGUAGE || isTraceFile(editor.document.uri))) return withSettings(replayConfiguration(editor.document.uri.fsPath));
      const picked = await vscode.window.showOpenDialog({ title: 'sockshare: the program to trace (it and the processes it starts)', canSelectMany: false, filters: { 'Windows programs': ['exe'] } });
      if (!picked?.length) return undefined;
      return withSettings(liveConfiguration(picked[0].fsPath));
    }
    if (!config.program && !config.trace) {
      await vscode.window.showErrorMessage('sockshare: the launch configuration needs "program" (trace a program) or "trace" (replay a recording).');
      return undefined;
    }
    return withSettings(config);
  }
}
