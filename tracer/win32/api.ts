/**
 * kernel32/ntdll entry points the capture engine calls through koffi. Loaded only on Windows (or Windows node.exe
 * under Wine). Handles and addresses are passed and returned as integers (uintptr_t).
 */

import koffi from 'koffi';

export type Handle = bigint;

const kernel32 = koffi.load('kernel32.dll');
const ntdll = koffi.load('ntdll.dll');

export const SECURITY_ATTRIBUTES = koffi.struct('SECURITY_ATTRIBUTES', {
  nLength: 'uint32_t',
  lpSecurityDescriptor: 'uintptr_t',
  bInheritHandle: 'int32_t',
});

export const STARTUPINFOW = koffi.struct('STARTUPINFOW', {
  cb: 'uint32_t',
  lpReserved: 'uintptr_t',
  lpDesktop: 'uintptr_t',
  lpTitle: 'uintptr_t',
  dwX: 'uint32_t',
  dwY: 'uint32_t',
  dwXSize: 'uint32_t',
  dwYSize: 'uint32_t',
  dwXCountChars: 'uint32_t',
  dwYCountChars: 'uint32_t',
  dwFillAttribute: 'uint32_t',
  dwFlags: 'uint32_t',
  wShowWindow: 'uint16_t',
  cbReserved2: 'uint16_t',
  lpReserved2: 'uintptr_t',
  hStdInput: 'uintptr_t',
  hStdOutput: 'uintptr_t',
  hStdError: 'uintptr_t',
});

export const PROCESS_INFORMATION = koffi.struct('PROCESS_INFORMATION', {
  hProcess: 'uintptr_t',
  hThread: 'uintptr_t',
  dwProcessId: 'uint32_t',
  dwThreadId: 'uint32_t',
});

export const win = {
  CreateProcessW: kernel32.func('int32_t __stdcall CreateProcessW(const char16_t *app, char16_t *cmd, uintptr_t pa, uintptr_t ta, int32_t inherit, uint32_t flags, uintptr_t env, const char16_t *cwd, STARTUPINFOW *si, _Out_ PROCESS_INFORMATION *pi)'),
  WaitForDebugEvent: kernel32.func('int32_t __stdcall WaitForDebugEvent(_Inout_ uint8_t *event, uint32_t ms)'),
  ContinueDebugEvent: kernel32.func('int32_t __stdcall ContinueDebugEvent(uint32_t pid, uint32_t tid, uint32_t status)'),
  DebugActiveProcess: kernel32.func('int32_t __stdcall DebugActiveProcess(uint32_t pid)'),
  DebugActiveProcessStop: kernel32.func('int32_t __stdcall DebugActiveProcessStop(uint32_t pid)'),
  OpenThread: kernel32.func('uintptr_t __stdcall OpenThread(uint32_t access, int32_t inherit, uint32_t tid)'),
  ResumeThread: kernel32.func('uint32_t __stdcall ResumeThread(uintptr_t thread)'),
  DebugBreakProcess: kernel32.func('int32_t __stdcall DebugBreakProcess(uintptr_t process)'),
  ReadProcessMemory: kernel32.func('int32_t __stdcall ReadProcessMemory(uintptr_t process, uintptr_t address, _Inout_ uint8_t *buffer, uintptr_t size, uintptr_t read)'),
  WriteProcessMemory: kernel32.func('int32_t __stdcall WriteProcessMemory(uintptr_t process, uintptr_t address, const uint8_t *buffer, uintptr_t size, uintptr_t written)'),
  FlushInstructionCache: kernel32.func('int32_t __stdcall FlushInstructionCache(uintptr_t process, uintptr_t address, uintptr_t size)'),
  GetThreadContext: kernel32.func('int32_t __stdcall GetThreadContext(uintptr_t thread, _Inout_ uint8_t *context)'),
  SetThreadContext: kernel32.func('int32_t __stdcall SetThreadContext(uintptr_t thread, const uint8_t *context)'),
  TerminateProcess: kernel32.func('int32_t __stdcall TerminateProcess(uintptr_t process, uint32_t code)'),
  CloseHandle: kernel32.func('int32_t __stdcall CloseHandle(uintptr_t handle)'),
  GetLastError: kernel32.func('uint32_t __stdcall GetLastError()'),
  CreatePipe: kernel32.func('int32_t __stdcall CreatePipe(_Out_ uintptr_t *read, _Out_ uintptr_t *write, SECURITY_ATTRIBUTES *sa, uint32_t size)'),
  SetHandleInformation: kernel32.func('int32_t __stdcall SetHandleInformation(uintptr_t handle, uint32_t mask, uint32_t flags)'),
  PeekNamedPipe: kernel32.func('int32_t __stdcall PeekNamedPipe(uintptr_t pipe, uintptr_t buffer, uint32_t size, uintptr_t read, _Out_ uint32_t *available, uintptr_t left)'),
  ReadFile: kernel32.func('int32_t __stdcall ReadFile(uintptr_t file, _Inout_ uint8_t *buffer, uint32_t size, _Out_ uint32_t *read, uintptr_t overlapped)'),
  CreateFileW: kernel32.func('uintptr_t __stdcall CreateFileW(const char16_t *name, uint32_t access, uint32_t share, SECURITY_ATTRIBUTES *sa, uint32_t disposition, uint32_t flags, uintptr_t template)'),
  QueryFullProcessImageNameW: kernel32.func('int32_t __stdcall QueryFullProcessImageNameW(uintptr_t process, uint32_t flags, _Inout_ uint16_t *name, _Inout_ uint32_t *size)'),
  GetModuleHandleW: kernel32.func('uintptr_t __stdcall GetModuleHandleW(const char16_t *name)'),
  GetProcAddress: kernel32.func('uintptr_t __stdcall GetProcAddress(uintptr_t module, const char *name)'),
  NtQueryInformationProcess: ntdll.func('int32_t __stdcall NtQueryInformationProcess(uintptr_t process, uint32_t cls, _Inout_ uint8_t *info, uint32_t size, uintptr_t returned)'),
};

/**
 * dbghelp: the debuggee's stack walked from its unwind data (StackWalk64) and symbols for its frames. Loaded on first
 * use, so a capture that records no stacks never maps it.
 */
let dbghelpFunctions: ReturnType<typeof loadDbghelp> | undefined;

function loadDbghelp() {
  const dbghelp = koffi.load('dbghelp.dll');
  const functions = {
    SymSetOptions: dbghelp.func('uint32_t __stdcall SymSetOptions(uint32_t options)'),
    SymInitializeW: dbghelp.func('int32_t __stdcall SymInitializeW(uintptr_t process, const char16_t *searchPath, int32_t invade)'),
    SymCleanup: dbghelp.func('int32_t __stdcall SymCleanup(uintptr_t process)'),
    SymLoadModuleExW: dbghelp.func('uint64_t __stdcall SymLoadModuleExW(uintptr_t process, uintptr_t file, const char16_t *image, const char16_t *module, uint64_t base, uint32_t size, uintptr_t data, uint32_t flags)'),
    SymGetModuleInfoW64: dbghelp.func('int32_t __stdcall SymGetModuleInfoW64(uintptr_t process, uint64_t address, _Inout_ uint8_t *info)'),
    SymFromAddrW: dbghelp.func('int32_t __stdcall SymFromAddrW(uintptr_t process, uint64_t address, _Out_ uint64_t *displacement, _Inout_ uint8_t *symbol)'),
    SymGetLineFromAddrW64: dbghelp.func('int32_t __stdcall SymGetLineFromAddrW64(uintptr_t process, uint64_t address, _Out_ uint32_t *displacement, _Inout_ uint8_t *line)'),
    StackWalk64: dbghelp.func('int32_t __stdcall StackWalk64(uint32_t machine, uintptr_t process, uintptr_t thread, _Inout_ uint8_t *frame, _Inout_ uint8_t *context, uintptr_t readMemory, uintptr_t functionTableAccess, uintptr_t getModuleBase, uintptr_t translateAddress)'),
    /** dbghelp's own SymFunctionTableAccess64 and SymGetModuleBase64, passed to StackWalk64 as raw pointers (no JS callback runs). */
    functionTableAccess: 0n,
    getModuleBase: 0n,
    /** StackWalk64's ReadMemoryRoutine: PREAD_PROCESS_MEMORY_ROUTINE64, a callback into this process. */
    ReadMemoryRoutine: koffi.proto('int32_t __stdcall ReadProcessMemoryRoutine64(uintptr_t process, uint64_t address, void *buffer, uint32_t size, uint32_t *read)'),
  };
  const module = toHandle(win.GetModuleHandleW('dbghelp.dll'));
  functions.functionTableAccess = toHandle(win.GetProcAddress(module, 'SymFunctionTableAccess64'));
  functions.getModuleBase = toHandle(win.GetProcAddress(module, 'SymGetModuleBase64'));
  return functions;
}

export function dbghelp(): ReturnType<typeof loadDbghelp> {
  dbghelpFunctions ??= loadDbghelp();
  return dbghelpFunctions;
}

/**
 * A callback dbghelp calls while it walks, as the raw address StackWalk64 takes: `read(address, into)` fills `into`
 * (this process's buffer, viewed without a copy) from the debuggee and returns the bytes it filled.
 */
export function readMemoryCallback(read: (address: bigint, into: Uint8Array) => number): bigint {
  const help = dbghelp();
  const registered = koffi.register(
    (_process: bigint, address: bigint, buffer: unknown, size: number, done: unknown) => {
      const filled = size === 0 ? 0 : read(BigInt(address), new Uint8Array(koffi.view(buffer, size)));
      if (done) koffi.encode(done, 'uint32_t', filled);
      return filled === size ? 1 : 0;
    },
    koffi.pointer(help.ReadMemoryRoutine),
  );
  return BigInt(koffi.address(registered));
}

/** Reads a NUL-terminated UTF-16 string at an address in this process (a name dbghelp returned by pointer). */
export function decodeWideString(address: bigint): string {
  return koffi.decode(address, 'char16_t', -1) as string;
}

let underWine: boolean | undefined;

/** Whether the tracer runs under Wine (its ntdll exports wine_get_version); asked once. */
export function runsUnderWine(): boolean {
  if (underWine === undefined) {
    const ntdll = toHandle(win.GetModuleHandleW('ntdll.dll'));
    underWine = ntdll !== 0n && toHandle(win.GetProcAddress(ntdll, 'wine_get_version')) !== 0n;
  }
  return underWine;
}

export const DEBUG_PROCESS = 0x1;
export const DEBUG_ONLY_THIS_PROCESS = 0x2;
export const CREATE_UNICODE_ENVIRONMENT = 0x400;
export const STARTF_USESTDHANDLES = 0x100;
export const HANDLE_FLAG_INHERIT = 0x1;
export const INVALID_HANDLE_VALUE = 0xffffffffffffffffn;
/** CreateFileW: access, disposition, attributes and flags. */
export const GENERIC_READ = 0x80000000;
export const GENERIC_WRITE = 0x40000000;
export const CREATE_ALWAYS = 2;
export const OPEN_EXISTING = 3;
export const FILE_ATTRIBUTE_TEMPORARY = 0x100;
export const FILE_FLAG_DELETE_ON_CLOSE = 0x04000000;

export function toHandle(value: unknown): Handle {
  return typeof value === 'bigint' ? value : BigInt(value as number);
}

/** "CreateProcessW failed (error 2)" */
export function lastErrorText(what: string): string {
  return `${what} failed (Win32 error ${win.GetLastError()})`;
}
