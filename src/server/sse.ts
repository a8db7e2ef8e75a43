import type { FastifyReply } from 'fastify';

export interface SseEvent {
  id?: number;
  event?: string;
  data: string;
}

export interface EventStream {
  /** writes one event; returns false once the client is gone */
  send(event: SseEvent): boolean;
  /** ends the stream after `last`, written with the end in one socket write */
  end(last?: SseEvent[]): void;
  readonly closed: boolean;
  onClose(listener: () => void): void;
}

export const HEARTBEAT_MS = 15_000;

const format = ({ id, event, data }: SseEvent): string =>
  `${id !== undefined ? `id: ${id}\n` : ''}${event ? `event: ${event}\n` : ''}data: ${data}\n\n`;

/** Takes over the reply for text/event-stream; a comment line every 15 s keeps proxies from timing out. */
export function openEventStream(reply: FastifyReply): EventStream {
  reply.hijack();
  const raw = reply.raw;
  raw.writeHead(200, {
    'Content-Type': 'text/event-stream; charset=utf-8',
    'Cache-Control': 'no-cache, no-transform',
    Connection: 'keep-alive',
    'X-Accel-Buffering': 'no',
  });
  let closed = false;
  const listeners: Array<() => void> = [];
  const heartbeat = setInterval(() => raw.write(': keep-alive\n\n'), HEARTBEAT_MS);
  heartbeat.unref();
  const close = (): void => {
    if (closed) return;
    closed = true;
    clearInterval(heartbeat);
    for (const l of listeners) l();
  };
  raw.once('close', close);
  return {
    get closed() {
      return closed;
    },
    send(event) {
      if (closed) return false;
      // events sent in one tick (the tokens of one executor message) leave in one socket write
      if (raw.writableCorked === 0) {
        raw.cork();
        process.nextTick(() => raw.uncork());
      }
      raw.write(format(event));
      return true;
    },
    end(last = []) {
      if (!closed) raw.end(last.map(format).join(''));
      close();
    },
    onClose(listener) {
      if (closed) listener();
      else listeners.push(listener);
    },
  };
}
