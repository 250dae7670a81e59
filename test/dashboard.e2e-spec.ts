import { existsSync, mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { simulate, sensorIdOf } from '../apps/simulator/src/simulator.js';
import { launchChromium, openDashboard, waitForAttributeAtLeast } from './support/browser.js';
import { startGateway, type TestGateway } from './support/gateway.js';
import { api } from './support/http.js';
import { closeAllDevices, device, publish } from './support/mqtt.js';

const DASHBOARD_DIR = resolve('apps/dashboard/dist');
/** `DASHBOARD_SCREENSHOT=docs/dashboard.png` refreshes the README's picture. */
const SCREENSHOT = resolve(process.env.DASHBOARD_SCREENSHOT ?? 'test/.out/dashboard.png');
/** The Alarms page, next to it (`docs/alarms.png` with the setting above). */
const ALARMS_SCREENSHOT = resolve(dirname(SCREENSHOT), 'alarms.png');

/** The built dashboard in headless Chromium, against a real gateway fed by the MQTT simulator. */
describe('dashboard in a browser', () => {
  let gateway: TestGateway;
  let browser: Browser;
  const contexts: BrowserContext[] = [];
  const stopSimulator = new AbortController();
  let simulator: Promise<unknown>;

  const newContext = async (): Promise<BrowserContext> => {
    const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
    contexts.push(context);
    return context;
  };

  beforeAll(async () => {
    if (!existsSync(resolve(DASHBOARD_DIR, 'index.html'))) throw new Error(`No built dashboard in ${DASHBOARD_DIR}: run npm run build first`);
    gateway = await startGateway({ DASHBOARD_DIR });
    browser = await launchChromium();
    simulator = simulate(
      { url: gateway.mqttUrl, sensors: 2, rate: 10, metric: 'temperature', spikeProbability: 0, prefix: '', qos: 0, durationSeconds: 0 },
      stopSimulator.signal,
    );
  }, 60_000);

  afterAll(async () => {
    stopSimulator.abort();
    await simulator;
    await closeAllDevices();
    for (const context of contexts) await context.close();
    await browser?.close();
    await gateway?.close();
  });

  it('is served by the gateway at / with its hashed assets cached for good', async () => {
    const page = await fetch(`${gateway.url}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('cache-control')).toBe('no-cache');
    const html = await page.text();
    const asset = /src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1];
    expect(asset).toBeDefined();
    const script = await fetch(`${gateway.url}${asset}`);
    expect(script.status).toBe(200);
    expect(script.headers.get('cache-control')).toContain('immutable');
    // The API is untouched by the static files.
    expect((await fetch(`${gateway.url}/api/v1/health`)).status).toBe(200);
  });

  it('draws the simulator readings on a chart and shows an injected spike in the anomalies feed', async () => {
    const page = await openDashboard(await newContext(), gateway.url, 'viewer', 'admin');
    const chart = `[data-testid="chart"][data-series="${sensorIdOf(1)}/temperature"]`;
    // A verdict needs 10 readings of the metric; then the spike (the signal stays within 15-25) stands far outside the window.
    await waitForAttributeAtLeast(page, chart, 'data-points', 15);
    expect(await page.locator(`${chart} canvas`).count()).toBeGreaterThan(0);

    const spiker = await device(gateway.mqttUrl);
    await publish(spiker, `sensors/${sensorIdOf(1)}/temperature`, JSON.stringify({ value: 35, unit: 'C' }));
    const spike = page.locator(`[data-testid="anomaly"][data-sensor="${sensorIdOf(1)}"]`, { hasText: '35.00' });
    await spike.waitFor();
    expect(await spike.innerText()).toMatch(/critical/i);
    await waitForAttributeAtLeast(page, chart, 'data-anomalies', 1);
    // Forecasts arrive every 10 readings and are drawn after the line.
    await waitForAttributeAtLeast(page, chart, 'data-forecast', 1);

    mkdirSync(dirname(SCREENSHOT), { recursive: true });
    await page.screenshot({ path: SCREENSHOT });
  });

  it('raises the bell in two tabs of the same user and clears both when one marks it read', async () => {
    const context = await newContext();
    const first = await openDashboard(context, gateway.url, 'bell-user');
    const second = await openDashboard(context, gateway.url, 'bell-user');
    const bell = '[data-testid="bell-count"]';
    expect(await first.locator(bell).innerText()).toBe('0');

    const service = gateway.token('notifier', { role: 'service' });
    const sent = await api(gateway.url, 'POST', '/notifications', service, { userIds: ['bell-user'], title: 'Boiler', message: 'Pressure is high' });
    expect(sent.status).toBe(201);
    await first.locator(bell, { hasText: '1' }).waitFor();
    await second.locator(bell, { hasText: '1' }).waitFor();

    await first.getByRole('button', { name: /Notifications: 1 unread/ }).click();
    const item = first.locator('[data-testid="notification"]', { hasText: 'Pressure is high' });
    await item.getByRole('button', { name: 'Mark read' }).click();
    await first.locator(bell, { hasText: '0' }).waitFor();
    await second.locator(bell, { hasText: '0' }).waitFor();
    await second.getByRole('button', { name: /Notifications: 0 unread/ }).click();
    expect(await second.locator('[data-testid="notification"]').getAttribute('data-read')).toBe('true');
  });

  /** Signs in, opens the Sensors page and submits the new-sensor form with `fields` (by label). */
  const createSensorAs = async (userId: string, fields: Record<string, string>): Promise<Page> => {
    const page = await openDashboard(await newContext(), gateway.url, userId);
    await page.getByRole('link', { name: 'Sensors' }).click();
    const form = page.getByRole('form', { name: 'New sensor' });
    for (const [label, value] of Object.entries(fields)) await form.getByLabel(label).fill(value);
    await form.getByRole('button', { name: 'Create' }).click();
    return page;
  };

  it('creates a sensor from the table and shows its created event', async () => {
    const page = await createSensorAs('operator', { Id: 'boiler-e2e', Name: 'Boiler room', Max: '90' });

    await page.locator('[data-testid="entity-event"][data-event="sensor:created"][data-id="boiler-e2e"]').waitFor();
    const row = page.locator('[data-testid="sensor-row"][data-id="boiler-e2e"]');
    expect(await row.innerText()).toContain('Boiler room');
    const stored = await api(gateway.url, 'GET', '/sensors/boiler-e2e', gateway.token('operator'));
    expect(stored.body).toMatchObject({ name: 'Boiler room', thresholds: { max: 90 } });
  });

  it('shows a refused form field as the server says it, and keeps the socket', async () => {
    const page = await createSensorAs('careless', { Name: 'Upside down', Min: '10', Max: '5' });
    expect(await page.getByRole('alert').innerText()).toContain('thresholds.min must not be greater than thresholds.max');
    expect(await page.locator('[data-testid="connection"]').getAttribute('data-status')).toBe('connected');
  });

  it('lists an alarm on the Alarms page, acknowledges it in one tab and shows it in the other, and marks its chart and the header badge', async () => {
    const service = gateway.token('alarm-service', { role: 'service' });
    expect((await api(gateway.url, 'POST', '/sensors', service, { id: 'tank-e2e', name: 'Tank', type: 'level', thresholds: { max: 80 } })).status).toBe(201);
    const first = await openDashboard(await newContext(), gateway.url, 'operator-1');
    const second = await openDashboard(await newContext(), gateway.url, 'operator-2');
    await first.getByRole('link', { name: 'Alarms', exact: true }).click();
    await second.getByRole('link', { name: 'Alarms', exact: true }).click();
    await first.getByRole('heading', { name: 'Alarms' }).waitFor();
    await second.getByRole('heading', { name: 'Alarms' }).waitFor();

    const tank = await device(gateway.mqttUrl);
    for (let i = 0; i < 10; i++) await publish(tank, 'sensors/tank-e2e/level', String(50 + (i % 3)));
    for (let i = 0; i < 3; i++) await publish(tank, 'sensors/tank-e2e/level', '95');
    const row = '[data-testid="alarm"][data-sensor="tank-e2e"]';
    // Live: the alarm appears in both tabs without a reload, repeats counted in place.
    await first.locator(row, { hasText: 'threshold' }).waitFor();
    await second.locator(`${row} td:nth-child(4)`, { hasText: '3' }).waitFor();
    expect(await first.locator(row).count()).toBe(1);
    await waitForAttributeAtLeast(second, '[data-testid="alarm-badge"]', 'data-active', 1);

    await first.locator(row).getByRole('button', { name: 'Acknowledge' }).click();
    await second.locator(`${row}[data-acknowledged="true"]`, { hasText: 'acknowledged by operator-1' }).waitFor();
    expect(await second.locator(row).getByRole('button', { name: 'Acknowledge' }).isDisabled()).toBe(true);

    // The Live page marks the tank's chart.
    await second.getByRole('link', { name: 'Live' }).click();
    await second.locator('[data-testid="chart"][data-series="tank-e2e/level"][data-alarm="critical"]').waitFor();
    expect(await second.locator('[data-testid="chart"][data-series="tank-e2e/level"] [data-testid="chart-alarm"]').innerText()).toContain(
      'threshold critical (ack)',
    );
    mkdirSync(dirname(SCREENSHOT), { recursive: true });
    await first.screenshot({ path: ALARMS_SCREENSHOT });

    // Cleared in the second tab: it leaves the first tab's list of active alarms.
    await second.getByRole('link', { name: 'Alarms', exact: true }).click();
    await second.locator(row).getByRole('button', { name: 'Clear' }).click();
    await first.locator(row).waitFor({ state: 'detached' });
    await first.getByLabel('Status').selectOption('cleared');
    await first.locator(`${row}[data-status="cleared"]`, { hasText: 'cleared by operator-2' }).waitFor();
    // Four browser tabs' worth of sign-ins on a shared machine: more than the default 30 s may pass.
  }, 60_000);

  it('shows cluster stats to an admin and the refusal to anyone else', async () => {
    const admin = await openDashboard(await newContext(), gateway.url, 'ops', 'admin');
    await admin.getByRole('link', { name: 'Admin' }).click();
    await waitForAttributeAtLeast(admin, '[data-testid="stats-connections"]', 'data-value', 1);

    const user = await openDashboard(await newContext(), gateway.url, 'curious');
    await user.getByRole('link', { name: 'Admin' }).click();
    expect(await user.getByRole('alert').innerText()).toContain('needs a token with role admin');
  });
});
