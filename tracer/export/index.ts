/** The trace exports: Perfetto JSON, a Markdown report and a standalone HTML report. */

import type { TraceEvent, TraceHeader } from '../trace/schema';
import type { ShareModel } from '../model';
import { renderHtml } from './html';
import { renderMarkdown } from './markdown';
import { renderPerfetto } from './perfetto';

export type ExportFormat = 'perfetto' | 'markdown' | 'html';

export const EXPORT_FORMATS: readonly ExportFormat[] = ['perfetto', 'markdown', 'html'];

/** The file name extension each format is written with. */
export const EXPORT_EXTENSIONS: Readonly<Record<ExportFormat, string>> = { perfetto: '.json', markdown: '.md', html: '.html' };

export function isExportFormat(value: string): value is ExportFormat {
  return (EXPORT_FORMATS as readonly string[]).includes(value);
}

export function renderExport(format: ExportFormat, header: TraceHeader, events: TraceEvent[], model: ShareModel): string {
  switch (format) {
    case 'perfetto':
      return renderPerfetto(events, model);
    case 'markdown':
      return renderMarkdown(header, events, model);
    case 'html':
      return renderHtml(header, events, model);
  }
}

export { renderHtml } from './html';
export { renderLaneSvg } from './lanes';
export { renderMarkdown } from './markdown';
export { renderPerfetto, type PerfettoEvent } from './perfetto';
export { formatCall, pairCalls, programCalls, type HookedCall } from './format';
