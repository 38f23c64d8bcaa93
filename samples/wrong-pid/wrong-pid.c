/*
 * wrong-pid - "WSADuplicateSocket ... dwProcessId: process identifier of the target process in which the
 * duplicated socket will be used." The source starts two children, duplicates the socket for child A, and
 * gives the structure to child B, which imports it. On Windows the import in B is not valid; under Wine 8 the
 * call returns the handle value duplicated into A, which means nothing in B. The sample prints what B got.
 */
#include "../common/share.h"
#include <stdio.h>
#include <string.h>

static int child_a(channel_t *ch)
{
    wsa_start();
    answer_pid(ch);
    expect_tag(ch, 'X'); /* waits, never imports: the structure was made for it but went to B */
    say("exiting; nothing was imported here");
    WSACleanup();
    return 0;
}

static int child_b(channel_t *ch)
{
    WSAPROTOCOL_INFOW info;
    wsa_start();
    answer_pid(ch);
    recv_info(ch, &info);
    SOCKET t = WSASocketW(FROM_PROTOCOL_INFO, FROM_PROTOCOL_INFO, FROM_PROTOCOL_INFO, &info, 0, WSA_FLAG_OVERLAPPED);
    if (t == INVALID_SOCKET) {
        say("import of the structure made for child A failed: %d (%s)", WSAGetLastError(), wsa_error_name(WSAGetLastError()));
    } else {
        say("import of the structure made for child A returned 0x%lx", (unsigned long)t);
        int n = send(t, "from B", 6, 0);
        if (n < 0) say("send on it failed: %d (%s)", WSAGetLastError(), wsa_error_name(WSAGetLastError()));
        else say("send on it returned %d", n);
    }
    put_tag(ch, 'I');
    expect_tag(ch, 'X');
    /* No closesocket: under Wine the value may name some other handle of this process. Exit releases it. */
    WSACleanup();
    return 0;
}

int main(int argc, char **argv)
{
    channel_t ch;
    const char *label;
    if (is_child(argc, argv, &ch, &label)) return strcmp(label, "child-A") == 0 ? child_a(&ch) : child_b(&ch);

    child_t a = spawn_child("child-A"), b = spawn_child("child-B");
    wsa_start();
    SOCKET listener, s = WSASocketW(AF_INET, SOCK_STREAM, IPPROTO_TCP, NULL, 0, WSA_FLAG_OVERLAPPED);
    SOCKET peer = loopback_connect(s, &listener);
    DWORD pid_a = request_pid(&a.ch), pid_b = request_pid(&b.ch);
    say("child A is pid %lu, child B is pid %lu", pid_a, pid_b);

    WSAPROTOCOL_INFOW info;
    if (WSADuplicateSocketW(s, pid_a, &info) != 0) die("WSADuplicateSocketW failed: %d", WSAGetLastError());
    say("duplicated 0x%lx for child A (pid %lu), sending the structure to child B", (unsigned long)s, pid_a);
    send_info(&b.ch, &info); /* the bug: the structure goes to the wrong process */
    expect_tag(&b.ch, 'I');

    char buf[16];
    int n = recv_within(peer, buf, sizeof buf - 1, 1000);
    if (n > 0) buf[n] = 0;
    say("peer received: %s", n > 0 ? buf : "nothing");
    closesocket(s);
    put_tag(&b.ch, 'X');
    put_tag(&a.ch, 'X');
    say("child A exited with %lu, child B with %lu", wait_child(&a, 10000), wait_child(&b, 10000));
    closesocket(peer);
    closesocket(listener);
    WSACleanup();
    return 0;
}
