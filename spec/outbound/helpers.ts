// Real local servers for the outbound tests (no mocks).
import http from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import assert from 'node:assert/strict';
import { OutboundError } from '../../core/outbound/index.js';
import type { OutboundErrorCode, OutboundOptions } from '../../core/outbound/index.js';

export interface TestServer {
  port: number;
  origin: string;
  connections: number;
  close(): Promise<void>;
}

export async function startHttpServer(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
  host = '127.0.0.1',
): Promise<TestServer> {
  const server = http.createServer(handler);
  const state = { connections: 0 };
  server.on('connection', () => {
    state.connections++;
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const { port } = server.address() as AddressInfo;
  return {
    port,
    origin: `http://${host}:${port}`,
    get connections() {
      return state.connections;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Raw TCP server, for responses node:http refuses to produce (slowloris). */
export async function startTcpServer(onSocket: (socket: net.Socket) => void): Promise<TestServer> {
  const sockets = new Set<net.Socket>();
  const state = { connections: 0 };
  const server = net.createServer((socket) => {
    state.connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    onSocket(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    port,
    origin: `http://127.0.0.1:${port}`,
    get connections() {
      return state.connections;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

export const baseOptions: OutboundOptions = {
  allowPrivateNetworks: true,
  userAgent: 'GleanerTest/1.0',
  connectTimeoutMs: 500,
  headersTimeoutMs: 500,
  bodyTimeoutMs: 500,
  totalTimeoutMs: 1000,
  maxBodyBytes: 1024 * 1024,
  maxRedirects: 5,
};

/** Assert that `promise` rejects with an OutboundError of `code`; returns it for further checks. */
export async function expectOutboundError(promise: Promise<unknown>, code: OutboundErrorCode): Promise<OutboundError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof OutboundError, `expected OutboundError, got ${String(err)}`);
    assert.equal(err.code, code, `expected ${code}, got ${err.code}: ${err.message}`);
    return err;
  }
  assert.fail(`expected rejection with ${code}, but it resolved`);
}
