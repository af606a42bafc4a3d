import { createAdaptorServer } from '@hono/node-server';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { TakedownError } from '../errors.js';
import type { ApiApp } from './types.js';

export interface RunningServer {
  /** Serves `app` from now on (the server starts with a placeholder while the database opens). */
  setApp(app: ApiApp): void;
  /** e.g. http://127.0.0.1:8080 (the real port when 0 was asked for). */
  readonly url: string;
  readonly port: number;
  /**
   * Stops accepting connections and lets requests in flight finish, for at
   * most `graceMs`; then drops what is left.
   */
  close(graceMs: number): Promise<void>;
}

export async function listen(
  app: ApiApp,
  options: { port: number; host: string },
): Promise<RunningServer> {
  let current = app;
  const server = createAdaptorServer({
    fetch: (request, env) => current.fetch(request, env),
  }) as Server;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      const where = `${options.host}:${options.port}`;
      if (error.code === 'EADDRINUSE') {
        reject(
          new TakedownError(
            'port-in-use',
            `Port ${options.port} on ${options.host} is already in use; choose another with --port or PORT.`,
            { kind: 'conflict', cause: error },
          ),
        );
      } else if (error.code === 'EADDRNOTAVAIL' || error.code === 'ENOTFOUND') {
        reject(
          new TakedownError(
            'bad-host',
            `Cannot listen on ${where}: no such local address; check --host or HOST.`,
            { cause: error },
          ),
        );
      } else {
        reject(error);
      }
    });
    server.listen(options.port, options.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  return {
    setApp: (next) => {
      current = next;
    },
    url: `http://${host}:${port}`,
    port,
    close: (graceMs) =>
      new Promise<void>((resolve) => {
        const deadline = setTimeout(() => server.closeAllConnections(), graceMs);
        // A keep-alive connection goes idle when its last response is sent and
        // would then hold close() open until the client hangs up: sweep them.
        const sweep = setInterval(() => server.closeIdleConnections(), 50);
        server.close(() => {
          clearTimeout(deadline);
          clearInterval(sweep);
          resolve();
        });
        server.closeIdleConnections();
      }),
  };
}
