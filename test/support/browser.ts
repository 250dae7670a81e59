import { existsSync } from 'node:fs';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

/** Debian's Chromium (`apt-get install chromium`); .ci/run installs it. No browser download. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/**
 * Headless Chromium without its calls home: on a closed network they fail by the dozen.
 * `--no-sandbox` because CI runs as root.
 */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) throw new Error(`No Chromium at ${CHROMIUM_PATH}: apt-get install chromium (or set CHROMIUM_PATH)`);
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** Opens the dashboard and signs in with a dev token, resolving once the socket is connected. */
export async function openDashboard(context: BrowserContext, url: string, userId: string, role = 'user'): Promise<Page> {
  // Shorter than the test's own timeout, so a missing element is named in the failure.
  context.setDefaultTimeout(10_000);
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  await page.goto(url);
  await page.getByLabel('User id').fill(userId);
  await page.getByLabel('Role').selectOption(role);
  await page.getByRole('button', { name: 'Get a dev token' }).click();
  await page.locator('[data-testid="connection"][data-status="connected"]').waitFor();
  if (errors.length > 0) throw new Error(`The dashboard threw: ${errors.join('; ')}`);
  return page;
}

/** Waits until the numeric attribute of the element matching `selector` reaches `atLeast`. */
export async function waitForAttributeAtLeast(page: Page, selector: string, attribute: string, atLeast: number): Promise<void> {
  // Runs in the page; the test project has no DOM types, hence the narrow shape.
  type PageDocument = { querySelector(css: string): { getAttribute(name: string): string | null } | null };
  await page.waitForFunction(
    ([css, name, minimum]) => Number((globalThis as unknown as { document: PageDocument }).document.querySelector(css)?.getAttribute(name) ?? -1) >= minimum,
    [selector, attribute, atLeast] as [string, string, number],
  );
}
