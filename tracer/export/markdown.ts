/**
 * Markdown report: the trace's facts, its findings by socket, its processes, and a timeline table laid out like the
 * handoff table of the WSADuplicateSocket page (Source | IPC | Destination), one row per call the program made.
 */

import type { TraceEvent, TraceHeader } from '../trace/schema';
import type { Finding, ShareModel } from '../model';
import { findingGroups, formatCall, infoByRule, isInfo, programCalls, ruleCounts, seqList, type HookedCall } from '../describe';
import { escapeMarkdown, markdownCell, markdownCode } from './escape';
import { findingMarks, findingsByCall, handoffLinks, planLanes, type HandoffLink } from './lane-plan';
import { handoffRows, processRows, traceFacts } from './report';

export function renderMarkdown(header: TraceHeader, events: TraceEvent[], model: ShareModel): string {
  const calls = programCalls(events);
  const lines = [
    '# sockshare trace report',
    '',
    ...traceFacts(header, events, model).map(([label, value]) => `- **${label}:** ${escapeMarkdown(value)}`),
    '',
    '## Findings',
    '',
    ...findingsSection(model),
    '## Handoffs',
    '',
    ...handoffsTable(model),
    '',
    '## Processes',
    '',
    ...processesTable(model),
    '',
    '## Timeline',
    '',
    ...timelineTable(calls, model),
  ];
  return lines.join('\n') + '\n';
}

/** Errors and warnings by socket; the info findings counted per rule in a collapsed block (GitHub renders <details>). */
function findingsSection(model: ShareModel): string[] {
  const groups = findingGroups(model, model.findings().filter((f) => !isInfo(f)));
  const info = infoByRule(model.findings());
  const serious = groups.length === 0
    ? [info.length === 0 ? 'No findings.' : 'No errors or warnings.', '']
    : groups.flatMap((group) => [`### ${escapeMarkdown(group.title)}`, '', ...group.findings.map(findingItem), '']);
  if (info.length === 0) return serious;
  const total = info.reduce((n, g) => n + g.findings.length, 0);
  return [
    ...serious,
    '<details>',
    `<summary>${total} info: ${ruleCounts(info)}</summary>`,
    '',
    ...info.flatMap((g) => g.findings.map(findingItem)),
    '',
    '</details>',
    '',
  ];
}

function handoffsTable(model: ShareModel): string[] {
  const rows = handoffRows(model);
  if (rows.length === 0) return ['No handoffs.'];
  return [
    '| handoff | export | source | for | socket | imports | status |',
    '| --- | ---: | --- | --- | --- | --- | --- |',
    ...rows.map((h) => tableRow([h.id, `#${h.exportSeq}`, escapeMarkdown(h.source), escapeMarkdown(h.target), escapeMarkdown(h.socket), escapeMarkdown(h.imports), h.status])),
  ];
}

function findingItem(finding: Finding): string {
  return `- **${finding.severity}** ${markdownCode(finding.rule)} — ${escapeMarkdown(finding.message)} _(events ${seqList(finding.events)})_`;
}

function processesTable(model: ShareModel): string[] {
  const rows = processRows(model);
  if (rows.length === 0) return ['No processes.'];
  return [
    '| pid | image | role | exit code |',
    '| ---: | --- | --- | ---: |',
    ...rows.map((p) => tableRow([String(p.pid), markdownCode(p.image), p.role, p.exit])),
  ];
}

function tableRow(cells: readonly string[]): string {
  return `| ${cells.map(markdownCell).join(' | ')} |`;
}

/** "==> WSAPROTOCOL_INFO (export #15 → import #17)" for each handoff this call imported. */
function ipcCell(importLinks: readonly HandoffLink[]): string {
  return importLinks
    .map((l) => `==> WSAPROTOCOL_INFO (export #${l.exportSeq} → import #${l.importSeq}${l.ok ? '' : ', failed'})`)
    .join('<br>');
}

function timelineTable(calls: readonly HookedCall[], model: ShareModel): string[] {
  if (calls.length === 0) return ['No hooked calls.'];
  const plan = planLanes(model, calls);
  const lanes = [...plan.left, ...plan.right];
  const ipcColumn = plan.left.length;
  const columnOf = new Map(lanes.map((lane, i) => [lane.pid, i < ipcColumn ? i : i + 1]));
  const titles = [...plan.left.map((l) => l.title), 'IPC', ...plan.right.map((l) => l.title)];
  const marks = findingsByCall(calls, model.findings());
  const links = handoffLinks(model);
  const rows = calls.map(({ call, ret }) => {
    const cells = titles.map(() => '');
    const mark = findingMarks(marks.get(call.seq) ?? []);
    cells[columnOf.get(call.pid) ?? ipcColumn + 1] = `#${call.seq} ${markdownCode(formatCall(call, ret))}${mark ? ` ${mark}` : ''}`;
    cells[ipcColumn] = ipcCell(links.filter((l) => l.importSeq === call.seq));
    return tableRow(cells);
  });
  return [tableRow(titles.map(escapeMarkdown)), tableRow(titles.map(() => '---')), ...rows];
}
