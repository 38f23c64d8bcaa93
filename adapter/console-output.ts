/**
 * What a movement of the runtime writes to the Debug Console: the calls it passes (a line each, up to a limit), the
 * log points it hits and the programs' own output, in the order of the events. Console lines go out together at the
 * next stop; program output at once, after the lines before it. While `hold()` is on (a launch's first run) everything
 * is kept with the cursor it was written at, so a run that ends somewhere earlier can release only what came before.
 */

/** Calls printed to the console per movement; more are summarised. */
const PRINT_LIMIT = 500;

interface Held {
  index: number;
  text: string;
  category: string;
}

export class ConsoleOutput {
  private lines: string[] = [];
  private held?: Held[];
  private printed = 0;

  constructor(
    private readonly emit: (text: string, category: string) => void,
    /** The cursor's index, where held output is filed. */
    private readonly cursor: () => number,
  ) {}

  /** A new movement: its printed calls are counted from zero. */
  startMovement(hold = false): void {
    this.printed = 0;
    if (hold) this.held = [];
  }

  /** A movement that starts over from where it began (a step whose thread ended): forget what it printed. */
  restart(): void {
    this.lines = [];
    this.printed = 0;
    if (this.held) this.held = [];
  }

  /** Whether a passed call is still printed in this movement (past the limit it is only counted). */
  get printsCalls(): boolean {
    return this.printed < PRINT_LIMIT;
  }

  /** A passed call, printed until the movement's limit, then summarised once. */
  call(text: string): void {
    this.printed++;
    if (this.printed <= PRINT_LIMIT) this.line(`${text}\n`);
    else if (this.printed === PRINT_LIMIT + 1) this.line('… (more calls not printed)\n');
  }

  /** A line sent with the others at the next flush (a log point's message, a call). */
  line(text: string): void {
    if (this.held) this.held.push({ index: this.cursor(), text, category: 'console' });
    else this.lines.push(text);
  }

  /** The programs' own output: after the console lines before it. */
  program(text: string, stream: string): void {
    this.flush();
    this.send(text, stream);
  }

  flush(): void {
    if (this.lines.length === 0) return;
    this.send(this.lines.join(''), 'console');
    this.lines = [];
  }

  get holding(): boolean {
    return this.held !== undefined;
  }

  /** Sends the held output written up to `index` (all of it by default) and stops holding. */
  release(index = Number.MAX_SAFE_INTEGER): void {
    const held = this.held ?? [];
    this.held = undefined;
    for (const h of held) if (h.index <= index) this.emit(h.text, h.category);
  }

  private send(text: string, category: string): void {
    if (this.held) this.held.push({ index: this.cursor(), text, category });
    else this.emit(text, category);
  }
}
