/** What a live session says when it ends: where its recording is, and the findings as `sockshare check` counts them. */

import { findingConsoleLine, tally, tallyLine } from '../tracer/describe';
import type { ShareModel } from '../tracer/model';

/** Findings listed one per line at most; more are counted (`sockshare check` on the recording lists them all). */
const LISTED = 20;

export function sessionEndReport(traceFile: string, model: ShareModel): string {
  model.finish();
  const findings = model.findings();
  const shown = findings.filter((f) => f.severity !== 'info');
  const lines = [`sockshare: recording saved to ${traceFile}`, `sockshare: findings: ${tallyLine(tally(findings))}`];
  for (const f of shown.slice(0, LISTED)) lines.push(findingConsoleLine(f));
  if (shown.length > LISTED) lines.push(`  … and ${shown.length - LISTED} more: sockshare check ${traceFile}`);
  return lines.join('\n') + '\n';
}
