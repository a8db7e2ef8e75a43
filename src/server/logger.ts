import pino, { type DestinationStream, type Logger } from 'pino';

/**
 * pino JSON. Request objects are never serialised (the access log writes its own fields), so no body,
 * query string or header value can reach a log line by accident.
 */
export function createLogger(level: string, stream?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'infernode' },
      timestamp: pino.stdTimeFunctions.isoTime,
      serializers: { req: () => undefined, res: () => undefined },
      redact: { paths: ['input', '*.input', 'prompt', '*.prompt', 'messages', '*.messages', 'body', '*.body', 'headers', '*.headers'], remove: true },
    },
    stream,
  );
}
