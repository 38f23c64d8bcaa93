/*
 * share.h - the plumbing every sample shares, so each sample shows only its Winsock scenario:
 * WSAStartup, a loopback TCP connection to hand over, the target process (this same .exe started with
 * --target) and the IPC of the handoff table (steps 2-4: the target's pid; steps 6-7: the WSAPROTOCOL_INFOW).
 */
#ifndef SOCKSHARE_SAMPLE_SHARE_H
#define SOCKSHARE_SAMPLE_SHARE_H

#include <winsock2.h>
#include <ws2tcpip.h>
#include <windows.h>

/* Every line a sample prints starts with its role, "[source]" or "[target]", and is flushed at once. */
void set_role(const char *role);
void say(const char *fmt, ...);
void die(const char *fmt, ...); /* prints, then exits with code 2 */
const char *wsa_error_name(int code);

/* WSAStartup(2.2), or die. */
void wsa_start(void);

/* A TCP socket listening on 127.0.0.1 at a free port (backlog 1); `addr` gets its address. */
SOCKET loopback_listen(struct sockaddr_in *addr);

/*
 * Connects `client` (created by the caller, with socket() or WSASocketW) to a loopback listener and
 * returns the accepted end, the "peer" that stays in the source process and talks to whoever holds `client`.
 */
SOCKET loopback_connect(SOCKET client, SOCKET *listener);

/* recv with a timeout: bytes received, 0 on EOF, -1 on error (WSAGetLastError), -2 when nothing came in `ms`. */
int recv_within(SOCKET s, char *buf, int len, int ms);

/* Two anonymous pipes between the source and one child. */
typedef struct {
    HANDLE rd, wr;
} channel_t;

typedef struct {
    channel_t ch;
    HANDLE process;
    DWORD pid;
} child_t;

/*
 * Starts this executable again as "<exe> --target <rd> <wr> <label>", inheriting the two pipe ends and
 * stdout/stderr. Start it before creating any socket: sockets are inheritable handles, and an inherited
 * copy would keep the connection open behind the samples' backs.
 */
child_t spawn_child(const char *label);
/* In the child: nonzero when argv says --target; fills the channel and the label. */
int is_child(int argc, char **argv, channel_t *ch, const char **label);
DWORD wait_child(child_t *c, DWORD ms); /* exit code, or STILL_ACTIVE (259) after a timeout */

void put(channel_t *ch, const void *data, DWORD n);
void get(channel_t *ch, void *data, DWORD n);
void put_tag(channel_t *ch, char tag);
void expect_tag(channel_t *ch, char tag);

/* Steps 2-4: the source asks for the target's pid; the target answers. */
DWORD request_pid(channel_t *ch);
void answer_pid(channel_t *ch);
/* Steps 6-7: the raw WSAPROTOCOL_INFOW (628 bytes on x64) travels over the pipe. */
void send_info(channel_t *ch, const WSAPROTOCOL_INFOW *info);
void recv_info(channel_t *ch, WSAPROTOCOL_INFOW *info);

#endif
