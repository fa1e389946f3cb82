// report.html in a real browser: headless Chromium (Debian's `chromium` package, which .ci/run
// installs) through playwright-core. The page must load with no console error and no request beyond
// the file itself, show every chart as a visible <svg> with drawn marks, and its filter script must
// work. Without a browser the test skips with the reason printed, unless DSTEER_REQUIRE_BROWSER=1
// (as CI sets), where it fails. DSTEER_CHROMIUM overrides the browser path;
// DSTEER_REPORT_SCREENSHOT=FILE.png saves a full-page screenshot for a person to look at.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderReport, type RenderedReport, type ReportJson } from '../../eval/report/index.js';
import { repoPath } from '../helpers.js';

const CHROMIUM = process.env.DSTEER_CHROMIUM ?? '/usr/bin/chromium';
const required = process.env.DSTEER_REQUIRE_BROWSER === '1';
const haveBrowser = existsSync(CHROMIUM);
if (!haveBrowser && !required) {
  console.warn(`SKIPPED: report.html browser test: no Chromium at ${CHROMIUM} (apt-get install chromium, or set DSTEER_CHROMIUM; DSTEER_REQUIRE_BROWSER=1 makes this a failure)`);
}

describe('report.html in headless Chromium', () => {
  it.skipIf(haveBrowser || !required)('finds Chromium (required when DSTEER_REQUIRE_BROWSER=1)', () => {
    expect(haveBrowser, `DSTEER_REQUIRE_BROWSER=1 but there is no Chromium at ${CHROMIUM}`).toBe(true);
  });
});

describe.skipIf(!haveBrowser)('report.html in headless Chromium', () => {
  let browser: Browser;
  let dir: string;
  let rendered: RenderedReport;
  let url: string;

  beforeAll(async () => {
    const report = JSON.parse(readFileSync(repoPath('tests/eval/fixtures/report.json'), 'utf8')) as ReportJson;
    rendered = await renderReport(report);
    dir = mkdtempSync(join(tmpdir(), 'dsteer-report-'));
    const file = join(dir, 'report.html');
    writeFileSync(file, rendered.html);
    url = pathToFileURL(file).href;
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
    });
  });

  afterAll(async () => {
    await browser?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('loads with no console error, no request but the page, and shows every chart', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const problems: string[] = [];
    const requests: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('request', (r) => requests.push(r.url()));
    await page.goto(url, { waitUntil: 'load' });

    const charts = await page.$$eval('figure.chart', (figs) =>
      figs.map((f) => {
        const svg = f.querySelector('svg');
        const box = svg?.getBoundingClientRect();
        // the drawn marks (lines, areas, points, rules), not the axes: their union must have an extent
        const marks = svg ? Array.from(svg.querySelectorAll('.role-mark path, .role-mark line')) : [];
        const markBoxes = marks.map((m) => (m as SVGGraphicsElement).getBBox());
        return {
          id: f.getAttribute('data-chart'),
          width: box?.width ?? 0,
          height: box?.height ?? 0,
          marks: marks.length,
          markExtent: markBoxes.reduce((s, b) => s + b.width + b.height, 0),
        };
      }),
    );
    expect(charts.map((c) => c.id)).toEqual(rendered.charts);
    expect(charts.length).toBe(17);
    for (const c of charts) {
      expect(c.width, `${c.id} width`).toBeGreaterThan(100);
      expect(c.height, `${c.id} height`).toBeGreaterThan(100);
      expect(c.marks, `${c.id} marks`).toBeGreaterThan(0);
      expect(c.markExtent, `${c.id} mark extent`).toBeGreaterThan(0);
    }
    expect(problems).toEqual([]);
    expect(requests).toEqual([url]);

    if (process.env.DSTEER_REPORT_SCREENSHOT) await page.screenshot({ path: process.env.DSTEER_REPORT_SCREENSHOT, fullPage: true });
    await page.close();
  });

  it('filters the examples table with its inline script', async () => {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(url, { waitUntil: 'load' });
    expect(await page.isVisible('#filters')).toBe(true);
    const visibleRows = (): Promise<number> => page.$$eval('#examples tr.out', (rows) => rows.filter((r) => (r as HTMLElement).offsetParent !== null).length);
    // the fixture: 2 datasets x 2 prompts x 6 outputs
    expect(await page.textContent('#f-count')).toBe('24 outputs shown');
    expect(await visibleRows()).toBe(24);
    await page.selectOption('#f-lambda', '0.6');
    expect(await page.textContent('#f-count')).toBe('4 outputs shown');
    expect(await visibleRows()).toBe(4);
    await page.selectOption('#f-dataset', 'micro-hh');
    expect(await visibleRows()).toBe(2);
    await page.selectOption('#f-lambda', '');
    await page.fill('#f-text', 'neighbour'); // matches a prompt: all its outputs stay
    expect(await visibleRows()).toBe(6);
    await page.fill('#f-text', 'pwned'); // matches the escaped script text of one output per prompt
    expect(await visibleRows()).toBe(2);
    expect(await page.$$eval('#examples div.text', (tds) => tds.some((t) => t.querySelector('script, b') !== null))).toBe(false);
    expect(errors).toEqual([]);
    await page.close();
  });
});
