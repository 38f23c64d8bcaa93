/*
 * overlapped-flag-missing - "If the source process uses the socket function to create the socket, the
 * destination process must pass the WSA_FLAG_OVERLAPPED flag to its WSASocket function call."
 * The source creates the socket with socket() (an overlapped socket); the target imports it with dwFlags 0.
 */
#include "../common/share.h"
#include <stdio.h>

static int target(channel_t *ch)
{
    WSAPROTOCOL_INFOW info;
    wsa_start();
    answer_pid(ch);
    recv_info(ch, &info);
    /* The bug: dwFlags 0, although the source used socket(). */
    SOCKET t = WSASocketW(FROM_PROTOCOL_INFO, FROM_PROTOCOL_INFO, FROM_PROTOCOL_INFO, &info, 0, 0);
    if (t == INVALID_SOCKET) die("import without WSA_FLAG_OVERLAPPED failed: %d", WSAGetLastError());
    say("imported with dwFlags 0 as 0x%lx", (unsigned long)t);
    say("send returned %d", send(t, "no overlapped flag", 18, 0));
    put_tag(ch, 'I');
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
    SOCKET listener, s = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP); /* socket(): overlapped */
    SOCKET peer = loopback_connect(s, &listener);
    say("created 0x%lx with socket()", (unsigned long)s);
    DWORD pid = request_pid(&child.ch);
    WSAPROTOCOL_INFOW info;
    if (WSADuplicateSocketW(s, pid, &info) != 0) die("WSADuplicateSocketW failed: %d", WSAGetLastError());
    send_info(&child.ch, &info);
    expect_tag(&child.ch, 'I');
    closesocket(s);
    put_tag(&child.ch, 'C');

    char buf[32];
    int n = recv_within(peer, buf, sizeof buf - 1, 5000);
    if (n > 0) buf[n] = 0;
    say("peer received: %s", n > 0 ? buf : "nothing");
    say("target exited with %lu", wait_child(&child, 10000));
    closesocket(peer);
    closesocket(listener);
    WSACleanup();
    return 0;
}
