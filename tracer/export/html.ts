/**
 * Standalone HTML report: one file, inline CSS, no external resources. The trace's facts, its findings by socket,
 * its processes, and the lane diagram (inline SVG) with an arrow from each export to its imports.
 */

import type { TraceEvent, TraceHeader } from '../trace/schema';
import type { Finding, ShareModel } from '../model';
import { findingGroups, infoByRule, isInfo, ruleCounts, seqList } from '../describe';
import { escapeXml } from './escape';
import { handoffRows, processRows, traceFacts } from './report';
import { renderLaneSvg } from './lanes';

const STYLE = `
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem; color: #1f2328; background: #ffffff; }
h1 { font-size: 1.6rem; margin-top: 0; }
h2 { font-size: 1.25rem; border-bottom: 1px solid #d0d7de; padding-bottom: .3rem; margin-top: 2rem; }
h3 { font-size: 1rem; margin-bottom: .4rem; }
dl.facts { display: grid; grid-template-columns: max-content auto; gap: .2rem 1rem; }
dl.facts dt { font-weight: 600; }
dl.facts dd { margin: 0; }
ul.findings { list-style: none; padding-left: 0; }
ul.findings li { border-left: 4px solid #8c959f; padding: .3rem .6rem; margin: .3rem 0; background: #f6f8fa; }
ul.findings li.error { border-color: #cf222e; background: #ffebe9; }
ul.findings li.warning { border-color: #e16f24; background: #fff1e0; }
.severity { font-weight: 600; text-transform: uppercase; font-size: .75rem; margin-right: .4rem; }
.events { color: #57606a; font-size: .85rem; }
code { font-family: ui-monospace, Consolas, monospace; font-size: .9em; }
table { border-collapse: collapse; }
th, td { border: 1px solid #d0d7de; padding: .3rem .7rem; text-align: left; }
th { background: #f6f8fa; }
.diagram { overflow-x: auto; }
details.info-findings { margin-top: 1rem; }
details.info-findings summary { cursor: pointer; font-weight: 600; color: #57606a; }
details.info-findings details { margin: .3rem 0 .3rem 1rem; }
details.info-findings details summary { font-weight: 400; }
`;

export function renderHtml(header: TraceHeader, events: TraceEvent[], model: ShareModel): string {
  return [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    `<title>sockshare trace report — ${escapeXml(header.startTime)}</title>`,
    `<style>${STYLE}</style>`,
    '</head>',
    '<body>',
    '<h1>sockshare trace report</h1>',
    factsSection(header, events, model),
    findingsSection(model),
    handoffsSection(model),
    processesSection(model),
    '<section id="lanes">',
    '<h2>Lanes</h2>',
    `<div class="diagram">${renderLaneSvg(events, model)}</div>`,
    '</section>',
    '</body>',
    '</html>',
    '',
  ].join('\n');
}

function factsSection(header: TraceHeader, events: TraceEvent[], model: ShareModel): string {
  const rows = traceFacts(header, events, model).map(([label, value]) => `<dt>${escapeXml(label)}</dt><dd>${escapeXml(value)}</dd>`);
  return `<section id="trace"><h2>Trace</h2><dl class="facts">${rows.join('')}</dl></section>`;
}

/**
 * Errors and warnings by socket, in full; the info findings (a descriptor or socket closed, a call failed) counted per
 * rule in a collapsed block, so a trace that closes many sockets does not bury what needs attention.
 */
function findingsSection(model: ShareModel): string {
  const groups = findingGroups(model, model.findings().filter((f) => !isInfo(f)));
  const info = infoByRule(model.findings());
  const serious = groups.length === 0
    ? `<p>${info.length === 0 ? 'No findings.' : 'No errors or warnings.'}</p>`
    : groups.map((g) => `<h3>${escapeXml(g.title)}</h3><ul class="findings">${g.findings.map(findingItem).join('')}</ul>`).join('\n');
  return `<section id="findings"><h2>Findings</h2>\n${serious}\n${infoBlock(info)}</section>`;
}

function infoBlock(info: ReturnType<typeof infoByRule>): string {
  if (info.length === 0) return '';
  const total = info.reduce((n, g) => n + g.findings.length, 0);
  const rules = info.map((g) => `<details data-rule="${escapeXml(g.rule)}"><summary><code>${escapeXml(g.rule)}</code> (${g.findings.length})</summary><ul class="findings">${g.findings.map(findingItem).join('')}</ul></details>`);
  return `<details class="info-findings"><summary>${total} info: ${escapeXml(ruleCounts(info))}</summary>${rules.join('')}</details>\n`;
}

function handoffsSection(model: ShareModel): string {
  const rows = handoffRows(model).map((h) => `<tr data-export-seq="${h.exportSeq}"><td>${escapeXml(h.id)}</td><td>#${h.exportSeq}</td><td>${escapeXml(h.source)}</td><td>${escapeXml(h.target)}</td><td>${escapeXml(h.socket)}</td><td>${escapeXml(h.imports)}</td><td>${escapeXml(h.status)}</td></tr>`);
  const body = rows.length === 0
    ? '<p>No handoffs.</p>'
    : `<table><thead><tr><th>handoff</th><th>export</th><th>source</th><th>for</th><th>socket</th><th>imports</th><th>status</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
  return `<section id="handoffs"><h2>Handoffs</h2>${body}</section>`;
}

function findingItem(finding: Finding): string {
  return [
    `<li class="${finding.severity}" data-rule="${escapeXml(finding.rule)}" data-raised-at="${finding.seq}">`,
    `<span class="severity">${finding.severity}</span>`,
    `<code>${escapeXml(finding.rule)}</code> — ${escapeXml(finding.message)} `,
    `<span class="events">(events ${escapeXml(seqList(finding.events))})</span>`,
    '</li>',
  ].join('');
}

function processesSection(model: ShareModel): string {
  const rows = processRows(model).map((p) => `<tr><td>${p.pid}</td><td><code>${escapeXml(p.image)}</code></td><td>${escapeXml(p.role)}</td><td>${escapeXml(p.exit)}</td></tr>`);
  const body = rows.length === 0
    ? '<p>No processes.</p>'
    : `<table><thead><tr><th>pid</th><th>image</th><th>role</th><th>exit code</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
  return `<section id="processes"><h2>Processes</h2>${body}</section>`;
}
