import assert from 'node:assert/strict';
import { modelOf, type Finding, type RuleId, type ShareModel } from '../../tracer/model';
import type { TraceBuilder } from '../../tracer/trace/builder';

export function run(trace: TraceBuilder): ShareModel {
  return modelOf(trace.events);
}

export function findingsOf(model: ShareModel, rule: RuleId): Finding[] {
  return model.findings().filter((f) => f.rule === rule);
}

/** The rule fired exactly once, with this severity, and names (at least) these events. */
export function assertOne(model: ShareModel, rule: RuleId, severity: Finding['severity'], events: number[]): Finding {
  const found = findingsOf(model, rule);
  assert.equal(found.length, 1, `expected one ${rule}, got ${found.length}: ${JSON.stringify(model.findings().map((f) => f.rule))}`);
  assert.equal(found[0].severity, severity);
  for (const seq of events) assert.ok(found[0].events.includes(seq), `${rule} should name event ${seq}, names ${found[0].events.join(',')}`);
  return found[0];
}

export function assertNone(model: ShareModel, rule: RuleId): void {
  const found = findingsOf(model, rule);
  assert.equal(found.length, 0, `expected no ${rule}, got: ${found.map((f) => f.message).join(' | ')}`);
}

/** No error and no warning: what a correct handoff looks like. */
export function assertClean(model: ShareModel): void {
  const bad = model.findings().filter((f) => f.severity !== 'info');
  assert.deepEqual(bad.map((f) => `${f.rule}: ${f.message}`), []);
}
