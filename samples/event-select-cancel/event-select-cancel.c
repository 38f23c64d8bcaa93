/*
 * event-select-cancel - "Issuing either of these calls [WSAEventSelect, WSAAsyncSelect] using any of the
 * shared descriptors cancels any previous event registration for the socket, regardless of which descriptor
 * was used to make that registration." The source registers FD_READ on its descriptor, hands the socket over,
 * and the target registers FD_READ on its own: when the peer sends, only the target's event is signalled.
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
    WSAEVENT ev = WSACreateEvent();
    /* This registration cancels the one the source made through its own descriptor. */
    say("WSAEventSelect(FD_READ) on the imported 0x%lx returned %d", (unsigned long)t, WSAEventSelect(t, ev, FD_READ));
    put_tag(ch, 'R');
    DWORD w = WaitForSingleObject(ev, 3000);
    say("target event signalled: %s", w == WAIT_OBJECT_0 ? "yes" : "no");
    char buf[64];
    int n = recv(t, buf, sizeof buf - 1, 0);
    if (n > 0) buf[n] = 0;
    say("target received: %s", n > 0 ? buf : "nothing");
    put_tag(ch, 'D');
    expect_tag(ch, 'C'); /* close only after the source closed its copy (step 10) */
    WSAEventSelect(t, NULL, 0);
    closesocket(t);
    WSACloseEvent(ev);
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
    WSAEVENT ev = WSACreateEvent();
    say("WSAEventSelect(FD_READ) on 0x%lx returned %d", (unsigned long)s, WSAEventSelect(s, ev, FD_READ));

    DWORD pid = request_pid(&child.ch);
    WSAPROTOCOL_INFOW info;
    if (WSADuplicateSocketW(s, pid, &info) != 0) die("WSADuplicateSocketW failed: %d", WSAGetLastError());
    send_info(&child.ch, &info);
    expect_tag(&child.ch, 'R'); /* the target has registered */

    say("peer sent %d bytes", send(peer, "data for FD_READ", 16, 0));
    DWORD w = WaitForSingleObject(ev, 1000);
    say("source event signalled: %s", w == WAIT_OBJECT_0 ? "yes" : "no (its registration was cancelled)");

    expect_tag(&child.ch, 'D');
    closesocket(s);
    put_tag(&child.ch, 'C');
    say("target exited with %lu", wait_child(&child, 10000));
    WSACloseEvent(ev);
    closesocket(peer);
    closesocket(listener);
    WSACleanup();
    return 0;
}
