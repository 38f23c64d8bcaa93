/*
 * source-kept-open - "The underlying socket, however, will remain open until closesocket is called by the last
 * remaining descriptor." The source skips step 10 and keeps its descriptor; the target sends, then closes its
 * own: the peer sees no EOF, because the source's descriptor still holds the connection open.
 */
#include "../common/share.h"
#include <stdio.h>
#include <string.h>

static int target(channel_t *ch)
{
    WSAPROTOCOL_INFOW info;
    wsa_start();
    answer_pid(ch);
    recv_info(ch, &info);
    SOCKET t = WSASocketW(FROM_PROTOCOL_INFO, FROM_PROTOCOL_INFO, FROM_PROTOCOL_INFO, &info, 0, WSA_FLAG_OVERLAPPED);
    if (t == INVALID_SOCKET) die("import failed: %d", WSAGetLastError());
    const char *msg = "bye";
    say("send returned %d", send(t, msg, (int)strlen(msg), 0));
    say("closesocket on the imported 0x%lx returned %d", (unsigned long)t, closesocket(t));
    WSACleanup();
    put_tag(ch, 'D');
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
    /* The bug: no closesocket(s) here (step 10). */
    expect_tag(&child.ch, 'D');
    say("target exited with %lu", wait_child(&child, 10000));

    char buf[16];
    int n = recv_within(peer, buf, sizeof buf - 1, 3000);
    if (n > 0) buf[n] = 0;
    say("peer received: %s", n > 0 ? buf : "nothing");
    n = recv_within(peer, buf, sizeof buf, 1000);
    say("peer after the target closed: %s", n == 0 ? "EOF" : n == -2 ? "no EOF within 1 s (the source still holds the socket)" : "data or an error");
    say("exiting with descriptor 0x%lx still open", (unsigned long)s);
    return 0;
}
