/* share.c - see share.h. */
#include "share.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *role = "source";

void set_role(const char *r) { role = r; }

static void vsay(const char *fmt, va_list ap)
{
    printf("[%s] ", role);
    vprintf(fmt, ap);
    printf("\n");
    fflush(stdout);
}

void say(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsay(fmt, ap);
    va_end(ap);
}

void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsay(fmt, ap);
    va_end(ap);
    exit(2);
}

const char *wsa_error_name(int code)
{
    switch (code) {
    case WSAEINVAL: return "WSAEINVAL";
    case WSAENOTSOCK: return "WSAENOTSOCK";
    case WSANOTINITIALISED: return "WSANOTINITIALISED";
    case WSAEWOULDBLOCK: return "WSAEWOULDBLOCK";
    case WSAENOTCONN: return "WSAENOTCONN";
    case WSAESHUTDOWN: return "WSAESHUTDOWN";
    case WSAECONNRESET: return "WSAECONNRESET";
    case WSAECONNABORTED: return "WSAECONNABORTED";
    case WSAEFAULT: return "WSAEFAULT";
    default: return "?";
    }
}

void wsa_start(void)
{
    WSADATA wsa;
    int rc = WSAStartup(MAKEWORD(2, 2), &wsa);
    if (rc != 0) die("WSAStartup failed: %d", rc);
}

SOCKET loopback_listen(struct sockaddr_in *addr)
{
    int len = sizeof *addr;
    SOCKET l = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
    if (l == INVALID_SOCKET) die("listener socket failed: %d", WSAGetLastError());
    memset(addr, 0, sizeof *addr);
    addr->sin_family = AF_INET;
    addr->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr->sin_port = 0;
    if (bind(l, (struct sockaddr *)addr, sizeof *addr) != 0 || listen(l, 1) != 0 || getsockname(l, (struct sockaddr *)addr, &len) != 0)
        die("listener failed: %d", WSAGetLastError());
    return l;
}

SOCKET loopback_connect(SOCKET client, SOCKET *listener)
{
    struct sockaddr_in addr;
    SOCKET l = loopback_listen(&addr);
    /* Step 1 of the handoff table: WSASocket (by the caller), then connect. */
    if (connect(client, (struct sockaddr *)&addr, sizeof addr) != 0) die("connect failed: %d", WSAGetLastError());
    SOCKET peer = accept(l, NULL, NULL);
    if (peer == INVALID_SOCKET) die("accept failed: %d", WSAGetLastError());
    *listener = l;
    return peer;
}

int recv_within(SOCKET s, char *buf, int len, int ms)
{
    fd_set readable;
    struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
    FD_ZERO(&readable);
    FD_SET(s, &readable);
    int n = select(0, &readable, NULL, NULL, &tv);
    if (n == 0) return -2;
    if (n < 0) return -1;
    return recv(s, buf, len, 0);
}

child_t spawn_child(const char *label)
{
    SECURITY_ATTRIBUTES inherit = { sizeof inherit, NULL, TRUE };
    HANDLE down_rd, down_wr, up_rd, up_wr;
    if (!CreatePipe(&down_rd, &down_wr, &inherit, 0) || !CreatePipe(&up_rd, &up_wr, &inherit, 0)) die("CreatePipe failed: %lu", GetLastError());
    /* Only the child's ends are inherited. */
    SetHandleInformation(down_wr, HANDLE_FLAG_INHERIT, 0);
    SetHandleInformation(up_rd, HANDLE_FLAG_INHERIT, 0);

    char exe[MAX_PATH], cmd[MAX_PATH + 128];
    GetModuleFileNameA(NULL, exe, sizeof exe);
    snprintf(cmd, sizeof cmd, "\"%s\" --target %lu %lu %s", exe, (unsigned long)(ULONG_PTR)down_rd, (unsigned long)(ULONG_PTR)up_wr, label);

    /* The child writes to the same stdout/stderr as the source. */
    STARTUPINFOA si;
    memset(&si, 0, sizeof si);
    si.cb = sizeof si;
    si.dwFlags = STARTF_USESTDHANDLES;
    si.hStdInput = GetStdHandle(STD_INPUT_HANDLE);
    si.hStdOutput = GetStdHandle(STD_OUTPUT_HANDLE);
    si.hStdError = GetStdHandle(STD_ERROR_HANDLE);
    SetHandleInformation(si.hStdOutput, HANDLE_FLAG_INHERIT, HANDLE_FLAG_INHERIT);
    SetHandleInformation(si.hStdError, HANDLE_FLAG_INHERIT, HANDLE_FLAG_INHERIT);

    PROCESS_INFORMATION pi;
    if (!CreateProcessA(exe, cmd, NULL, NULL, TRUE, 0, NULL, NULL, &si, &pi)) die("CreateProcess failed: %lu", GetLastError());
    CloseHandle(pi.hThread);
    CloseHandle(down_rd);
    CloseHandle(up_wr);
    child_t c = { { up_rd, down_wr }, pi.hProcess, pi.dwProcessId };
    return c;
}

int is_child(int argc, char **argv, channel_t *ch, const char **label)
{
    if (argc < 5 || strcmp(argv[1], "--target") != 0) return 0;
    ch->rd = (HANDLE)(ULONG_PTR)strtoul(argv[2], NULL, 10);
    ch->wr = (HANDLE)(ULONG_PTR)strtoul(argv[3], NULL, 10);
    *label = argv[4];
    set_role(argv[4]);
    return 1;
}

DWORD wait_child(child_t *c, DWORD ms)
{
    DWORD code = STILL_ACTIVE;
    if (WaitForSingleObject(c->process, ms) == WAIT_OBJECT_0) GetExitCodeProcess(c->process, &code);
    return code;
}

void put(channel_t *ch, const void *data, DWORD n)
{
    DWORD done;
    if (!WriteFile(ch->wr, data, n, &done, NULL) || done != n) die("pipe write failed: %lu", GetLastError());
}

void get(channel_t *ch, void *data, DWORD n)
{
    DWORD got = 0, done;
    while (got < n) {
        if (!ReadFile(ch->rd, (char *)data + got, n - got, &done, NULL) || done == 0) die("pipe read failed: %lu", GetLastError());
        got += done;
    }
}

void put_tag(channel_t *ch, char tag) { put(ch, &tag, 1); }

void expect_tag(channel_t *ch, char tag)
{
    char got;
    get(ch, &got, 1);
    if (got != tag) die("expected message '%c' on the pipe, got '%c'", tag, got);
}

DWORD request_pid(channel_t *ch)
{
    DWORD pid;
    put_tag(ch, 'P'); /* step 2: request the target's process id */
    get(ch, &pid, sizeof pid); /* step 4: receive it */
    return pid;
}

void answer_pid(channel_t *ch)
{
    DWORD pid = GetCurrentProcessId();
    expect_tag(ch, 'P'); /* step 3: receive the request and respond */
    put(ch, &pid, sizeof pid);
}

void send_info(channel_t *ch, const WSAPROTOCOL_INFOW *info) { put(ch, info, sizeof *info); }

void recv_info(channel_t *ch, WSAPROTOCOL_INFOW *info) { get(ch, info, sizeof *info); }
