/*
 * acceptex - the handoff of a socket accepted with AcceptEx. The source gets AcceptEx the documented way, from
 * WSAIoctl(SIO_GET_EXTENSION_FUNCTION_POINTER, WSAID_ACCEPTEX) (an extension function is not an export of ws2_32),
 * creates the accept socket beforehand with WSASocketW(WSA_FLAG_OVERLAPPED) (step 1), posts an overlapped AcceptEx
 * with an event, a client (the peer) connects, WSAGetOverlappedResult reports the completion, and
 * setsockopt(SO_UPDATE_ACCEPT_CONTEXT) gives the accepted socket the listener's properties. Then the handoff of
 * handoff.c: 2-4) the target's pid, 5) WSADuplicateSocketW, 6) the WSAPROTOCOL_INFOW, 8) the target's
 * WSASocketW(FROM_PROTOCOL_INFO x3, &info, 0, WSA_FLAG_OVERLAPPED), 10) closesocket in the source after the import;
 * 9) the target reads the peer's line and answers it, then closes: the peer sees the answer, then EOF.
 */
#include "../common/share.h"
#include <mswsock.h>
#include <stdio.h>
#include <string.h>

/* AcceptEx's address lengths: "at least 16 bytes more than the maximum address length for the transport protocol". */
#define ADDRESS_SPACE (sizeof(struct sockaddr_in) + 16)

static int target(channel_t *ch)
{
    WSAPROTOCOL_INFOW info;
    wsa_start();
    answer_pid(ch);
    recv_info(ch, &info); /* 7 */
    SOCKET t = WSASocketW(FROM_PROTOCOL_INFO, FROM_PROTOCOL_INFO, FROM_PROTOCOL_INFO, &info, 0, WSA_FLAG_OVERLAPPED); /* 8 */
    if (t == INVALID_SOCKET) die("import failed: %d", WSAGetLastError());
    say("imported the socket as 0x%lx", (unsigned long)t);
    put_tag(ch, 'I');
    expect_tag(ch, 'C'); /* the source closed its descriptor (step 10) */
    char buf[64];
    int n = recv_within(t, buf, sizeof buf - 1, 5000); /* 9 */
    if (n > 0) buf[n] = 0;
    say("received: %s", n > 0 ? buf : "nothing");
    const char *msg = "hello from the target";
    say("send returned %d", send(t, msg, (int)strlen(msg), 0));
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
    struct sockaddr_in addr;
    SOCKET listener = loopback_listen(&addr);

    /* The provider hands out its AcceptEx through the listening socket (mswsock.h's WSAID_ACCEPTEX: no -lmswsock). */
    GUID guid = WSAID_ACCEPTEX;
    LPFN_ACCEPTEX accept_ex = NULL;
    DWORD bytes = 0;
    if (WSAIoctl(listener, SIO_GET_EXTENSION_FUNCTION_POINTER, &guid, sizeof guid, &accept_ex, sizeof accept_ex, &bytes, NULL, NULL) != 0)
        die("WSAIoctl(SIO_GET_EXTENSION_FUNCTION_POINTER) failed: %d", WSAGetLastError());
    say("got AcceptEx from WSAIoctl(SIO_GET_EXTENSION_FUNCTION_POINTER)");

    /* 1: AcceptEx takes an accept socket that is "not bound or connected"; WSA_FLAG_OVERLAPPED for the overlapped call. */
    SOCKET s = WSASocketW(AF_INET, SOCK_STREAM, IPPROTO_TCP, NULL, 0, WSA_FLAG_OVERLAPPED);
    if (s == INVALID_SOCKET) die("WSASocketW failed: %d", WSAGetLastError());
    char addresses[2 * ADDRESS_SPACE];
    WSAOVERLAPPED ov;
    memset(&ov, 0, sizeof ov);
    ov.hEvent = WSACreateEvent();
    /* dwReceiveDataLength 0: complete on the connection itself, without waiting for the peer's first bytes. */
    if (accept_ex(listener, s, addresses, 0, ADDRESS_SPACE, ADDRESS_SPACE, &bytes, &ov)) say("AcceptEx completed at once");
    else if (WSAGetLastError() == WSA_IO_PENDING) say("AcceptEx is pending (WSA_IO_PENDING)");
    else die("AcceptEx failed: %d", WSAGetLastError());

    SOCKET peer = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
    if (peer == INVALID_SOCKET || connect(peer, (struct sockaddr *)&addr, sizeof addr) != 0) die("connect failed: %d", WSAGetLastError());
    DWORD flags = 0;
    if (WaitForSingleObject(ov.hEvent, 5000) != WAIT_OBJECT_0) die("AcceptEx did not complete within 5 s");
    if (!WSAGetOverlappedResult(listener, &ov, &bytes, FALSE, &flags)) die("AcceptEx failed: %d", WSAGetLastError());
    say("AcceptEx accepted the connection as socket 0x%lx", (unsigned long)s);
    /* "the socket ... does not inherit the properties of the listening socket until SO_UPDATE_ACCEPT_CONTEXT is set". */
    if (setsockopt(s, SOL_SOCKET, SO_UPDATE_ACCEPT_CONTEXT, (char *)&listener, sizeof listener) != 0) die("SO_UPDATE_ACCEPT_CONTEXT failed: %d", WSAGetLastError());
    struct sockaddr_in remote;
    int len = sizeof remote;
    say("SO_UPDATE_ACCEPT_CONTEXT set; getpeername returned %d", getpeername(s, (struct sockaddr *)&remote, &len));

    DWORD pid = request_pid(&child.ch); /* 2-4 */
    WSAPROTOCOL_INFOW info;
    if (WSADuplicateSocketW(s, pid, &info) != 0) die("WSADuplicateSocketW failed: %d", WSAGetLastError()); /* 5 */
    say("duplicated for pid %lu (%d bytes of WSAPROTOCOL_INFOW)", pid, (int)sizeof info);
    send_info(&child.ch, &info); /* 6 */

    expect_tag(&child.ch, 'I');
    say("closesocket after the import returned %d", closesocket(s)); /* 10 */
    put_tag(&child.ch, 'C');

    const char *line = "hello from the peer";
    say("peer send returned %d", send(peer, line, (int)strlen(line), 0));
    char buf[64];
    int n = recv_within(peer, buf, sizeof buf - 1, 5000);
    if (n > 0) buf[n] = 0;
    say("peer received: %s", n > 0 ? buf : "nothing");
    n = recv_within(peer, buf, sizeof buf, 5000);
    say("peer then saw %s", n == 0 ? "EOF" : n == -2 ? "no EOF within 5 s" : "more data or an error");
    say("target exited with %lu", wait_child(&child, 10000));
    WSACloseEvent(ov.hEvent);
    closesocket(peer);
    closesocket(listener);
    WSACleanup();
    return 0;
}
