/*
 * duplicate-errors - WSADuplicateSocket's error codes: "If no error occurs, WSADuplicateSocket returns zero.
 * Otherwise, a value of SOCKET_ERROR is returned" with WSANOTINITIALISED ("a successful WSAStartup call must
 * occur before using this function"), WSAEINVAL ("one of the specified parameters was invalid": here a
 * dwProcessId that is no process) and WSAENOTSOCK ("the descriptor is not a socket").
 */
#include "../common/share.h"
#include <stdio.h>

static void try_duplicate(const char *what, SOCKET s, DWORD pid)
{
    WSAPROTOCOL_INFOW info;
    int rc = WSADuplicateSocketW(s, pid, &info);
    int err = rc == 0 ? 0 : WSAGetLastError();
    say("%s: WSADuplicateSocketW returned %d, error %d (%s)", what, rc, err, rc == 0 ? "none" : wsa_error_name(err));
}

int main(void)
{
    DWORD self = GetCurrentProcessId();
    /* 1) Before WSAStartup: there is no socket yet, any value will do. */
    try_duplicate("before WSAStartup", (SOCKET)0x1234, self);

    wsa_start();
    SOCKET s = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
    if (s == INVALID_SOCKET) die("socket failed: %d", WSAGetLastError());
    /* 2) A pid that is no running process (far above any pid Windows or Wine hands out). */
    try_duplicate("pid 0x7ffffff0 does not exist", s, 0x7ffffff0);

    /* 3) A handle that is not a socket: an event. */
    HANDLE ev = CreateEventA(NULL, TRUE, FALSE, NULL);
    try_duplicate("an event handle is not a socket", (SOCKET)ev, self);

    CloseHandle(ev);
    closesocket(s);
    WSACleanup();
    return 0;
}
