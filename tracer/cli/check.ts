/** `sockshare check`: the model's findings, grouped by socket, or as JSON; the exit code says whether any is an error. */

import { socketLabel, type Finding, type ShareModel } from '../model/index';
import { ChunkedWriter, EXIT_FINDINGS, EXIT_OK, plural, type CliIo } from './io';
import { streamIntoModel } from './load';

export interface CheckOptions {
  json: boolean;
  verbose: boolean;
}

export async function runCheck(file: string, options: CheckOptions, io: CliIo): Promise<number> {
  const { model } = await streamIntoModel(file, io.stderr, false);
  const findings = model.findings();
  const out = new ChunkedWriter(io.stdout);
  if (options.json) await writeJson(out, findings);
  else await writeText(out, model, findings, options.verbose);
  await out.flush();
  return findings.some((f) => f.severity === 'error') ? EXIT_FINDINGS : EXIT_OK;
}

/** `{"findings":[{"rule","severity","message","events"}...]}`, every finding, written a piece at a time. */
async function writeJson(out: ChunkedWriter, findings: readonly Finding[]): Promise<void> {
  await out.write('{"findings":[');
  for (let i = 0; i < findings.length; i++) {
    const { rule, severity, message, events } = findings[i];
    await out.write((i === 0 ? '' : ',') + JSON.stringify({ rule, severity, message, events }));
  }
  await out.write(']}\n');
}

export interface Tally {
  error: number;
  warning: number;
  info: number;
}

export function tally(findings: readonly Finding[]): Tally {
  const counts: Tally = { error: 0, warning: 0, info: 0 };
  for (const f of findings) counts[f.severity]++;
  return counts;
}

/** "2 errors, 1 warning, 3 info" */
export function tallyLine(counts: Tally): string {
  return `${plural(counts.error, 'error')}, ${plural(counts.warning, 'warning')}, ${counts.info} info`;
}

const OTHER = 'Not tied to a socket';

async function writeText(out: ChunkedWriter, model: ShareModel, findings: readonly Finding[], verbose: boolean): Promise<void> {
  const shown = findings.filter((f) => verbose || f.severity !== 'info');
  // Groups in socket creation order (ids are s1, s2, …), then the findings about no particular socket.
  const groups = new Map<string, Finding[]>();
  for (const f of shown) {
    const key = f.socketId ?? OTHER;
    let group = groups.get(key);
    if (!group) groups.set(key, (group = []));
    group.push(f);
  }
  const keys = [...groups.keys()].sort((a, b) => socketOrder(a) - socketOrder(b));
  for (const key of keys) {
    const socket = key === OTHER ? undefined : model.socket(key);
    const group = groups.get(key) ?? [];
    const label = socket ? socketLabel(socket) : key === OTHER ? OTHER : (group[group.length - 1]?.socketLabel ?? `socket #${key.slice(1)}`);
    await out.write(`${label}\n`);
    for (const f of group) await out.write(formatFinding(f));
    await out.write('\n');
  }
  const counts = tally(findings);
  const hidden = findings.length - shown.length;
  const note = hidden > 0 ? ` (${hidden} info not shown; --verbose shows them)` : '';
  if (findings.length === 0) await out.write('No findings.\n');
  await out.write(`${tallyLine(counts)}${note}\n`);
}

function socketOrder(key: string): number {
  if (key === OTHER) return Number.MAX_SAFE_INTEGER;
  const n = Number(key.slice(1));
  return Number.isFinite(n) ? n : Number.MAX_SAFE_INTEGER - 1;
}

const SEVERITY_WIDTH = 7;

function formatFinding(f: Finding): string {
  const label = f.severity.padEnd(SEVERITY_WIDTH);
  const indent = ' '.repeat(2 + SEVERITY_WIDTH + 2);
  return `  ${label}  ${f.rule}: ${f.message}\n${indent}events: ${f.events.join(', ')}\n`;
}
