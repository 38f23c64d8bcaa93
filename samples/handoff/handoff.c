/*
 * handoff - the ten-step handoff of the WSADuplicateSocket page, done right.
 * Source: 1) WSASocket(WSA_FLAG_OVERLAPPED) + connect, 2-4) get the target's pid over IPC,
 * 5) WSADuplicateSocketW for that pid, 6) send the WSAPROTOCOL_INFOW, 10) closesocket after the import.
 * Target: 7) receive the structure, 8) WSASocketW(FROM_PROTOCOL_INFO x3, &info, 0, WSA_FLAG_OVERLAPPED)
 * ("both processes should pass the same flags"), 9) use it, then close it: the peer sees an orderly EOF.
 */
#include "../common/share.h"
#include <stdio.h>
#include <string.h>

static int target(channel_t *ch)
{
    WSAPROTOCOL_INFOW info;
    wsa_start();
    answer_pid(ch);
    recv_info(ch, &info); /* 7 */
    SOCKET t = WSASocketW(FROM_PROTOCOL_INFO, FROM_PROTOCOL_INFO, FROM_PROTOCOL_INFO, &info, 0, WSA_FLAG_OVERLAPPED); /* 8 */
    if (t == INVALID_SOCKET) die("import failed: %d", WSAGetLastError());
    say("imported the socket as 0x%lx", (unsigned long)t);
    const char *msg = "hello from the target";
    say("send returned %d", send(t, msg, (int)strlen(msg), 0)); /* 9 */
    put_tag(ch, 'I');
    expect_tag(ch, 'C'); /* the source closed its descriptor (step 10) */
    say("closesocket returned %d", closesocket(t));
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
    SOCKET listener, s = WSASocketW(AF_INET, SOCK_STREAM, IPPROTO_TCP, NULL, 0, WSA_FLAG_OVERLAPPED); /* 1 */
    SOCKET peer = loopback_connect(s, &listener);
    say("connected socket 0x%lx", (unsigned long)s);

    DWORD pid = request_pid(&child.ch); /* 2-4 */
    WSAPROTOCOL_INFOW info;
    if (WSADuplicateSocketW(s, pid, &info) != 0) die("WSADuplicateSocketW failed: %d", WSAGetLastError()); /* 5 */
    say("duplicated for pid %lu (%d bytes of WSAPROTOCOL_INFOW)", pid, (int)sizeof info);
    send_info(&child.ch, &info); /* 6 */

    expect_tag(&child.ch, 'I');
    say("closesocket after the import returned %d", closesocket(s)); /* 10 */
    put_tag(&child.ch, 'C');

    char buf[64];
    int n = recv_within(peer, buf, sizeof buf - 1, 5000);
    if (n > 0) buf[n] = 0;
    say("peer received: %s", n > 0 ? buf : "nothing");
    n = recv_within(peer, buf, sizeof buf, 5000);
    say("peer then saw %s", n == 0 ? "EOF" : n == -2 ? "no EOF within 5 s" : "more data or an error");
    say("target exited with %lu", wait_child(&child, 10000));
    closesocket(peer);
    closesocket(listener);
    WSACleanup();
    return 0;
}
