/**
 * A described fact: a name, its value in words, the C type when it has one, and the facts under it (built only when
 * asked for). The debugger's variables, the language server's hover and the Shared Sockets view all show these.
 */

export interface Fact {
  name: string;
  value: string;
  type?: string;
  /** Present when the fact expands; called only when its children are wanted. */
  children?: () => Fact[];
}

/** Facts shown side by side must have different names: repeats get " (2)", " (3)". */
export function uniqueNames(facts: Fact[]): Fact[] {
  const seen = new Map<string, number>();
  return facts.map((f) => {
    const count = (seen.get(f.name) ?? 0) + 1;
    seen.set(f.name, count);
    return count === 1 ? f : { ...f, name: `${f.name} (${count})` };
  });
}

/** A fact that counts `items` and expands to them, or says `empty`. */
export function factList(name: string, items: Fact[], empty = 'none'): Fact {
  return items.length === 0 ? { name, value: empty } : { name, value: String(items.length), children: () => uniqueNames(items) };
}

/** The newest `RECENT` items first-hand; older ones under one lazily built fact (a large trace has thousands). */
const RECENT = 100;
export function recentFirst<T>(items: () => readonly T[], count: number, fact: (item: T) => Fact, olderName: string, latest: (n: number) => readonly T[]): Fact[] {
  if (count <= RECENT * 2) return items().map(fact);
  const older = count - RECENT;
  // `latest` gives the newest without building the whole list (built only if the older ones are expanded).
  return [{ name: olderName, value: `${older} earlier`, children: () => items().slice(0, older).map(fact) }, ...latest(RECENT).map(fact)];
}
