/*
 * never-imported - the target receives the WSAPROTOCOL_INFOW but exits without calling WSASocket.
 * WSADuplicateSocket already put a duplicate into the target; never imported, it leaks there and keeps the
 * underlying socket open: "The underlying socket ... will remain open until closesocket is called by the
 * last remaining descriptor." So the peer sees no EOF after the source's closesocket, only after the target exits.
 */
#include "../common/share.h"
#include <stdio.h>

static int target(channel_t *ch)
{
    WSAPROTOCOL_INFOW info;
    wsa_start();
    answer_pid(ch);
    recv_info(ch, &info);
    say("received the %d-byte WSAPROTOCOL_INFOW; not calling WSASocket", (int)sizeof info);
    put_tag(ch, 'R');
    expect_tag(ch, 'X');
    say("exiting without importing");
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
    say("duplicated 0x%lx for pid %lu", (unsigned long)s, pid);
    send_info(&child.ch, &info);
    expect_tag(&child.ch, 'R');

    say("closesocket returned %d", closesocket(s));
    char buf[16];
    int n = recv_within(peer, buf, sizeof buf, 1000);
    say("peer after the source's closesocket: %s", n == 0 ? "EOF" : n == -2 ? "no EOF within 1 s (the target's duplicate holds the socket)" : "data or an error");
    put_tag(&child.ch, 'X');
    say("target exited with %lu", wait_child(&child, 10000));
    n = recv_within(peer, buf, sizeof buf, 3000);
    say("peer after the target exited: %s", n == 0 ? "EOF" : n == -2 ? "still no EOF within 3 s" : "data or an error");
    closesocket(peer);
    closesocket(listener);
    WSACleanup();
    return 0;
}
