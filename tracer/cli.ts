/**
 * The sockshare command line: record a process pair; check, export and summarise a trace file. It only asks the model;
 * every Winsock rule lives in tracer/model. Bundled to dist/cli.js (`#!/usr/bin/env node`).
 */

import { commandHelp, findCommand, GENERAL_USAGE, generalHelp, parseCommandArgs, usageLine, type CommandSpec, type ParsedCommand } from './cli/args';
import { runCheck } from './cli/check';
import { exportFormat, runExport } from './cli/export';
import { EXIT_OK, EXIT_USAGE, InputError, processIo, UsageError, type CliIo } from './cli/io';
import { runRecover } from './cli/recover';
import { runSummary } from './cli/summary';
import { apiList, attachPids, captureMode, overflowMode, ringSize, runRecord, runtimeKind } from './cli/record';
import { version as VERSION } from '../package.json';

export type { CliIo, OutputStream } from './cli/io';


type Runner = (args: ParsedCommand, io: CliIo) => Promise<number>;

/** Each command's work once its arguments parsed. */
const RUNNERS: Record<string, Runner> = {
  check: ({ values, positionals }, io) => runCheck(positionals[0], { json: values['json'] === true, verbose: values['verbose'] === true }, io),
  export: ({ values, positionals }, io) => {
    const output = values['output'] as string | undefined;
    const format = exportFormat(values['format'] as string | undefined, output);
    return runExport(positionals[0], format, output as string, io);
  },
  summary: ({ positionals }, io) => runSummary(positionals[0], io),
  recover: ({ values, positionals }, io) => runRecover(positionals[0], values['out'] as string | undefined, io),
  record: ({ values, positionals }, io) => {
    const out = values['out'];
    if (typeof out !== 'string') throw new UsageError('record: missing --out TRACE', 'record');
    const [program, ...args] = positionals;
    const attach = attachPids(values['attach'] as string | undefined);
    if (program === undefined && attach === undefined) throw new UsageError('record: missing argument PROGRAM (or --attach PID)', 'record');
    if (program !== undefined && attach !== undefined) throw new UsageError('record: give PROGRAM or --attach PID, not both', 'record');
    const capture = captureMode(values['capture'] as string | undefined);
    if (values['stacks'] === true && capture !== 'inprocess') throw new UsageError('record: --stacks is for --capture inprocess (the breakpoint path always records stacks)', 'record');
    return runRecord(
      {
        out,
        program,
        args,
        attach,
        target: values['target'] as string | undefined,
        targetArgs: (values['target-arg'] as string[] | undefined) ?? [],
        stopOn: apiList(values['stop-on'] as string | undefined, '--stop-on') ?? [],
        apis: apiList(values['apis'] as string | undefined, '--apis'),
        runtime: runtimeKind(values['runtime'] as string | undefined),
        capture,
        overflow: overflowMode(values['overflow'] as string | undefined),
        ringSize: ringSize(values['ring-size'] as string | undefined),
        stacks: values['stacks'] === true,
        quiet: values['quiet'] === true,
        tracerVersion: VERSION,
      },
      io,
    );
  },
};

/**
 * Runs the CLI in-process. `argv` holds the arguments after the program name (process.argv.slice(2)).
 * Resolves to the exit code: 0 ok, 1 error findings (check), 2 bad usage or unreadable input.
 */
export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  try {
    return await dispatch(argv, io);
  } catch (error) {
    if (error instanceof UsageError) {
      const spec = error.command === undefined ? undefined : findCommand(error.command);
      io.stderr.write(`sockshare: ${error.message}\n${spec ? usageLine(spec) : GENERAL_USAGE}\n`);
      return EXIT_USAGE;
    }
    if (error instanceof InputError) {
      io.stderr.write(`sockshare: ${error.message}\n`);
      return EXIT_USAGE;
    }
    throw error;
  }
}

async function dispatch(argv: readonly string[], io: CliIo): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined) throw new UsageError('missing command');
  if (first === '--help' || first === '-h') return print(io, generalHelp());
  if (first === '--version' || first === '-V') return print(io, VERSION);
  if (first === 'help') return help(rest, io);
  if (first.startsWith('-')) throw new UsageError(`unknown option '${first}' (options go after the command)`);
  const spec = findCommand(first);
  if (!spec) throw new UsageError(`unknown command '${first}'`);
  const parsed = parseCommandArgs(spec, rest);
  if (parsed.values['help']) return print(io, commandHelp(spec));
  return RUNNERS[spec.name](parsed, io);
}

function help(args: readonly string[], io: CliIo): number {
  if (args.length === 0 || args[0] === 'help') return print(io, generalHelp());
  if (args.length > 1) throw new UsageError(`help: unexpected argument '${args[1]}'`);
  const spec: CommandSpec | undefined = findCommand(args[0]);
  if (!spec) throw new UsageError(`help: unknown command '${args[0]}'`);
  return print(io, commandHelp(spec));
}

function print(io: CliIo, text: string): number {
  io.stdout.write(`${text}\n`);
  return EXIT_OK;
}

function isEntryPoint(): boolean {
  if (typeof require !== 'undefined' && typeof module !== 'undefined') return require.main === module;
  const script = process.argv[1] ?? '';
  return /[\\/](cli|sockshare)(\.[cm]?[jt]s)?$/.test(script);
}

if (isEntryPoint()) {
  const { io, exit } = processIo();
  main(process.argv.slice(2), io).then(exit, (error: unknown) => {
    io.stderr.write(`sockshare: internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    exit(70);
  });
}
