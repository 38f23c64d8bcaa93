/**
 * The sockshare extension: the `sockshare` debugger (adapter inline in the extension host), its configurations,
 * commands, the Shared Sockets view, the handoff diagram, and the language client for trace files.
 */

import { join } from 'node:path';
import * as vscode from 'vscode';
import type { LanguageClient } from 'vscode-languageclient/node';
import { DEBUG_TYPE, isTraceFile, SockshareConfigurationProvider } from './configuration';
import { type SavedRecording, SETUP_COMMAND, watchLiveSessions } from './live-launch';
import { SharedSocketsView } from './sockets-view';

// Loaded when first needed, from their own bundles: activation stays cheap (the language client, the debug
// adapter with the model and the exports are most of the code).
type Commands = typeof import('./commands');
const lazy = <T>(bundle: string): (() => T) => {
  let loaded: T | undefined;
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- a separate bundle, loaded on first use
  return () => (loaded ??= require(join(__dirname, bundle)) as T);
};
const commands = lazy<Commands>('commands.js');
const adapter = lazy<typeof import('../adapter/session')>('session.js');
const languageClient = lazy<typeof import('./language-client')>('language-client.js');

let client: LanguageClient | undefined;

/** How long activation took (ms), for the tests' activation-time measurement. */
export let activationMs = 0;

/** What activate returns: the activation time, and each recording a live session saved (for tests and other extensions). */
export interface SockshareApi {
  activationMs: number;
  onDidSaveRecording: vscode.Event<SavedRecording>;
}

export function activate(context: vscode.ExtensionContext): SockshareApi {
  const started = performance.now();
  const view = new SharedSocketsView();
  const saved = new vscode.EventEmitter<SavedRecording>();
  context.subscriptions.push(
    saved,
    vscode.debug.registerDebugConfigurationProvider(DEBUG_TYPE, new SockshareConfigurationProvider(context.globalStorageUri.fsPath, context.extension.packageJSON)),
    watchLiveSessions((recording) => saved.fire(recording)),
    vscode.commands.registerCommand(SETUP_COMMAND, () => commands().setupWindowsRuntimeCommand(context)),
    vscode.debug.registerDebugAdapterDescriptorFactory(DEBUG_TYPE, { createDebugAdapterDescriptor: () => new vscode.DebugAdapterInlineImplementation(new (adapter().SockshareSession)()) }),
    vscode.window.registerTreeDataProvider('sockshare.sharedSockets', view),
    vscode.commands.registerCommand('sockshare.record', () => commands().recordCommand()),
    vscode.commands.registerCommand('sockshare.openTrace', (uri?: vscode.Uri) => commands().openTraceCommand(uri)),
    vscode.commands.registerCommand('sockshare.exportTrace', (...args: Parameters<Commands['exportCommand']>) => commands().exportCommand(...args)),
    vscode.commands.registerCommand('sockshare.showHandoffDiagram', (trace?: string) => commands().handoffDiagramCommand(trace)),
    vscode.commands.registerCommand('sockshare.replayFromHere', (uri: vscode.Uri | string, seq: number) => commands().replayFromHereCommand(uri, seq)),
    vscode.commands.registerCommand('sockshare.gotoEvent', (seq: number) => commands().gotoEventCommand(seq)),
    vscode.commands.registerCommand('sockshare.pickProcess', () => commands().pickProcessCommand()),
    // The view follows the current stop.
    vscode.debug.onDidChangeActiveStackItem(() => void view.refresh()),
    vscode.debug.onDidReceiveDebugSessionCustomEvent(() => void view.refresh()),
    vscode.debug.onDidTerminateDebugSession(() => view.clear()),
    { dispose: () => void client?.stop() },
  );
  // The language server starts with the first trace file, not with the extension.
  const startClient = () => {
    client ??= languageClient().startLanguageClient(context);
  };
  const startClientFor = (document: vscode.TextDocument) => {
    if (document.languageId === 'sockshare-trace') startClient();
  };
  // A trace too large for the editor to hand to extensions is in a tab with no document: the client starts for it
  // too, and reads it from disk (language-client.ts).
  const startClientForTabs = () => {
    if (vscode.window.tabGroups.all.some((group) => group.tabs.some((tab) => tab.input instanceof vscode.TabInputText && isTraceFile(tab.input.uri)))) startClient();
  };
  // After activation returns: the client's bundle is most of the extension's code.
  setTimeout(() => {
    vscode.workspace.textDocuments.forEach(startClientFor);
    startClientForTabs();
  }, 0);
  context.subscriptions.push(vscode.workspace.onDidOpenTextDocument(startClientFor), vscode.window.tabGroups.onDidChangeTabs(startClientForTabs));
  activationMs = performance.now() - started;
  return { activationMs, onDidSaveRecording: saved.event };
}

export function deactivate(): Promise<void> | undefined {
  return client?.stop();
}
