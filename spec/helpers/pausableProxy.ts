// A TCP proxy on 127.0.0.1 whose answers a test can hold back: a connection
// through it (a worker's heartbeat pool, say) sends its statements, PostgreSQL
// runs them, and the replies wait until `release()`, as on a slow round trip.
import net from 'node:net';
import { onCleanup } from './cleanup.js';

export interface PausableProxy {
  /** `url` (a postgres:// URL) pointed at the proxy instead. */
  through(url: string): string;
  /** Hold every reply from now on. */
  hold(): void;
  /** Send the held replies, in order, and pass replies through again. */
  release(): void;
}

export async function startPausableProxy(target: { host: string; port: number }): Promise<PausableProxy> {
  let holding = false;
  const held: { to: net.Socket; chunk: Buffer }[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(target.port, target.host);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => {});
      s.on('close', () => sockets.delete(s));
    }
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    client.pipe(upstream);
    upstream.on('data', (chunk: Buffer) => {
      if (holding) held.push({ to: client, chunk });
      else client.write(chunk);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  onCleanup(async () => {
    for (const s of sockets) s.destroy();
    await new Promise((r) => server.close(r));
  });
  return {
    through(url) {
      const u = new URL(url);
      u.hostname = '127.0.0.1';
      u.port = String(port);
      return u.toString();
    },
    hold() {
      holding = true;
    },
    release() {
      for (const { to, chunk } of held.splice(0)) if (!to.destroyed) to.write(chunk);
      holding = false;
    },
  };
}
