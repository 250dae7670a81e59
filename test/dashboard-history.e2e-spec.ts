import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchChromium, openDashboard } from './support/browser.js';
import { startGateway, type TestGateway } from './support/gateway.js';
import { api } from './support/http.js';
import { closeAllDevices, device, publish } from './support/mqtt.js';

const DASHBOARD_DIR = resolve('apps/dashboard/dist');
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const SENSOR = 'history-e2e';
const CHART = `[data-testid="chart"][data-series="${SENSOR}/temperature"]`;

interface ChartState {
  points: number;
  firstTs: number;
  lastTs: number;
}

/** The chart's attributes once they equal `expected` (the failure names what the chart showed instead). */
async function chartShows(page: Page, expected: ChartState): Promise<void> {
  const selector = `${CHART}[data-points="${expected.points}"][data-first-ts="${expected.firstTs}"][data-last-ts="${expected.lastTs}"]`;
  try {
    await page.locator(selector).waitFor();
  } catch {
    const chart = page.locator(CHART);
    const actual = {
      points: await chart.getAttribute('data-points'),
      firstTs: await chart.getAttribute('data-first-ts'),
      lastTs: await chart.getAttribute('data-last-ts'),
    };
    throw new Error(`The chart shows ${JSON.stringify(actual)}, expected ${JSON.stringify(expected)}`);
  }
}

/** What a bucketed range draws for `readings` (ms timestamps): one point per non-empty bucket since `from`, at the bucket's start. */
function buckets(readings: number[], bucketMs: number, from: number): ChartState {
  const starts = [...new Set(readings.filter((ts) => ts >= from).map((ts) => Math.floor(ts / bucketMs) * bucketMs))].sort((a, b) => a - b);
  return { points: starts.length, firstTs: starts[0]!, lastTs: starts.at(-1)! };
}

/**
 * The chart's history in a browser: readings stored with past timestamps before the page opens are
 * on the chart when it opens, the 24 h and 7 d ranges redraw it from averaged buckets, and live
 * readings keep appending after each switch.
 */
describe('dashboard history and range picker in a browser', () => {
  let gateway: TestGateway;
  let browser: Browser;
  let context: BrowserContext;
  const now = Date.now();
  // Twelve readings 30 s apart in the last 15 minutes; eight 2 h apart within the day; three older, within the week.
  const recent = Array.from({ length: 12 }, (_, k) => now - 9 * MINUTE + k * 30_000);
  const day = Array.from({ length: 8 }, (_, k) => now - (16 - 2 * k) * HOUR);
  const week = [70, 50, 30].map((hours) => now - hours * HOUR);
  const stored = [...week, ...day, ...recent];

  beforeAll(async () => {
    if (!existsSync(resolve(DASHBOARD_DIR, 'index.html'))) throw new Error(`No built dashboard in ${DASHBOARD_DIR}: run npm run build first`);
    gateway = await startGateway({ DASHBOARD_DIR });
    browser = await launchChromium();
    context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
    const service = gateway.token('history-feeder', { role: 'service' });
    expect((await api(gateway.url, 'POST', '/sensors', service, { id: SENSOR, name: 'History', type: 'temperature' })).status).toBe(201);
    // Oldest first, as a device catching up would send them; each value is its age in hours, so averages differ per bucket.
    for (const ts of stored) {
      const answer = await api(gateway.url, 'POST', '/readings', service, { sensorId: SENSOR, metric: 'temperature', value: (now - ts) / HOUR, ts });
      expect(answer.status).toBe(202);
    }
  }, 60_000);

  afterAll(async () => {
    await closeAllDevices();
    await context?.close();
    await browser?.close();
    await gateway?.close();
  });

  it('opens with the stored readings, switches to buckets for 24 h and 7 d, and keeps appending live readings', async () => {
    const page = await openDashboard(context, gateway.url, 'history-viewer');
    // 15 min: the raw readings stored before the page opened, nothing older.
    await chartShows(page, { points: recent.length, firstTs: recent[0]!, lastTs: recent.at(-1)! });

    const live = await device(gateway.mqttUrl);
    const sendLive = async (ts: number) => publish(live, `sensors/${SENSOR}/temperature`, JSON.stringify({ value: 1, ts }));

    // 24 h: 5-minute averages of the day's readings (fewer points than readings), at bucket starts.
    await page.locator('[data-range="24h"]').click();
    const dayBuckets = buckets(stored, 5 * MINUTE, Date.now() - 24 * HOUR);
    expect(dayBuckets.points).toBeLessThan(day.length + recent.length);
    await chartShows(page, dayBuckets);
    expect(await page.locator('[data-range="24h"]').getAttribute('aria-checked')).toBe('true');
    const afterDay = Date.now();
    await sendLive(afterDay);
    await chartShows(page, { ...dayBuckets, points: dayBuckets.points + 1, lastTs: afterDay });

    // 7 d: 30-minute averages reaching back to the oldest reading, then live readings again.
    await page.locator('[data-range="7d"]').click();
    const weekBuckets = buckets([...stored, afterDay], 30 * MINUTE, Date.now() - 7 * 24 * HOUR);
    expect(weekBuckets.firstTs).toBe(Math.floor(week[0]! / (30 * MINUTE)) * 30 * MINUTE);
    await chartShows(page, weekBuckets);
    const afterWeek = Date.now() + 1;
    await sendLive(afterWeek);
    await chartShows(page, { ...weekBuckets, points: weekBuckets.points + 1, lastTs: afterWeek });

    // Back to 15 min: raw readings again, the live ones included.
    await page.locator('[data-range="15m"]').click();
    await chartShows(page, { points: recent.length + 2, firstTs: recent[0]!, lastTs: afterWeek });
    expect(await page.locator('.charts .error').count()).toBe(0);
  });
});
