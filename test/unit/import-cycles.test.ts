/**
 * No file-level import cycle in tracer/, adapter/ or extension/: every relative import of every .ts file (type-only
 * imports and re-exports too) is an edge, and each strongly connected component of more than one file, or a file that
 * imports itself, is a cycle. A failure lists each cycle's files.
 */

import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import ts from 'typescript';

const ROOT = path.join(import.meta.dirname, '..', '..');
const FOLDERS = ['tracer', 'adapter', 'extension'];

function sourceFiles(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'node_modules' ? [] : sourceFiles(full);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [full] : [];
  });
}

/** The file a relative specifier names: the path itself, with .ts, or its folder's index.ts. */
function resolveImport(from: string, specifier: string): string | undefined {
  const base = path.resolve(path.dirname(from), specifier);
  const candidates = [base, `${base}.ts`, path.join(base, 'index.ts'), base.replace(/\.js$/, '.ts')];
  return candidates.find((candidate) => candidate.endsWith('.ts') && fs.existsSync(candidate) && fs.statSync(candidate).isFile());
}

/** Every file's relative imports, resolved to files (imports leaving the three folders are left out). */
export function importGraph(files: readonly string[]): Map<string, string[]> {
  const known = new Set(files);
  const graph = new Map<string, string[]>();
  for (const file of files) {
    const info = ts.preProcessFile(fs.readFileSync(file, 'utf8'), true, false);
    const targets = info.importedFiles
      .map((ref) => ref.fileName)
      .filter((specifier) => specifier.startsWith('.'))
      .map((specifier) => resolveImport(file, specifier))
      .filter((target): target is string => target !== undefined && known.has(target));
    graph.set(file, [...new Set(targets)]);
  }
  return graph;
}

/** Tarjan's strongly connected components, iteratively (no recursion limit on deep graphs). */
export function stronglyConnected(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const components: string[][] = [];
  let next = 0;
  for (const root of graph.keys()) {
    if (index.has(root)) continue;
    const work: { node: string; edge: number }[] = [{ node: root, edge: 0 }];
    index.set(root, next);
    low.set(root, next++);
    stack.push(root);
    onStack.add(root);
    while (work.length > 0) {
      const frame = work[work.length - 1];
      const edges = graph.get(frame.node) ?? [];
      if (frame.edge < edges.length) {
        const to = edges[frame.edge++];
        if (!index.has(to)) {
          index.set(to, next);
          low.set(to, next++);
          stack.push(to);
          onStack.add(to);
          work.push({ node: to, edge: 0 });
        } else if (onStack.has(to)) low.set(frame.node, Math.min(low.get(frame.node) as number, index.get(to) as number));
        continue;
      }
      work.pop();
      const parent = work[work.length - 1];
      if (parent) low.set(parent.node, Math.min(low.get(parent.node) as number, low.get(frame.node) as number));
      if (low.get(frame.node) === index.get(frame.node)) {
        const component: string[] = [];
        let member: string;
        do {
          member = stack.pop() as string;
          onStack.delete(member);
          component.push(member);
        } while (member !== frame.node);
        components.push(component);
      }
    }
  }
  return components;
}

/** One cycle through a component's first file, as the files in import order back to it. */
function cycleThrough(graph: ReadonlyMap<string, readonly string[]>, component: readonly string[]): string[] {
  const members = new Set(component);
  const start = [...component].sort()[0];
  const cameFrom = new Map<string, string>();
  const queue = [start];
  for (let i = 0; i < queue.length; i++) {
    for (const to of graph.get(queue[i]) ?? []) {
      if (to === start) {
        const cycle = [queue[i]];
        while (cycle[0] !== start) cycle.unshift(cameFrom.get(cycle[0]) as string);
        return [...cycle, start];
      }
      if (members.has(to) && !cameFrom.has(to)) {
        cameFrom.set(to, queue[i]);
        queue.push(to);
      }
    }
  }
  return [...component, component[0]];
}

export interface ImportCycle {
  /** One circle through the component, back to its first file. */
  readonly cycle: string[];
  /** Every file of the strongly connected component (more than the circle when circles overlap). */
  readonly files: string[];
}

export function importCycles(graph: ReadonlyMap<string, readonly string[]>): ImportCycle[] {
  return stronglyConnected(graph)
    .filter((component) => component.length > 1 || (graph.get(component[0]) ?? []).includes(component[0]))
    .map((component) => ({ cycle: cycleThrough(graph, component), files: [...component].sort() }));
}

describe('import cycles', () => {
  test('the cycle finder finds a circle of three files and a file that imports itself, and nothing in a tree', () => {
    const graph = new Map([['a', ['b']], ['b', ['c']], ['c', ['a', 'd']], ['d', []], ['e', ['e']], ['f', ['d']]]);
    assert.deepEqual(importCycles(graph).map(({ cycle }) => cycle.join(' → ')).sort(), ['a → b → c → a', 'e → e']);
    assert.deepEqual(importCycles(new Map([['a', ['b', 'c']], ['b', ['c']], ['c', []]])), []);
  });

  test('no file in tracer/, adapter/ or extension/ imports itself through other files', () => {
    const files = FOLDERS.flatMap((folder) => sourceFiles(path.join(ROOT, folder)));
    assert.ok(files.length > 50, `found ${files.length} files`);
    const relative = (file: string) => path.relative(ROOT, file).replaceAll(path.sep, '/');
    const shown = importCycles(importGraph(files)).map(({ cycle, files: component }) => {
      const circle = cycle.map(relative).join(' → ');
      return component.length + 1 > cycle.length ? `${circle} (all of: ${component.map(relative).join(', ')})` : circle;
    });
    assert.deepEqual(shown, [], `import cycles:\n${shown.map((line) => `  ${line}`).join('\n')}`);
  });

  test('tracer/apis, below the trace format and the capture, imports nothing outside itself', () => {
    const apis = path.join(ROOT, 'tracer', 'apis');
    // The graph over every folder, so that an import leaving tracer/apis is seen.
    const graph = importGraph(FOLDERS.flatMap((folder) => sourceFiles(path.join(ROOT, folder))));
    const inApis = [...graph].filter(([file]) => file.startsWith(apis + path.sep));
    assert.ok(inApis.length > 0 && inApis.some(([, targets]) => targets.length > 0), 'tracer/apis has files that import each other');
    for (const [file, targets] of inApis) {
      const outside = targets.filter((target) => !target.startsWith(apis + path.sep));
      assert.deepEqual(outside.map((target) => path.relative(ROOT, target)), [], `${path.relative(ROOT, file)} imports outside tracer/apis`);
    }
  });
});
