/**
 * The language server for sockshare trace files (bundled to dist/server.js). The transport comes from the command
 * line (--node-ipc from the extension's client, --stdio, --socket=N); everything else is in extension/language.
 */

import { createConnection, ProposedFeatures } from 'vscode-languageserver/node';
import { serveTraceDocuments } from './language/connection';

serveTraceDocuments(createConnection(ProposedFeatures.all));
