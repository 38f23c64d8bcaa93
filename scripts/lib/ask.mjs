// A request to a sample server under Wine (prefork --serve, stack-walk --serve): one connection, the text sent, the
// whole answer read to the server's close.
import { connect } from 'node:net';

/**
 * Sends `text` on a new connection to 127.0.0.1:`port` and resolves with the whole answer. A server still starting
 * (a Wine process start on a loaded machine) is waited for up to `timeoutMs`.
 */
export function ask(port, text, timeoutMs = 60_000) {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(text));
    let answer = '';
    socket.setTimeout(timeoutMs, () => socket.destroy(new Error(`the server did not answer ${JSON.stringify(text)} within ${timeoutMs / 1000} s`)));
    socket.on('data', (chunk) => (answer += chunk.toString('utf8')));
    socket.on('end', () => resolve(answer));
    socket.on('error', reject);
  });
}
