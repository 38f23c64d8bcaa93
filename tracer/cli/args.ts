/** The CLI's commands as data (usage, help, options) and their argument parsing with node's util.parseArgs. */

import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from './io';

type Options = NonNullable<ParseArgsConfig['options']>;

export interface CommandSpec {
  readonly name: string;
  /** "TRACE [--json] [--verbose]": what follows `sockshare <name>`. */
  readonly synopsis: string;
  /** One line for the command list. */
  readonly summary: string;
  /** The help text after the usage line. */
  readonly details: string;
  readonly options: Options;
  /** Names of the required positional arguments, in order. */
  readonly positionals: readonly string[];
  /** More positionals may follow the required ones (a program's arguments). */
  readonly variadic?: boolean;
}

const HELP_OPTION: Options = { help: { type: 'boolean', short: 'h' } };

export const COMMANDS: readonly CommandSpec[] = [
  {
    name: 'check',
    synopsis: 'TRACE [--json] [--verbose]',
    summary: 'check a trace against the shared-socket rules',
    details: [
      'Streams TRACE through the shared-socket model and prints its findings, grouped by socket,',
      'then a tally. Info findings (descriptor and socket closes) are counted, and shown with --verbose.',
      '',
      'Options:',
      '  --json         print {"findings":[{"rule","severity","message","events"}]} (info findings included)',
      '  -v, --verbose  show info findings too',
      '  -h, --help     show this help',
      '',
      'Exit status: 0 no error finding, 1 at least one error finding, 2 bad usage or unreadable trace.',
    ].join('\n'),
    options: { json: { type: 'boolean' }, verbose: { type: 'boolean', short: 'v' }, ...HELP_OPTION },
    positionals: ['TRACE'],
  },
  {
    name: 'export',
    synopsis: 'TRACE --format perfetto|markdown|html -o FILE',
    summary: 'write the trace and its findings as a Perfetto trace, Markdown or HTML report',
    details: [
      'Reads TRACE, runs the shared-socket model over it and writes the chosen rendering to FILE.',
      '',
      'Options:',
      '  -f, --format FORMAT  perfetto (Chrome trace JSON for ui.perfetto.dev), markdown or html',
      '  -o, --output FILE    the file to write',
      '  -h, --help           show this help',
      '',
      'Exit status: 0 written, 2 bad usage, unreadable trace or unwritable FILE.',
    ].join('\n'),
    options: { format: { type: 'string', short: 'f' }, output: { type: 'string', short: 'o' }, ...HELP_OPTION },
    positionals: ['TRACE'],
  },
  {
    name: 'summary',
    synopsis: 'TRACE',
    summary: 'list the processes, sockets, descriptors and handoffs of a trace',
    details: [
      'Prints the processes (pid, image, role, start and exit), the sockets with the descriptors each',
      'process held over time (opening and closing event), the handoffs (export, source -> target,',
      'imports) and the tally of findings.',
      '',
      'Options:',
      '  -h, --help  show this help',
      '',
      'Exit status: 0 printed, 2 bad usage or unreadable trace.',
    ].join('\n'),
    options: { ...HELP_OPTION },
    positionals: ['TRACE'],
  },
  {
    name: 'recover',
    synopsis: 'SPOOL [-o TRACE]',
    summary: "write the trace from an agent's spool that its client never finished",
    details: [
      'The tracer agent writes every event to TRACE.spool as it happens; record (or a debug session)',
      'writes TRACE from it and removes it at the end. A spool left beside its trace (a record or debug',
      'session that died while the programs ran) holds the whole recording: recover writes TRACE from',
      'it, ring chunks expanded (their records are in SPOOL.rings, beside it), replacing what the dead',
      'client had written. The spool is kept.',
      '',
      'Options:',
      '  -o, --out TRACE  the trace to write (default: SPOOL without .spool)',
      '  -h, --help       show this help',
      '',
      'Exit status: 0 written, 2 bad usage, an unreadable spool or one that holds no event.',
    ].join('\n'),
    options: { out: { type: 'string', short: 'o' }, ...HELP_OPTION },
    positionals: ['SPOOL'],
  },
  {
    name: 'record',
    synopsis: '--out TRACE [--stop-on API,...] [--target PROGRAM [--target-arg ARG]...] [--runtime auto|windows|wine] [--capture breakpoints|inprocess] [--overflow wait|drop] [--ring-size N] [--stacks] [--quiet] (-- PROGRAM [ARGS...] | --attach PID[,PID...])',
    summary: 'run a program (and the processes it starts) under the tracer and record its Winsock calls',
    details: [
      'Starts PROGRAM under the Win32 debug API: it and every process it starts are traced. Each hooked',
      'Winsock call is printed as it returns, the programs\' own output passes through, every event is',
      'written to TRACE as it happens; at the end the findings are printed as `check` prints them.',
      'On Linux the tracer runs inside Wine (wine64, Windows node.exe); on Windows on this Node.js.',
      '',
      'Options:',
      '  -o, --out TRACE        the trace file to write (*.sockshare.jsonl)',
      '  --attach PID,...       trace these running programs instead of starting one (Windows pids; under',
      '                         Wine, programs of the same prefix); the processes they start are traced too.',
      '                         Ctrl+C detaches: they keep running, every breakpoint and hook removed',
      '  --target PROGRAM       also start PROGRAM as a separate target (for pairs the source does not start)',
      '  --target-arg ARG       an argument for the target program (repeat for more)',
      '  --stop-on API,...      hold the process at the entry of these calls (Enter continues, s steps, k kills)',
      '  --apis API,...         hook only these APIs (default: all)',
      '  --runtime KIND         auto (default), windows, or wine',
      '  --capture MODE         breakpoints (default: a debug event per call) or inprocess (stubs record',
      '                         every hooked call inside the process, its memory arguments copied too)',
      '  --overflow MODE        inprocess, a full ring: wait (default: the program waits for the tracer,',
      '                         nothing is lost, the waits are recorded) or drop (overwrite, count the loss)',
      '  --ring-size N          inprocess: records per process ring, a power of two (default 262144: 16 MB)',
      '  --stacks               inprocess: each call\'s stack too (16 frames, symbolized by the tracer; the',
      '                         breakpoint path always records them)',
      '  -q, --quiet            no line per call (the programs\' output, their starts and exits, and the',
      '                         findings are still printed), and TRACE is written from the agent\'s spool',
      '                         at stops and at the end: the tracer keeps out of a busy server\'s way',
      '  -h, --help             show this help',
      '',
      'PROGRAM (and --target) must be x64 Windows executables and TRACE a file that can be written: anything',
      'else is refused before the tracer starts.',
      '',
      'Ctrl+C (or SIGTERM) kills the programs and keeps the trace (with --attach: detaches, exit status as check);',
      'a second Ctrl+C kills the tracer at once.',
      'Exit status as check: 0, 1 error findings, 2 failure (nothing could be started or recorded);',
      '3 the tracer agent died or failed mid-run (killed, crashed, connection lost): its error is printed and',
      'the trace keeps what was recorded before; 130 after Ctrl+C, 143 after SIGTERM, 129 after SIGHUP.',
    ].join('\n'),
    options: {
      out: { type: 'string', short: 'o' },
      target: { type: 'string' },
      attach: { type: 'string' },
      'target-arg': { type: 'string', multiple: true },
      'stop-on': { type: 'string' },
      apis: { type: 'string' },
      runtime: { type: 'string' },
      capture: { type: 'string' },
      overflow: { type: 'string' },
      'ring-size': { type: 'string' },
      stacks: { type: 'boolean' },
      quiet: { type: 'boolean', short: 'q' },
      ...HELP_OPTION,
    },
    // PROGRAM, unless --attach (checked by the command itself).
    positionals: [],
    variadic: true,
  },
];

export function findCommand(name: string): CommandSpec | undefined {
  return COMMANDS.find((c) => c.name === name);
}

export const GENERAL_USAGE = 'usage: sockshare <command> [options]   (sockshare --help lists the commands)';

export function usageLine(spec: CommandSpec): string {
  return `usage: sockshare ${spec.name} ${spec.synopsis}`;
}

export function generalHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    'sockshare: trace and check Windows shared-socket handoffs (WSADuplicateSocket / WSASocket FROM_PROTOCOL_INFO).',
    '',
    'usage: sockshare <command> [options]',
    '',
    'Commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    `  ${'help'.padEnd(width)}  show the help of a command: sockshare help COMMAND`,
    '',
    'Options:',
    '  -h, --help     show this help (or a command\'s, after the command)',
    '  -V, --version  print the version',
  ].join('\n');
}

export function commandHelp(spec: CommandSpec): string {
  return `${usageLine(spec)}\n\n${spec.summary}.\n\n${spec.details}`;
}

export interface ParsedCommand {
  values: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
}

/** Parses a command's arguments; a help request skips the positional checks. Throws UsageError naming the culprit. */
export function parseCommandArgs(spec: CommandSpec, args: readonly string[]): ParsedCommand {
  let parsed: ParsedCommand;
  try {
    const result = parseArgs({ args: [...args], options: spec.options, allowPositionals: true, strict: true });
    parsed = { values: result.values as ParsedCommand['values'], positionals: result.positionals };
  } catch (error) {
    throw new UsageError(describeParseError(error, spec), spec.name);
  }
  if (parsed.values['help']) return parsed;
  const missing = spec.positionals[parsed.positionals.length];
  if (missing !== undefined) throw new UsageError(`${spec.name}: missing argument ${missing}`, spec.name);
  if (!spec.variadic && parsed.positionals.length > spec.positionals.length) {
    throw new UsageError(`${spec.name}: unexpected argument '${parsed.positionals[spec.positionals.length]}'`, spec.name);
  }
  return parsed;
}

/** Turns util.parseArgs' messages into short ones that name the option. */
function describeParseError(error: unknown, spec: CommandSpec): string {
  const code = (error as { code?: string }).code;
  const message = error instanceof Error ? error.message : String(error);
  const quoted = /'([^']+)'/.exec(message)?.[1];
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && quoted) return `${spec.name}: unknown option '${quoted}'`;
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && quoted) {
    const long = /--[\w-]+/.exec(quoted)?.[0] ?? quoted;
    const option = long.replace(/^--/, '');
    if (spec.options[option]?.type === 'string') return `${spec.name}: option '${long}' needs a value`;
    return `${spec.name}: option '${long}' takes no value`;
  }
  return `${spec.name}: ${message}`;
}
