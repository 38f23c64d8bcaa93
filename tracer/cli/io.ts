/** What the CLI writes to, and the errors that end a command with a message and an exit code. */

/** A text sink: process.stdout / process.stderr, or a test's collector. */
export interface OutputStream {
  write(chunk: string): boolean | void;
  /** Present on real streams: lets the CLI wait for 'drain' instead of buffering a large output in memory. */
  once?(event: 'drain', listener: () => void): unknown;
}

export interface CliIo {
  stdout: OutputStream;
  stderr: OutputStream;
}

/** Exit codes: 0 clean, 1 the trace has error findings, 2 bad usage or unreadable input. */
export const EXIT_OK = 0;
export const EXIT_FINDINGS = 1;
export const EXIT_USAGE = 2;

/** Bad command line: the message, then the usage line of `command` (or the general one). */
export class UsageError extends Error {
  override name = 'UsageError';
  constructor(
    message: string,
    readonly command?: string,
  ) {
    super(message);
  }
}

/** Input or output the command could not use (unreadable trace, unwritable output file): exit 2. */
export class InputError extends Error {
  override name = 'InputError';
}

/**
 * Writes many small pieces as ~64 KiB chunks, waiting for 'drain' when the stream asks for it,
 * so printing a large result neither makes one giant string nor piles up unwritten data.
 */
export class ChunkedWriter {
  private buffer: string[] = [];
  private size = 0;

  constructor(
    private readonly out: OutputStream,
    private readonly chunkChars = 64 * 1024,
  ) {}

  async write(text: string): Promise<void> {
    this.buffer.push(text);
    this.size += text.length;
    if (this.size >= this.chunkChars) await this.flush();
  }

  async flush(): Promise<void> {
    if (this.size === 0 && this.buffer.length === 0) return;
    const chunk = this.buffer.join('');
    this.buffer = [];
    this.size = 0;
    const ok = this.out.write(chunk);
    if (ok === false && this.out.once) {
      const once = this.out.once.bind(this.out);
      await new Promise<void>((resolve) => once('drain', resolve));
    }
  }
}

/**
 * process.stdout/stderr for the entry point. A reader that goes away early (`sockshare check … | head`) makes
 * stdout fail with EPIPE: later output is dropped, the command still runs to its exit code.
 */
export function processIo(): { io: CliIo; exit: (code: number) => void } {
  const stdout = process.stdout;
  let broken = false;
  const waiting = new Set<() => void>();
  stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
    broken = true;
    for (const resume of waiting) resume();
    waiting.clear();
  });
  const io: CliIo = {
    stdout: {
      write: (chunk) => broken || stdout.write(chunk),
      once: (_event, listener) => {
        if (broken) return listener();
        waiting.add(listener);
        stdout.once('drain', () => waiting.delete(listener) && listener());
      },
    },
    stderr: process.stderr,
  };
  /** Exits once everything written has reached stdout and stderr (pipes are asynchronous). */
  const exit = (code: number) => {
    const streams = broken ? [process.stderr] : [stdout, process.stderr];
    let pending = streams.length;
    for (const stream of streams) stream.write('', () => --pending === 0 && process.exit(code));
  };
  return { io, exit };
}
