/*
 * handoff-cycles - many handoffs in a row, for measuring what tracing costs per hooked call.
 * Each cycle: the source creates a socket, duplicates it for the target (WSADuplicateSocketW), sends the
 * WSAPROTOCOL_INFOW; the target imports it (WSASocketW FROM_PROTOCOL_INFO, WSA_FLAG_OVERLAPPED) and closes it;
 * the source closes its descriptor. Six hooked calls a cycle. Prints the cycles and the time they took.
 * Usage: handoff-cycles.exe [CYCLES]   (default 200)
 */
#include "../common/share.h"
#include <stdio.h>
#include <stdlib.h>

static int target(channel_t *ch)
{
    wsa_start();
    answer_pid(ch);
    for (;;) {
        WSAPROTOCOL_INFOW info;
        char tag;
        get(ch, &tag, 1);
        if (tag == 'Q') break;
        recv_info(ch, &info);
        SOCKET t = WSASocketW(FROM_PROTOCOL_INFO, FROM_PROTOCOL_INFO, FROM_PROTOCOL_INFO, &info, 0, WSA_FLAG_OVERLAPPED);
        if (t == INVALID_SOCKET) die("import failed: %d", WSAGetLastError());
        closesocket(t);
        put_tag(ch, 'I');
    }
    WSACleanup();
    return 0;
}

int main(int argc, char **argv)
{
    channel_t ch;
    const char *label;
    if (is_child(argc, argv, &ch, &label)) return target(&ch);
    int cycles = argc > 1 ? atoi(argv[1]) : 200;
    child_t child = spawn_child("target");
    wsa_start();
    DWORD pid = request_pid(&child.ch);
    LARGE_INTEGER freq, start, end;
    QueryPerformanceFrequency(&freq);
    QueryPerformanceCounter(&start);
    for (int i = 0; i < cycles; i++) {
        SOCKET s = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
        WSAPROTOCOL_INFOW info;
        if (WSADuplicateSocketW(s, pid, &info) != 0) die("WSADuplicateSocketW failed: %d", WSAGetLastError());
        put_tag(&child.ch, 'P');
        send_info(&child.ch, &info);
        expect_tag(&child.ch, 'I');
        closesocket(s);
    }
    QueryPerformanceCounter(&end);
    put_tag(&child.ch, 'Q');
    say("%d handoff cycles in %.3f ms", cycles, (double)(end.QuadPart - start.QuadPart) * 1000.0 / (double)freq.QuadPart);
    say("target exited with %lu", wait_child(&child, 10000));
    WSACleanup();
    return 0;
}
