/*
 * blocking-flip - "all of the state information associated with a socket is held in common across all the
 * descriptors". After the handoff the target sets FIONBIO through its descriptor while the source still holds
 * its own: the source's recv on a socket with no data no longer blocks, it fails with WSAEWOULDBLOCK.
 */
#include "../common/share.h"
#include <stdio.h>

static int target(channel_t *ch)
{
    WSAPROTOCOL_INFOW info;
    u_long on = 1;
    wsa_start();
    answer_pid(ch);
    recv_info(ch, &info);
    SOCKET t = WSASocketW(FROM_PROTOCOL_INFO, FROM_PROTOCOL_INFO, FROM_PROTOCOL_INFO, &info, 0, WSA_FLAG_OVERLAPPED);
    if (t == INVALID_SOCKET) die("import failed: %d", WSAGetLastError());
    /* Non-blocking mode for this descriptor - and, the socket being shared, for the source's too. */
    say("ioctlsocket(FIONBIO, 1) on 0x%lx returned %d", (unsigned long)t, ioctlsocket(t, FIONBIO, &on));
    put_tag(ch, 'N');
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
    /* A safety net set before the handoff (not a shared change): should recv still block, it gives up after 3 s. */
    DWORD timeout_ms = 3000;
    setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, (const char *)&timeout_ms, sizeof timeout_ms);
    DWORD pid = request_pid(&child.ch);
    WSAPROTOCOL_INFOW info;
    if (WSADuplicateSocketW(s, pid, &info) != 0) die("WSADuplicateSocketW failed: %d", WSAGetLastError());
    send_info(&child.ch, &info);
    expect_tag(&child.ch, 'N');

    /* The source never asked for non-blocking mode; with no data this recv would block. */
    char buf[16];
    int n = recv(s, buf, sizeof buf, 0);
    if (n < 0 && WSAGetLastError() == WSAETIMEDOUT) say("source recv with no data blocked until SO_RCVTIMEO: the mode was not shared");
    else if (n < 0) say("source recv with no data: %d, error %d (%s)", n, WSAGetLastError(), wsa_error_name(WSAGetLastError()));
    else say("source recv returned %d", n);

    closesocket(s);
    put_tag(&child.ch, 'C');
    say("target exited with %lu", wait_child(&child, 10000));
    closesocket(peer);
    closesocket(listener);
    WSACleanup();
    return 0;
}
