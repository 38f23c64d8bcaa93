/**
 * Hover on a line of a trace: the event in its compact form, and for a hooked call the state of its socket as of
 * that event (the model after it: descriptors in every process, registration, blocking mode, shutdown), then the
 * findings raised there. The socket's facts are the debugger's (tracer/describe socketFacts), in Markdown.
 */

import { MarkupKind, type Hover } from 'vscode-languageserver';
import { SOCKET_RESULT_APIS, eventOwner, plural, severitySummary, socketFacts, socketLabel, socketOfCall, type Fact } from '../../tracer/describe';
import { escapeMarkdown, markdownCode } from '../../tracer/export/escape';
import type { Finding } from '../../tracer/model';
import { callPair, compactEvent } from './event-links';
import type { TraceDocumentIndex } from './document-index';

/** Socket scope nodes whose children are listed in the hover (the rest show their one-line value). */
const EXPANDED = new Set(['descriptors', 'options', 'cancelled registrations']);
const MAX_CHILDREN = 16;

function factLines(nodes: Fact[]): string[] {
  const lines: string[] = [];
  for (const node of nodes) {
    if (node.name === 'label') continue;
    lines.push(`- ${node.name}: ${escapeMarkdown(node.value)}`);
    if (!EXPANDED.has(node.name) || !node.children) continue;
    const children = node.children();
    for (const child of children.slice(0, MAX_CHILDREN)) lines.push(`  - ${escapeMarkdown(child.name)}: ${escapeMarkdown(child.value)}`);
    if (children.length > MAX_CHILDREN) lines.push(`  - … ${children.length - MAX_CHILDREN} more`);
  }
  return lines;
}

function findingLines(findings: readonly Finding[]): string[] {
  return findings.map((f) => `- **${f.severity}** ${markdownCode(f.rule)}: ${escapeMarkdown(f.message)}`);
}

/** The socket part of a hooked call's hover, as of event `i`. */
function socketSection(index: TraceDocumentIndex, i: number): string[] {
  const event = index.event(i);
  if (event.kind !== 'api') return [];
  const { call, ret, retIndex } = callPair(index, i);
  if (!call) return [];
  const onReturn = event.phase === 'return';
  const model = index.modelAt(i);
  const socketId = socketOfCall(model, call, onReturn ? ret : undefined);
  const socket = socketId === undefined ? undefined : model.socket(socketId);
  if (!socket) {
    if (!onReturn && retIndex >= 0 && ret && ret.result !== -1 && SOCKET_RESULT_APIS.has(call.api)) {
      return [`The descriptor this call makes appears when it returns (line ${index.eventLine(retIndex) + 1}).`];
    }
    return [];
  }
  const when = onReturn ? `as of event ${event.seq}` : `as of event ${event.seq}, before the call returns`;
  return [`**${escapeMarkdown(socketLabel(socket))}** ${when}`, factLines(socketFacts(model, socket.id)).join('\n')];
}

function headerHover(index: TraceDocumentIndex): string[] {
  const header = index.header;
  if (!header) return [];
  const model = index.model;
  const facts = [
    plural(index.eventCount, 'event'),
    plural(model.processes().length, 'process', 'processes'),
    plural(model.sockets().length, 'socket'),
    plural(model.handoffCount, 'handoff'),
    `findings: ${severitySummary(model.findings())}`,
  ];
  if (index.problemCount > 0) facts.push(plural(index.problemCount, 'malformed line'));
  return [
    `**sockshare trace** v${header.version}, recorded ${escapeMarkdown(header.startTime)} on ${escapeMarkdown(header.hostOs)} (tracer ${escapeMarkdown(header.tracerVersion)})`,
    facts.join(' · '),
  ];
}

export function hover(index: TraceDocumentIndex, line: number): Hover | null {
  let parts: string[];
  if (line === index.headerLine) parts = headerHover(index);
  else {
    const i = index.eventAtLine(line);
    if (i < 0) return null;
    const event = index.event(i);
    const model = index.model;
    const thread = event.kind === 'api' ? ` tid ${event.tid}` : '';
    const phase = event.kind === 'api' ? ` ${event.phase}` : '';
    parts = [`**event ${event.seq}** · ${event.kind}${phase} · ${escapeMarkdown(eventOwner(model, event.pid, event.seq))}${thread}`, markdownCode(compactEvent(index, i))];
    const other = index.partner(i);
    if (other >= 0) parts.push(other > i ? `Returns on line ${index.eventLine(other) + 1}.` : `The call is on line ${index.eventLine(other) + 1}.`);
    parts.push(...socketSection(index, i));
    const findings = model.findingsRaisedAt(event.seq);
    // A call's findings are raised at its return: the call line shows them too.
    if (other > i) findings.push(...model.findingsRaisedAt(index.seqOf(other)));
    if (findings.length > 0) parts.push(`**Findings raised here**\n${findingLines(findings).join('\n')}`);
  }
  if (parts.length === 0) return null;
  return { contents: { kind: MarkupKind.Markdown, value: parts.join('\n\n') }, range: index.lineRange(line) };
}
