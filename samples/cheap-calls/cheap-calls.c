/*
 * cheap-calls - many cheap hooked calls: closesocket(INVALID_SOCKET) fails with WSAENOTSOCK without reaching the
 * network stack. The benchmark's workload for the in-process path, and its stress test (several threads at once).
 * Usage: cheap-calls.exe [CALLS_PER_THREAD] [THREADS] [import|pointer|bad-pointer]   (default 1000 1 import)
 * `pointer` calls closesocket through the address GetProcAddress returns, as runtimes that load ws2_32 themselves do
 * (the import table is not on that path). `bad-pointer` makes setsockopt calls on one socket with an optval pointer
 * that cannot be read (WSAEFAULT): a tracer reading that memory must not make the program crash.
 * Prints the calls made and the time the longest thread's loop took (QueryPerformanceCounter, taken inside each
 * thread around its calls alone: thread start and exit, where a debugger may hold the process, are not timed).
 */
#include "../common/share.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef int (WINAPI *closesocket_fn)(SOCKET);

static int calls_per_thread = 1000;
static volatile LONG failures_seen = 0;
static closesocket_fn close_socket = closesocket;
static LONGLONG loop_ticks[16];

static DWORD WINAPI worker(LPVOID slot)
{
    LARGE_INTEGER start, end;
    QueryPerformanceCounter(&start);
    for (int i = 0; i < calls_per_thread; i++)
        if (close_socket(INVALID_SOCKET) == SOCKET_ERROR && WSAGetLastError() == WSAENOTSOCK) InterlockedIncrement(&failures_seen);
    QueryPerformanceCounter(&end);
    loop_ticks[(INT_PTR)slot] = end.QuadPart - start.QuadPart;
    return 0;
}

int main(int argc, char **argv)
{
    set_role("source");
    if (argc > 1) calls_per_thread = atoi(argv[1]);
    int threads = argc > 2 ? atoi(argv[2]) : 1;
    if (threads < 1 || threads > 16) threads = 1;
    int by_pointer = argc > 3 && strcmp(argv[3], "pointer") == 0;
    wsa_start();
    if (argc > 3 && strcmp(argv[3], "bad-pointer") == 0) {
        SOCKET s = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
        const char *unreadable = (const char *)(ULONG_PTR)0x10; /* the first page is never mapped */
        int faulted = 0;
        for (int i = 0; i < calls_per_thread; i++)
            if (setsockopt(s, SOL_SOCKET, SO_RCVBUF, unreadable, 4) == SOCKET_ERROR && WSAGetLastError() == WSAEFAULT) faulted++;
        say("%d setsockopt calls with an unreadable optval, %d failed with WSAEFAULT", calls_per_thread, faulted);
        closesocket(s);
        WSACleanup();
        return 0;
    }
    if (by_pointer) close_socket = (closesocket_fn)(void *)GetProcAddress(GetModuleHandleA("ws2_32.dll"), "closesocket");
    HANDLE handles[16];
    LARGE_INTEGER freq;
    QueryPerformanceFrequency(&freq);
    for (int t = 0; t < threads; t++) handles[t] = CreateThread(NULL, 0, worker, (LPVOID)(INT_PTR)t, 0, NULL);
    WaitForMultipleObjects(threads, handles, TRUE, INFINITE);
    LONGLONG longest = 0;
    for (int t = 0; t < threads; t++) longest = loop_ticks[t] > longest ? loop_ticks[t] : longest;
    say("%d threads x %d closesocket calls%s, %ld failed with WSAENOTSOCK, in %.3f ms", threads, calls_per_thread, by_pointer ? " through a GetProcAddress pointer" : "", (long)failures_seen,
        (double)longest * 1000.0 / (double)freq.QuadPart);
    WSACleanup();
    return 0;
}
