// Server-sent events: one long response per open page, written as `event:`/`data:` frames, with
// a heartbeat comment so proxies keep it open and the server's idle timeout never cuts a stream
// that is being read (app.ts keeps that timeout at least twice the heartbeat). Every frame is
// scrubbed of the configured secrets as it leaves, whatever put it in the stream. A client that
// stops reading is dropped once too much is waiting for it, so memory stays bounded. Streams are
// tracked so shutdown can end them (an open stream would otherwise keep the server from closing).
import type { Request, Response } from 'express';
import { createRedactor, type Secrets } from '../redact.ts';

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

export interface StreamHubOptions {
  /** Secret values (secretsOf(config), in a SecretSet with the tokens learnt since): never written to a stream in any form. */
  secrets: Secrets;
  heartbeatMs?: number;
  /** Bytes waiting for a slow client before its stream is dropped (it reconnects and gets the history). */
  maxBufferedBytes?: number;
}

export const HEARTBEAT_MS = 10_000;
const MAX_BUFFERED_BYTES = 4 * 1024 * 1024;

export function createStreamHub({ secrets, heartbeatMs = HEARTBEAT_MS, maxBufferedBytes = MAX_BUFFERED_BYTES }: StreamHubOptions): StreamHub {
  const redactor = createRedactor(secrets);
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
      let closed = false;
      const write = (frame: string) => {
        if (closed || res.destroyed || res.writableEnded) return;
        if (res.writableLength > maxBufferedBytes) res.destroy();
        else res.write(frame);
      };
      const heartbeat = setInterval(() => write(': keep-alive\n\n'), heartbeatMs);
      heartbeat.unref();
      const finish = () => {
        if (closed) return;
        closed = true;
        clearInterval(heartbeat);
        open.delete(res);
        closers.forEach((fn) => fn());
      };
      req.on('close', finish);
      res.on('close', finish);
      return {
        send(event, data) {
          // The JSON text is scrubbed as a whole: a secret is caught in its JSON-escaped form too.
          write(`event: ${event}\ndata: ${redactor.text(JSON.stringify(redactor.deep(data)))}\n\n`);
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
