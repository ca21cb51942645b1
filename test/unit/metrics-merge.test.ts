// Merging thread snapshots into one scrape, and carrying a dead worker's counts over to the next.
import { describe, expect, it } from '@jest/globals';
import { metricsText } from '../../services/metrics/merge.ts';
import { createThreadMetrics } from '../../services/metrics/registry.ts';
import { createWorkerSnapshots } from '../../services/metrics/worker-snapshots.ts';
import { parseScrape } from '../support/prometheus.ts';

const BACKLOG = { received: 1, inbox: 2, outbox: 3, failed: 4, unreadable: 0, failed_events: 0 };

describe('merging the threads\' metrics', () => {
  it('adds counters and histogram buckets sample by sample; a gauge set on one thread stays as it is', async () => {
    const main = createThreadMetrics({ thread: 'main', processMetrics: false });
    const worker = createThreadMetrics({ thread: 'bot', processMetrics: false });
    main.readFrom({ backlog: () => Promise.resolve(BACKLOG) });
    worker.readFrom({ tokens: () => [{ account: '42', valid: true }] });
    main.webhookAnswered(200, 0.002);
    main.webhookAnswered(200, 0.002);
    main.webhookAnswered(403, 0.0001);
    worker.eventHandled('message', 'messenger', 0.004);
    worker.eventHandled('message', 'instagram', 0.004);
    worker.eventHandled('message', 'messenger', 0.3);
    worker.replyAccepted(0.2);
    main.replyAccepted(0.02); // both threads may observe the same histogram
    worker.sendResult('retried', 613);
    worker.sendResult('sent', undefined);

    const m = parseScrape(await metricsText([await main.snapshot(), await worker.snapshot()]));
    expect(m.value('bot_webhook_requests_total', { status: '200' })).toBe(2);
    expect(m.value('bot_webhook_duration_seconds_bucket', { le: '0.0025' })).toBe(3);
    expect(m.value('bot_webhook_duration_seconds_bucket', { le: '0.001' })).toBe(1);
    expect(m.value('bot_events_total', { kind: 'message', channel: 'messenger' })).toBe(2);
    expect(m.value('bot_events_total', { kind: 'message', channel: 'instagram' })).toBe(1);
    expect(m.value('bot_event_handling_seconds_bucket', { le: '0.005' })).toBe(2);
    expect(m.value('bot_event_handling_seconds_count')).toBe(3);
    expect(m.value('bot_reply_latency_seconds_count')).toBe(2);
    expect(m.value('bot_reply_latency_seconds_bucket', { le: '0.025' })).toBe(1);
    expect(m.value('bot_reply_latency_seconds_bucket', { le: '0.25' })).toBe(2);
    expect(m.value('bot_reply_latency_seconds_sum')).toBeCloseTo(0.22, 10);
    expect(m.value('bot_send_requests_total', { outcome: 'retried', code: '613' })).toBe(1);
    expect(m.value('bot_send_requests_total', { outcome: 'sent', code: 'none' })).toBe(1);
    expect(m.value('bot_backlog', { queue: 'outbox' })).toBe(3);
    expect(m.value('bot_token_valid', { account: '42' })).toBe(1);
    expect(m.value('bot_events_duplicate_total')).toBe(0);
  });

  it('keeps each thread\'s Node metrics apart by their thread label, the process-wide ones from the main thread only', async () => {
    const main = createThreadMetrics({ thread: 'main', processMetrics: true });
    const worker = createThreadMetrics({ thread: 'bot', processMetrics: true });
    const m = parseScrape(await metricsText([await main.snapshot(), await worker.snapshot()]));
    expect(m.all('nodejs_heap_size_used_bytes').map((s) => s.labels.thread).sort()).toEqual(['bot', 'main']);
    expect(m.all('process_start_time_seconds').map((s) => s.labels.thread)).toEqual(['main']);
    expect(m.all('process_resident_memory_bytes').map((s) => s.labels.thread)).toEqual(['main']);
  });

  it('an unreachable store leaves the backlog empty rather than stale', async () => {
    const main = createThreadMetrics({ thread: 'main', processMetrics: false });
    let up = true;
    main.readFrom({ backlog: () => (up ? Promise.resolve(BACKLOG) : Promise.reject(new Error('SQLITE_IOERR'))) });
    expect(parseScrape(await metricsText([await main.snapshot()])).value('bot_backlog', { queue: 'failed' })).toBe(4);
    up = false;
    expect(parseScrape(await metricsText([await main.snapshot()])).all('bot_backlog')).toEqual([]);
  });
});

describe('a worker that dies', () => {
  it('hands its counts (as of its last answer) to the next worker; its gauges go with it', async () => {
    const snapshots = createWorkerSnapshots();
    const first = createThreadMetrics({ thread: 'bot', processMetrics: false });
    first.readFrom({ tokens: () => [{ account: '42', valid: false }] });
    first.eventHandled('message', 'messenger', 0.01);
    first.eventHandled('message', 'messenger', 0.01);
    first.replyAccepted(0.3);
    snapshots.received(await first.snapshot());

    snapshots.workerExited();
    // While the next one starts, a scrape has what the dead one had counted.
    const during = parseScrape(await metricsText(snapshots.current(undefined)));
    expect(during.value('bot_events_total', { kind: 'message', channel: 'messenger' })).toBe(2);
    expect(during.all('bot_token_valid')).toEqual([]);

    const second = createThreadMetrics({ thread: 'bot', processMetrics: false });
    second.readFrom({ tokens: () => [{ account: '42', valid: true }] });
    second.eventHandled('message', 'messenger', 0.01);
    second.eventHandled('postback', 'instagram', 0.01);
    second.replyAccepted(0.3);
    const live = await second.snapshot();
    snapshots.received(live);
    const m = parseScrape(await metricsText(snapshots.current(live)));
    expect(m.value('bot_events_total', { kind: 'message', channel: 'messenger' })).toBe(3);
    expect(m.value('bot_events_total', { kind: 'postback', channel: 'instagram' })).toBe(1);
    expect(m.value('bot_reply_latency_seconds_count')).toBe(2);
    expect(m.value('bot_reply_latency_seconds_bucket', { le: '0.5' })).toBe(2);
    expect(m.value('bot_token_valid', { account: '42' })).toBe(1);

    // Two deaths carry both workers' counts.
    snapshots.workerExited();
    const third = parseScrape(await metricsText(snapshots.current(undefined)));
    expect(third.value('bot_events_total', { kind: 'message', channel: 'messenger' })).toBe(3);
    expect(third.value('bot_event_handling_seconds_count')).toBe(4);
  });
});
