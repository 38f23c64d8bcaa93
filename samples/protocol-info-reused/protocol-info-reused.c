/*
 * protocol-info-reused - "The special WSAPROTOCOL_INFO structure can only be used once by the target process."
 * The target passes the same structure to WSASocketW twice. Windows fails the second import; Wine 8 lets it
 * succeed and returns the same handle. The sample prints what happened either way.
 */
#include "../common/share.h"
#include <stdio.h>

static int target(channel_t *ch)
{
    WSAPROTOCOL_INFOW info;
    wsa_start();
    answer_pid(ch);
    recv_info(ch, &info);
    SOCKET first = WSASocketW(FROM_PROTOCOL_INFO, FROM_PROTOCOL_INFO, FROM_PROTOCOL_INFO, &info, 0, WSA_FLAG_OVERLAPPED);
    if (first == INVALID_SOCKET) die("first import failed: %d", WSAGetLastError());
    say("first import returned 0x%lx", (unsigned long)first);
    /* The bug: the same WSAPROTOCOL_INFOW a second time. */
    SOCKET second = WSASocketW(FROM_PROTOCOL_INFO, FROM_PROTOCOL_INFO, FROM_PROTOCOL_INFO, &info, 0, WSA_FLAG_OVERLAPPED);
    if (second == INVALID_SOCKET)
        say("second import failed: %d (%s)", WSAGetLastError(), wsa_error_name(WSAGetLastError()));
    else
        say("second import returned 0x%lx (%s)", (unsigned long)second, second == first ? "the same handle" : "another handle");
    say("send on the first returned %d", send(first, "ping", 4, 0));
    put_tag(ch, 'I');
    expect_tag(ch, 'C');
    closesocket(first);
    if (second != INVALID_SOCKET && second != first) closesocket(second);
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
    say("duplicated 0x%lx once for pid %lu", (unsigned long)s, pid);
    send_info(&child.ch, &info);
    expect_tag(&child.ch, 'I');
    closesocket(s);
    put_tag(&child.ch, 'C');

    char buf[16];
    int n = recv_within(peer, buf, sizeof buf - 1, 5000);
    if (n > 0) buf[n] = 0;
    say("peer received: %s", n > 0 ? buf : "nothing");
    say("target exited with %lu", wait_child(&child, 10000));
    closesocket(peer);
    closesocket(listener);
    WSACleanup();
    return 0;
}
