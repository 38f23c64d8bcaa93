/*
 * stack-walk - stack walks and unwinds through a hooked Winsock call. WSAAccept calls its condition function
 * before it returns, on the caller's thread, so the callback runs with WSAAccept's frames (and, traced, the
 * tracer's recording stub) between it and the function that called WSAAccept. From inside the callback:
 * (a) RtlCaptureStackBackTrace must reach that caller, through frames that all have unwind data (RtlLookupFunctionEntry);
 * (b) longjmp back to the caller: mingw's x64 setjmp passes the frame, so msvcrt's longjmp unwinds with RtlUnwind,
 *     whose walk must reach the caller's frame;
 * (c) RaiseException: the dispatcher's walk must find the frame-based handler of the caller's frame.
 * One process; a client in it makes one connection per WSAAccept. Exit code 0 only if all three worked.
 * With --serve DIR it is instead a server to attach to, whose WSAEventSelect has a stack of its own functions (serve).
 */
#include "../common/share.h"
#include <setjmp.h>
#include <stdio.h>
#include <string.h>

#define SAMPLE_EXCEPTION 0xE0535357u /* an application exception code (bit 29 set) */

static SOCKET listener;
static struct sockaddr_in listening_at;
static const char *volatile stage; /* the step running, for the report of a crash */

/* A crash while unwinding (STATUS_BAD_STACK, STATUS_INVALID_UNWIND_TARGET, an access violation) still prints its line. */
static LONG CALLBACK report_crash(EXCEPTION_POINTERS *e)
{
    DWORD code = e->ExceptionRecord->ExceptionCode;
    if (!stage || (code & 0xF0000000u) != 0xC0000000u) return EXCEPTION_CONTINUE_SEARCH;
    say("%s failed: exception 0x%08lx", stage, code);
    ExitProcess(1);
}

/* So does an exception no frame handled (the dispatcher's walk missed the caller). */
static LONG WINAPI report_unhandled(EXCEPTION_POINTERS *e)
{
    say("%s failed: unhandled exception 0x%08lx", stage ? stage : "the sample", e->ExceptionRecord->ExceptionCode);
    ExitProcess(1);
}

/* Another client connects; the listener's backlog holds the connection until WSAAccept takes it. */
static SOCKET connect_client(void)
{
    SOCKET c = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
    if (c == INVALID_SOCKET || connect(c, (struct sockaddr *)&listening_at, sizeof listening_at) != 0) die("client connect failed: %d", WSAGetLastError());
    return c;
}

/* (a) */
typedef struct {
    void *caller; /* the function that called WSAAccept */
    int reached;
} walk_t;

/* The function holding a return address, from its unwind data (0 for a frame with none). */
static DWORD64 function_of(void *return_address)
{
    DWORD64 base = 0;
    /* -1: a return address can be the first byte after its function. */
    PRUNTIME_FUNCTION f = RtlLookupFunctionEntry((DWORD64)(ULONG_PTR)return_address - 1, &base, NULL);
    return f ? base + f->BeginAddress : 0;
}

/*
 * Every frame between the callback and the caller must have unwind data: only a leaf function may lack it, and a
 * frame that called someone is no leaf. Without it the unwinder guesses (it pops [rsp] as the return address) and
 * can land in the caller by luck, from stale return addresses left on the stack.
 */
static int CALLBACK walk_then_accept(LPWSABUF caller_id, LPWSABUF caller_data, LPQOS sqos, LPQOS gqos, LPWSABUF callee_id, LPWSABUF callee_data, GROUP *g, DWORD_PTR data)
{
    walk_t *walk = (walk_t *)data;
    void *frames[62];
    WORD n = RtlCaptureStackBackTrace(0, 62, frames, NULL);
    int i, guessed = -1;
    for (i = 0; i < n; i++) {
        DWORD64 function = function_of(frames[i]);
        if (function == (DWORD64)(ULONG_PTR)walk->caller) break;
        if (!function && guessed < 0) guessed = i;
    }
    walk->reached = i < n && guessed < 0;
    if (walk->reached) say("stack walk from inside WSAAccept reached the caller (frame %d of %d)", i, n);
    else if (i < n) say("stack walk from inside WSAAccept found the caller (frame %d of %d) only past frame %d, which has no unwind data", i, n, guessed);
    else if (guessed >= 0) say("stack walk from inside WSAAccept lost the caller after %d frames (frame %d has no unwind data)", n, guessed);
    else say("stack walk from inside WSAAccept lost the caller after %d frames", n);
    return CF_ACCEPT;
}

static int accept_walked(void)
{
    SOCKET c = connect_client();
    walk_t walk = { (void *)accept_walked, 0 };
    stage = "stack walk from inside WSAAccept";
    SOCKET s = WSAAccept(listener, NULL, NULL, walk_then_accept, (DWORD_PTR)&walk);
    stage = NULL;
    if (s == INVALID_SOCKET) die("WSAAccept failed: %d", WSAGetLastError());
    say("WSAAccept returned the accepted socket 0x%lx", (unsigned long)s);
    closesocket(s);
    closesocket(c);
    return walk.reached;
}

/* (b) */
static jmp_buf back_in_caller;
static volatile int target_unwound;

static int CALLBACK jump_out(LPWSABUF caller_id, LPWSABUF caller_data, LPQOS sqos, LPQOS gqos, LPWSABUF callee_id, LPWSABUF callee_data, GROUP *g, DWORD_PTR data)
{
    longjmp(back_in_caller, 1);
}

/*
 * accept_jumped's unwind handler: RtlUnwind calls it with EXCEPTION_TARGET_UNWIND when its walk reaches the frame
 * setjmp named. Wine's RtlUnwind that misses that frame only logs an error and jumps anyway: coming back is no proof.
 */
EXCEPTION_DISPOSITION sample_unwind_handler(EXCEPTION_RECORD *rec, void *frame, CONTEXT *context, void *dispatch)
{
    if (rec->ExceptionCode == STATUS_LONGJUMP && (rec->ExceptionFlags & EXCEPTION_TARGET_UNWIND)) target_unwound = 1;
    return ExceptionContinueSearch;
}

static int accept_jumped(void)
{
    __asm__(".seh_handler sample_unwind_handler, @unwind");
    SOCKET c = connect_client();
    int ok = 0;
    target_unwound = 0;
    stage = "longjmp from inside WSAAccept";
    if (setjmp(back_in_caller) != 0) {
        /* WSAAccept never returns: the socket it had accepted for this connection stays open until WSACleanup. */
        ok = target_unwound;
        if (ok) say("longjmp from inside WSAAccept unwound to the caller");
        else say("longjmp from inside WSAAccept came back, but RtlUnwind never reached the caller's frame");
    } else {
        SOCKET s = WSAAccept(listener, NULL, NULL, jump_out, 0);
        say("longjmp from inside WSAAccept did not happen: WSAAccept returned 0x%lx", (unsigned long)s);
        closesocket(s);
    }
    stage = NULL;
    closesocket(c);
    return ok;
}

/* (c) */
static void *volatile handler_frame; /* the EstablisherFrame accept_raised's handler was called with */

static int CALLBACK raise_out(LPWSABUF caller_id, LPWSABUF caller_data, LPQOS sqos, LPQOS gqos, LPWSABUF callee_id, LPWSABUF callee_data, GROUP *g, DWORD_PTR data)
{
    RaiseException(SAMPLE_EXCEPTION, 0, 0, NULL);
    return CF_REJECT;
}

/*
 * accept_raised's exception handler (C has no __try). It resumes execution rather than unwinding: under Wine 8 with
 * a debugger attached (the tracer is one), unwinding out of a handler crashes in RtlVirtualUnwind, Winsock or not.
 */
EXCEPTION_DISPOSITION sample_exception_handler(EXCEPTION_RECORD *rec, void *frame, CONTEXT *context, void *dispatch)
{
    if (rec->ExceptionCode != SAMPLE_EXCEPTION || (rec->ExceptionFlags & EXCEPTION_UNWINDING)) return ExceptionContinueSearch;
    handler_frame = frame;
    return ExceptionContinueExecution; /* RaiseException returns; the callback rejects the connection */
}

static int accept_raised(void)
{
    __asm__(".seh_handler sample_exception_handler, @except");
    SOCKET c = connect_client();
    handler_frame = NULL;
    stage = "exception raised inside WSAAccept";
    SOCKET s = WSAAccept(listener, NULL, NULL, raise_out, 0);
    int error = WSAGetLastError();
    stage = NULL;
    /* With a frame pointer (-O0), a function's EstablisherFrame is its rbp: __builtin_frame_address(0). */
    int ok = handler_frame == __builtin_frame_address(0);
    if (ok) say("exception raised inside WSAAccept reached the caller's handler");
    else if (handler_frame) say("exception raised inside WSAAccept got to a handler of the caller, but for another frame (%p)", handler_frame);
    else say("exception raised inside WSAAccept never got to a handler of the caller");
    if (s == INVALID_SOCKET) say("WSAAccept then failed with %d: the callback rejected the connection", error);
    else closesocket(s);
    closesocket(c);
    return ok;
}

/*
 * Serving mode (stack-walk.exe --serve DIR): a running program to attach to. It listens on a loopback port, writes
 * "PID PORT" to DIR\\server.txt, and answers each connection with "served: " and the request, until a request says
 * "quit" (or no connection comes for 10 minutes, so a server left behind by a killed test ends by itself). It waits
 * for each request with WSAEventSelect in answer_request: a debugger attached with a breakpoint there stops with
 * answer_request, serve and main on the stack.
 */
static void answer_request(SOCKET conn, char *request, int len)
{
    WSAEVENT readable = WSACreateEvent();
    if (WSAEventSelect(conn, readable, FD_READ | FD_CLOSE) != 0) die("WSAEventSelect failed: %d", WSAGetLastError());
    /* Signalled at once when the request is already in, as it is when the program was held at the call. */
    WaitForSingleObject(readable, 5000);
    int n = recv_within(conn, request, len - 1, 5000);
    request[n > 0 ? n : 0] = 0;
    char answer[64];
    snprintf(answer, sizeof answer, "served: %s", request);
    send(conn, answer, (int)strlen(answer), 0);
    WSACloseEvent(readable);
}

static int serve(const char *dir)
{
    char path[MAX_PATH], done[MAX_PATH];
    wsa_start();
    struct sockaddr_in addr;
    SOCKET server = loopback_listen(&addr);
    /* Written aside, then renamed: whoever waits for server.txt never reads half of it. */
    snprintf(path, sizeof path, "%s\\server.txt.tmp", dir);
    FILE *f = fopen(path, "w");
    if (!f) die("cannot write %s", path);
    fprintf(f, "%lu %u\n", GetCurrentProcessId(), ntohs(addr.sin_port));
    fclose(f);
    snprintf(done, sizeof done, "%s\\server.txt", dir);
    MoveFileA(path, done);
    say("listening on port %u", ntohs(addr.sin_port));
    for (;;) {
        fd_set pending;
        struct timeval idle = { 600, 0 };
        FD_ZERO(&pending);
        FD_SET(server, &pending);
        if (select(0, &pending, NULL, NULL, &idle) <= 0) {
            say("no connection for 10 minutes: stopping");
            break;
        }
        SOCKET conn = accept(server, NULL, NULL);
        if (conn == INVALID_SOCKET) die("accept failed: %d (%s)", WSAGetLastError(), wsa_error_name(WSAGetLastError()));
        char request[32];
        answer_request(conn, request, sizeof request);
        closesocket(conn);
        if (strcmp(request, "quit") == 0) break;
    }
    closesocket(server);
    WSACleanup();
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--serve") == 0) return serve(argv[2]);
    AddVectoredExceptionHandler(1, report_crash);
    SetUnhandledExceptionFilter(report_unhandled);
    wsa_start();
    /* loopback_connect makes the listener (and a first connection with plain accept, closed at once). */
    SOCKET first = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
    SOCKET first_peer = loopback_connect(first, &listener);
    int len = sizeof listening_at;
    if (getsockname(listener, (struct sockaddr *)&listening_at, &len) != 0) die("getsockname failed: %d", WSAGetLastError());
    closesocket(first_peer);
    closesocket(first);

    int walked = accept_walked();
    int jumped = accept_jumped();
    int raised = accept_raised();

    closesocket(listener);
    WSACleanup();
    return walked && jumped && raised ? 0 : 1;
}
