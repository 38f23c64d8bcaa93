/**
 * Wires TraceDocumentIndex to an LSP connection: open documents synced incrementally, analysed when opened and
 * ~200 ms after the last edit (in time slices, abandoned when the text changes again), diagnostics pushed after each
 * analysis, and hover, definition, symbols and code lenses answered from the index of the current version. A request
 * for a version not analysed yet runs the analysis at once and waits for it. A failure answers null and is logged:
 * the server stays up.
 */

import { TextDocuments, TextDocumentSyncKind, type Connection, type InitializeResult } from 'vscode-languageserver';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { diagnostics } from './diagnostics';
import { TraceDocumentIndex } from './document-index';
import { hover } from './hover';
import { codeLenses, definition, symbols } from './navigation';

export interface ServeOptions {
  /** Quiet time after an edit before the document is analysed again. */
  debounceMs?: number;
}

interface DocumentState {
  index?: TraceDocumentIndex;
  version: number;
  timer?: NodeJS.Timeout;
  running?: { version: number; promise: Promise<TraceDocumentIndex | undefined> };
}

export const SERVER_CAPABILITIES: InitializeResult = {
  capabilities: {
    textDocumentSync: TextDocumentSyncKind.Incremental,
    hoverProvider: true,
    definitionProvider: true,
    documentSymbolProvider: true,
    codeLensProvider: { resolveProvider: false },
  },
  serverInfo: { name: 'sockshare trace language server' },
};

export function serveTraceDocuments(connection: Connection, options: ServeOptions = {}): TextDocuments<TextDocument> {
  const debounceMs = options.debounceMs ?? 200;
  const documents = new TextDocuments(TextDocument);
  const states = new Map<string, DocumentState>();

  const stateOf = (uri: string): DocumentState => {
    let state = states.get(uri);
    if (!state) states.set(uri, (state = { version: -1 }));
    return state;
  };

  const describeError = (error: unknown): string => (error instanceof Error ? (error.stack ?? error.message) : String(error));

  /** The index of the document's current version: the one there is, the one being built, or a new one. */
  function analyse(document: TextDocument): Promise<TraceDocumentIndex | undefined> {
    const { uri, version } = document;
    const state = stateOf(uri);
    clearTimeout(state.timer);
    state.timer = undefined;
    if (state.index && state.version === version) return Promise.resolve(state.index);
    if (state.running?.version === version) return state.running.promise;
    state.index = undefined; // stale: requests wait for the new one; drop it so two analyses are never held at once
    const started = performance.now();
    const current = () => states.get(uri) === state && documents.get(uri)?.version === version;
    const promise = TraceDocumentIndex.build(uri, document.getText(), { isCancelled: () => !current() })
      .then((index) => {
        if (!index || !current()) return undefined;
        state.index = index;
        state.version = version;
        const found = diagnostics(index);
        void connection.sendDiagnostics({ uri, version, diagnostics: found });
        const ms = (performance.now() - started).toFixed(0);
        connection.console.log(`analysed ${uri} v${version}: ${index.eventCount} events, ${index.lineCount} lines, ${found.length} diagnostics in ${ms} ms`);
        return index;
      })
      .catch((error: unknown) => {
        connection.console.error(`analysing ${uri} failed: ${describeError(error)}`);
        return undefined;
      })
      .finally(() => {
        if (state.running?.promise === promise) state.running = undefined;
      });
    state.running = { version, promise };
    return promise;
  }

  /** Runs a feature on the current index; null when there is none or it throws. */
  async function answer<T>(uri: string, feature: (index: TraceDocumentIndex) => T): Promise<T | null> {
    const document = documents.get(uri);
    if (!document) return null;
    try {
      const index = await analyse(document);
      return index ? feature(index) : null;
    } catch (error) {
      connection.console.error(`request on ${uri} failed: ${describeError(error)}`);
      return null;
    }
  }

  documents.onDidChangeContent(({ document }) => {
    if (!states.has(document.uri)) {
      void analyse(document); // just opened: no reason to wait
      return;
    }
    const state = stateOf(document.uri);
    clearTimeout(state.timer);
    state.timer = setTimeout(() => {
      const latest = documents.get(document.uri);
      if (latest) void analyse(latest);
    }, debounceMs);
  });

  documents.onDidClose(({ document }) => {
    clearTimeout(states.get(document.uri)?.timer);
    states.delete(document.uri);
    void connection.sendDiagnostics({ uri: document.uri, diagnostics: [] });
  });

  connection.onInitialize(() => SERVER_CAPABILITIES);
  connection.onHover(({ textDocument, position }) => answer(textDocument.uri, (index) => hover(index, position.line)));
  connection.onDefinition(({ textDocument, position }) => answer(textDocument.uri, (index) => definition(index, position.line, position.character)));
  connection.onDocumentSymbol(({ textDocument }) => answer(textDocument.uri, (index) => symbols(index)));
  connection.onCodeLens(({ textDocument }) => answer(textDocument.uri, (index) => codeLenses(index)));
  connection.onShutdown(() => {
    for (const state of states.values()) clearTimeout(state.timer);
  });

  documents.listen(connection);
  connection.listen();
  return documents;
}
