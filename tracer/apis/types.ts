/**
 * The shape of one hooked-API entry: what the capture decodes, what the stubs would copy from memory, and how the
 * readers show each value. Plain data, no imports: the trace format, the capture, the model and the formatters all
 * read it.
 */

/** How RAX is read: a SOCKET (UINT_PTR, INVALID_SOCKET = ~0), an int (SOCKET_ERROR = -1) or a BOOL (FALSE = 0). */
export type ReturnKind = 'socket' | 'int' | 'bool';

/** Flag tables (tracer/model/winsock.ts): a value shown as "FD_READ|FD_CLOSE". */
export type FlagTable = 'WSA_FLAGS' | 'FD_FLAGS';

/** Name tables (tracer/model/winsock.ts): a value shown as one constant, "AF_INET". */
export type EnumTable = 'AF_NAMES' | 'SOCK_NAMES' | 'IPPROTO_NAMES' | 'SHUTDOWN_NAMES' | 'LEVEL_NAMES' | 'IOCTL_NAMES';

/**
 * How a reader shows a decoded value:
 * - `decimal`, `hex`: the number as is;
 * - `socket`: a descriptor label ("0x1a4");
 * - `flags:<table>`, `enum:<table>`: named through a table of tracer/model/winsock.ts;
 * - `option-name`: setsockopt's optname, named by the call's `level` argument;
 * - `pointer`: an address string ("0x…"), shown as is;
 * - `sockaddr`, `protocol-info`, `option-value`, `fd-set`, `handle-list`, `text`: decoded from memory, shown as decoded.
 */
export type ArgDisplay =
  | 'decimal'
  | 'hex'
  | 'socket'
  | `flags:${FlagTable}`
  | `enum:${EnumTable}`
  | 'option-name'
  | 'pointer'
  | 'sockaddr'
  | 'protocol-info'
  | 'option-value'
  | 'fd-set'
  | 'handle-list'
  | 'text';

/**
 * What a decoded value is (and so which ArgValue it becomes in the trace):
 * - `socket`: a SOCKET passed by value (a number, INVALID_SOCKET = -1);
 * - `int`, `uint`, `word`: an integer passed by value (32-bit signed, unsigned, the low 16 bits);
 * - `handle`: a HANDLE / HWND / WSAEVENT passed by value ("0x…");
 * - `pointer`: an address the capture does not read ("0x…");
 * - the rest are read from memory (see ArgSpec.memory): a sockaddr ("10.0.0.1:80"), a WSAPROTOCOL_INFO decoded field
 *   by field, an option value (an int when 4 bytes, else hex), a u32 the pointer points at, an fd_set's sockets, an
 *   array of handles, a code pointer, an extension function's name.
 */
export type ArgKind =
  | 'socket'
  | 'int'
  | 'uint'
  | 'word'
  | 'handle'
  | 'pointer'
  | 'sockaddr'
  | 'protocol-info'
  | 'option-value'
  | 'u32-in-memory'
  | 'fd-set'
  | 'handle-array'
  | 'pointer-in-memory'
  | 'extension-function';

/**
 * How many bytes a memory span covers:
 * - `bytes`: a constant (a structure's size);
 * - `param`: another parameter's value (times `scale`, default 1), at most `maxBytes`;
 * - `pointee`: the u32 another parameter points at (an in/out length such as accept's *addrlen), at most `maxBytes`;
 * - `counted`: a structure that starts with a u32 count, then `headerBytes` in, `count` elements of `elementBytes`
 *   (an fd_set: u_int fd_count, padding, SOCKET fd_array[]), at most `maxBytes`.
 */
export type SpanLength =
  | { readonly bytes: number }
  | { readonly param: number; readonly scale?: number; readonly maxBytes: number }
  | { readonly pointee: number; readonly maxBytes: number }
  | { readonly counted: { readonly headerBytes: number; readonly elementBytes: number }; readonly maxBytes: number };

/**
 * A region of the caller's memory an argument or out-parameter is decoded from. A stub that records the call in
 * process copies `length` bytes from the address in parameter `pointer`, at the call (`entry`: an input) or after the
 * return (`return`: the callee fills it). A NULL pointer means nothing to copy.
 */
export interface MemorySpan {
  /** The parameter holding the address (0 = RCX, 1 = RDX, 2 = R8, 3 = R9, then the stack from [RSP+0x28]). */
  readonly pointer: number;
  readonly length: SpanLength;
  readonly when: 'entry' | 'return';
}

/** One decoded argument, as named in the trace's `args`. */
export interface ArgSpec {
  readonly name: string;
  /** The parameter the value comes from (its value, or the address its bytes are read at). */
  readonly param: number;
  /** The C type as declared in winsock2.h / mswsock.h. */
  readonly cType: string;
  readonly kind: ArgKind;
  readonly display: ArgDisplay;
  /** The raw number is written in hex beside its name (flags, control codes, SOL_SOCKET = 0xffff). */
  readonly radix?: 16;
  /** Left out of the compact call form ("bind(s=0x1a4, name=…)"): lengths and out-buffers that say nothing new. */
  readonly hidden?: boolean;
  /** Left out of the compact call form when zero, its default (WSASocket's socket group g). */
  readonly hiddenWhenZero?: boolean;
  /** Set when the value is read from the caller's memory rather than taken from a register or stack slot. */
  readonly memory?: MemorySpan;
}

/** One out-parameter, as named in the return event's `out`, read after a successful return. */
export interface OutSpec {
  readonly name: string;
  readonly cType: string;
  readonly kind: ArgKind;
  readonly display: ArgDisplay;
  readonly radix?: 16;
  /** The argument whose buffer the call filled (a debugger shows the out-parameter there). */
  readonly fills?: string;
  readonly memory: MemorySpan;
}

export interface ApiEntry {
  /** The A/W function pair it belongs to (WSASocket for WSASocketA and WSASocketW); its own name otherwise. */
  readonly family: string;
  /** ANSI or wide variant: which WSAPROTOCOL_INFO it takes. */
  readonly charset?: 'A' | 'W';
  readonly returns: ReturnKind;
  /** The error comes back as the return value (WSAStartup), not through WSAGetLastError. */
  readonly errorInResult?: boolean;
  /**
   * Where its code is found: a ws2_32 export, or a Winsock extension function reached only through the pointer
   * WSAIoctl(SIO_GET_EXTENSION_FUNCTION_POINTER) hands out (AcceptEx lives in mswsock).
   */
  readonly entryPoint: 'ws2_32-export' | 'extension-function';
  /** How many parameters the function takes (more than four: the rest are on the stack). */
  readonly paramCount: number;
  readonly args: readonly ArgSpec[];
  readonly out?: readonly OutSpec[];
}
