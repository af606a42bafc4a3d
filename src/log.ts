import pino from 'pino';
import type { Logger } from 'pino';

export type { Logger };

/**
 * Structured JSON logs on standard error (standard output belongs to command
 * results). Secrets and uploaded content never go to the log: the redact list
 * is a safety net, not a licence to log request bodies.
 */
export function createLogger(level: string, name = 'takedown'): Logger {
  return pino(
    {
      name,
      level,
      redact: {
        paths: [
          'req.headers.authorization',
          'req.headers.cookie',
          '*.password',
          '*.apiKey',
          '*.key',
        ],
        censor: '[redacted]',
      },
    },
    pino.destination(2),
  );
}
