// Every test file: no real network. Loopback stays open for supertest and locally spawned servers.
import nock from 'nock';
import { afterEach } from '@jest/globals';

nock.disableNetConnect();
nock.enableNetConnect(/^(127\.0\.0\.1|localhost|\[::1\])(:\d+)?$/);

afterEach(() => {
  nock.cleanAll();
});
