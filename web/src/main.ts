/**
 * The page: live steering (the engine in a worker, worker.ts), the activation view (PCA of the
 * last layer's state at the last prompt token, pca.ts) and the run explorer (explorer.ts). The
 * page keeps the last finished result of each panel in `data-*` attributes (ids, lambda, state) so
 * the browser tests read exactly what a person sees.
 */
import { pca2 } from './pca.js';
import { openExplorer } from './explorer.js';
import { steeredModel, type ActivationPoint, type ExamplePrompt, type Msg, type Reply, type Request, type Which } from './protocol.js';

const $ = <T extends HTMLElement = HTMLElement>(id: string): T => {
  const e = document.getElementById(id);
  if (!e) throw new Error(`the page lacks #${id}`);
  return e as T;
};

const params = new URLSearchParams(location.search);
const backendWanted = (['auto', 'webgpu', 'cpu'] as const).find((b) => b === params.get('backend')) ?? 'auto';
const pageStart = performance.now();

// -- tabs --
for (const b of document.querySelectorAll<HTMLButtonElement>('nav button[data-tab]')) {
  b.addEventListener('click', () => showTab(b.dataset.tab!));
}
function showTab(tab: string): void {
  for (const b of document.querySelectorAll<HTMLButtonElement>('nav button[data-tab]')) b.setAttribute('aria-selected', String(b.dataset.tab === tab));
  for (const s of document.querySelectorAll<HTMLElement>('main > section')) s.hidden = s.id !== tab;
  if (tab === 'activations') requestActivations();
}
showTab(params.get('tab') ?? 'live');

// -- the worker --
const worker = new Worker('worker.js');
let nextId = 1;
type NoId<T> = T extends unknown ? Omit<T, 'id'> : never;
const send = (r: NoId<Request>): number => {
  const id = nextId++;
  worker.postMessage({ ...r, id } as Request);
  return id;
};
worker.onerror = (e) => setStatus(`engine worker failed: ${e.message}`, 'error');

let ready = false;
let examples: ExamplePrompt[] = [];
let genId = 0;
let actId = 0;
const plainCache = new Map<string, Extract<Reply, { type: 'done' }>>();

function setStatus(text: string, kind: 'info' | 'error' = 'info'): void {
  const s = $('status');
  s.textContent = text;
  s.dataset.kind = kind;
}

send({ type: 'init', backend: backendWanted, base: new URL('assets/', location.href).href });
setStatus(`loading the micro SFT/DPO pair and the vector (${backendWanted === 'cpu' ? 'CPU backend asked for' : 'trying WebGPU'})…`);

worker.onmessage = (ev: MessageEvent<Reply>) => {
  const r = ev.data;
  switch (r.type) {
    case 'ready': return onReady(r);
    case 'token': return onToken(r);
    case 'done': return onDone(r);
    case 'shift': return onShift(r);
    case 'activations': return onActivations(r);
    case 'skipped': return;
    case 'error':
      setStatus(`error: ${r.message}`, 'error');
      return;
  }
};

function onReady(r: Extract<Reply, { type: 'ready' }>): void {
  ready = true;
  examples = r.examples;
  const be = $('backend');
  be.dataset.backend = r.backend;
  be.textContent = r.backend === 'webgpu' ? `WebGPU: ${r.description}` : `CPU backend (no WebGPU${r.fallback ? `: ${r.fallback}` : backendWanted === 'cpu' ? ': CPU asked for in the URL' : ''})`;
  const loadMs = performance.now() - pageStart;
  document.body.dataset.loadMs = loadMs.toFixed(0);
  setStatus(`ready: page and models loaded in ${(loadMs / 1000).toFixed(2)} s (models ${(r.loadMs / 1000).toFixed(2)} s)`);
  // layers: checkboxes for the layers the vector has; 3,4,5 checked by default (when present)
  const box = $('layers');
  box.textContent = '';
  const defaults = (params.get('layers') ?? '3,4,5').split(',').map(Number);
  for (const l of r.vectorLayers) {
    const lab = document.createElement('label');
    const cb = document.createElement('input');
    cb.type = 'checkbox';
    cb.value = String(l);
    cb.checked = defaults.includes(l);
    cb.addEventListener('change', () => { scheduleSteer(); requestActivations(); });
    lab.append(cb, ` ${l}`);
    box.append(lab);
  }
  const sel = $<HTMLSelectElement>('example');
  for (const ds of [...new Set(examples.map((e) => e.dataset))]) {
    const g = document.createElement('optgroup');
    g.label = ds;
    examples.forEach((e, i) => {
      if (e.dataset !== ds) return;
      const o = document.createElement('option');
      o.value = String(i);
      o.textContent = `${ds} #${e.index}: ${e.prompt.length > 80 ? e.prompt.slice(0, 77) + '…' : e.prompt}`;
      g.append(o);
    });
    sel.append(g);
  }
  sel.addEventListener('change', () => {
    const e = examples[Number(sel.value)];
    if (e) $<HTMLTextAreaElement>('prompt').value = e.messages.map((m) => m.content).join('\n\n');
    runAll();
  });
  // ?prompt= starts with a free prompt; otherwise the first example
  const free = params.get('prompt');
  if (free === null && examples.length > 0) {
    sel.value = '0';
    $<HTMLTextAreaElement>('prompt').value = examples[0]!.messages.map((m) => m.content).join('\n\n');
  } else {
    $<HTMLTextAreaElement>('prompt').value = free ?? '';
  }
  for (const b of document.querySelectorAll<HTMLButtonElement>('button')) b.disabled = false;
  runAll();
}

function layers(): number[] {
  return [...document.querySelectorAll<HTMLInputElement>('#layers input:checked')].map((c) => Number(c.value));
}
function lambda(): number {
  return Number($<HTMLInputElement>('lambda').value);
}
function maxNew(): number {
  const v = Math.round(Number($<HTMLInputElement>('max-new').value));
  return Number.isFinite(v) && v >= 1 ? Math.min(v, 200) : 40;
}
function messages(): Msg[] {
  const sel = $<HTMLSelectElement>('example');
  const text = $<HTMLTextAreaElement>('prompt').value;
  const e = examples[Number(sel.value)];
  // an example keeps its own messages while its text is unchanged; anything typed is one user turn
  if (e && e.messages.map((m) => m.content).join('\n\n') === text) return e.messages;
  return [{ role: 'user', content: text }];
}

function showLambda(): void {
  const l = lambda();
  $('lambda-value').textContent = (l > 0 ? '+' : '') + l.toFixed(2);
  const m = steeredModel(l);
  $('steered-which').textContent =
    l === 0 ? 'λ = 0: the plain SFT output (SFT model, no steering)' : m === 'sft' ? `steering the SFT model toward DPO (λ = ${l.toFixed(2)} × vector)` : `steering the DPO model back toward SFT (λ = ${l.toFixed(2)} × vector)`;
  $('steered-title').textContent = `Steered (${m.toUpperCase()} model, λ ${(l > 0 ? '+' : '') + l.toFixed(2)})`;
}

function panel(which: Which): HTMLElement {
  return $(`out-${which}`);
}

function runAll(): void {
  if (!ready) return;
  const key = JSON.stringify([messages(), maxNew()]);
  const which: Which[] = [];
  for (const w of ['sft', 'dpo'] as const) {
    const hit = plainCache.get(`${w}|${key}`);
    if (hit) renderDone(hit);
    else {
      which.push(w);
      startPanel(w);
    }
  }
  which.splice(1, 0, 'steered');
  startPanel('steered');
  showLambda();
  genId = send({ type: 'generate', messages: messages(), which, lambda: lambda(), layers: layers(), maxNewTokens: maxNew() });
  requestActivations();
}

let steerTimer: ReturnType<typeof setTimeout> | null = null;
function scheduleSteer(): void {
  showLambda();
  if (steerTimer) clearTimeout(steerTimer);
  steerTimer = setTimeout(() => {
    if (!ready) return;
    startPanel('steered');
    genId = send({ type: 'generate', messages: messages(), which: ['steered'], lambda: lambda(), layers: layers(), maxNewTokens: maxNew() });
    if (!$('activations').hidden) requestActivations();
  }, 120);
}

function startPanel(which: Which): void {
  const p = panel(which);
  p.dataset.state = 'running';
  p.querySelector('.text')!.textContent = '';
  p.querySelector('.stats')!.textContent = 'generating…';
}

function onToken(r: Extract<Reply, { type: 'token' }>): void {
  if (r.id !== genId) return;
  const p = panel(r.which);
  p.querySelector('.text')!.textContent = r.text;
  p.querySelector('.stats')!.textContent = `${r.ids.length} tokens…`;
}

const lastRate: Record<string, string> = {};
function onDone(r: Extract<Reply, { type: 'done' }>): void {
  if (r.which !== 'steered') plainCache.set(`${r.which}|${JSON.stringify([messages(), maxNew()])}`, r);
  if (r.id !== genId && r.which === 'steered') return;
  renderDone(r);
}

function renderDone(r: Extract<Reply, { type: 'done' }>): void {
  const p = panel(r.which);
  p.querySelector('.text')!.textContent = r.text;
  const rate = r.ids.length / (r.ms / 1000);
  lastRate[r.which] = rate.toFixed(1);
  p.querySelector('.stats')!.textContent = `${r.ids.length} tokens (${r.finish}) in ${r.ms.toFixed(0)} ms: ${rate.toFixed(1)} tokens/s (prefill included)`;
  p.dataset.ids = r.ids.join(',');
  p.dataset.promptIds = r.promptIds.join(',');
  p.dataset.lambda = String(r.lambda);
  p.dataset.model = r.model;
  p.dataset.tokensPerSecond = rate.toFixed(2);
  p.dataset.state = r.which === 'steered' ? 'scoring' : 'done';
}

function onShift(r: Extract<Reply, { type: 'shift' }>): void {
  if (r.id !== genId) return;
  const p = panel('steered');
  const t = p.querySelector('.text')!;
  t.textContent = '';
  r.pieces.forEach((piece, i) => {
    const s = document.createElement('span');
    s.className = 'tok';
    s.textContent = piece;
    const v = r.shift[i]!;
    s.style.background = shiftColour(v);
    s.title = `log p_DPO − log p_SFT = ${v.toFixed(3)}`;
    s.dataset.shift = v.toFixed(4);
    t.append(s);
  });
  const mean = r.shift.reduce((a, b) => a + b, 0) / Math.max(1, r.shift.length);
  p.querySelector('.stats')!.textContent += ` · mean shift ${mean >= 0 ? '+' : ''}${mean.toFixed(3)} nats/token`;
  p.dataset.state = 'done';
}

/** Blue for tokens the DPO model prefers, orange for those the SFT model prefers; saturated at |2| nats. */
function shiftColour(v: number): string {
  const a = Math.min(1, Math.abs(v) / 2) * 0.75;
  return v >= 0 ? `rgba(40, 110, 220, ${a.toFixed(3)})` : `rgba(230, 120, 20, ${a.toFixed(3)})`;
}

// -- activation view --
const GRID = Array.from({ length: 21 }, (_, i) => Math.round((-1 + i * 0.1) * 10) / 10);
let actCurrent = 0;
function requestActivations(): void {
  if (!ready || $('activations').hidden) return;
  actCurrent = lambda();
  const lambdas = GRID.includes(actCurrent) ? GRID : [...GRID, actCurrent];
  $('activations').dataset.state = 'running';
  actId = send({ type: 'activations', messages: messages(), layers: layers(), lambdas });
}

function onActivations(r: Extract<Reply, { type: 'activations' }>): void {
  if (r.id !== actId) return;
  // the basis comes from the grid and the anchors; the current lambda (when off-grid) is projected onto it
  const isCurrentExtra = (p: ActivationPoint) => !GRID.includes(p.lambda) && p.lambda === actCurrent && !(p.model === 'dpo' && p.lambda === 0);
  const fit = r.points.filter((p) => !isCurrentExtra(p));
  const basis = pca2(fit.map((p) => p.state));
  const all = r.points.map((p) => ({ ...p, xy: basis.project(p.state) }));
  drawActivations(all, r.hook, basis.explained);
  $('activations').dataset.state = 'done';
  $('activations').dataset.points = String(all.length);
}

function drawActivations(pts: (ActivationPoint & { xy: [number, number] })[], hook: string, explained: number): void {
  const W = 640, H = 440, M = 40;
  const xs = pts.map((p) => p.xy[0]), ys = pts.map((p) => p.xy[1]);
  const [x0, x1] = [Math.min(...xs), Math.max(...xs)], [y0, y1] = [Math.min(...ys), Math.max(...ys)];
  const sx = (x: number) => M + ((x - x0) / (x1 - x0 || 1)) * (W - 2 * M);
  const sy = (y: number) => H - M - ((y - y0) / (y1 - y0 || 1)) * (H - 2 * M);
  const dpoBranch = pts.filter((p) => p.model === 'dpo').sort((a, b) => a.lambda - b.lambda);
  const sftBranch = pts.filter((p) => p.model === 'sft').sort((a, b) => a.lambda - b.lambda);
  const line = (ps: typeof pts, cls: string) => `<polyline class="${cls}" points="${ps.map((p) => `${sx(p.xy[0]).toFixed(1)},${sy(p.xy[1]).toFixed(1)}`).join(' ')}"/>`;
  const dot = (p: (typeof pts)[number]) => {
    const anchor = p.lambda === 0;
    const cur = p.lambda === actCurrent && p.model === steeredModel(actCurrent);
    const cls = `pt ${p.model}${anchor ? ' anchor' : ''}${cur ? ' current' : ''}`;
    const label = anchor ? `<text x="${(sx(p.xy[0]) + 8).toFixed(1)}" y="${(sy(p.xy[1]) - 8).toFixed(1)}">${p.model.toUpperCase()}</text>` : '';
    return `<circle class="${cls}" cx="${sx(p.xy[0]).toFixed(1)}" cy="${sy(p.xy[1]).toFixed(1)}" r="${cur ? 8 : anchor ? 6 : 4}" data-model="${p.model}" data-lambda="${p.lambda}"><title>${p.model.toUpperCase()} λ ${p.lambda}</title></circle>${label}`;
  };
  $('act-plot').innerHTML =
    `<svg viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="PCA of ${hook}">` +
    `<rect x="0" y="0" width="${W}" height="${H}" class="bg"/>` +
    line(dpoBranch, 'traj dpo') + line(sftBranch, 'traj sft') + pts.map(dot).join('') +
    `<text x="${M}" y="20" class="axis">PC1 × PC2 of ${hook} (last prompt token): ${(explained * 100).toFixed(1)}% of the variance</text></svg>`;
  $('act-legend').textContent = `orange: SFT model, λ 0 → +1; blue: DPO model, λ −1 → 0 (its λ 0 is the DPO anchor). The large ring is the slider's λ (${actCurrent}).`;
}

// -- controls --
// ?lambda= and ?max= set the starting slider and token limit (the tests use them)
if (params.get('lambda') !== null) $<HTMLInputElement>('lambda').value = params.get('lambda')!;
if (params.get('max') !== null) $<HTMLInputElement>('max-new').value = params.get('max')!;
$<HTMLInputElement>('lambda').addEventListener('input', scheduleSteer);
$('run').addEventListener('click', runAll);
$<HTMLInputElement>('max-new').addEventListener('change', runAll);
$<HTMLTextAreaElement>('prompt').addEventListener('keydown', (e) => {
  if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) runAll();
});
showLambda();

// -- run explorer --
openExplorer($('explorer'));

// for the tests and for people measuring: the last rates, by panel
(globalThis as { dsteerRates?: () => Record<string, string> }).dsteerRates = () => ({ ...lastRate });
