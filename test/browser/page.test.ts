// Drives the demo page (GET /, src/worker/page.ts) in real headless Chromium (Debian's
// /usr/bin/chromium through playwright-core) against `wrangler dev` with the default models
// seeded in a temporary state directory (test/browser/server.ts).
// Screenshots go to test-output/ (git-ignored).
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, startDevServer, type DevServer } from './server';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SAMPLES = join(process.env.EDGELENS_SHARED_DIR ?? join(ROOT, '..', 'shared'), 'images', 'samples');
const OUT = join(ROOT, 'test-output');
const CAT_CLASSES = /^(tabby|tiger cat|Persian cat|Siamese cat|Egyptian cat)\b/i;
// The flags this machine needs (see the env notes): no sandbox as root, no GPU, no
// background connections to the outside.
const CHROMIUM_ARGS = [
  '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync',
  // a fake camera (a generated test pattern), allowed without a prompt, for the webcam snapshot
  '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream',
];

let server: DevServer;
let browser: Browser;
let page: Page;
const consoleErrors: string[] = [];
const pageErrors: string[] = [];
let requests = 0;

const sample = (name: string) => join(SAMPLES, name);

/** Drops `file` on the drop zone as a user's drag and drop would (a real DataTransfer). */
async function dropFile(p: Page, file: string, type: string): Promise<void> {
  const b64 = readFileSync(file).toString('base64');
  const name = file.split('/').pop()!;
  await p.evaluate(({ b64, name, type }) => {
    const dt = new DataTransfer();
    dt.items.add(new File([Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))], name, { type }));
    const target = document.getElementById('drop')!;
    target.dispatchEvent(new DragEvent('dragover', { bubbles: true, cancelable: true, dataTransfer: dt }));
    target.dispatchEvent(new DragEvent('drop', { bubbles: true, cancelable: true, dataTransfer: dt }));
  }, { b64, name, type });
}

/** Pastes `file` as a clipboard image would arrive (ClipboardEvent with files). */
async function pasteFile(p: Page, file: string, type: string): Promise<void> {
  const b64 = readFileSync(file).toString('base64');
  await p.evaluate(({ b64, type }) => {
    const dt = new DataTransfer();
    dt.items.add(new File([Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))], 'image.png', { type }));
    document.body.dispatchEvent(new ClipboardEvent('paste', { bubbles: true, cancelable: true, clipboardData: dt }));
  }, { b64, type });
}

/** Waits for `selector` in the result area; fails early, with what the page shows, on an error. */
async function waitForResult(p: Page, selector: string): Promise<void> {
  const found = await p.waitForFunction(
    (sel) => (document.querySelector(sel) ? 'ok' : document.getElementById('error') ? 'error' : null),
    selector, { timeout: 30_000 },
  ).then((h) => h.jsonValue(), () => 'timeout');
  if (found !== 'ok') {
    const shown = await p.textContent('#result').catch(() => '?');
    throw new Error(`waiting for ${selector}: ${found}; the result area shows: ${shown}\nwrangler log (tail):\n${server.log().slice(-3000)}`);
  }
}

describe('demo page in headless Chromium', () => {
  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (or set CHROMIUM_PATH)`);
    }
    mkdirSync(OUT, { recursive: true });
    const t0 = Date.now();
    server = await startDevServer();
    const t1 = Date.now();
    try {
      browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, timeout: 60_000 });
    } catch (e) {
      await server.stop();
      throw e;
    }
    console.log(`[browser] wrangler dev ready in ${t1 - t0} ms, Chromium launched in ${Date.now() - t1} ms`);
    page = await browser.newPage({ viewport: { width: 1100, height: 900 }, permissions: ['camera'] });
    page.setDefaultTimeout(30_000);
    page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
    page.on('pageerror', (e) => pageErrors.push(e.message));
    page.on('request', (r) => { if (r.method() === 'POST') requests++; });
    // Intercept file choosers from the start: Playwright turns interception on without waiting
    // when the first listener is added, which races a key press right after waitForEvent().
    page.on('filechooser', () => {});
  });

  afterAll(async () => {
    await browser?.close().catch(() => {});
    await server?.stop();
  });

  it('serves the page with a strict CSP and lists the models', async () => {
    const res = await page.goto(server.url + '/');
    expect(res?.status()).toBe(200);
    const headers = res!.headers();
    expect(headers['content-type']).toBe('text/html; charset=utf-8');
    expect(headers['content-security-policy']).toMatch(/default-src 'none'; script-src 'sha256-/);
    expect((await res!.body()).byteLength).toBeLessThan(25 * 1024);
    await page.waitForSelector('body[data-models="ready"]');
    const ids = await page.$$eval('#model option', (os) => os.map((o) => (o as HTMLOptionElement).value));
    expect(ids).toEqual(expect.arrayContaining(['mobilenet_v2', 'person']));
    // the drop zone is a focusable button with an accessible name; the result area is live
    expect(await page.getAttribute('#result', 'aria-live')).toBe('polite');
    expect(await page.locator('#drop').evaluate((e) => e.tagName)).toBe('BUTTON');
  });

  it('shows the API error message for a text file', async () => {
    await page.selectOption('#endpoint', 'classify');
    const text = Buffer.from('not an image\n');
    await page.setInputFiles('#file', { name: 'notes.txt', mimeType: 'text/plain', buffer: text });
    await page.waitForSelector('#error');
    // the same request straight to the API: the page must show its error.message verbatim
    const api = await fetch(server.url + '/v1/classify?model=mobilenet_v2&top=5', {
      method: 'POST', headers: { 'content-type': 'text/plain' }, body: text,
    });
    expect(api.status).toBe(415);
    const { error } = (await api.json()) as { error: { code: string; message: string } };
    expect(await page.textContent('#error .msg')).toBe(error.message);
    expect(await page.textContent('#error')).toContain('415');
  });

  it('detects a person in grace_hopper.jpg, chosen with the keyboard, and shows a timing bar', async () => {
    await page.selectOption('#endpoint', 'detect');
    expect(await page.inputValue('#model')).toBe('person');
    await page.focus('#drop');
    const [chooser] = await Promise.all([page.waitForEvent('filechooser'), page.keyboard.press('Enter')]);
    await chooser.setFiles(sample('grace_hopper.jpg'));
    await waitForResult(page, '#person-badge');
    const badge = page.locator('#person-badge');
    expect(await badge.textContent()).toBe('Person detected');
    expect(await badge.getAttribute('class')).toContain('yes');
    const segs = page.locator('#result .tbar .seg');
    expect(await segs.count()).toBeGreaterThan(0);
    const box = await page.locator('#result .tbar').boundingBox();
    expect(box?.width ?? 0).toBeGreaterThan(100);
    const widths = await segs.evaluateAll((els) => els.map((e) => e.getBoundingClientRect().width));
    expect(widths.reduce((a, b) => a + b, 0)).toBeGreaterThan(50);
    expect(await page.textContent('#result .cache')).toMatch(/^(hit|miss)$/);
    expect(await page.textContent('#result .legend')).toMatch(/read .*decode .*preprocess .*model .*inference/);
  });

  it('accepts a dropped and a pasted image', async () => {
    await dropFile(page, sample('grace_hopper.png'), 'image/png');
    await page.waitForFunction(() => document.getElementById('preview-cap')?.textContent?.startsWith('grace_hopper.png'));
    await waitForResult(page, '#person-badge.yes');
    await pasteFile(page, sample('tflm_no_person.jpg'), 'image/jpeg');
    await waitForResult(page, '#person-badge.no');
    expect(await page.textContent('#person-badge')).toBe('No person');
  });

  it('takes a webcam snapshot (Chromium\'s fake camera) and sends it', async () => {
    await page.selectOption('#endpoint', 'detect');
    expect(await page.isVisible('#cam-on')).toBe(true); // getUserMedia is feature-detected
    await page.click('#cam-on');
    await page.waitForSelector('#snap', { state: 'visible' });
    await page.waitForFunction(() => (document.getElementById('video') as HTMLVideoElement).videoWidth > 0);
    await page.click('#snap');
    await page.waitForFunction(() => document.getElementById('preview-cap')?.textContent?.startsWith('snapshot-'));
    await waitForResult(page, '#person-badge');
    expect(await page.textContent('#result .meta')).toMatch(/^Person score /);
    await page.click('#cam-off');
    expect(await page.isVisible('#video')).toBe(false);
  });

  it('offers adaptive mode when GET /v1/ladders has a ladder, and shows its stages', async () => {
    await page.waitForSelector('body[data-ladders]');
    await page.selectOption('#endpoint', 'detect');
    const adaptiveDisabled = () => page.$eval('#mode option[value="adaptive"]', (o) => (o as HTMLOptionElement).disabled);
    const probe = await fetch(server.url + '/v1/ladders');
    const ladders = probe.ok ? ((await probe.json()) as { ladders: { id: string; task: string; stages: { model: string }[] }[] }).ladders : [];
    const detectLadders = ladders.filter((l) => l.task === 'detect');
    expect(await adaptiveDisabled()).toBe(detectLadders.length === 0);
    if (detectLadders.length === 0) return; // a server without adaptive mode: nothing more to see

    await page.selectOption('#mode', 'adaptive');
    expect(await page.isVisible('#ladder')).toBe(true);
    expect(await page.isVisible('#model')).toBe(false); // adaptive runs a ladder, not one model
    await page.setInputFiles('#file', sample('grace_hopper.jpg'));
    await waitForResult(page, '#result .stages tbody tr');
    expect(await page.textContent('#person-badge')).toBe('Person detected');
    const stageModels = await page.$$eval('#result .stages tbody tr td:first-child', (tds) => tds.map((td) => td.textContent));
    const allStages = detectLadders.flatMap((l) => l.stages.map((st) => st.model));
    expect(stageModels.length).toBeGreaterThan(0);
    for (const m of stageModels) expect(allStages).toContain(m);
    expect(await page.locator('#result .tbar').count()).toBe(1);
    await page.screenshot({ path: join(OUT, 'demo-page-adaptive.png'), fullPage: true });
    await page.selectOption('#mode', 'full');
  });

  it('classifies cat.jpg as a cat, keeps the history and saves a screenshot', async () => {
    await page.selectOption('#endpoint', 'classify');
    await page.selectOption('#mode', 'full');
    expect(await page.inputValue('#model')).toBe('mobilenet_v2');
    await page.setInputFiles('#file', sample('cat.jpg'));
    await waitForResult(page, '#predictions li');
    const labels = await page.$$eval('#predictions .label', (els) => els.map((e) => e.textContent ?? ''));
    expect(labels.length).toBe(5);
    expect(labels[0]).toMatch(CAT_CLASSES);
    expect(await page.locator('#result .tbar .seg').count()).toBeGreaterThan(0);

    const rows = await page.$$eval('#history tbody tr', (trs) => trs.map((tr) => tr.textContent ?? ''));
    expect(rows.length).toBe(Math.min(10, requests));
    expect(rows[0]).toContain('cat.jpg');
    expect(rows.at(-1)).toContain('notes.txt');

    await page.screenshot({ path: join(OUT, 'demo-page.png'), fullPage: true });
    expect(pageErrors).toEqual([]);
    expect(consoleErrors.filter((m) => /Content Security Policy|Refused to/i.test(m))).toEqual([]);
  });
});
