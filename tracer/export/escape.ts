/** Escaping for the report formats: text into HTML/SVG and into Markdown, code spans and table cells. */

const XML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Text and attribute values for HTML and SVG. */
export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => XML_ESCAPES[c]);
}

/** Plain Markdown text: no emphasis, links, code or HTML can come out of it. Intraword "_" stays (FD_READ). */
export function escapeMarkdown(text: string): string {
  const alnum = (c: string | undefined) => c !== undefined && /[A-Za-z0-9]/.test(c);
  return text.replace(/[\\`*[\]<&_]/g, (c, at: number) => (c === '_' && alnum(text[at - 1]) && alnum(text[at + 1]) ? c : `\\${c}`));
}

/** A Markdown code span that holds any text, backticks included. */
export function markdownCode(text: string): string {
  const longestRun = Math.max(0, ...(text.match(/`+/g) ?? []).map((run) => run.length));
  const fence = '`'.repeat(longestRun + 1);
  const pad = text.startsWith('`') || text.endsWith('`') ? ' ' : '';
  return `${fence}${pad}${text}${pad}${fence}`;
}

/** A table cell: pipes escaped (GFM splits cells on them even inside code spans), no line breaks. */
export function markdownCell(text: string): string {
  return text.replace(/\r?\n/g, ' ').replace(/\|/g, '\\|');
}
