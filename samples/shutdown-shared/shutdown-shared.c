/*
 * shutdown-shared - "all of the state information associated with a socket is held in common across all the
 * descriptors", the shutdown state included. The target calls shutdown(SD_SEND) on its descriptor while the
 * source still holds its own: the peer sees EOF although the source never shut down, and the source's send fails.
 */
#include "../common/share.h"
#include <stdio.h>

static int target(channel_t *ch)
{
    WSAPROTOCOL_INFOW info;
    wsa_start();
    answer_pid(ch);
    recv_info(ch, &info);
    SOCKET t = WSASocketW(FROM_PROTOCOL_INFO, FROM_PROTOCOL_INFO, FROM_PROTOCOL_INFO, &info, 0, WSA_FLAG_OVERLAPPED);
    if (t == INVALID_SOCKET) die("import failed: %d", WSAGetLastError());
    /* Shuts the sending direction of the socket - for the source's descriptor too. */
    say("shutdown(SD_SEND) on 0x%lx returned %d", (unsigned long)t, shutdown(t, SD_SEND));
    put_tag(ch, 'S');
    expect_tag(ch, 'C');
    closesocket(t);
    WSACleanup();
    return 0;
}

int main(int argc, char **argv)
{
    channel_t ch;
    const char *label;
    if (is_child(argc, argv, &ch, &label)) return target(&ch);

    child_t child = spawn_child("target");
    wsa_start();
    SOCKET listener, s = WSASocketW(AF_INET, SOCK_STREAM, IPPROTO_TCP, NULL, 0, WSA_FLAG_OVERLAPPED);
    SOCKET peer = loopback_connect(s, &listener);
    DWORD pid = request_pid(&child.ch);
    WSAPROTOCOL_INFOW info;
    if (WSADuplicateSocketW(s, pid, &info) != 0) die("WSADuplicateSocketW failed: %d", WSAGetLastError());
    send_info(&child.ch, &info);
    expect_tag(&child.ch, 'S');

    char buf[16];
    int n = recv_within(peer, buf, sizeof buf, 3000);
    say("peer: %s", n == 0 ? "EOF, although the source never called shutdown" : n == -2 ? "no EOF within 3 s" : "data or an error");
    n = send(s, "late", 4, 0);
    if (n < 0) say("source send after the target's shutdown: error %d (%s)", WSAGetLastError(), wsa_error_name(WSAGetLastError()));
    else say("source send after the target's shutdown returned %d", n);

    closesocket(s);
    put_tag(&child.ch, 'C');
    say("target exited with %lu", wait_child(&child, 10000));
    closesocket(peer);
    closesocket(listener);
    WSACleanup();
    return 0;
}
