/**
 * One set of findings everywhere: `check --json`, `summary` (its model and its tally), every export, the debugger's
 * Findings scope and the language server's diagnostics, run in-process on every trace of the suites, report the same
 * findings (rule, severity and events) as the model.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { findingsScope, type VarNode } from '../../adapter/presenter';
import { TraceRuntime } from '../../adapter/runtime';
import { RecordingSource } from '../../adapter/source';
import { diagnostics } from '../../extension/language/diagnostics';
import { TraceDocumentIndex } from '../../extension/language/document-index';
import { runCheck } from '../../tracer/cli/check';
import { tally, tallyLine } from '../../tracer/describe';
import { runExport } from '../../tracer/cli/export';
import type { CliIo } from '../../tracer/cli/io';
import { streamIntoModel } from '../../tracer/cli/load';
import { runSummary } from '../../tracer/cli/summary';
import { modelOf, RULES, type Finding } from '../../tracer/model';
import { readTraceFile } from '../../tracer/trace/index';
import type { TraceBuilder } from '../../tracer/trace/builder';
import { ORDERINGS } from '../support/orderings';
import * as scenarios from '../support/scenarios';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sockshare-agree-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

/** "rule/severity @events" for each finding, sorted: a multiset every surface must reproduce. */
type Key = string;
const key = (rule: string, severity: string, events: readonly number[]): Key => `${rule}/${severity} @${events.join(',')}`;
const keysOf = (findings: readonly Pick<Finding, 'rule' | 'severity' | 'events'>[]): Key[] => findings.map((f) => key(f.rule, f.severity, f.events)).sort();

function collector(): { io: CliIo; out: () => string } {
  let text = '';
  return { io: { stdout: { write: (c: string) => void (text += c) }, stderr: { write: () => undefined } }, out: () => text };
}

async function checkKeys(file: string): Promise<{ keys: Key[]; messages: string[]; exit: number }> {
  const { io, out } = collector();
  const exit = await runCheck(file, { json: true, verbose: false }, io);
  const findings = (JSON.parse(out()) as { findings: Finding[] }).findings;
  return { keys: keysOf(findings), messages: findings.map((f) => f.message), exit };
}

const seqs = (text: string): number[] => (text.match(/\d+/g) ?? []).map(Number);
const RULE_IDS = new Set<string>(RULES.map((r) => r.id));

async function exportKeys(file: string): Promise<Record<string, Key[]>> {
  const found: Record<string, Key[]> = {};
  for (const format of ['perfetto', 'markdown', 'html'] as const) {
    const output = path.join(dir, `${path.basename(file)}.${format}`);
    await runExport(file, format, output, collector().io);
    const text = fs.readFileSync(output, 'utf8');
    if (format === 'perfetto') {
      const events = (JSON.parse(text) as { traceEvents?: { cat?: string; args?: Finding }[] }).traceEvents ?? (JSON.parse(text) as { cat?: string; args?: Finding }[]);
      found[format] = keysOf(events.filter((e) => e.cat?.startsWith('finding,')).map((e) => e.args as Finding));
    } else if (format === 'markdown') {
      found[format] = [...text.matchAll(/^- \*\*(\w+)\*\* `([a-z-]+)` — .* _\(events ([#\d, ]*)\)_$/gm)].map((m) => key(m[2], m[1], seqs(m[3]))).sort();
    } else {
      found[format] = [...text.matchAll(/<li class="(\w+)" data-rule="([a-z-]+)"[^>]*>.*?<span class="events">\(events ([#\d, ]*)\)<\/span><\/li>/g)].map((m) => key(m[2], m[1], seqs(m[3]))).sort();
    }
  }
  return found;
}

/** The Findings scope, every node expanded (older findings sit under one node in a long trace). */
function scopeKeys(nodes: VarNode[]): Key[] {
  const out: Key[] = [];
  for (const node of nodes) {
    const details = node.children?.() ?? [];
    const rule = details.find((d) => d.name === 'rule')?.value;
    if (rule === undefined || !RULE_IDS.has(rule)) {
      out.push(...scopeKeys(details));
      continue;
    }
    out.push(key(rule, details.find((d) => d.name === 'severity')?.value ?? '?', seqs(details.find((d) => d.name === 'events')?.value ?? '')));
  }
  return out.sort();
}

/** The debugger on the recording, its cursor moved to the last event. */
async function debuggerKeys(file: string, lastSeq: number): Promise<Key[]> {
  const runtime = new TraceRuntime(new RecordingSource(file));
  runtime.on('stopped', () => undefined);
  await runtime.start(true);
  runtime.goto(lastSeq);
  const keys = scopeKeys(findingsScope(runtime.model));
  runtime.source.close();
  return keys;
}

/** The language server's diagnostics that are findings: rule, severity and the line they are raised on. */
function languageServerLines(text: string, findings: readonly Finding[]): { got: string[]; want: string[] } {
  const index = TraceDocumentIndex.fromText('file:///trace.sockshare.jsonl', text);
  const severity: Record<number, string> = { 1: 'error', 2: 'warning', 4: 'info' };
  const got = diagnostics(index).filter((d) => RULE_IDS.has(String(d.code))).map((d) => `${String(d.code)}/${severity[d.severity ?? 0]} line ${d.range.start.line}`).sort();
  const want = findings.map((f) => `${f.rule}/${f.severity} line ${index.lineOfSeq(f.seq)}`).sort();
  return { got, want };
}

function write(name: string, trace: TraceBuilder): string {
  const file = path.join(dir, `${name.replace(/[^a-z0-9]+/gi, '-').slice(0, 60)}.sockshare.jsonl`);
  fs.writeFileSync(file, trace.toJsonl());
  return file;
}

function traceFiles(): { name: string; file: string }[] {
  const recorded = [
    ...fs.readdirSync('samples/traces').filter((f) => f.endsWith('.jsonl')).map((f) => path.join('samples/traces', f)),
    'samples/prefork/prefork.sockshare.jsonl',
  ].map((file) => ({ name: file, file }));
  const built: [string, TraceBuilder][] = [
    ['ten-step handoff', scenarios.tenStepHandoff().trace],
    ['registration cancelled', scenarios.registrationCancelled().trace],
    ['pre-fork', scenarios.preforkServer().trace],
    ['pre-fork, A imports twice', scenarios.preforkServer({ bug: 'A-twice' }).trace],
    ['pre-fork, C imports', scenarios.preforkServer({ bug: 'C-imports' }).trace],
    ['import after the socket closed', scenarios.importAfterSocketClosed(true).trace],
    ['import retried', scenarios.failedImport('retry').trace],
    ['wrong process first', scenarios.failedImport('wrongFirst').trace],
    ['imported twice', scenarios.failedImport('twice').trace],
    ['own FIONBIO', scenarios.ownNonBlocking(true).trace],
    ['other FIONBIO', scenarios.ownNonBlocking(false).trace],
    ['re-registered', scenarios.cancelledThenReRegistered(true).trace],
    ['not re-registered', scenarios.cancelledThenReRegistered(false).trace],
    ['pid reused', scenarios.pidReused(false).trace],
    ['pid reused, old structure', scenarios.pidReused(true).trace],
    ...ORDERINGS.map((o): [string, TraceBuilder] => [o.name, o.build()]),
  ];
  return [...recorded, ...built.map(([name, trace]) => ({ name, file: write(name, trace) }))];
}

describe('check, summary, the exports, the debugger and the language server report the same findings', () => {
  for (const { name, file } of traceFiles()) {
    it(name, async () => {
      const { events } = await readTraceFile(file);
      const model = modelOf(events);
      const want = keysOf(model.findings());
      const check = await checkKeys(file);
      assert.deepEqual(check.keys, want, 'check --json');
      // check keeps no history (closed sockets dropped): its findings must still read as the full model's.
      assert.deepEqual(check.messages, model.findings().map((f) => f.message), 'check --json messages');
      assert.equal(check.exit, model.findings().some((f) => f.severity === 'error') ? 1 : 0, 'check exit code');
      const summarised = await streamIntoModel(file, collector().io.stderr);
      assert.deepEqual(keysOf(summarised.model.findings()), want, 'summary');
      const { io, out } = collector();
      await runSummary(file, io);
      assert.ok(out().includes(`Findings: ${tallyLine(tally(model.findings()))}`), 'summary tally');
      for (const [format, keys] of Object.entries(await exportKeys(file))) assert.deepEqual(keys, want, `export ${format}`);
      const ls = languageServerLines(fs.readFileSync(file, 'utf8'), model.findings());
      assert.deepEqual(ls.got, ls.want, 'language server');
      // The debugger on the last event shows the finished model, as check does.
      assert.deepEqual(await debuggerKeys(file, events[events.length - 1].seq), want, 'debugger Findings scope');
    });
  }
});

describe('the debugger at the end of a recording', () => {
  const ended = ORDERINGS.filter((o) => o.name === 'the trace ends before the import');
  for (const ordering of ended) {
    it(`shows what the trace's end raises (${ordering.name})`, async () => {
      const file = write(`end-${ordering.name}`, ordering.build());
      const { events } = await readTraceFile(file);
      assert.deepEqual(await debuggerKeys(file, events[events.length - 1].seq), keysOf(modelOf(events).findings()));
    });
  }
});
