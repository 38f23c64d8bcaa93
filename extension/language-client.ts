/** The language client for trace files: diagnostics, hover, go to definition, symbols, "Replay from here". */

import * as vscode from 'vscode';
import { LanguageClient, TransportKind, type LanguageClientOptions, type ServerOptions } from 'vscode-languageclient/node';
import { TRACE_LANGUAGE } from './configuration';

export function startLanguageClient(context: vscode.ExtensionContext): LanguageClient {
  const module = context.asAbsolutePath('dist/server.js');
  const serverOptions: ServerOptions = {
    run: { module, transport: TransportKind.ipc },
    debug: { module, transport: TransportKind.ipc, options: { execArgv: ['--nolazy', '--inspect=6019'] } },
  };
  const clientOptions: LanguageClientOptions = { documentSelector: [{ language: TRACE_LANGUAGE }] };
  const client = new LanguageClient('sockshareTrace', 'sockshare trace files', serverOptions, clientOptions);
  void client.start();
  return client;
}
