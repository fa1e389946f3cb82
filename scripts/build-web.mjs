// Builds the interactive page (web/) into dist/web: esbuild bundles web/src/main.ts and the engine
// worker web/src/worker.ts (with the engine, vega and the tokenizer libraries: no CDN, works
// offline), and copies index.html, styles.css and the assets the page loads (the micro SFT/DPO pair,
// the shipped vector, the three micro benchmarks), so dist/web can be hosted as static files.
// `dsteer ui` serves the same page. Run by `npm run build` and `npm run build:web`.
import { build } from 'esbuild';
import { copyFileSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
// `--out DIR` builds elsewhere (the browser tests build into a temporary folder)
const at = process.argv.indexOf('--out');
const out = at > 0 && process.argv[at + 1] ? process.argv[at + 1] : join(root, 'dist', 'web');
const t0 = performance.now();
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });

await build({
  entryPoints: { main: join(root, 'web/src/main.ts'), worker: join(root, 'web/src/worker.ts') },
  outdir: out,
  bundle: true,
  format: 'iife',
  platform: 'browser',
  target: 'es2022',
  minify: true,
  sourcemap: true,
  legalComments: 'linked',
  logLevel: 'warning',
  // engine/device.ts imports the Node `webgpu` package only through a variable specifier
  external: ['webgpu'],
});

for (const f of ['index.html', 'styles.css']) copyFileSync(join(root, 'web', f), join(out, f));
const copy = (rel) => {
  mkdirSync(dirname(join(out, 'assets', rel)), { recursive: true });
  copyFileSync(join(root, 'assets', rel), join(out, 'assets', rel));
};
for (const m of ['sft', 'dpo']) for (const f of readdirSync(join(root, 'assets/micro', m))) copy(`micro/${m}/${f}`);
copy('micro/vector.safetensors');
for (const f of ['micro-hh.test.jsonl', 'micro-harmfulqa.json', 'micro-advbench.csv']) copy(`data/${f}`);
process.stderr.write(`build-web: ${out} in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
