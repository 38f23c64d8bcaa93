/** How a benchmark round runs its variants: in what order, and what makes a run run once more. */

/**
 * The order of a round's runs: row `round` of a Williams square for `count` (even) variants. Over every `count`
 * rounds each variant runs first once and follows every other variant exactly once, so what a run leaves behind
 * (measured: `--quiet` right after a run printing every call served about 7% fewer requests than right after an
 * untraced one, 12 rounds, 95% interval 0.87–1.01 of it) lands on every variant alike instead of always on the same one.
 */
export function balancedOrder(count: number, round: number): number[] {
  // The first row goes 0, 1, n-1, 2, n-2, ...; each later row adds one to every entry, modulo n.
  const first = Array.from({ length: count }, (_, i) => (i % 2 === 1 ? (i + 1) / 2 : (count - i / 2) % count));
  return first.map((variant) => (variant + round) % count);
}

/**
 * Wine itself failing to start a process (its loader finds the shared user data page's address taken, an address
 * space collision that comes and goes from run to run): not what any variant costs, so such a run is run once more.
 */
const WINE_START_FAILURE = /wine: failed to map the shared user data[^\n]*/;

/** What Wine said when it failed to start a process, found in any of a run's outputs (or its error's message). */
export function wineStartFailure(...outputs: string[]): string | undefined {
  for (const output of outputs) {
    const said = WINE_START_FAILURE.exec(output)?.[0];
    if (said) return said;
  }
  return undefined;
}

/** A run retried after Wine failed to start one of its processes: which, and what Wine said. */
export interface RetriedRun {
  round: number;
  variant: string;
  wineSaid: string;
}

/** Runs `run`, once more if Wine failed to start a process of it (noted in `retried`); any other failure is thrown. */
export async function withWineStartRetry<T>(run: () => Promise<T>, retried: RetriedRun[], round: number, variant: string, log: (line: string) => void): Promise<T> {
  try {
    return await run();
  } catch (error) {
    const wineSaid = wineStartFailure(error instanceof Error ? error.message : String(error));
    if (!wineSaid) throw error;
    retried.push({ round, variant, wineSaid });
    log(`round ${round}, ${variant}: Wine failed to start a process (${wineSaid}); running it once more`);
    return run();
  }
}
