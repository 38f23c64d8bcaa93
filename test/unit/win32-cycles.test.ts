import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, it } from 'node:test';

const ROOT = resolve(import.meta.dirname, '..', '..');
const TRACER = join(ROOT, 'tracer');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sourceFiles(path) : path.endsWith('.ts') ? [path] : [];
  });
}

/** The relative modules a file imports or re-exports, type-only ones included (they tie the files together too). */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specifiers = [...text.matchAll(/^\s*(?:import|export)\b[^;]*?\bfrom\s+'(\.[^']+)'/gms), ...text.matchAll(/^\s*import\s+'(\.[^']+)'/gm)].map((m) => m[1]);
  return specifiers.flatMap((specifier) => {
    const base = resolve(dirname(file), specifier);
    const target = [`${base}.ts`, join(base, 'index.ts')].find((candidate) => existsSync(candidate));
    return target ? [target] : [];
  });
}

/** Strongly connected components of more than one file, or a file importing itself (Tarjan). */
function cycles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (file: string): void => {
    index.set(file, next);
    low.set(file, next++);
    stack.push(file);
    onStack.add(file);
    for (const target of graph.get(file) ?? []) {
      if (!index.has(target)) {
        visit(target);
        low.set(file, Math.min(low.get(file) as number, low.get(target) as number));
      } else if (onStack.has(target)) low.set(file, Math.min(low.get(file) as number, index.get(target) as number));
    }
    if (low.get(file) !== index.get(file)) return;
    const component: string[] = [];
    let member: string;
    do {
      member = stack.pop() as string;
      onStack.delete(member);
      component.push(member);
    } while (member !== file);
    if (component.length > 1 || graph.get(file)?.includes(file)) found.push(component);
  };
  for (const file of graph.keys()) if (!index.has(file)) visit(file);
  return found;
}

const graph = new Map(sourceFiles(TRACER).map((file) => [file, importsOf(file)]));
const shown = (component: string[]) => component.map((file) => relative(ROOT, file)).sort().join(' ↔ ');

describe('import structure of the capture and the API catalogue', () => {
  it('finds the imports it looks for (the graph is not empty)', () => {
    const engine = graph.get(join(TRACER, 'win32', 'engine.ts'));
    assert.ok(engine?.includes(join(TRACER, 'win32', 'hooks.ts')), 'engine.ts imports hooks.ts');
  });

  for (const folder of ['win32', 'apis']) {
    it(`no file in tracer/${folder} is part of an import cycle`, () => {
      const inFolder = (file: string) => file.startsWith(join(TRACER, folder) + '/') || file.startsWith(join(TRACER, folder) + '\\');
      const offending = cycles(graph).filter((component) => component.some(inFolder));
      assert.deepEqual(offending.map(shown), []);
    });
  }

  it('tracer/apis imports nothing from the trace format, the model or the capture', () => {
    const apis = [...graph].filter(([file]) => file.startsWith(join(TRACER, 'apis')));
    for (const [file, targets] of apis) {
      const outside = targets.filter((target) => !target.startsWith(join(TRACER, 'apis')));
      assert.deepEqual(outside.map((target) => relative(ROOT, target)), [], `${relative(ROOT, file)} imports outside tracer/apis`);
    }
  });
});
