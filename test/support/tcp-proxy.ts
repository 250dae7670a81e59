import net from 'node:net';

/**
 * A TCP proxy a test can cut: `drop()` destroys every connection through it without a clean
 * close and refuses new ones until `restore()`, as a network change or a recycled proxy does.
 * Listens on an ephemeral port of 127.0.0.1.
 */
export class TcpProxy {
  private readonly sockets = new Set<net.Socket>();
  private down = false;

  /** Where new connections go; {@link retarget} moves them (a client coming back on another instance). */
  private targetPort = 0;

  private constructor(
    private readonly server: net.Server,
    readonly port: number,
  ) {}

  static async start(targetPort: number, targetHost = '127.0.0.1'): Promise<TcpProxy> {
    // Connections arrive only once the server listens, after `proxy` below is set.
    const server = net.createServer((client) => {
      if (proxy.down) return void client.destroy();
      const upstream = net.connect(proxy.targetPort, targetHost);
      for (const [socket, other] of [
        [client, upstream],
        [upstream, client],
      ] as const) {
        proxy.sockets.add(socket);
        socket.on('error', () => other.destroy());
        socket.on('close', () => {
          proxy.sockets.delete(socket);
          other.destroy();
        });
      }
      client.pipe(upstream);
      upstream.pipe(client);
    });
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
    const proxy = new TcpProxy(server, (server.address() as net.AddressInfo).port);
    proxy.targetPort = targetPort;
    return proxy;
  }

  get url(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** Cuts every connection (no FIN handshake from the far side) and refuses new ones. */
  drop(): void {
    this.down = true;
    for (const socket of this.sockets) socket.resetAndDestroy();
    this.sockets.clear();
  }

  /** New connections go to `targetPort` from now on; open ones stay where they are. */
  retarget(targetPort: number): void {
    this.targetPort = targetPort;
  }

  restore(): void {
    this.down = false;
  }

  async close(): Promise<void> {
    this.drop();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
