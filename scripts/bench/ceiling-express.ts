// Ceiling 2: a bare express app (default settings) whose one route drains the body and answers
// 200 — the same framework as the app, doing nothing. Run by run.ts as a child process.
import express from 'express';
import { createServer } from 'node:http';
import { exitWithParent, listenOrExplain } from './child-support.ts';

const app = express();
app.post('/webhook', (req, res) => {
  req.on('data', () => undefined);
  req.on('end', () => {
    res.status(200).type('text/plain').send('EVENT_RECEIVED');
  });
});
const server = createServer(app);
listenOrExplain(server, 'bare express ceiling');
exitWithParent(server);
