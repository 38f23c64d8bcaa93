/*
 * prefork - a pre-fork server: one listening socket handed to two workers, each serving connections from it.
 * "A typical use for shared sockets is to have one process that is responsible for creating sockets and
 * establishing connections, hand off sockets to other processes." The source starts worker A and worker B, makes a
 * listener, duplicates it for A and then for B before either imports (each WSAPROTOCOL_INFO is made for its own
 * worker's pid), sends each worker its structure and closes its own descriptor once both imported (step 10). Each
 * worker imports its structure once and accepts one connection on the shared listener. Under Wine 8 the two
 * structures are byte-equal (both carry the same target-side handle value); on Windows they differ.
 */
#include "../common/share.h"
#include <stdio.h>
#include <string.h>

/* Serving mode's worker ("server-A", "server-B"): answers each connection with its label until one says "quit". */
static int serving_worker(SOCKET listener, const char *label)
{
    for (;;) {
        SOCKET conn = accept(listener, NULL, NULL);
        if (conn == INVALID_SOCKET) die("accept failed: %d (%s)", WSAGetLastError(), wsa_error_name(WSAGetLastError()));
        char buf[32];
        int n = recv_within(conn, buf, sizeof buf - 1, 5000);
        buf[n > 0 ? n : 0] = 0;
        send(conn, label, (int)strlen(label), 0);
        closesocket(conn);
        if (strcmp(buf, "quit") == 0) break;
    }
    closesocket(listener);
    WSACleanup();
    return 0;
}

static int worker(channel_t *ch, const char *label)
{
    WSAPROTOCOL_INFOW info;
    wsa_start();
    answer_pid(ch);
    recv_info(ch, &info);
    /* The source made its listener with socket(): the import passes WSA_FLAG_OVERLAPPED too. */
    SOCKET listener = WSASocketW(FROM_PROTOCOL_INFO, FROM_PROTOCOL_INFO, FROM_PROTOCOL_INFO, &info, 0, WSA_FLAG_OVERLAPPED);
    if (listener == INVALID_SOCKET) die("import failed: %d (%s)", WSAGetLastError(), wsa_error_name(WSAGetLastError()));
    say("imported the listener as 0x%lx", (unsigned long)listener);
    put_tag(ch, 'I');
    if (strncmp(label, "server-", 7) == 0) return serving_worker(listener, label);
    SOCKET conn = accept(listener, NULL, NULL);
    if (conn == INVALID_SOCKET) die("accept failed: %d (%s)", WSAGetLastError(), wsa_error_name(WSAGetLastError()));
    char buf[32];
    int n = recv_within(conn, buf, sizeof buf - 1, 5000);
    if (n > 0) buf[n] = 0;
    say("accepted a connection and received: %s", n > 0 ? buf : "nothing");
    send(conn, label, (int)strlen(label), 0);
    closesocket(conn);
    closesocket(listener);
    WSACleanup();
    return 0;
}

/* Connects a client to the shared listener and returns the label of the worker that answered it. */
static void serve_one(const struct sockaddr_in *addr, const char *greeting, char *served_by, int len)
{
    SOCKET client = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
    if (client == INVALID_SOCKET) die("client socket failed: %d", WSAGetLastError());
    if (connect(client, (const struct sockaddr *)addr, sizeof *addr) != 0) die("connect failed: %d", WSAGetLastError());
    send(client, greeting, (int)strlen(greeting), 0);
    int n = recv_within(client, served_by, len - 1, 5000);
    served_by[n > 0 ? n : 0] = 0;
    /* Which worker takes which client is the kernel's choice: the line names neither, so runs compare equal. */
    say("%s was served by %s", greeting, n > 0 ? "a worker" : "nobody");
    closesocket(client);
}

/*
 * Serving mode (prefork.exe --serve DIR): listens first and writes "PID PORT" to DIR\\server.txt, then starts its
 * workers only once DIR\\go exists, so that a tracer can attach to it before. The workers serve until each has
 * answered a "quit"; the server waits for both.
 */
static int serve(const char *dir)
{
    char path[MAX_PATH];
    wsa_start();
    struct sockaddr_in addr;
    SOCKET listener = loopback_listen(&addr);
    /* The workers get the listener by handoff only, not by inheritance. */
    SetHandleInformation((HANDLE)listener, HANDLE_FLAG_INHERIT, 0);
    snprintf(path, sizeof path, "%s\\server.txt.tmp", dir);
    FILE *f = fopen(path, "w");
    if (!f) die("cannot write %s", path);
    fprintf(f, "%lu %u\n", GetCurrentProcessId(), ntohs(addr.sin_port));
    fclose(f);
    char done[MAX_PATH];
    snprintf(done, sizeof done, "%s\\server.txt", dir);
    MoveFileA(path, done);
    say("listening on port %u; waiting for %s\\go", ntohs(addr.sin_port), dir);
    snprintf(path, sizeof path, "%s\\go", dir);
    while (GetFileAttributesA(path) == INVALID_FILE_ATTRIBUTES) Sleep(50);

    child_t a = spawn_child("server-A"), b = spawn_child("server-B");
    DWORD pid_a = request_pid(&a.ch), pid_b = request_pid(&b.ch);
    WSAPROTOCOL_INFOW for_a, for_b;
    if (WSADuplicateSocketW(listener, pid_a, &for_a) != 0) die("WSADuplicateSocketW for A failed: %d", WSAGetLastError());
    if (WSADuplicateSocketW(listener, pid_b, &for_b) != 0) die("WSADuplicateSocketW for B failed: %d", WSAGetLastError());
    send_info(&a.ch, &for_a);
    send_info(&b.ch, &for_b);
    expect_tag(&a.ch, 'I');
    expect_tag(&b.ch, 'I');
    say("both workers imported; closesocket on the listener returned %d", closesocket(listener));
    say("worker A exited with %lu, worker B with %lu", wait_child(&a, INFINITE), wait_child(&b, INFINITE));
    WSACleanup();
    return 0;
}

int main(int argc, char **argv)
{
    channel_t ch;
    const char *label;
    if (is_child(argc, argv, &ch, &label)) return worker(&ch, label);
    if (argc == 3 && strcmp(argv[1], "--serve") == 0) return serve(argv[2]);

    child_t a = spawn_child("worker-A"), b = spawn_child("worker-B");
    wsa_start();
    struct sockaddr_in addr;
    SOCKET listener = loopback_listen(&addr);
    DWORD pid_a = request_pid(&a.ch), pid_b = request_pid(&b.ch);

    /* Both duplicates are made before either worker imports: a pre-fork server prepares every worker first. */
    WSAPROTOCOL_INFOW for_a, for_b;
    if (WSADuplicateSocketW(listener, pid_a, &for_a) != 0) die("WSADuplicateSocketW for A failed: %d", WSAGetLastError());
    if (WSADuplicateSocketW(listener, pid_b, &for_b) != 0) die("WSADuplicateSocketW for B failed: %d", WSAGetLastError());
    say("duplicated the listener for worker A (pid %lu) and worker B (pid %lu); the structures are %s",
        pid_a, pid_b, memcmp(&for_a, &for_b, sizeof for_a) == 0 ? "byte-equal" : "different");
    send_info(&a.ch, &for_a);
    send_info(&b.ch, &for_b);
    expect_tag(&a.ch, 'I');
    expect_tag(&b.ch, 'I');
    say("both workers imported; closesocket on the listener returned %d", closesocket(listener)); /* step 10 */

    char first[16], second[16];
    serve_one(&addr, "client 1", first, sizeof first);
    serve_one(&addr, "client 2", second, sizeof second);
    int both = strcmp(first, second) != 0 && (strcmp(first, "worker-A") == 0 || strcmp(first, "worker-B") == 0) &&
               (strcmp(second, "worker-A") == 0 || strcmp(second, "worker-B") == 0);
    say(both ? "both workers accepted a connection" : "the workers did not both accept a connection");
    say("worker A exited with %lu, worker B with %lu", wait_child(&a, 10000), wait_child(&b, 10000));
    WSACleanup();
    return both ? 0 : 1;
}
