// Shared by the bench's own child servers: listen on PORT (127.0.0.1), print READY, explain a
// busy port, and exit when the bench that started them goes away (their stdin closes).
import type { Server } from 'node:http';

export function listenOrExplain(server: Server, what: string): void {
  const port = Number(process.env.PORT ?? '0');
  server.once('error', (err: NodeJS.ErrnoException) => {
    process.stderr.write(err.code === 'EADDRINUSE' ? `${what}: port ${port} is already in use\n` : `${what}: ${err.message}\n`);
    process.exit(1);
  });
  server.listen(port, '127.0.0.1', () => process.stdout.write(`READY ${what} on ${port}\n`));
}

export function exitWithParent(server: Server): void {
  const stop = () => {
    server.closeAllConnections();
    server.close(() => process.exit(0));
  };
  process.stdin.on('end', stop);
  process.stdin.on('error', stop);
  process.stdin.resume();
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}
