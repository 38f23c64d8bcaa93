/**
 * Wires TraceDocumentIndex to an LSP connection. Documents the editor syncs are analysed when opened and ~200 ms
 * after the last edit (in time slices, abandoned when the text changes again). A large trace file is not taken from
 * the editor (it may not even hand it over): the client names it with `sockshare/openTraceFile` and the server reads
 * the file itself, again when it is saved (the same notification), until `sockshare/closeTraceFile`. While an
 * analysis runs, the diagnostics found so far are published a page at a time; all of them when it ends. Hover,
 * definition, symbols and code lenses are answered from the index of the current version; a request for a version
 * not analysed yet waits for it. A failure answers null and is logged: the server stays up.
 */

import { fileURLToPath } from 'node:url';
import { NotificationType, TextDocuments, TextDocumentSyncKind, type Connection, type InitializeResult } from 'vscode-languageserver';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { DiagnosticsSoFar } from './diagnostics';
import { DiskLines } from './disk-lines';
import { TraceDocumentIndex } from './document-index';
import { hover } from './hover';
import { codeLenses, definition, symbols } from './navigation';

export interface ServeOptions {
  /** Quiet time after an edit before the document is analysed again. */
  debounceMs?: number;
  /** Time between two pages of diagnostics while an analysis runs. */
  pageMs?: number;
}

/** A trace file the server reads from disk; `version` counts the client's notifications (open, then each save). */
export interface TraceFileParams {
  uri: string;
  version?: number;
}
export const OPEN_TRACE_FILE = new NotificationType<TraceFileParams>('sockshare/openTraceFile');
export const CLOSE_TRACE_FILE = new NotificationType<TraceFileParams>('sockshare/closeTraceFile');

interface DocumentState {
  index?: TraceDocumentIndex;
  version: number;
  timer?: NodeJS.Timeout;
  running?: { version: number; promise: Promise<TraceDocumentIndex | undefined> };
}

/** What to analyse: an editor's document, or a file on disk. */
interface Subject {
  uri: string;
  version: number;
  fromDisk: boolean;
  text?: () => string;
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
  const pageMs = options.pageMs ?? 1000;
  const documents = new TextDocuments(TextDocument);
  /** Files read from disk, by URI: the latest version the client named. */
  const files = new Map<string, number>();
  const states = new Map<string, DocumentState>();

  const stateOf = (uri: string): DocumentState => {
    let state = states.get(uri);
    if (!state) states.set(uri, (state = { version: -1 }));
    return state;
  };

  const describeError = (error: unknown): string => (error instanceof Error ? (error.stack ?? error.message) : String(error));

  const subjectOf = (uri: string): Subject | undefined => {
    const version = files.get(uri);
    if (version !== undefined) return { uri, version, fromDisk: true };
    const document = documents.get(uri);
    return document && { uri, version: document.version, fromDisk: false, text: () => document.getText() };
  };

  /** The index of the subject's current version: the one there is, the one being built, or a new one. */
  function analyse(subject: Subject): Promise<TraceDocumentIndex | undefined> {
    const { uri, version } = subject;
    const state = stateOf(uri);
    clearTimeout(state.timer);
    state.timer = undefined;
    if (state.index && state.version === version) return Promise.resolve(state.index);
    if (state.running?.version === version) return state.running.promise;
    state.index?.close(); // stale: requests wait for the new one; drop it so two analyses are never held at once
    state.index = undefined;
    const started = performance.now();
    const current = () => states.get(uri) === state && subjectOf(uri)?.version === version;
    const pages = new DiagnosticsSoFar();
    // A file's versions are the server's own count, not the editor's: its diagnostics name none.
    const editorVersion = subject.fromDisk ? undefined : version;
    let lastPage = performance.now();
    const onProgress = (index: TraceDocumentIndex) => {
      if (performance.now() - lastPage < pageMs || !current()) return;
      lastPage = performance.now();
      void connection.sendDiagnostics({ uri, version: editorVersion, diagnostics: pages.collect(index) });
    };
    const source = subject.fromDisk ? DiskLines.open(fileURLToPath(uri)) : Promise.resolve(subject.text?.() ?? '');
    const promise = source
      .then((lines) => TraceDocumentIndex.build(uri, lines, { isCancelled: () => !current(), onProgress }))
      .then((index) => {
        if (!index || !current()) {
          index?.close();
          return undefined;
        }
        state.index = index;
        state.version = version;
        const found = pages.collect(index);
        void connection.sendDiagnostics({ uri, version: editorVersion, diagnostics: found });
        const ms = (performance.now() - started).toFixed(0);
        connection.console.log(`analysed ${uri} v${version}${subject.fromDisk ? ' (from disk)' : ''}: ${index.eventCount} events, ${index.lineCount} lines, ${found.length} diagnostics in ${ms} ms`);
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
    const subject = subjectOf(uri);
    if (!subject) return null;
    try {
      const index = await analyse(subject);
      return index ? feature(index) : null;
    } catch (error) {
      connection.console.error(`request on ${uri} failed: ${describeError(error)}`);
      return null;
    }
  }

  const forget = (uri: string): void => {
    const state = states.get(uri);
    clearTimeout(state?.timer);
    state?.index?.close();
    states.delete(uri);
    void connection.sendDiagnostics({ uri, diagnostics: [] });
  };

  documents.onDidChangeContent(({ document }) => {
    if (files.has(document.uri)) return; // read from disk: the saved file is what is analysed
    if (!states.has(document.uri)) {
      void analyse({ uri: document.uri, version: document.version, fromDisk: false, text: () => document.getText() });
      return; // just opened: no reason to wait
    }
    const state = stateOf(document.uri);
    clearTimeout(state.timer);
    state.timer = setTimeout(() => {
      const latest = subjectOf(document.uri);
      if (latest) void analyse(latest);
    }, debounceMs);
  });

  documents.onDidClose(({ document }) => {
    if (!files.has(document.uri)) forget(document.uri);
  });

  connection.onNotification(OPEN_TRACE_FILE, ({ uri, version }) => {
    files.set(uri, version ?? (files.get(uri) ?? 0) + 1);
    void analyse({ uri, version: files.get(uri) as number, fromDisk: true });
  });
  connection.onNotification(CLOSE_TRACE_FILE, ({ uri }) => {
    files.delete(uri);
    forget(uri);
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
