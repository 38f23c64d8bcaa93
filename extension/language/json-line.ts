/**
 * Where each property of one JSON line sits: the span of its key and value, by dotted path ("args.s",
 * "args.lpProtocolInfo.protocolChain.chainEntries[2]"), so a cursor column maps to the property under it and a
 * validation error's field maps to the text to underline. It scans positions only; no value is built.
 */

export interface PropertySpan {
  /** Dotted path, array elements as `name[i]` (the trace validator's field paths). */
  readonly path: string;
  /** UTF-16 column of the key's opening quote (of the value, for an array element). */
  readonly start: number;
  /** Column one past the value's end. */
  readonly end: number;
}

const WHITESPACE = new Set([0x20, 0x09, 0x0d, 0x0a]);

class Scanner {
  readonly spans: PropertySpan[] = [];
  constructor(private readonly text: string) {}

  private skip(i: number): number {
    while (i < this.text.length && WHITESPACE.has(this.text.charCodeAt(i))) i++;
    return i;
  }

  /** Index one past the string starting at `i` (a '"'); escapes skipped. */
  private string(i: number): number {
    for (i++; i < this.text.length; i++) {
      const c = this.text.charCodeAt(i);
      if (c === 0x5c) i++;
      else if (c === 0x22) return i + 1;
    }
    return this.text.length;
  }

  /** Scans the value at `i` (under `path`) and returns the index one past it. */
  value(i: number, path: string): number {
    i = this.skip(i);
    const c = this.text[i];
    if (c === '{') return this.object(i + 1, path);
    if (c === '[') return this.array(i + 1, path);
    if (c === '"') return this.string(i);
    while (i < this.text.length && !',}] \t\r\n'.includes(this.text[i])) i++;
    return i;
  }

  private object(i: number, path: string): number {
    for (;;) {
      i = this.skip(i);
      if (i >= this.text.length) return i;
      if (this.text[i] === '}') return i + 1;
      if (this.text[i] === ',') {
        i++;
        continue;
      }
      if (this.text[i] !== '"') return this.text.length; // not JSON: stop
      const keyStart = i;
      i = this.string(i);
      const key = this.text.slice(keyStart + 1, i - 1);
      i = this.skip(i);
      if (this.text[i] !== ':') return this.text.length;
      const child = path ? `${path}.${key}` : key;
      const end = this.value(i + 1, child);
      this.spans.push({ path: child, start: keyStart, end });
      i = end;
    }
  }

  private array(i: number, path: string): number {
    for (let n = 0; ; ) {
      i = this.skip(i);
      if (i >= this.text.length) return i;
      if (this.text[i] === ']') return i + 1;
      if (this.text[i] === ',') {
        i++;
        continue;
      }
      const child = `${path}[${n++}]`;
      const end = this.value(i, child);
      this.spans.push({ path: child, start: i, end });
      if (end === i) return this.text.length; // no progress: not JSON
      i = end;
    }
  }
}

/** Every property of the JSON value on `line`, innermost ones first. */
export function propertySpans(line: string): PropertySpan[] {
  const scanner = new Scanner(line);
  scanner.value(0, '');
  return scanner.spans;
}

/** The path of the innermost property whose key or value is under `character`, if any. */
export function propertyAt(line: string, character: number): string | undefined {
  let best: PropertySpan | undefined;
  for (const span of propertySpans(line)) {
    if (character < span.start || character > span.end) continue;
    if (!best || span.end - span.start < best.end - best.start) best = span;
  }
  return best?.path;
}

/** The span of the property at `path`, if the line has it. */
export function propertySpan(line: string, path: string): PropertySpan | undefined {
  return propertySpans(line).find((span) => span.path === path);
}
