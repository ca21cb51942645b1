// Every test file: no real network. Loopback stays open for supertest and locally spawned servers.
import nock from 'nock';
import { afterAll, afterEach } from '@jest/globals';

// Jest loads a fresh nock per test file while Node's http module is shared: make sure this
// file's copy is the active one, and switch it off when the file is done.
if (!nock.isActive()) nock.activate();
nock.disableNetConnect();
nock.enableNetConnect(/^(127\.0\.0\.1|localhost|\[::1\])(:\d+)?$/);

afterEach(() => {
  nock.cleanAll();
});

afterAll(() => {
  nock.restore();
});
