/*
 * idle-debugger: the cheapest debugger there is, for the server benchmark's baseline of what being debugged costs.
 * Starts the rest of its command line with DEBUG_PROCESS (that program and every process it starts are debugged, as
 * under sockshare), waits for debug events with no timeout and continues each at once; exits with the first
 * program's exit code when the last debugged process has ended.
 * Usage: idle-debugger.exe PROGRAM [ARGS...]
 */
#include <windows.h>
#include <stdio.h>

/* The command line after this program's own name (quoted or not). */
static wchar_t *programCommandLine(void) {
  wchar_t *line = GetCommandLineW();
  if (*line == L'"') {
    for (line++; *line && *line != L'"'; line++) {}
    if (*line) line++;
  } else {
    while (*line && *line != L' ' && *line != L'\t') line++;
  }
  while (*line == L' ' || *line == L'\t') line++;
  return line;
}

int wmain(void) {
  STARTUPINFOW startup = {sizeof startup};
  PROCESS_INFORMATION started;
  if (!CreateProcessW(NULL, programCommandLine(), NULL, NULL, TRUE, DEBUG_PROCESS, NULL, NULL, &startup, &started)) {
    fprintf(stderr, "idle-debugger: CreateProcess failed with %lu\n", GetLastError());
    return 2;
  }
  int live = 0;
  DWORD exitCode = 0;
  DEBUG_EVENT event;
  for (;;) {
    if (!WaitForDebugEvent(&event, INFINITE)) {
      fprintf(stderr, "idle-debugger: WaitForDebugEvent failed with %lu\n", GetLastError());
      return 2;
    }
    DWORD status = DBG_CONTINUE;
    switch (event.dwDebugEventCode) {
      case CREATE_PROCESS_DEBUG_EVENT:
        live++;
        if (event.u.CreateProcessInfo.hFile) CloseHandle(event.u.CreateProcessInfo.hFile);
        break;
      case LOAD_DLL_DEBUG_EVENT:
        if (event.u.LoadDll.hFile) CloseHandle(event.u.LoadDll.hFile);
        break;
      case EXIT_PROCESS_DEBUG_EVENT:
        live--;
        if (event.dwProcessId == started.dwProcessId) exitCode = event.u.ExitProcess.dwExitCode;
        break;
      case EXCEPTION_DEBUG_EVENT:
        /* The loader's breakpoint is the debugger's to take; any other exception is the program's to handle. */
        if (event.u.Exception.ExceptionRecord.ExceptionCode != EXCEPTION_BREAKPOINT) status = DBG_EXCEPTION_NOT_HANDLED;
        break;
    }
    ContinueDebugEvent(event.dwProcessId, event.dwThreadId, status);
    if (live == 0) return (int)exitCode;
  }
}
