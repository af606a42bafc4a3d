import net from 'node:net';
import type { AddressInfo, Socket } from 'node:net';

/**
 * A TCP relay on 127.0.0.1 in front of a server (PostgreSQL, in the fault
 * tests), which a test can take down and bring back on the same port: `down()`
 * cuts every open connection and refuses new ones, as a stopped or
 * unreachable database server does; `up()` listens again.
 */
export interface TcpProxy {
  readonly port: number;
  /** Cuts every relayed connection and stops listening (connections are refused). */
  down(): Promise<void>;
  /** Listens again on the same port. */
  up(): Promise<void>;
  close(): Promise<void>;
}

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  const track = (socket: Socket): void => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
  };
  let server: net.Server | undefined;
  const listen = (port: number): Promise<net.Server> =>
    new Promise((resolve, reject) => {
      const s = net.createServer((client) => {
        const upstream = net.connect(target.port, target.host);
        track(client);
        track(upstream);
        client.pipe(upstream);
        upstream.pipe(client);
        client.on('close', () => upstream.destroy());
        upstream.on('close', () => client.destroy());
      });
      s.once('error', reject);
      s.listen(port, '127.0.0.1', () => resolve(s));
    });
  server = await listen(0);
  const { port } = server.address() as AddressInfo;
  const down = async (): Promise<void> => {
    const closing = server;
    server = undefined;
    for (const socket of sockets) socket.destroy();
    if (closing !== undefined) await new Promise<void>((resolve) => closing.close(() => resolve()));
  };
  return {
    port,
    down,
    async up() {
      server ??= await listen(port);
    },
    close: down,
  };
}
