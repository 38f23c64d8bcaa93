/** Starting a program under the debugger, with its stdout and stderr on pipes the engine reads. */

import koffi from 'koffi';
import { CREATE_UNICODE_ENVIRONMENT, DEBUG_PROCESS, GENERIC_READ, type Handle, HANDLE_FLAG_INHERIT, OPEN_EXISTING, STARTF_USESTDHANDLES, lastErrorText, toHandle, win } from './api';

export interface LaunchSpec {
  /** Windows path of the executable. */
  program: string;
  args: readonly string[];
  cwd?: string;
  /** Variables set for the program on top of the agent's environment. */
  env?: Record<string, string>;
}

/** A pipe end the engine polls for what the program wrote. */
export class OutputPipe {
  private readonly buffer = Buffer.alloc(64 * 1024);
  constructor(
    readonly stream: 'stdout' | 'stderr',
    private readonly handle: Handle,
  ) {}

  /** Every writer (the programs) has closed its end. */
  ended = false;

  /** What is there to read now, without blocking ('' when nothing). */
  drain(): string {
    let text = '';
    const available = [0];
    for (;;) {
      // PeekNamedPipe fails (ERROR_BROKEN_PIPE) once the last writer is gone.
      if (!win.PeekNamedPipe(this.handle, 0n, 0, 0n, available, 0n)) {
        this.ended = true;
        break;
      }
      if (available[0] === 0) break;
      const read = [0];
      if (!win.ReadFile(this.handle, this.buffer, Math.min(available[0], this.buffer.length), read, 0n) || read[0] === 0) break;
      text += this.buffer.toString('utf8', 0, read[0]);
    }
    return text;
  }

  close(): void {
    win.CloseHandle(this.handle);
  }
}

/** A CREATE_UNICODE_ENVIRONMENT block: "NAME=value\0" for each variable, sorted by name, then "\0". */
function environmentBlock(extra: Record<string, string>): Buffer {
  const merged = new Map<string, [string, string]>();
  for (const [name, value] of Object.entries({ ...process.env, ...extra })) if (value !== undefined) merged.set(name.toUpperCase(), [name, value]);
  const entries = [...merged.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, [n, v]]) => `${n}=${v}\0`);
  return Buffer.from(entries.join('') + '\0', 'utf16le');
}

/** Quotes one argument the way CommandLineToArgvW reads it back. */
export function quoteArgument(arg: string): string {
  if (arg !== '' && !/[\s"]/.test(arg)) return arg;
  return `"${arg.replace(/(\\*)"/g, '$1$1\\"').replace(/(\\+)$/, '$1$1')}"`;
}

function inheritablePipe(): { read: Handle; write: Handle } {
  const read = [0n];
  const write = [0n];
  const sa = { nLength: 24, lpSecurityDescriptor: 0n, bInheritHandle: 1 };
  if (!win.CreatePipe(read, write, sa, 0)) throw new Error(lastErrorText('CreatePipe'));
  // Only the program's end is inherited.
  win.SetHandleInformation(toHandle(read[0]), HANDLE_FLAG_INHERIT, 0);
  return { read: toHandle(read[0]), write: toHandle(write[0]) };
}

function nulInput(): Handle {
  const sa = { nLength: 24, lpSecurityDescriptor: 0n, bInheritHandle: 1 };
  return toHandle(win.CreateFileW('NUL', GENERIC_READ, 3, sa, OPEN_EXISTING, 0, 0n));
}

/**
 * CreateProcessW with DEBUG_PROCESS: the program and every process it starts are debuggees of this thread.
 * Returns the pid and the pipes carrying its output.
 */
export function launchUnderDebugger(spec: LaunchSpec): { pid: number; output: OutputPipe[] } {
  const stdout = inheritablePipe();
  const stderr = inheritablePipe();
  const stdin = nulInput();
  const startup = {
    cb: STARTUPINFO_SIZE,
    dwFlags: STARTF_USESTDHANDLES,
    hStdInput: stdin,
    hStdOutput: stdout.write,
    hStdError: stderr.write,
  };
  const info: Record<string, unknown> = {};
  const commandLine = [spec.program, ...spec.args].map(quoteArgument).join(' ');
  const environment = spec.env ? environmentBlock(spec.env) : undefined;
  const flags = DEBUG_PROCESS | (environment ? CREATE_UNICODE_ENVIRONMENT : 0);
  const ok = win.CreateProcessW(spec.program, commandLine + '\0', 0n, 0n, 1, flags, environment ? koffi.address(environment) : 0n, spec.cwd ?? null, startup, info);
  const failure = ok ? undefined : launchError(spec.program, win.GetLastError());
  // The program holds its own copies now.
  win.CloseHandle(stdout.write);
  win.CloseHandle(stderr.write);
  win.CloseHandle(stdin);
  if (failure) {
    win.CloseHandle(stdout.read);
    win.CloseHandle(stderr.read);
    throw new Error(failure);
  }
  // Wine hands a file that is not a PE image (a Linux program) to the Linux side: CreateProcessW succeeds but gives
  // no process handle, and no debug event ever comes for it.
  if (toHandle(info.hProcess) === 0n) {
    win.CloseHandle(stdout.read);
    win.CloseHandle(stderr.read);
    throw new Error(`cannot start ${spec.program}: not a Windows executable (CreateProcessW gave no process handle: Wine ran it as a Linux program, outside the debugger)`);
  }
  // The debug events carry their own process and thread handles.
  win.CloseHandle(toHandle(info.hProcess));
  win.CloseHandle(toHandle(info.hThread));
  return { pid: Number(info.dwProcessId), output: [new OutputPipe('stdout', stdout.read), new OutputPipe('stderr', stderr.read)] };
}

/** sizeof(STARTUPINFOW) on x64. */
const STARTUPINFO_SIZE = 104;

/** CreateProcessW's failures, by Win32 error code: what the code means for the program given. */
const LAUNCH_ERRORS: Record<number, [name: string, meaning: string]> = {
  2: ['ERROR_FILE_NOT_FOUND', 'no such file'],
  3: ['ERROR_PATH_NOT_FOUND', 'no such file (a folder on its path is missing)'],
  5: ['ERROR_ACCESS_DENIED', 'access denied (a directory, or a file that may not be read or executed)'],
  // Wine 8 answers a directory with this.
  6: ['ERROR_INVALID_HANDLE', 'the file cannot be opened as a program (a directory?)'],
  8: ['ERROR_NOT_ENOUGH_MEMORY', 'not enough memory'],
  11: ['ERROR_BAD_FORMAT', 'not a Windows executable'],
  50: ['ERROR_NOT_SUPPORTED', 'not supported: a 32-bit program cannot be debugged by this 64-bit tracer'],
  123: ['ERROR_INVALID_NAME', 'the path is not a valid file name'],
  129: ['ERROR_CHILD_NOT_COMPLETE', 'not a Windows program (it needs another subsystem)'],
  191: ['ERROR_INVALID_EXE_SIGNATURE', 'not a Windows executable'],
  193: ['ERROR_BAD_EXE_FORMAT', 'not a Windows executable, or a damaged one'],
  216: ['ERROR_EXE_MACHINE_TYPE_MISMATCH', 'not a Windows executable for this machine (wrong architecture)'],
  267: ['ERROR_DIRECTORY', 'it is a directory, not a program'],
  740: ['ERROR_ELEVATION_REQUIRED', 'the program asks to run as administrator'],
  14001: ['ERROR_SXS_CANT_GEN_ACTCTX', 'its side-by-side configuration (manifest) is wrong'],
};

function launchError(program: string, code: number): string {
  const [name, meaning] = LAUNCH_ERRORS[code] ?? ['', 'CreateProcessW failed'];
  return `cannot start ${program}: ${meaning} (CreateProcessW: Win32 error ${code}${name ? ` ${name}` : ''})`;
}
