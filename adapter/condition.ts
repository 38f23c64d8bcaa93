/**
 * Breakpoint conditions, hit conditions and log messages over a hooked call. A small expression language parsed and
 * evaluated here (no eval, no Function): `||`, `&&`, `!`, `== != < <= > >=`, parentheses, integers (decimal, 0x hex),
 * 'strings' / "strings", true/false/null, and dotted identifiers (`lpProtocolInfo.iAddressFamily`).
 */

import type { ApiCallEvent, ApiReturnEvent } from '../tracer/trace/schema';

export type ScopeValue = number | string | boolean | null | undefined | object;
export type ConditionScope = Readonly<Record<string, unknown>>;

/** A condition, log message expression or hit condition that cannot be parsed; `column` is 1-based. */
export class ConditionError extends Error {
  constructor(message: string, readonly column?: number) {
    super(message);
    this.name = 'ConditionError';
  }
}

// ---- Tokens ----

interface Token {
  kind: 'num' | 'str' | 'ident' | 'op' | 'end';
  text: string;
  value?: number | string;
  /** 1-based column in the source text. */
  column: number;
}

const OPERATORS = ['||', '&&', '==', '!=', '<=', '>=', '<', '>', '!', '(', ')'];
const IDENT = /^[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)*/;
const NUMBER = /^-?(?:0[xX][0-9a-fA-F]+|\d+)/;

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    const column = i + 1;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const rest = text.slice(i);
    // A '-' is only a sign directly before a literal (`result == -1`).
    const num = NUMBER.exec(rest);
    if (num) {
      if (/^[\w$]/.test(rest.slice(num[0].length))) throw new ConditionError(`invalid number '${rest.slice(0, num[0].length + 1)}' at column ${column}`, column);
      const magnitude = Number(num[0].replace(/^-/, ''));
      tokens.push({ kind: 'num', text: num[0], value: c === '-' ? -magnitude : magnitude, column });
      i += num[0].length;
      continue;
    }
    if (c === '"' || c === "'") {
      let value = '';
      let j = i + 1;
      while (j < text.length && text[j] !== c) {
        if (text[j] === '\\' && j + 1 < text.length) j++;
        value += text[j++];
      }
      if (j >= text.length) throw new ConditionError(`unterminated string starting at column ${column}`, column);
      tokens.push({ kind: 'str', text: text.slice(i, j + 1), value, column });
      i = j + 1;
      continue;
    }
    const ident = IDENT.exec(rest);
    if (ident) {
      tokens.push({ kind: 'ident', text: ident[0], column });
      i += ident[0].length;
      continue;
    }
    const op = OPERATORS.find((o) => rest.startsWith(o));
    if (!op) {
      const hint = c === '=' ? " (use '==' to compare)" : c === '&' ? " (use '&&')" : c === '|' ? " (use '||')" : '';
      throw new ConditionError(`unexpected '${c}' at column ${column}${hint}`, column);
    }
    tokens.push({ kind: 'op', text: op, column });
    i += op.length;
  }
  tokens.push({ kind: 'end', text: '', column: text.length + 1 });
  return tokens;
}

// ---- Parser: a tree of closures ----

type Evaluator = (scope: ConditionScope) => ScopeValue;
type Comparison = '==' | '!=' | '<' | '<=' | '>' | '>=';
const COMPARISONS = new Set<string>(['==', '!=', '<', '<=', '>', '>=']);

class Parser {
  private at = 0;
  constructor(private readonly tokens: Token[]) {}

  parse(): Evaluator {
    if (this.peek().kind === 'end') throw new ConditionError('empty expression', 1);
    const expr = this.logical('||');
    const next = this.peek();
    if (next.kind !== 'end') throw this.unexpected(next);
    return expr;
  }

  private peek(): Token {
    return this.tokens[this.at];
  }

  private take(op: string): boolean {
    const t = this.peek();
    if (t.kind !== 'op' || t.text !== op) return false;
    this.at++;
    return true;
  }

  private unexpected(t: Token): ConditionError {
    return t.kind === 'end' ? new ConditionError(`unexpected end of expression at column ${t.column}`, t.column) : new ConditionError(`unexpected '${t.text}' at column ${t.column}`, t.column);
  }

  /** `a || b || ...` over `&&` chains, `a && b && ...` over comparisons; both short-circuit. */
  private logical(op: '||' | '&&'): Evaluator {
    const operand = () => (op === '||' ? this.logical('&&') : this.comparison());
    let left = operand();
    while (this.take(op)) {
      const a = left;
      const b = operand();
      left = op === '||' ? (scope) => truthy(a(scope)) || truthy(b(scope)) : (scope) => truthy(a(scope)) && truthy(b(scope));
    }
    return left;
  }

  private comparison(): Evaluator {
    const left = this.unary();
    const t = this.peek();
    if (t.kind !== 'op' || !COMPARISONS.has(t.text)) return left;
    this.at++;
    const right = this.unary();
    const after = this.peek();
    if (after.kind === 'op' && COMPARISONS.has(after.text)) throw new ConditionError(`unexpected '${after.text}' at column ${after.column} (comparisons do not chain; use '&&')`, after.column);
    const op = t.text as Comparison;
    return (scope) => compare(op, left(scope), right(scope));
  }

  private unary(): Evaluator {
    if (this.take('!')) {
      const operand = this.unary();
      return (scope) => !truthy(operand(scope));
    }
    return this.primary();
  }

  private primary(): Evaluator {
    const t = this.peek();
    this.at++;
    if (t.kind === 'num' || t.kind === 'str') return () => t.value;
    if (t.kind === 'ident') {
      if (t.text === 'true') return () => true;
      if (t.text === 'false') return () => false;
      if (t.text === 'null') return () => null;
      return (scope) => lookup(scope, t.text);
    }
    if (t.kind === 'op' && t.text === '(') {
      const inner = this.logical('||');
      const close = this.peek();
      if (!this.take(')')) throw close.kind === 'end' ? new ConditionError(`expected ')' at column ${close.column}`, close.column) : this.unexpected(close);
      return inner;
    }
    this.at--;
    throw this.unexpected(t);
  }
}

/** A dotted name: the exact key first (a flattened scope), else a walk through nested objects. Own properties only. */
export function lookup(scope: ConditionScope, name: string): ScopeValue {
  if (Object.hasOwn(scope, name)) return scope[name] as ScopeValue;
  let value: unknown = scope;
  for (const part of name.split('.')) {
    if (typeof value !== 'object' || value === null || !Object.hasOwn(value, part)) return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  return value as ScopeValue;
}

function truthy(v: ScopeValue): boolean {
  return v !== undefined && v !== null && v !== false && v !== 0 && v !== '';
}

/** A number, or a string that spells an integer ("0x40", "-1"). */
function numeric(v: ScopeValue): number | undefined {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && /^(?:0[xX][0-9a-fA-F]+|-?\d+)$/.test(v.trim())) return Number(v.trim());
  return undefined;
}

function compare(op: Comparison, a: ScopeValue, b: ScopeValue): boolean {
  if (a === undefined || b === undefined) return op === '!=';
  const x = numeric(a);
  const y = numeric(b);
  if (x !== undefined && y !== undefined) return ORDER[op](x, y);
  if (typeof a === 'string' && typeof b === 'string') return ORDER[op](a, b);
  if (op === '==') return a === b;
  if (op === '!=') return a !== b;
  return false;
}

const ORDER: Record<Comparison, (a: number | string, b: number | string) => boolean> = {
  '==': (a, b) => a === b,
  '!=': (a, b) => a !== b,
  '<': (a, b) => a < b,
  '<=': (a, b) => a <= b,
  '>': (a, b) => a > b,
  '>=': (a, b) => a >= b,
};

/** Parses an expression once; the result evaluates it against any scope. Throws ConditionError on bad syntax. */
export function compileExpression(text: string): (scope: ConditionScope) => ScopeValue {
  return new Parser(tokenize(text)).parse();
}

/** A breakpoint condition: true when the call should stop. Throws ConditionError on bad syntax. */
export function compileCondition(text: string): (scope: ConditionScope) => boolean {
  const expr = compileExpression(text);
  return (scope) => truthy(expr(scope));
}

/**
 * What a condition sees for a call: its arguments (a WSAPROTOCOL_INFO by dotted names), pid, tid, api and seq; with
 * the return also result, error and the out-parameters.
 */
export function callConditionScope(call: ApiCallEvent, ret?: ApiReturnEvent): ConditionScope {
  const scope: Record<string, unknown> = { ...(ret?.out ?? {}), ...call.args };
  if (ret) {
    scope.result = ret.result;
    scope.error = ret.error;
    scope.out = ret.out ?? {};
  }
  return { ...scope, pid: call.pid, tid: call.tid, api: call.api, seq: call.seq };
}

// ---- Log messages ----

function formatValue(expr: string, value: ScopeValue): string {
  if (value === undefined) return 'undefined';
  if (value === null) return 'null';
  if (typeof value === 'number') return /(?:^|\.)s$/.test(expr.trim()) && value >= 0 ? `0x${value.toString(16)}` : String(value);
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

/** The index of the '}' closing the expression that starts at `from`, skipping quoted strings; -1 if none. */
function closingBrace(template: string, from: number): number {
  let quote = '';
  for (let i = from; i < template.length; i++) {
    const c = template[i];
    if (quote) {
      if (c === '\\') i++;
      else if (c === quote) quote = '';
    } else if (c === '"' || c === "'") quote = c;
    else if (c === '}') return i;
  }
  return -1;
}

/** A logpoint message: `{expr}` is replaced by its value (`{s}` in hex), `{{` and `}}` are literal braces. */
export function interpolateLogMessage(template: string, scope: ConditionScope): string {
  let out = '';
  let i = 0;
  while (i < template.length) {
    const c = template[i];
    if ((c === '{' || c === '}') && template[i + 1] === c) {
      out += c;
      i += 2;
      continue;
    }
    if (c !== '{') {
      out += c;
      i++;
      continue;
    }
    const end = closingBrace(template, i + 1);
    if (end < 0) {
      out += "{error: missing '}'}";
      break;
    }
    const expr = template.slice(i + 1, end);
    try {
      out += formatValue(expr, compileExpression(expr)(scope));
    } catch (error) {
      out += `{error: ${error instanceof Error ? error.message : String(error)}}`;
    }
    i = end + 1;
  }
  return out;
}

// ---- Hit conditions ----

/**
 * A hit condition as VS Code users write it: `5` (from the 5th hit on, like `>= 5`), `>= 5`, `> 5`, `== 5`, `< 5`,
 * `<= 5`, `% 5` (every 5th hit). Throws ConditionError for anything else.
 */
export function compileHitCondition(condition: string): (hits: number) => boolean {
  const m = /^\s*(>=|<=|==|>|<|%)?\s*(\d+)\s*$/.exec(condition);
  if (!m) throw new ConditionError(`invalid hit condition '${condition.trim()}': expected a count such as 5, >= 5, > 5, == 5, < 5, <= 5 or % 5`);
  const n = Number(m[2]);
  const op = m[1] ?? '>=';
  if (op !== '%') return (hits) => ORDER[op as Comparison](hits, n);
  if (n === 0) throw new ConditionError("invalid hit condition '% 0': the period must be at least 1");
  return (hits) => hits > 0 && hits % n === 0;
}

export function hitConditionMatches(condition: string, hits: number): boolean {
  return compileHitCondition(condition)(hits);
}
