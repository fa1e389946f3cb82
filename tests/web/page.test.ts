// The interactive page (web/, served by `dsteer ui`) in headless Chromium (Debian's `chromium`,
// through playwright-core) with --enable-unsafe-webgpu, which gives the page WebGPU on SwiftShader.
// Checked: the page loads without console errors or failed requests; the engine runs on WebGPU in
// the page (and, with ?backend=cpu, on the CPU backend); greedy ids in the page equal Node's (the
// same library on the CPU backend) for the same prompt, model, vector, layers and lambda, for
// several lambdas of both signs (each sign on its model); lambda 0 equals the plain SFT output;
// moving the slider changes the output; the activation view draws the lambda trajectory; the run
// explorer renders every chart of a report (the fixture report.json served as a run) and filters
// its examples. Screenshots are kept under a temporary folder (printed). Without a browser the
// tests skip with the reason printed, unless DSTEER_REQUIRE_BROWSER=1, where they fail.
// DSTEER_CHROMIUM overrides the browser path.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startUi, type UiServer } from '../../cli/ui.js';
import { NodeDir } from '../../engine/byte-source-node.js';
import { reportCharts } from '../../eval/report/charts.js';
import type { ReportJson } from '../../eval/report/types.js';
import { cpuBackend } from '../../kernels/backend.js';
import { generate } from '../../models/generate.js';
import { loadModel, type LoadedModel } from '../../models/load.js';
import { planSteering } from '../../steering/plan.js';
import { readVectorFile } from '../../steering/vector.js';
import { FileSource } from '../../engine/byte-source-node.js';
import { repoPath } from '../helpers.js';

const CHROMIUM = process.env.DSTEER_CHROMIUM ?? '/usr/bin/chromium';
const required = process.env.DSTEER_REQUIRE_BROWSER === '1';
const haveBrowser = existsSync(CHROMIUM);
if (!haveBrowser && !required) {
  console.warn(`SKIPPED: page browser tests: no Chromium at ${CHROMIUM} (apt-get install chromium, or set DSTEER_CHROMIUM; DSTEER_REQUIRE_BROWSER=1 makes this a failure)`);
}

const PROMPT = 'can you help me patch a bike tire?';
const LAYERS = [3, 4, 5];
const MAX = 10;

describe('the page in headless Chromium', () => {
  it.skipIf(haveBrowser || !required)('finds Chromium (required when DSTEER_REQUIRE_BROWSER=1)', () => {
    expect(haveBrowser, `DSTEER_REQUIRE_BROWSER=1 but there is no Chromium at ${CHROMIUM}`).toBe(true);
  });
});

describe.skipIf(!haveBrowser)('the page in headless Chromium', () => {
  let browser: Browser;
  let dir: string;
  let shots: string;
  let ui: UiServer;
  let sft: LoadedModel<unknown, unknown>;
  let dpo: LoadedModel<unknown, unknown>;
  const fixture = JSON.parse(readFileSync(repoPath('tests/eval/fixtures/report.json'), 'utf8')) as ReportJson;

  /** Node's greedy ids for the page's settings: lambda >= 0 steers SFT, < 0 steers DPO. */
  async function nodeIds(lambda: number, which: 'steered' | 'sft' | 'dpo' = 'steered'): Promise<number[]> {
    const m = which === 'sft' ? sft : which === 'dpo' ? dpo : lambda >= 0 ? sft : dpo;
    const ids = m.tokenizer.encodeChat([{ role: 'user', content: PROMPT }], { addGenerationPrompt: true });
    if (which !== 'steered') return (await generate(m.model, [{ promptIds: ids, maxNewTokens: MAX }]))[0]!.ids;
    const src = await FileSource.open(repoPath('assets/micro/vector.safetensors'));
    const sv = await readVectorFile(src);
    await src.close();
    const plan = planSteering(sv, m.model.cfg, { layers: LAYERS, lambdas: [lambda] });
    return (await generate(m.model, [{ promptIds: ids, maxNewTokens: MAX, steer: plan.seq(ids.length) }], { steering: plan.setup }))[0]!.ids;
  }

  /** Opens the page and records console errors, page errors and failed requests. */
  async function open(query: string): Promise<{ page: Page; problems: string[]; loadMs: number }> {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const problems: string[] = [];
    page.on('console', (m) => { if (m.type() === 'error') problems.push(`console error: ${m.text()}`); });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()}`));
    page.on('response', (r) => { if (r.status() >= 400) problems.push(`HTTP ${r.status()}: ${r.url()}`); });
    const t0 = performance.now();
    await page.goto(`${ui.url}?${query}`);
    await page.waitForFunction(() => document.body.dataset.loadMs !== undefined || document.querySelector('#status')?.getAttribute('data-kind') === 'error', null, { timeout: 120_000 });
    const loadMs = performance.now() - t0;
    return { page, problems, loadMs };
  }

  /** Waits until a panel shows a finished result for `lambda` and returns its ids. */
  async function panelIds(page: Page, which: string, lambda?: number): Promise<number[]> {
    await page.waitForFunction(
      ([w, l]) => {
        const p = document.querySelector<HTMLElement>(`#out-${w}`)!;
        return p.dataset.state === 'done' && (l === null || p.dataset.lambda === String(l));
      },
      [which, lambda ?? null] as const,
      { timeout: 180_000 },
    );
    const s = await page.getAttribute(`#out-${which}`, 'data-ids');
    return s === '' || s === null ? [] : s.split(',').map(Number);
  }

  async function setLambda(page: Page, lambda: number): Promise<void> {
    await page.$eval('#lambda', (el, v) => { (el as HTMLInputElement).value = v; el.dispatchEvent(new Event('input')); }, String(lambda));
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'dsteer-page-'));
    shots = mkdtempSync(join(tmpdir(), 'dsteer-page-shots-'));
    execFileSync(process.execPath, [repoPath('scripts/build-web.mjs'), '--out', join(dir, 'web')], { stdio: 'inherit' });
    mkdirSync(join(dir, 'runs/fixture'), { recursive: true });
    writeFileSync(join(dir, 'runs/fixture/report.json'), JSON.stringify(fixture));
    ui = await startUi({ port: 0, host: '127.0.0.1', runs: join(dir, 'runs'), web: join(dir, 'web') });
    const k = cpuBackend();
    sft = await loadModel(await NodeDir.open(repoPath('assets/micro/sft')), k);
    dpo = await loadModel(await NodeDir.open(repoPath('assets/micro/dpo')), k);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-dev-shm-usage', '--enable-unsafe-webgpu', '--enable-features=Vulkan', '--use-angle=swiftshader', '--use-webgpu-adapter=swiftshader'],
    });
    console.log(`page screenshots: ${shots}`);
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await ui?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  for (const backend of ['webgpu', 'cpu'] as const) {
    // on WebGPU: lambda 0 (= SFT), +0.4 (SFT steered), -0.4 (DPO steered); on the CPU: +0.8, -0.8, +0.2
    const lambdas = backend === 'webgpu' ? [0.4, -0.4, 0] : [0.8, -0.8, 0.2];
    it(`runs on ${backend === 'webgpu' ? 'WebGPU (or says why the CPU ran)' : 'the CPU backend'} and matches Node's greedy ids`, async () => {
      const { page, problems, loadMs } = await open(`backend=${backend === 'webgpu' ? 'auto' : 'cpu'}&prompt=${encodeURIComponent(PROMPT)}&max=${MAX}&lambda=${lambdas[0]}`);
      const ran = await page.getAttribute('#backend', 'data-backend');
      const says = await page.textContent('#backend');
      console.log(`page backend ${ran}: ${says}; load ${(loadMs / 1000).toFixed(2)} s (page says ${await page.getAttribute('body', 'data-load-ms')} ms)`);
      if (backend === 'cpu') expect(ran).toBe('cpu');
      else if (ran === 'cpu') console.warn(`WebGPU was unavailable in this Chromium, so the CPU backend ran: ${says}`);
      else expect(says).toMatch(/^WebGPU: /);
      // the unsteered panels equal Node's
      expect(await panelIds(page, 'sft')).toEqual(await nodeIds(0, 'sft'));
      expect(await panelIds(page, 'dpo')).toEqual(await nodeIds(0, 'dpo'));
      const seen: number[][] = [];
      for (const [i, l] of lambdas.entries()) {
        if (i > 0) await setLambda(page, l);
        const ids = await panelIds(page, 'steered', l);
        expect(await page.getAttribute('#out-steered', 'data-model')).toBe(l >= 0 ? 'sft' : 'dpo');
        expect(ids, `lambda ${l}`).toEqual(await nodeIds(l));
        expect(ids.length).toBeGreaterThan(0);
        if (l === 0) expect(ids).toEqual(await nodeIds(0, 'sft'));
        seen.push(ids);
        const rate = await page.getAttribute('#out-steered', 'data-tokens-per-second');
        console.log(`${ran} page: lambda ${l}: ${ids.length} tokens, ${rate} tokens/s`);
      }
      // moving the slider changed the output
      expect(new Set(seen.map((s) => s.join())).size).toBeGreaterThan(1);
      // every steered token is coloured by its likelihood shift
      await page.waitForFunction(() => document.querySelectorAll('#out-steered .tok').length > 0);
      const shifts = await page.$$eval('#out-steered .tok', (ts) => ts.map((t) => Number((t as HTMLElement).dataset.shift)));
      expect(shifts.length).toBe(seen.at(-1)!.length);
      expect(shifts.every(Number.isFinite)).toBe(true);
      await page.screenshot({ path: join(shots, `live-${backend}.png`), fullPage: true });
      if (backend === 'cpu') {
        // the activation view: 21 grid lambdas + the DPO anchor, the slider's lambda ringed
        await page.click('nav button[data-tab="activations"]');
        await page.waitForFunction(() => document.querySelector<HTMLElement>('#activations')!.dataset.state === 'done', null, { timeout: 60_000 });
        expect(await page.$$eval('#act-plot circle', (c) => c.length)).toBe(22);
        expect(await page.$$eval('#act-plot circle.current', (c) => c.map((x) => x.getAttribute('data-lambda')))).toEqual([String(lambdas.at(-1))]);
        expect(await page.$$eval('#act-plot polyline', (c) => c.length)).toBe(2);
        await page.screenshot({ path: join(shots, 'activations.png'), fullPage: true });
      }
      expect(problems).toEqual([]);
      await page.close();
    }, 400_000);
  }

  it('the run explorer renders every chart of a served run and filters its examples', async () => {
    const { page, problems } = await open('backend=cpu&max=2');
    await page.click('nav button[data-tab="explorer"]');
    await page.waitForFunction(() => document.querySelectorAll('#run-select option').length > 1);
    await page.selectOption('#run-select', 'fixture');
    await page.waitForFunction(() => document.querySelector<HTMLElement>('#run-report')!.dataset.state === 'done', null, { timeout: 60_000 });
    const want = reportCharts(fixture).charts.map((c) => c.id);
    const charts = await page.$$eval('#run-report figure.chart', (fs) =>
      fs.map((f) => ({ id: f.getAttribute('data-chart'), marks: f.querySelectorAll('svg .role-mark path, svg .role-mark line').length, w: f.querySelector('svg')?.getBoundingClientRect().width ?? 0 })),
    );
    expect(charts.map((c) => c.id)).toEqual(want);
    for (const c of charts) {
      expect(c.marks, c.id!).toBeGreaterThan(0);
      expect(c.w, c.id!).toBeGreaterThan(50);
    }
    expect(await page.textContent('#run-report')).toContain('Findings');
    const rows = await page.$$eval('#run-report tr.out', (r) => r.length);
    expect(rows).toBeGreaterThan(0);
    await page.selectOption('#f-model', 'dpo');
    const visible = await page.$$eval('#run-report tr.out', (r) => r.filter((x) => !(x as HTMLElement).hidden && !(x.closest('tbody') as HTMLElement).hidden).map((x) => (x as HTMLElement).dataset.model));
    expect(visible.length).toBeGreaterThan(0);
    expect(visible.length).toBeLessThan(rows);
    expect(new Set(visible)).toEqual(new Set(['dpo']));
    await page.screenshot({ path: join(shots, 'explorer.png'), fullPage: true });
    expect(problems).toEqual([]);
    await page.close();
  }, 120_000);
});
