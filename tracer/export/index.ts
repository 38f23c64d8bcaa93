/**
 * The trace exports, one registry: each format's id (what `sockshare export --format` and the editor's Export Trace
 * command offer), the file name extension it is written with, and how it renders the trace with its model.
 */

import type { TraceEvent, TraceHeader } from '../trace/schema';
import type { ShareModel } from '../model';
import { renderHtml } from './html';
import { renderMarkdown } from './markdown';
import { renderPerfetto } from './perfetto';

export interface ExportFormatSpec<Id extends string = string> {
  readonly id: Id;
  /** The file name extension, with its dot. */
  readonly extension: string;
  /** What the format is, for a help text or a picker. */
  readonly description: string;
  render(header: TraceHeader, events: TraceEvent[], model: ShareModel): string;
}

export const EXPORT_FORMATS = [
  { id: 'perfetto', extension: '.json', description: 'Chrome trace JSON for ui.perfetto.dev', render: (_header, events, model) => renderPerfetto(events, model) },
  { id: 'markdown', extension: '.md', description: 'a Markdown report', render: renderMarkdown },
  { id: 'html', extension: '.html', description: 'a standalone HTML report', render: renderHtml },
] as const satisfies readonly ExportFormatSpec<'perfetto' | 'markdown' | 'html'>[];

export type ExportFormat = (typeof EXPORT_FORMATS)[number]['id'];

/** The format ids in registry order. */
export const EXPORT_FORMAT_IDS: readonly ExportFormat[] = EXPORT_FORMATS.map((f) => f.id);

export function isExportFormat(value: string): value is ExportFormat {
  return (EXPORT_FORMAT_IDS as readonly string[]).includes(value);
}

export function exportFormat(id: ExportFormat): ExportFormatSpec<ExportFormat> {
  return EXPORT_FORMATS.find((f) => f.id === id) as ExportFormatSpec<ExportFormat>;
}

export function renderExport(format: ExportFormat, header: TraceHeader, events: TraceEvent[], model: ShareModel): string {
  return exportFormat(format).render(header, events, model);
}

export { renderHtml } from './html';
export { renderLaneSvg } from './lanes';
export { renderMarkdown } from './markdown';
export { renderPerfetto, type PerfettoEvent } from './perfetto';
