/**
 * The lane diagram as inline SVG: lanes Source | IPC | Target (one lane per process when there are more), a box
 * per call the program made in call order, and an arrow across the IPC lane from each export to its imports.
 * Boxes carry data-seq="<call seq>" so a viewer (the HTML report, the VS Code webview) can map a click to an event.
 */

import type { TraceEvent } from '../trace/schema';
import type { Finding, Registration, ShareModel } from '../model';
import { exitNote, findingText, formatArgs, formatCall, formatResult, programCalls, roleTitle, truncate, worstSeverity, type HookedCall } from '../describe';
import { escapeXml } from './escape';
import { findingMarks, findingsByCall, handoffLinks, planLanes, type HandoffLink, type Lane } from './lane-plan';

const LANE_WIDTH = 300;
const IPC_WIDTH = 180;
const BOX_MARGIN = 14;
const BOX_WIDTH = LANE_WIDTH - 2 * BOX_MARGIN;
const BOX_HEIGHT = 52;
const ROW_HEIGHT = 62;
/** The lane header: a title line, the image name (wrapped over as many lines as it needs), a note line. */
const HEADER_TOP = 20;
const HEADER_LINE = 15;
const HEADER_BOTTOM = 34;
const FOOTER_HEIGHT = 12;
/** Characters of the lane title font that fit across a lane. */
const LANE_TITLE_CHARS = 38;
/** Characters of monospace text that fit in a box line. */
const BOX_CHARS = 39;

const STYLE = `
.sockshare-lanes { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; font-size: 12px; }
.sockshare-lanes .lane { fill: #f6f8fa; stroke: #d0d7de; }
.sockshare-lanes .lane.ipc { fill: #ffffff; stroke-dasharray: 4 4; }
.sockshare-lanes .lane-title { font-weight: 600; }
.sockshare-lanes .lane-image { font-family: ui-monospace, Consolas, monospace; font-size: 11px; }
.sockshare-lanes .lane-note { fill: #57606a; font-size: 11px; }
.sockshare-lanes .call { cursor: pointer; }
.sockshare-lanes .call rect { fill: #ffffff; stroke: #8c959f; }
.sockshare-lanes .call.error rect { fill: #ffebe9; stroke: #cf222e; stroke-width: 2; }
.sockshare-lanes .call.warning rect { fill: #fff1e0; stroke: #e16f24; stroke-width: 2; }
.sockshare-lanes .call.cancelled rect { stroke-dasharray: 6 3; }
.sockshare-lanes .call .api { font-weight: 600; }
.sockshare-lanes .call .args { font-family: ui-monospace, Consolas, monospace; font-size: 11px; }
.sockshare-lanes .call .marks { font-size: 11px; fill: #57606a; }
.sockshare-lanes .call.error .marks { fill: #cf222e; }
.sockshare-lanes .call.warning .marks { fill: #bc4c00; }
.sockshare-lanes .handoff path { fill: none; stroke: #0969da; stroke-width: 1.5; }
.sockshare-lanes .handoff.failed path { stroke: #cf222e; stroke-dasharray: 4 3; }
.sockshare-lanes .handoff text { fill: #0969da; font-size: 11px; }
.sockshare-lanes #sockshare-arrowhead path { fill: #0969da; }
`;

interface Column {
  readonly x: number;
  readonly width: number;
  readonly lane?: Lane;
}

interface Box {
  readonly x: number;
  readonly y: number;
  readonly column: Column;
}

export function renderLaneSvg(events: TraceEvent[], model: ShareModel): string {
  const calls = programCalls(events);
  if (calls.length === 0) {
    return '<svg xmlns="http://www.w3.org/2000/svg" class="sockshare-lanes" width="320" height="40" role="img" aria-label="No hooked calls"><text x="10" y="24">No hooked calls.</text></svg>';
  }
  const columns = layoutColumns(model, calls);
  const columnOf = new Map(columns.filter((c) => c.lane).map((c) => [c.lane?.pid, c]));
  const imageLines = Math.max(0, ...columns.map((c) => (c.lane ? laneImageLines(c.lane).length : 0)));
  const headerHeight = HEADER_TOP + imageLines * HEADER_LINE + HEADER_BOTTOM;
  const boxes = new Map<number, Box>();
  calls.forEach(({ call }, row) => {
    const column = columnOf.get(call.pid) ?? columns[columns.length - 1];
    boxes.set(call.seq, { x: column.x + BOX_MARGIN, y: headerHeight + row * ROW_HEIGHT + (ROW_HEIGHT - BOX_HEIGHT) / 2, column });
  });
  const width = columns.reduce((sum, c) => sum + c.width, 0);
  const height = headerHeight + calls.length * ROW_HEIGHT + FOOTER_HEIGHT;
  const marks = findingsByCall(calls, model.findings());
  const cancelled = cancelledRegistrations(model);
  const exits = new Map(model.processes().map((p) => [p.pid, exitNote(p)]));
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" class="sockshare-lanes" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="Shared-socket lane diagram">`,
    `<style>${STYLE}</style>`,
    '<defs><marker id="sockshare-arrowhead" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" markerHeight="8" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z"/></marker></defs>',
    ...columns.map((c) => laneBackground(c, height, imageLines, exits)),
    ...calls.map((hooked) => callBox(hooked, boxes.get(hooked.call.seq) as Box, marks.get(hooked.call.seq) ?? [], cancelled.get(hooked.call.seq))),
    ...handoffLinks(model).map((link) => handoffArrow(link, boxes)),
    '</svg>',
  ].join('\n');
}

/** Process lanes left of IPC (sources), the IPC lane, process lanes right of it (targets and the rest). */
function layoutColumns(model: ShareModel, calls: readonly HookedCall[]): Column[] {
  const plan = planLanes(model, calls);
  const columns: Column[] = [];
  let x = 0;
  const add = (width: number, lane?: Lane) => {
    columns.push({ x, width, lane });
    x += width;
  };
  for (const lane of plan.left) add(LANE_WIDTH, lane);
  add(IPC_WIDTH);
  for (const lane of plan.right) add(LANE_WIDTH, lane);
  return columns;
}

/** Registrations a later WSAEventSelect/WSAAsyncSelect cancelled, by the seq of the call that made them. */
function cancelledRegistrations(model: ShareModel): Map<number, Registration> {
  return new Map(model.sockets().flatMap((s) => s.cancelledRegistrations.map((r) => [r.call.seq, r] as const)));
}

/** The image name over as many lines as it takes, broken after a path separator, "-", "_", "." or a space where one falls. */
function laneImageLines(lane: Lane): string[] {
  return lane.image ? wrapText(lane.image, LANE_TITLE_CHARS) : [];
}

export function wrapText(text: string, width: number): string[] {
  const lines: string[] = [];
  let rest = text;
  while (rest.length > width) {
    const window = rest.slice(0, width);
    const breakAt = Math.max(...[' ', '-', '_', '.', '\\', '/'].map((c) => window.lastIndexOf(c)));
    const cut = breakAt >= width / 2 ? breakAt + 1 : width;
    lines.push(rest.slice(0, cut).trimEnd());
    rest = rest.slice(cut).trimStart();
  }
  if (rest) lines.push(rest);
  return lines;
}

/** The lane's header in full: "Source: pid 320", the image name (wrapped, never cut), and how the process ended. */
function laneBackground(column: Column, height: number, imageLines: number, exits: Map<number, string>): string {
  const { x, width, lane } = column;
  const center = x + width / 2;
  const title = lane ? `${roleTitle(lane.role)}: pid ${lane.pid}` : 'IPC';
  const note = lane ? (exits.get(lane.pid) ?? '') : 'WSAPROTOCOL_INFO';
  const image = lane ? laneImageLines(lane) : [];
  const noteY = HEADER_TOP + imageLines * HEADER_LINE + 18;
  return [
    `<g class="lane-group"${lane ? ` data-pid="${lane.pid}"` : ''}>`,
    `<rect class="lane${lane ? '' : ' ipc'}" x="${x}" y="0" width="${width}" height="${height}"/>`,
    lane ? `<title>${escapeXml(lane.title)}</title>` : '',
    `<text class="lane-title" x="${center}" y="${HEADER_TOP}" text-anchor="middle">${escapeXml(title)}</text>`,
    ...image.map((line, i) => `<text class="lane-image" x="${center}" y="${HEADER_TOP + (i + 1) * HEADER_LINE}" text-anchor="middle">${escapeXml(line)}</text>`),
    `<text class="lane-note" x="${center}" y="${noteY}" text-anchor="middle">${escapeXml(note)}</text>`,
    '</g>',
  ].join('');
}

function callBox({ call, ret }: HookedCall, box: Box, findings: readonly Finding[], cancelled?: Registration): string {
  const severity = worstSeverity(findings);
  const classes = ['call', ...(severity && severity !== 'info' ? [severity] : []), ...(cancelled ? ['cancelled'] : [])];
  const args = `(${formatArgs(call)}) = ${formatResult(call, ret)}`;
  const notes = [...(cancelled?.cancelledBy ? [`registration cancelled by #${cancelled.cancelledBy.seq}`] : []), findingMarks(findings)].filter((n) => n);
  const tooltip = [
    `#${call.seq} ${formatCall(call, ret)}`,
    ...(cancelled?.cancelledBy ? [`Registration cancelled by ${cancelled.cancelledBy.api} (#${cancelled.cancelledBy.seq}, pid ${cancelled.cancelledBy.pid}).`] : []),
    ...findings.map((f) => `[${f.severity}] ${findingText(f)}`),
  ].join('\n');
  const textX = box.x + 8;
  return [
    `<g class="${classes.join(' ')}" data-seq="${call.seq}" data-pid="${call.pid}">`,
    `<title>${escapeXml(tooltip)}</title>`,
    `<rect x="${box.x}" y="${box.y}" width="${BOX_WIDTH}" height="${BOX_HEIGHT}" rx="4"/>`,
    `<text class="api" x="${textX}" y="${box.y + 15}">${escapeXml(truncate(`#${call.seq} ${call.api}`, BOX_CHARS))}</text>`,
    `<text class="args" x="${textX}" y="${box.y + 30}">${escapeXml(truncate(args, BOX_CHARS))}</text>`,
    `<text class="marks" x="${textX}" y="${box.y + 45}">${escapeXml(truncate(notes.join(' · '), BOX_CHARS + 4))}</text>`,
    '</g>',
  ].join('');
}

/** A curve from the export box to the import box across the IPC lane, labelled with what travels over IPC. */
function handoffArrow(link: HandoffLink, boxes: Map<number, Box>): string {
  const from = boxes.get(link.exportSeq);
  const to = boxes.get(link.importSeq);
  if (!from || !to) return '';
  const y1 = from.y + BOX_HEIGHT / 2;
  const y2 = to.y + BOX_HEIGHT / 2;
  let x1: number;
  let x2: number;
  let bend: number;
  if (from.column === to.column) {
    x1 = from.x + BOX_WIDTH;
    x2 = to.x + BOX_WIDTH;
    bend = BOX_MARGIN * 3;
  } else {
    const rightward = from.x < to.x;
    x1 = rightward ? from.x + BOX_WIDTH : from.x;
    x2 = rightward ? to.x : to.x + BOX_WIDTH;
    bend = (x2 - x1) / 2;
  }
  const path = `M${x1},${y1} C${x1 + bend},${y1} ${from.column === to.column ? x2 + bend : x2 - bend},${y2} ${x2},${y2}`;
  const label = `WSAPROTOCOL_INFO #${link.exportSeq} → #${link.importSeq}`;
  return [
    `<g class="handoff${link.ok ? '' : ' failed'}" data-export-seq="${link.exportSeq}" data-import-seq="${link.importSeq}">`,
    `<title>${escapeXml(link.ok ? label : `${label}: the import failed`)}</title>`,
    `<path d="${path}" marker-end="url(#sockshare-arrowhead)"/>`,
    `<text x="${(x1 + x2) / 2}" y="${(y1 + y2) / 2 - 6}" text-anchor="middle">${escapeXml(label)}</text>`,
    '</g>',
  ].join('');
}
