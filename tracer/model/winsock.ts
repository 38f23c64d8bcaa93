/** Winsock constants and their names, as winsock2.h / ws2def.h define them. Pure data and lookups. */

interface ErrorInfo {
  name: string;
  meaning: string;
}

/** WSAGetLastError codes (winerror.h, WSABASEERR = 10000). */
const WSA_ERRORS: Record<number, ErrorInfo> = {
  6: { name: 'WSA_INVALID_HANDLE', meaning: 'The specified event object handle is invalid.' },
  8: { name: 'WSA_NOT_ENOUGH_MEMORY', meaning: 'Insufficient memory available.' },
  87: { name: 'WSA_INVALID_PARAMETER', meaning: 'One or more parameters are invalid.' },
  995: { name: 'WSA_OPERATION_ABORTED', meaning: 'The overlapped operation has been canceled.' },
  996: { name: 'WSA_IO_INCOMPLETE', meaning: 'The overlapped I/O event object is not in a signaled state.' },
  997: { name: 'WSA_IO_PENDING', meaning: 'The overlapped operation will complete later.' },
  10004: { name: 'WSAEINTR', meaning: 'A blocking operation was interrupted by a call to WSACancelBlockingCall.' },
  10009: { name: 'WSAEBADF', meaning: 'The file handle supplied is not valid.' },
  10013: { name: 'WSAEACCES', meaning: 'An attempt was made to access a socket in a way forbidden by its access permissions.' },
  10014: { name: 'WSAEFAULT', meaning: 'A pointer argument is not a valid part of the user address space.' },
  10022: { name: 'WSAEINVAL', meaning: 'One of the specified parameters was invalid.' },
  10024: { name: 'WSAEMFILE', meaning: 'No more socket descriptors are available.' },
  10035: { name: 'WSAEWOULDBLOCK', meaning: 'A non-blocking socket operation could not be completed immediately.' },
  10036: { name: 'WSAEINPROGRESS', meaning: 'A blocking Windows Sockets 1.1 call is in progress, or the service provider is still processing a callback function.' },
  10037: { name: 'WSAEALREADY', meaning: 'An operation is already in progress on a non-blocking socket.' },
  10038: { name: 'WSAENOTSOCK', meaning: 'The descriptor is not a socket.' },
  10039: { name: 'WSAEDESTADDRREQ', meaning: 'A required destination address was omitted.' },
  10040: { name: 'WSAEMSGSIZE', meaning: 'The message was larger than the internal buffer.' },
  10041: { name: 'WSAEPROTOTYPE', meaning: 'The protocol is the wrong type for the socket.' },
  10042: { name: 'WSAENOPROTOOPT', meaning: 'An unknown, invalid or unsupported option or level was specified.' },
  10043: { name: 'WSAEPROTONOSUPPORT', meaning: 'The requested protocol is not supported.' },
  10044: { name: 'WSAESOCKTNOSUPPORT', meaning: 'The socket type is not supported in this address family.' },
  10045: { name: 'WSAEOPNOTSUPP', meaning: 'The operation is not supported for this type of socket.' },
  10046: { name: 'WSAEPFNOSUPPORT', meaning: 'The protocol family is not supported.' },
  10047: { name: 'WSAEAFNOSUPPORT', meaning: 'The address family is not supported by the protocol family.' },
  10048: { name: 'WSAEADDRINUSE', meaning: 'The address is already in use.' },
  10049: { name: 'WSAEADDRNOTAVAIL', meaning: 'The requested address is not valid in its context.' },
  10050: { name: 'WSAENETDOWN', meaning: 'The network subsystem has failed.' },
  10051: { name: 'WSAENETUNREACH', meaning: 'The network cannot be reached from this host.' },
  10052: { name: 'WSAENETRESET', meaning: 'The connection was broken by keep-alive activity.' },
  10053: { name: 'WSAECONNABORTED', meaning: 'The connection was aborted by the local host.' },
  10054: { name: 'WSAECONNRESET', meaning: 'The connection was reset by the remote host.' },
  10055: { name: 'WSAENOBUFS', meaning: 'No buffer space is available.' },
  10056: { name: 'WSAEISCONN', meaning: 'The socket is already connected.' },
  10057: { name: 'WSAENOTCONN', meaning: 'The socket is not connected.' },
  10058: { name: 'WSAESHUTDOWN', meaning: 'The socket has been shut down in that direction.' },
  10059: { name: 'WSAETOOMANYREFS', meaning: 'Too many references to a kernel object.' },
  10060: { name: 'WSAETIMEDOUT', meaning: 'The connection attempt timed out.' },
  10061: { name: 'WSAECONNREFUSED', meaning: 'The target actively refused the connection.' },
  10062: { name: 'WSAELOOP', meaning: 'Cannot translate the name.' },
  10063: { name: 'WSAENAMETOOLONG', meaning: 'The name is too long.' },
  10064: { name: 'WSAEHOSTDOWN', meaning: 'The destination host is down.' },
  10065: { name: 'WSAEHOSTUNREACH', meaning: 'No route to the host.' },
  10066: { name: 'WSAENOTEMPTY', meaning: 'The directory is not empty.' },
  10067: { name: 'WSAEPROCLIM', meaning: 'Too many processes are using Windows Sockets.' },
  10068: { name: 'WSAEUSERS', meaning: 'The user quota is exhausted.' },
  10069: { name: 'WSAEDQUOT', meaning: 'The disk quota is exhausted.' },
  10070: { name: 'WSAESTALE', meaning: 'The file handle reference is no longer available.' },
  10071: { name: 'WSAEREMOTE', meaning: 'The item is not available locally.' },
  10091: { name: 'WSASYSNOTREADY', meaning: 'The network subsystem is unavailable.' },
  10092: { name: 'WSAVERNOTSUPPORTED', meaning: 'The requested Winsock version is not supported.' },
  10093: { name: 'WSANOTINITIALISED', meaning: 'A successful WSAStartup call must occur before using this function.' },
  10101: { name: 'WSAEDISCON', meaning: 'A graceful shutdown is in progress.' },
  10102: { name: 'WSAENOMORE', meaning: 'No more results.' },
  10103: { name: 'WSAECANCELLED', meaning: 'The call has been canceled.' },
  10104: { name: 'WSAEINVALIDPROCTABLE', meaning: 'The procedure call table is invalid.' },
  10105: { name: 'WSAEINVALIDPROVIDER', meaning: 'The service provider is invalid.' },
  10106: { name: 'WSAEPROVIDERFAILEDINIT', meaning: 'The service provider failed to initialize.' },
  10107: { name: 'WSASYSCALLFAILURE', meaning: 'A system call that should never fail has failed.' },
  10108: { name: 'WSASERVICE_NOT_FOUND', meaning: 'No such service is known.' },
  10109: { name: 'WSATYPE_NOT_FOUND', meaning: 'The class type was not found.' },
  10110: { name: 'WSA_E_NO_MORE', meaning: 'No more results.' },
  10111: { name: 'WSA_E_CANCELLED', meaning: 'The call has been canceled.' },
  10112: { name: 'WSAEREFUSED', meaning: 'The database query was refused.' },
  11001: { name: 'WSAHOST_NOT_FOUND', meaning: 'No such host is known.' },
  11002: { name: 'WSATRY_AGAIN', meaning: 'A temporary error during host name resolution.' },
  11003: { name: 'WSANO_RECOVERY', meaning: 'A nonrecoverable error occurred during a database lookup.' },
  11004: { name: 'WSANO_DATA', meaning: 'The requested name is valid, but no data of the requested type was found.' },
};

export function errorName(code: number): string {
  return WSA_ERRORS[code]?.name ?? `error ${code}`;
}

/** "WSAEINVAL (10022): One of the specified parameters was invalid." */
export function describeError(code: number): string {
  const info = WSA_ERRORS[code];
  return info ? `${info.name} (${code}): ${info.meaning}` : `error ${code}`;
}

export const SOCKET_ERROR = -1;
export const INVALID_SOCKET = -1;
/** WSASocket's af/type/protocol value that means "take it from the WSAPROTOCOL_INFO". */
export const FROM_PROTOCOL_INFO = -1;

export const WSA_FLAG_OVERLAPPED = 0x01;
export const WSA_FLAG_NO_HANDLE_INHERIT = 0x80;

export const FIONBIO = 0x8004667e;
export const FIONREAD = 0x4004667f;
export const SIOCATMARK = 0x40047307;
/** WSAIoctl codes that turn QOS on for a socket (ws2def.h: _WSAIOW(IOC_WS2, 11/12)). */
export const SIO_SET_QOS = 0x8800000b;
export const SIO_SET_GROUP_QOS = 0x8800000c;

export const SD_RECEIVE = 0;
export const SD_SEND = 1;
export const SD_BOTH = 2;

export const AF_NAMES: Record<number, string> = { 0: 'AF_UNSPEC', 1: 'AF_UNIX', 2: 'AF_INET', 6: 'AF_IPX', 23: 'AF_INET6', 26: 'AF_IRDA', 32: 'AF_BTH', [-1]: 'FROM_PROTOCOL_INFO' };
export const SOCK_NAMES: Record<number, string> = { 1: 'SOCK_STREAM', 2: 'SOCK_DGRAM', 3: 'SOCK_RAW', 4: 'SOCK_RDM', 5: 'SOCK_SEQPACKET', [-1]: 'FROM_PROTOCOL_INFO' };
export const IPPROTO_NAMES: Record<number, string> = { 0: 'IPPROTO_IP', 1: 'IPPROTO_ICMP', 6: 'IPPROTO_TCP', 17: 'IPPROTO_UDP', 41: 'IPPROTO_IPV6', 58: 'IPPROTO_ICMPV6', 255: 'IPPROTO_RAW', [-1]: 'FROM_PROTOCOL_INFO' };
export const SHUTDOWN_NAMES: Record<number, string> = { 0: 'SD_RECEIVE', 1: 'SD_SEND', 2: 'SD_BOTH' };
export const LEVEL_NAMES: Record<number, string> = { 0xffff: 'SOL_SOCKET', 0: 'IPPROTO_IP', 6: 'IPPROTO_TCP', 17: 'IPPROTO_UDP', 41: 'IPPROTO_IPV6' };
export const SOL_SOCKET_OPTION_NAMES: Record<number, string> = {
  0x0001: 'SO_DEBUG', 0x0002: 'SO_ACCEPTCONN', 0x0004: 'SO_REUSEADDR', 0x0008: 'SO_KEEPALIVE', 0x0010: 'SO_DONTROUTE',
  0x0020: 'SO_BROADCAST', 0x0040: 'SO_USELOOPBACK', 0x0080: 'SO_LINGER', 0x0100: 'SO_OOBINLINE', [-129]: 'SO_DONTLINGER',
  [-5]: 'SO_EXCLUSIVEADDRUSE', 0x1001: 'SO_SNDBUF', 0x1002: 'SO_RCVBUF', 0x1005: 'SO_SNDTIMEO', 0x1006: 'SO_RCVTIMEO',
  0x1007: 'SO_ERROR', 0x1008: 'SO_TYPE', 0x2003: 'SO_MAX_MSG_SIZE', 0x3002: 'SO_CONDITIONAL_ACCEPT',
  // mswsock.h
  0x700b: 'SO_UPDATE_ACCEPT_CONTEXT', 0x700c: 'SO_CONNECT_TIME', 0x7010: 'SO_UPDATE_CONNECT_CONTEXT',
};
export const TCP_OPTION_NAMES: Record<number, string> = { 1: 'TCP_NODELAY', 3: 'TCP_KEEPALIVE', 16: 'TCP_KEEPCNT', 17: 'TCP_KEEPINTVL' };
export const IOCTL_NAMES: Record<number, string> = { [FIONBIO]: 'FIONBIO', [FIONREAD]: 'FIONREAD', [SIOCATMARK]: 'SIOCATMARK', [SIO_SET_QOS]: 'SIO_SET_QOS', [SIO_SET_GROUP_QOS]: 'SIO_SET_GROUP_QOS' };

/** FD_* network event bits (winsock2.h). */
export const FD_FLAGS: [number, string][] = [
  [0x001, 'FD_READ'], [0x002, 'FD_WRITE'], [0x004, 'FD_OOB'], [0x008, 'FD_ACCEPT'], [0x010, 'FD_CONNECT'],
  [0x020, 'FD_CLOSE'], [0x040, 'FD_QOS'], [0x080, 'FD_GROUP_QOS'], [0x100, 'FD_ROUTING_INTERFACE_CHANGE'],
  [0x200, 'FD_ADDRESS_LIST_CHANGE'],
];
export const WSA_FLAGS: [number, string][] = [
  [0x01, 'WSA_FLAG_OVERLAPPED'], [0x02, 'WSA_FLAG_MULTIPOINT_C_ROOT'], [0x04, 'WSA_FLAG_MULTIPOINT_C_LEAF'],
  [0x08, 'WSA_FLAG_MULTIPOINT_D_ROOT'], [0x10, 'WSA_FLAG_MULTIPOINT_D_LEAF'], [0x40, 'WSA_FLAG_ACCESS_SYSTEM_SECURITY'],
  [0x80, 'WSA_FLAG_NO_HANDLE_INHERIT'], [0x100, 'WSA_FLAG_REGISTERED_IO'],
];
/** XP1_* service flags of WSAPROTOCOL_INFO.dwServiceFlags1. */
export const XP1_FLAGS: [number, string][] = [
  [0x1, 'XP1_CONNECTIONLESS'], [0x2, 'XP1_GUARANTEED_DELIVERY'], [0x4, 'XP1_GUARANTEED_ORDER'], [0x8, 'XP1_MESSAGE_ORIENTED'],
  [0x10, 'XP1_PSEUDO_STREAM'], [0x20, 'XP1_GRACEFUL_CLOSE'], [0x40, 'XP1_EXPEDITED_DATA'], [0x80, 'XP1_CONNECT_DATA'],
  [0x100, 'XP1_DISCONNECT_DATA'], [0x200, 'XP1_SUPPORT_BROADCAST'], [0x400, 'XP1_SUPPORT_MULTIPOINT'],
  [0x800, 'XP1_MULTIPOINT_CONTROL_PLANE'], [0x1000, 'XP1_MULTIPOINT_DATA_PLANE'], [0x2000, 'XP1_QOS_SUPPORTED'],
  [0x4000, 'XP1_INTERRUPT'], [0x8000, 'XP1_UNI_SEND'], [0x10000, 'XP1_UNI_RECV'], [0x20000, 'XP1_IFS_HANDLES'],
  [0x40000, 'XP1_PARTIAL_MESSAGE'], [0x80000, 'XP1_SAN_SUPPORT_SDP'],
];
/** PFL_* provider flags of WSAPROTOCOL_INFO.dwProviderFlags. */
export const PFL_FLAGS: [number, string][] = [
  [0x1, 'PFL_MULTIPLE_PROTO_ENTRIES'], [0x2, 'PFL_RECOMMENDED_PROTO_ENTRY'], [0x4, 'PFL_HIDDEN'],
  [0x8, 'PFL_MATCHES_PROTOCOL_ZERO'], [0x10, 'PFL_NETWORKDIRECT_PROVIDER'],
];

export function nameOf(table: Record<number, string>, value: number): string {
  return table[value] ?? String(value);
}

/** "FD_READ|FD_CLOSE" for a mask; unknown bits as hex; "0" for none. */
export function flagNames(flags: [number, string][], mask: number): string {
  const names: string[] = [];
  let rest = mask >>> 0;
  for (const [bit, name] of flags) {
    if (rest & bit) {
      names.push(name);
      rest &= ~bit;
    }
  }
  if (rest) names.push(`0x${rest.toString(16)}`);
  return names.length ? names.join('|') : '0';
}

export function optionName(level: number, optname: number): string {
  const table = level === 0xffff ? SOL_SOCKET_OPTION_NAMES : level === 6 ? TCP_OPTION_NAMES : {};
  return `${nameOf(LEVEL_NAMES, level)}/${nameOf(table, optname)}`;
}

export function hex(value: number): string {
  return `0x${value.toString(16)}`;
}
