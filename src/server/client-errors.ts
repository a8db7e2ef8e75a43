import type { Socket } from 'node:net';
import type { Logger } from 'pino';

/** What Node's HTTP parser could not read, answered before any route or hook sees the request. */
const ANSWERS: Record<string, { status: string; message: string }> = {
  ERR_HTTP_REQUEST_TIMEOUT: { status: '408 Request Timeout', message: 'the request did not arrive in time' },
  HPE_HEADER_OVERFLOW: { status: '431 Request Header Fields Too Large', message: 'the request headers are over the size allowed' },
};
const MALFORMED = { status: '400 Bad Request', message: 'the request is not valid HTTP' };

/**
 * Fastify's own handler logs the parser's error whole, and that error carries the raw bytes it read (the URL,
 * headers with bearer tokens, the start of the body: prompts). This one logs the parser's code only, and answers
 * in the node's error shape.
 */
export function clientErrorHandler(log: Logger): (err: NodeJS.ErrnoException, socket: Socket) => void {
  return (err, socket) => {
    if (err.code === 'ECONNRESET' || socket.destroyed) return;
    const answer = (err.code && ANSWERS[err.code]) || MALFORMED;
    log.debug({ code: err.code }, 'malformed HTTP request');
    if (socket.writable) {
      const body = JSON.stringify({ error: { code: 'invalid_request', message: answer.message } });
      socket.write(`HTTP/1.1 ${answer.status}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n${body}`);
    }
    socket.destroy();
  };
}
