import { existsSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { chromium, type Browser, type Page } from 'playwright-core';
import { waitFor } from '../src/testing/index.js';
import {
  CONSOLE_CONSUMER,
  HANDLER_ERROR,
  createConsoleFixture,
  type ConsoleFixture,
} from './support/consoleFixture.js';

// Debian's chromium, installed by scripts/ensure-services.sh; playwright-core brings no browser.
const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = fileURLToPath(new URL('../.test-artifacts/', import.meta.url));
// Rendered as markup it would add an <img> to the page; the console must show it as text.
const HOSTILE_REGION = '<img src=x onerror=window.pwned=1>';
const UI_TIMEOUT_MS = 15_000;

describe('console in a browser', function () {
  this.timeout(90_000);
  let f: ConsoleFixture;
  let browser: Browser;
  let url: string;
  let page: Page;

  before(async () => {
    if (!existsSync(CHROMIUM))
      throw new Error(
        `no browser at ${CHROMIUM}: run scripts/ensure-services.sh (it installs Debian's chromium) or apt-get install chromium`,
      );
    mkdirSync(ARTIFACTS, { recursive: true });
    f = await createConsoleFixture();
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      // As root in a container chromium cannot sandbox itself; the page is our own, on loopback.
      args: ['--no-sandbox', '--disable-dev-shm-usage'],
    });
    url = (await f.startConsole({ token: f.token })).url;
  });
  after(async () => {
    await browser?.close();
    await f?.close();
  });
  beforeEach(async () => {
    page = await browser.newPage({ viewport: { width: 1280, height: 1100 } });
    page.setDefaultTimeout(UI_TIMEOUT_MS);
  });
  afterEach(async () => page?.close());

  const row = (seq: number) => page.locator(`#dlq-rows tr[data-seq="${seq}"]`);

  it('shows the backlog and a dead letter, and redrives it with the token', async () => {
    await f.insertPending(3);
    const { seq, eventId, matchId } = await f.deadLetter(HOSTILE_REGION);
    f.failing = false;

    await page.goto(url);
    await page.locator('#backlog', { hasText: /^3$/ }).waitFor();
    await page.locator(`#consumer-rows tr[data-consumer="${CONSOLE_CONSUMER}"]`).waitFor();
    await row(seq).click();
    await page.locator('#detail').waitFor({ state: 'visible' });
    expect(await page.locator('#detail-error').textContent()).to.equal(
      `NonRetryableError: ${HANDLER_ERROR}`,
    );
    const headers = await page.locator('#detail-headers').textContent();
    expect(headers).to.contain('ce-id').and.to.contain(eventId);
    expect(headers).to.contain('Jetbox-Dlq-Reason').and.to.contain('non-retryable');
    const body = await page.locator('#detail-body').textContent();
    expect(body).to.contain(matchId).and.to.contain(HOSTILE_REGION);
    expect(await page.locator('main img').count()).to.equal(0);
    expect(await page.evaluate("'pwned' in window")).to.equal(false);
    // Wait for a few samples so the chart has a line before the picture is taken.
    await page.locator('#chart polyline.pending').waitFor();
    await page.screenshot({ path: `${ARTIFACTS}console.png`, fullPage: true });

    await page.locator('#token').fill(f.token);
    await page.locator('#redrive').click();
    await row(seq).waitFor({ state: 'detached' });
    await page.locator('#notice', { hasText: `redrove dead letter ${seq}` }).waitFor();
    expect(await page.locator('#notice.refused').count()).to.equal(0);
    expect(await page.locator('#detail').isHidden()).to.equal(true);
    await waitFor('the fixed handler to apply the redriven event', async () =>
      (await f.effects()).includes(eventId),
    );
    await page.screenshot({ path: `${ARTIFACTS}console-redriven.png`, fullPage: true });
  });

  it('refuses redrive without the token, and with a wrong one', async () => {
    f.failing = true;
    const { seq } = await f.deadLetter();
    await page.goto(url);
    await row(seq).click();
    await page.locator('#detail').waitFor({ state: 'visible' });

    await page.locator('#redrive').click();
    await page.locator('#notice.refused', { hasText: 'Authorization: Bearer' }).waitFor();
    await page.locator('#token').fill('not-the-console-token');
    await page.locator('#redrive').click();
    await page.locator('#notice.refused', { hasText: 'not the console token' }).waitFor();

    await page.reload();
    await row(seq).waitFor();
    expect(await f.effects()).to.have.length(1);
  });

  it('says when it is read-only and disables admin actions', async () => {
    const readOnly = await f.startConsole();
    await page.goto(readOnly.url);
    await page.locator('#read-only').waitFor({ state: 'visible' });
    expect(await page.locator('#token-form').isHidden()).to.equal(true);
    expect(await page.locator('#redrive').isDisabled()).to.equal(true);
    expect(await page.locator('#purge').isDisabled()).to.equal(true);
  });
});
