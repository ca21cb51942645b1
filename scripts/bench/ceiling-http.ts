// Ceiling 1: a bare node:http server that drains the body and answers 200. Nothing the app does
// can be faster than this on the same machine. Run by run.ts as a child process (PORT from env).
import { createServer } from 'node:http';
import { exitWithParent, listenOrExplain } from './child-support.ts';

const server = createServer((req, res) => {
  req.on('data', () => undefined);
  req.on('end', () => {
    res.writeHead(200, { 'Content-Type': 'text/plain' });
    res.end('EVENT_RECEIVED');
  });
});
listenOrExplain(server, 'bare node:http ceiling');
exitWithParent(server);
