/**
 * The language client for trace files: diagnostics, hover, go to definition, symbols, "Replay from here". A trace
 * file larger than LARGE_TRACE_BYTES is not handed to the server as text (the editor holds it, and may not even hand
 * it to extensions): the server is told its URI (`sockshare/openTraceFile`) and reads the file from disk, again each
 * time it is saved. Tabs showing a trace file the editor does not sync are named to the server the same way.
 */

import * as fs from 'node:fs';
import * as vscode from 'vscode';
import { LanguageClient, TransportKind, type LanguageClientOptions, type Middleware, type ServerOptions } from 'vscode-languageclient/node';
import { isTraceFile, TRACE_LANGUAGE } from './configuration';

/** Above this size the server reads a trace file itself. */
export const LARGE_TRACE_BYTES = 16 * 1024 * 1024;
const OPEN_TRACE_FILE = 'sockshare/openTraceFile';
const CLOSE_TRACE_FILE = 'sockshare/closeTraceFile';

function isLargeTraceFile(uri: vscode.Uri): boolean {
  if (uri.scheme !== 'file') return false;
  try {
    return fs.statSync(uri.fsPath).size > LARGE_TRACE_BYTES;
  } catch {
    return false;
  }
}

export function startLanguageClient(context: vscode.ExtensionContext): LanguageClient {
  const module = context.asAbsolutePath('dist/server.js');
  const serverOptions: ServerOptions = {
    run: { module, transport: TransportKind.ipc },
    debug: { module, transport: TransportKind.ipc, options: { execArgv: ['--nolazy', '--inspect=6019'] } },
  };
  /** Trace files the server reads from disk, by URI string. */
  const fromDisk = new Set<string>();
  // The middleware runs once the client has started, after `client` below is set.
  const tell = (method: string, uri: vscode.Uri) => void client.sendNotification(method, { uri: uri.toString() });
  const openFromDisk = (uri: vscode.Uri) => {
    fromDisk.add(uri.toString());
    tell(OPEN_TRACE_FILE, uri);
  };
  const middleware: Middleware = {
    didOpen: (document, next) => (isLargeTraceFile(document.uri) ? Promise.resolve(openFromDisk(document.uri)) : next(document)),
    didChange: (event, next) => (fromDisk.has(event.document.uri.toString()) ? Promise.resolve() : next(event)),
    didSave: (document, next) => (fromDisk.has(document.uri.toString()) ? Promise.resolve(tell(OPEN_TRACE_FILE, document.uri)) : next(document)),
    didClose: (document, next) => {
      if (!fromDisk.delete(document.uri.toString())) return next(document);
      tell(CLOSE_TRACE_FILE, document.uri);
      return Promise.resolve();
    },
  };
  const clientOptions: LanguageClientOptions = { documentSelector: [{ language: TRACE_LANGUAGE }], middleware };
  const client = new LanguageClient('sockshareTrace', 'sockshare trace files', serverOptions, clientOptions);
  void client.start().then(() => followTraceTabs(context, fromDisk, openFromDisk, (uri) => tell(CLOSE_TRACE_FILE, uri)));
  return client;
}

/** Trace files open in tabs that the editor does not sync to extensions (too large): the server reads them from disk. */
function followTraceTabs(context: vscode.ExtensionContext, fromDisk: Set<string>, open: (uri: vscode.Uri) => void, close: (uri: vscode.Uri) => void): void {
  const synced = () => new Set(vscode.workspace.textDocuments.map((d) => d.uri.toString()));
  const traceTabs = (tabs: readonly vscode.Tab[]) =>
    tabs.flatMap((tab) => (tab.input instanceof vscode.TabInputText && isTraceFile(tab.input.uri) && tab.input.uri.scheme === 'file' ? [tab.input.uri] : []));
  const update = (event?: vscode.TabChangeEvent) => {
    const known = synced();
    for (const uri of traceTabs(event ? [...event.opened, ...event.changed] : vscode.window.tabGroups.all.flatMap((g) => g.tabs))) {
      if (!known.has(uri.toString()) && !fromDisk.has(uri.toString())) open(uri);
    }
    const stillOpen = new Set(traceTabs(vscode.window.tabGroups.all.flatMap((g) => g.tabs)).map((u) => u.toString()));
    for (const uri of traceTabs(event?.closed ?? [])) {
      if (stillOpen.has(uri.toString()) || known.has(uri.toString()) || !fromDisk.delete(uri.toString())) continue;
      close(uri);
    }
  };
  update();
  context.subscriptions.push(vscode.window.tabGroups.onDidChangeTabs(update));
}
