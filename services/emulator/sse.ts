// Server-sent events: one long response per open page, written as `event:`/`data:` frames, with
// a keep-alive comment so proxies keep it open. Streams are tracked so shutdown can end them
// (an open stream would otherwise keep the server from closing).
import type { Request, Response } from 'express';

export interface EventStream {
  send(event: string, data: unknown): void;
  /** Called once when the client goes away or the stream is closed. */
  onClose(fn: () => void): void;
}

export interface StreamHub {
  open(req: Request, res: Response): EventStream;
  readonly size: number;
  closeAll(): void;
}

export function createStreamHub({ keepAliveMs = 25_000 }: { keepAliveMs?: number } = {}): StreamHub {
  const open = new Set<Response>();
  return {
    open(req, res) {
      res.status(200).set({
        'Content-Type': 'text/event-stream; charset=utf-8',
        'Cache-Control': 'no-store',
        Connection: 'keep-alive',
        'X-Accel-Buffering': 'no',
      });
      res.flushHeaders();
      res.write('retry: 2000\n\n');
      open.add(res);
      const closers: (() => void)[] = [];
      const keepAlive = setInterval(() => res.write(': keep-alive\n\n'), keepAliveMs);
      keepAlive.unref();
      let closed = false;
      const finish = () => {
        if (closed) return;
        closed = true;
        clearInterval(keepAlive);
        open.delete(res);
        closers.forEach((fn) => fn());
      };
      req.on('close', finish);
      res.on('close', finish);
      return {
        send(event, data) {
          if (!closed) res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
        },
        onClose(fn) {
          closers.push(fn);
        },
      };
    },
    get size() {
      return open.size;
    },
    closeAll() {
      for (const res of [...open]) res.end();
    },
  };
}
