/** The scripted model servers' listening: loopback only, a free port, and a close that does not wait for hanging streams. */
import type http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** Listens on 127.0.0.1 with a free port; close() also ends open (e.g. hanging) connections. */
export async function listenOnLoopback(server: http.Server): Promise<{ port: number; close: () => Promise<void> }> {
  const sockets = new Set<Socket>();
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const close = () =>
    new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    });
  return { port, close };
}
