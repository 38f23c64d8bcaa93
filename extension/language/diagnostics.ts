/**
 * Diagnostics of a trace document: the model's findings on the line of the event that raised them, with the other
 * events involved as related information; malformed lines as errors on those lines.
 *
 * Info findings (descriptor-closed, socket-closed, call-failed) are Hints: they narrate what happened rather than
 * flag a problem, so they stay out of the Problems panel. A large trace has tens of thousands of them, so only the
 * first MAX_INFO_DIAGNOSTICS are published (errors and warnings always all), and one Information diagnostic on the
 * header line says how many were left out. Malformed lines are capped the same way.
 */

import { DiagnosticSeverity, type Diagnostic, type DiagnosticRelatedInformation, type Range } from 'vscode-languageserver';
import type { Finding, Severity } from '../../tracer/model';
import { findingText } from '../../tracer/describe';
import { callSeqOf, forgetLinks, involvement } from './event-links';
import type { LineProblem, TraceDocumentIndex } from './document-index';
import { propertySpan } from './json-line';

export const MAX_INFO_DIAGNOSTICS = 1000;
export const MAX_PROBLEM_DIAGNOSTICS = 1000;
export const SOURCE = 'sockshare';
/** The code of every diagnostic about the trace format itself (a finding's code is its rule id). */
export const FORMAT_CODE = 'trace-format';

const SEVERITIES: Record<Severity, DiagnosticSeverity> = {
  error: DiagnosticSeverity.Error,
  warning: DiagnosticSeverity.Warning,
  info: DiagnosticSeverity.Hint,
};

/** The field's key and value when the line has it (a wrong value), else the whole line (bad JSON, a missing field). */
function problemRange(index: TraceDocumentIndex, problem: LineProblem): Range {
  const whole = index.lineRange(problem.line);
  if (problem.field === undefined) return whole;
  const span = propertySpan(index.lineText(problem.line), problem.field);
  return span ? { start: { line: problem.line, character: span.start }, end: { line: problem.line, character: span.end } } : whole;
}

function problemDiagnostics(index: TraceDocumentIndex): Diagnostic[] {
  const shown = index.problems.slice(0, MAX_PROBLEM_DIAGNOSTICS);
  const out: Diagnostic[] = shown.map((p) => ({
    range: problemRange(index, p),
    severity: p.severity === 'error' ? DiagnosticSeverity.Error : DiagnosticSeverity.Warning,
    message: p.message,
    source: SOURCE,
    code: FORMAT_CODE,
  }));
  const hidden = index.problemCount - shown.length;
  if (hidden > 0) {
    const line = shown[shown.length - 1].line;
    out.push({ range: index.lineRange(line), severity: DiagnosticSeverity.Information, message: `${hidden} more malformed lines after this one are not shown.`, source: SOURCE, code: FORMAT_CODE });
  }
  if (index.modelFailure) {
    const { line, message } = index.modelFailure;
    out.push({ range: index.lineRange(line), severity: DiagnosticSeverity.Error, message, source: SOURCE, code: 'model-failure' });
  }
  return out;
}

/** The other calls (and process events) involved, one entry a call, on the line of its entry event. */
function related(index: TraceDocumentIndex, finding: Finding): DiagnosticRelatedInformation[] {
  const seen = new Set([callSeqOf(index, finding.seq)]);
  const out: DiagnosticRelatedInformation[] = [];
  for (const seq of finding.events) {
    const callSeq = callSeqOf(index, seq);
    if (seen.has(callSeq)) continue;
    seen.add(callSeq);
    const line = index.lineOfSeq(callSeq);
    if (line < 0) continue;
    out.push({ location: { uri: index.uri, range: index.lineRange(line) }, message: involvement(index, callSeq, finding) });
  }
  return out;
}

export function findingDiagnostic(index: TraceDocumentIndex, finding: Finding): Diagnostic {
  const line = index.lineOfSeq(finding.seq);
  const diagnostic: Diagnostic = {
    range: index.lineRange(line < 0 ? Math.max(0, index.headerLine) : line),
    severity: SEVERITIES[finding.severity],
    message: findingText(finding),
    source: SOURCE,
    code: finding.rule,
  };
  const info = related(index, finding);
  if (info.length > 0) diagnostic.relatedInformation = info;
  return diagnostic;
}

export function diagnostics(index: TraceDocumentIndex): Diagnostic[] {
  return new DiagnosticsSoFar().collect(index);
}

/**
 * The diagnostics of an index still being built, page after page: each collect() words only the findings raised
 * since the one before (findings are only ever appended) and returns everything so far, as a publish needs it.
 */
export class DiagnosticsSoFar {
  private readonly findingDiagnostics: Diagnostic[] = [];
  private findingsSeen = 0;
  private infoShown = 0;
  private infoHidden = 0;

  collect(index: TraceDocumentIndex): Diagnostic[] {
    const out = problemDiagnostics(index);
    if (index.header === undefined) return out;
    const findings = index.model.findings();
    if (findings.length > this.findingsSeen) forgetLinks(index); // handoffs may have changed since the last page
    for (; this.findingsSeen < findings.length; this.findingsSeen++) {
      const finding = findings[this.findingsSeen];
      if (finding.severity === 'info' && this.infoShown++ >= MAX_INFO_DIAGNOSTICS) this.infoHidden++;
      else this.findingDiagnostics.push(findingDiagnostic(index, finding));
    }
    out.push(...this.findingDiagnostics);
    if (this.infoHidden > 0) out.push(infoCappedNote(index, this.infoHidden));
    return out;
  }
}

function infoCappedNote(index: TraceDocumentIndex, infoHidden: number): Diagnostic {
  return {
    range: index.lineRange(index.headerLine),
    severity: DiagnosticSeverity.Information,
    message: `${infoHidden} more info findings (descriptor-closed, socket-closed, call-failed) are not shown here; \`sockshare check --verbose\` lists every finding.`,
    source: SOURCE,
    code: 'info-findings-capped',
  };
}
