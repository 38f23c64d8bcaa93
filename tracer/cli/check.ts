/** `sockshare check`: the model's findings, grouped by socket, or as JSON; the exit code says whether any is an error. */

import type { Finding, ShareModel } from '../model/index';
import { findingGroups, findingText, tally, tallyLine } from '../describe';
import { ChunkedWriter, EXIT_FINDINGS, EXIT_OK, type CliIo } from './io';
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

async function writeText(out: ChunkedWriter, model: ShareModel, findings: readonly Finding[], verbose: boolean): Promise<void> {
  const shown = findings.filter((f) => verbose || f.severity !== 'info');
  for (const group of findingGroups(model, shown)) {
    await out.write(`${group.title}\n`);
    for (const f of group.findings) await out.write(formatFinding(f));
    await out.write('\n');
  }
  const hidden = findings.length - shown.length;
  const note = hidden > 0 ? ` (${hidden} info not shown; --verbose shows them)` : '';
  if (findings.length === 0) await out.write('No findings.\n');
  await out.write(`${tallyLine(tally(findings))}${note}\n`);
}

const SEVERITY_WIDTH = 7;

function formatFinding(f: Finding): string {
  const label = f.severity.padEnd(SEVERITY_WIDTH);
  const indent = ' '.repeat(2 + SEVERITY_WIDTH + 2);
  return `  ${label}  ${findingText(f)}\n${indent}events: ${f.events.join(', ')}\n`;
}

