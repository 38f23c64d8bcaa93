/** Function breakpoints on hooked APIs (conditions, hit counts, log messages) and the finding filters. */

import { RULES, type Finding, type RuleId } from '../tracer/model';
import { HOOKED_APIS, type ApiEvent } from '../tracer/trace/schema';
import { callConditionScope, compileCondition, ConditionError, hitConditionMatches, interpolateLogMessage } from './condition';

/** Where a live agent holds the programs: see BreakpointManager.liveStops. */
export interface LiveStops {
  readonly entries: string[];
  readonly returns: string[];
  readonly failures: string[];
}

export interface FunctionBreakpointSpec {
  name: string;
  condition?: string;
  hitCondition?: string;
  logMessage?: string;
}

export interface FunctionBreakpoint {
  readonly id: number;
  readonly api: string;
  readonly verified: boolean;
  readonly message?: string;
  readonly spec: FunctionBreakpointSpec;
  hits: number;
  readonly test?: (scope: ReturnType<typeof callConditionScope>) => boolean;
}

/** What a call entry did to the breakpoints: which stop there, and what the logpoints printed. */
export interface BreakpointHit {
  stopIds: number[];
  logs: string[];
}

let nextId = 1;

export class Breakpoints {
  /** The client's function breakpoints: each setFunctionBreakpoints replaces them. */
  private functions: FunctionBreakpoint[] = [];
  /** The launch configuration's stopOn: kept apart, so the client's breakpoints (before or after launch) do not drop them. */
  private launchStops: FunctionBreakpoint[] = [];
  private filters = new Set<RuleId>();

  setFunctionBreakpoints(specs: FunctionBreakpointSpec[]): FunctionBreakpoint[] {
    this.functions = specs.map((spec) => this.create(spec));
    return this.functions;
  }

  /** The launch configuration's stopOn APIs, stopping as function breakpoints do. */
  setLaunchStops(names: string[]): void {
    this.launchStops = names.map((name) => this.create({ name }));
  }

  private all(): FunctionBreakpoint[] {
    return [...this.launchStops, ...this.functions];
  }

  private create(spec: FunctionBreakpointSpec): FunctionBreakpoint {
    const id = nextId++;
    const api = spec.name.trim();
    if (!(HOOKED_APIS as readonly string[]).includes(api)) {
      return { id, api, spec, hits: 0, verified: false, message: `${api} is not a hooked Winsock API (${HOOKED_APIS.join(', ')})` };
    }
    try {
      const test = spec.condition ? compileCondition(spec.condition) : undefined;
      if (spec.hitCondition) hitConditionMatches(spec.hitCondition, 1);
      return { id, api, spec, hits: 0, verified: true, test };
    } catch (error) {
      if (!(error instanceof ConditionError)) throw error;
      return { id, api, spec, hits: 0, verified: false, message: `${spec.condition && !spec.hitCondition ? 'condition' : 'condition or hit count'}: ${error.message}` };
    }
  }

  /** Whether any function breakpoint (or launch stop) can stop or log at a call. */
  get hasFunctionBreakpoints(): boolean {
    return this.all().some((b) => b.verified);
  }

  setFilters(ruleIds: string[]): void {
    const known = new Set(RULES.map((r) => r.id as string));
    this.filters = new Set(ruleIds.filter((id) => known.has(id)) as RuleId[]);
  }

  /**
   * APIs whose entry must hold a live program, those whose return must, and those whose return must when the call
   * failed (for the enabled filters).
   */
  liveStops(): LiveStops {
    const entries = new Set(this.all().filter((b) => b.verified).map((b) => b.api));
    const returns = new Set<string>();
    const failures = new Set<string>();
    const expand = (apis: readonly string[]) => apis.flatMap((api) => (api === '*' ? HOOKED_APIS : [api]));
    for (const rule of RULES) {
      if (!this.filters.has(rule.id)) continue;
      for (const api of expand(rule.triggers)) returns.add(api);
      for (const api of expand(rule.failureTriggers ?? [])) failures.add(api);
    }
    return { entries: [...entries], returns: [...returns], failures: [...failures].filter((api) => !returns.has(api)) };
  }

  /**
   * A call entry reached going forward: counts hits, prints logpoints, and says which breakpoints stop here.
   * Going backwards (`counting` false) hit counts are neither counted nor required.
   */
  atCall(event: ApiEvent, counting = true): BreakpointHit {
    const hit: BreakpointHit = { stopIds: [], logs: [] };
    if (event.phase !== 'call' || event.internal) return hit;
    let scope: ReturnType<typeof callConditionScope> | undefined;
    for (const bp of this.all()) {
      if (!bp.verified || bp.api !== event.api) continue;
      scope ??= callConditionScope(event);
      if (bp.test && !bp.test(scope)) continue;
      if (counting) {
        bp.hits++;
        if (bp.spec.hitCondition && !hitConditionMatches(bp.spec.hitCondition, bp.hits)) continue;
      }
      if (bp.spec.logMessage !== undefined) hit.logs.push(interpolateLogMessage(bp.spec.logMessage, scope));
      else hit.stopIds.push(bp.id);
    }
    return hit;
  }

  /** The findings among these that an enabled filter stops on. */
  stoppingFindings(findings: readonly Finding[]): Finding[] {
    return findings.filter((f) => this.filters.has(f.rule));
  }
}
