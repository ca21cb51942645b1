// SEND_RATE_LIMIT counted where Meta counts it: on arrival at the (mock) Graph server, in every
// 1-second window whatever its start. Real time, real Graph client, real HTTP: the grant-time
// limiter lets more than the limit arrive (calls granted on time bunch on the way out), the rate
// gate never does, and its throughput is limit / (1 + Graph latency).
import { afterEach, describe, expect, it } from '@jest/globals';
import { createLocalRateGate } from '../../services/outbox/rate-gate.ts';
import { createRateLimiter } from '../support/grant-time-limiter.ts';
import { maxInWindow, sustainedRate } from '../support/arrival-window.ts';
import { attainableRate, runGatedSends } from '../support/gated-sends.ts';
import { startMockGraph, type MockGraph } from '../support/mock-graph-server.ts';

const LIMIT = 100;
// The sender's default concurrency: enough lanes that the limit, not the lanes, sets the pace.
const LANES = 64;

let mock: MockGraph | undefined;
afterEach(async () => {
  await mock?.close();
  mock = undefined;
});

const report = (line: string): void => {
  process.stdout.write(`arrival-rate: ${line}\n`);
};

describe('Send API calls per 1-second window, counted on arrival at Graph (SEND_RATE_LIMIT=100)', () => {
  it('the grant-time limiter lets more than the limit arrive within one second; the rate gate never does', async () => {
    // Graph answers in 0–200 ms, so lanes come back for their next grant at scattered times.
    mock = await startMockGraph({ latencyMs: () => Math.random() * 200 });
    const limiter = createRateLimiter(LIMIT);
    const old = await runGatedSends({ mock, lanes: LANES, perLane: 8, acquire: () => limiter.acquire().then(() => undefined) });
    const oldArrivals = mock.sends().map((c) => c.at);
    const oldMax = maxInWindow(oldArrivals);
    report(`grant-time limiter: ${oldArrivals.length} calls, at most ${maxInWindow(old.granted)} granted and ${oldMax} arrived in any 1 s window`);

    const before = mock.sends().length;
    const gate = createLocalRateGate({ limit: LIMIT });
    const gated = await runGatedSends({ mock, lanes: LANES, perLane: 8, acquire: () => gate.acquire('page') });
    const arrivals = mock.sends().slice(before).map((c) => c.at);
    const gateMax = maxInWindow(arrivals);
    report(`rate gate: ${arrivals.length} calls, at most ${maxInWindow(gated.granted)} granted and ${gateMax} arrived in any 1 s window, ${sustainedRate(arrivals, LIMIT).toFixed(1)}/s sustained`);

    expect(oldArrivals).toHaveLength(LANES * 8);
    expect(arrivals).toHaveLength(LANES * 8);
    expect(old.failures + gated.failures).toBe(0);
    expect(oldMax).toBeGreaterThan(LIMIT);
    expect(gateMax).toBeLessThanOrEqual(LIMIT);
    // Average latency 100 ms: 100 / 1.1 ≈ 91/s in theory; the busy machine gets a little less.
    expect(sustainedRate(arrivals, LIMIT)).toBeGreaterThan(75);
  }, 60_000);

  it.each([0, 200])('throughput of the local gate at %i ms of Graph latency: limit / (1 + latency), never over the limit', async (latency) => {
    mock = await startMockGraph({ latencyMs: latency });
    const gate = createLocalRateGate({ limit: LIMIT });
    const run = await runGatedSends({ mock, lanes: LANES, perLane: 7, acquire: () => gate.acquire('page') });
    const arrivals = mock.sends().map((c) => c.at);
    const rate = sustainedRate(arrivals, LIMIT);
    // What the rule allows given how long grants were really held (Graph's latency plus this busy
    // machine's own round trip): the gate itself must waste almost nothing of it.
    const attainable = attainableRate(LIMIT, run.heldMs);
    report(`local gate, Graph latency ${latency} ms: ${rate.toFixed(1)}/s sustained (${Math.round((rate / LIMIT) * 100)} % of ${LIMIT}; ${attainable.toFixed(1)}/s attainable at the measured hold), at most ${maxInWindow(arrivals)} in any 1 s window`);
    expect(run.failures).toBe(0);
    expect(maxInWindow(arrivals)).toBeLessThanOrEqual(LIMIT);
    // Alone on the machine it reaches ~98 % of that (measured); timers that fire late on a busy
    // machine cost the rest, hence the margin.
    expect(rate).toBeGreaterThan(attainable * 0.8);
    expect(rate).toBeLessThanOrEqual(LIMIT * 1.02);
  }, 60_000);

  it('marking grants done when the request is written (not answered) holds the limit on write times only', async () => {
    // Why the gate waits for the response: the moment the last byte was handed to the OS comes
    // before arrival by a transit time that varies (new connections, the event loop), so arrivals
    // can bunch again. The gate keeps its promise on the times it is told about (asserted); what
    // arrives is reported (110 in some runs here at 0–200 ms, against 100 counting by response).
    mock = await startMockGraph({ latencyMs: () => Math.random() * 200 });
    const gate = createLocalRateGate({ limit: LIMIT });
    const run = await runGatedSends({ mock, lanes: LANES, perLane: 6, acquire: () => gate.acquire('page'), doneAt: 'written' });
    const arrivals = mock.sends().map((c) => c.at);
    report(`done at request written: at most ${maxInWindow(run.written)} written and ${maxInWindow(arrivals)} arrived in any 1 s window, ${sustainedRate(arrivals, LIMIT).toFixed(1)}/s sustained`);
    expect(run.failures).toBe(0);
    expect(run.written).toHaveLength(LANES * 6);
    expect(maxInWindow(run.written)).toBeLessThanOrEqual(LIMIT);
  }, 60_000);
});
