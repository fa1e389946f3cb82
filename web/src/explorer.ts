/**
 * The run explorer: a run's report.json (from the runs `dsteer ui` serves, or a file the user
 * picks) rendered in the page with the report's own code: eval/report/charts.ts's vega-lite specs
 * (rendered to SVG here by the bundled vega; no CDN) and eval/report/html.ts's header, findings and
 * examples sections, plus filters over the examples (dataset, model, lambda, text).
 */
import { renderSvg, reportCharts } from '../../eval/report/charts.js';
import { chartsSection, examplesSection, findingsSection, headerSection, missingSection } from '../../eval/report/html.js';
import type { ReportJson } from '../../eval/report/types.js';

/** Builds the explorer's controls inside `root` and lists the served runs. */
export function openExplorer(root: HTMLElement): void {
  const runs = root.querySelector<HTMLSelectElement>('#run-select')!;
  const file = root.querySelector<HTMLInputElement>('#run-file')!;
  const out = root.querySelector<HTMLElement>('#run-report')!;
  const status = root.querySelector<HTMLElement>('#run-status')!;
  void listRuns(runs, status);
  runs.addEventListener('change', async () => {
    if (!runs.value) return;
    status.textContent = `loading runs/${runs.value}/report.json…`;
    try {
      const res = await fetch(`runs/${encodeURIComponent(runs.value)}/report.json`);
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      await show(out, status, (await res.json()) as ReportJson, `runs/${runs.value}`);
    } catch (e) {
      status.textContent = `runs/${runs.value}/report.json: ${e instanceof Error ? e.message : String(e)}`;
    }
  });
  file.addEventListener('change', async () => {
    const f = file.files?.[0];
    if (!f) return;
    try {
      await show(out, status, JSON.parse(await f.text()) as ReportJson, f.name);
    } catch (e) {
      status.textContent = `${f.name}: ${e instanceof Error ? e.message : String(e)} (expected a run's report.json, docs/RUNS.md)`;
    }
  });
}

async function listRuns(sel: HTMLSelectElement, status: HTMLElement): Promise<void> {
  try {
    const res = await fetch('api/runs');
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    const list = (await res.json()) as { dir: string; runs: { name: string; html: boolean }[] };
    for (const r of list.runs) {
      const o = document.createElement('option');
      o.value = r.name;
      o.textContent = r.name;
      sel.append(o);
    }
    status.textContent = list.runs.length > 0 ? `${list.runs.length} run(s) with a report.json in ${list.dir}` : `no run with a report.json in ${list.dir}; pick a file instead`;
  } catch {
    status.textContent = 'no run server (static page): pick a report.json file';
    sel.disabled = true;
  }
}

async function show(out: HTMLElement, status: HTMLElement, report: ReportJson, source: string): Promise<void> {
  if (report === null || typeof report !== 'object' || Array.isArray(report)) throw new Error('not a JSON object');
  const t0 = performance.now();
  status.textContent = `${source}: rendering…`;
  out.dataset.state = 'running';
  const { charts, missing } = reportCharts(report);
  const svgs: string[] = [];
  for (const c of charts) svgs.push(await renderSvg(c.spec, `${c.dataset ? `${c.dataset}: ` : ''}${c.title}`));
  out.innerHTML = [headerSection(report), missingSection(missing), findingsSection(report), chartsSection(report, charts, svgs), examplesSection(report)].join('\n');
  wireFilters(out);
  out.dataset.state = 'done';
  out.dataset.charts = String(charts.length);
  status.textContent = `${source}: ${charts.length} charts rendered in ${(performance.now() - t0).toFixed(0)} ms`;
}

/** The examples section's filters (dataset, lambda, text) plus a model filter added here. */
function wireFilters(out: HTMLElement): void {
  const box = out.querySelector<HTMLElement>('#filters');
  if (!box) return;
  box.hidden = false;
  const model = document.createElement('label');
  model.innerHTML = 'model <select id="f-model"><option value="">all</option><option value="sft">sft</option><option value="dpo">dpo</option></select> ';
  box.insertBefore(model, box.querySelector('#f-count'));
  const get = (id: string) => out.querySelector<HTMLInputElement | HTMLSelectElement>(`#${id}`)!;
  const apply = (): void => {
    const ds = get('f-dataset').value, lam = get('f-lambda').value, mod = get('f-model').value, text = get('f-text').value.trim().toLowerCase();
    let shown = 0;
    for (const det of out.querySelectorAll<HTMLElement>('details[data-dataset]')) det.hidden = ds !== '' && det.dataset.dataset !== ds;
    for (const body of out.querySelectorAll<HTMLElement>('tbody[data-dataset]')) {
      const promptText = body.querySelector('tr.prompt')?.textContent?.toLowerCase() ?? '';
      let any = false;
      for (const row of body.querySelectorAll<HTMLElement>('tr.out')) {
        const ok = (lam === '' || row.dataset.lambda === lam) && (mod === '' || row.dataset.model === mod) &&
          (text === '' || promptText.includes(text) || (row.textContent ?? '').toLowerCase().includes(text));
        row.hidden = !ok;
        if (ok && !(ds !== '' && body.dataset.dataset !== ds)) { any = true; shown++; }
      }
      body.hidden = !any;
    }
    out.querySelector('#f-count')!.textContent = `${shown} outputs shown`;
  };
  for (const id of ['f-dataset', 'f-lambda', 'f-model', 'f-text']) get(id).addEventListener('input', apply);
  apply();
}
