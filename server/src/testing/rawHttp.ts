/**
 * HTTP by hand on raw TCP, for tests that send what no HTTP client would: made-up request lines, targets and
 * headers, websocket handshakes cut short. `raw` reads until the server has answered: an HTTP status, or a 101
 * and then the websocket close frame the server sends when it refuses the socket after accepting it.
 */
import { randomBytes } from 'node:crypto';
import net from 'node:net';

export interface RawAnswer {
  /** HTTP status of the answer's first line (0 when the server sent nothing before closing). */
  status: number;
  /** The websocket close code, when the upgrade was accepted and then closed. */
  closeCode?: number;
  text: string;
}

/** The close code of the first frame after a 101 answer, if that frame is a close frame. */
function closeCodeAfter101(bytes: Buffer): number | undefined {
  const end = bytes.indexOf('\r\n\r\n');
  if (end < 0) return undefined;
  const frame = bytes.subarray(end + 4);
  if (frame.length < 4 || (frame[0] & 0x0f) !== 0x8) return undefined;
  return frame.readUInt16BE(2);
}

export interface RawOptions {
  /** Drop the connection with a TCP reset right after sending, as a vanished client does. */
  reset?: boolean;
  /** Stop at a 101 instead of waiting for a close frame (a socket the server keeps open). */
  until101?: boolean;
}

/** Sends `request` as it is to 127.0.0.1:`port` and resolves with the server's answer. */
export function raw(port: number, request: string | Buffer, options: RawOptions = {}): Promise<RawAnswer> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let bytes = Buffer.alloc(0);
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      socket.destroy();
      const text = bytes.toString('latin1');
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0);
      resolve({ status, closeCode: status === 101 ? closeCodeAfter101(bytes) : undefined, text });
    };
    socket.on('connect', () => {
      socket.write(request);
      if (options.reset) {
        socket.resetAndDestroy();
        finish();
      }
    });
    socket.on('data', (chunk) => {
      bytes = Buffer.concat([bytes, chunk]);
      const text = bytes.toString('latin1');
      const upgraded = text.startsWith('HTTP/1.1 101') && !options.until101;
      if (upgraded ? closeCodeAfter101(bytes) !== undefined : text.includes('\r\n\r\n')) finish();
    });
    socket.on('error', finish);
    socket.on('close', finish);
  });
}

/** A fresh, valid Sec-WebSocket-Key. */
export const websocketKey = () => randomBytes(16).toString('base64');

/** A websocket upgrade request for `target`, with `extra` header lines and without the `omit`ted headers. */
export function upgradeRequest(target: string, extra: string[] = [], omit: string[] = []): string {
  const headers = [
    'Host: 127.0.0.1',
    'Upgrade: websocket',
    'Connection: Upgrade',
    `Sec-WebSocket-Key: ${websocketKey()}`,
    'Sec-WebSocket-Version: 13',
  ].filter((h) => !omit.some((name) => h.toLowerCase().startsWith(name.toLowerCase() + ':')));
  return [`GET ${target} HTTP/1.1`, ...headers, ...extra, '', ''].join('\r\n');
}
