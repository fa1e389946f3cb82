/**
 * `npm run bench -- [--suite all|linear|decode|load] [--out FILE]`: runs the benchmark suites,
 * prints a table and appends JSON lines (default runs/bench.jsonl). Ratios are measured side by
 * side in one run; nothing here is a timed test.
 */
import { sharedModel } from './paths.js';
import { appendJsonLines, machine, printTable, type BenchResult } from './report.js';
import { benchDecode, benchLinear, benchLoad, haveDir } from './cpu.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback;
}

const suite = arg('--suite', 'all');
const out = arg('--out', 'runs/bench.jsonl');
const suites = ['all', 'linear', 'decode', 'load'];
if (!suites.includes(suite)) {
  process.stderr.write(`bench: error: --suite "${suite}" is not one of ${suites.join(', ')}\n`);
  process.exit(2);
}
process.stderr.write(`machine: ${machine()}\n`);
const rows: BenchResult[] = [];
if (suite === 'all' || suite === 'linear') rows.push(...(await benchLinear(1500)));
if (suite === 'all' || suite === 'decode') {
  const dir = arg('--model', sharedModel('stories260k'));
  if (haveDir(dir)) rows.push(...(await benchDecode(dir, 256)));
  else process.stderr.write(`bench: skipping decode: ${dir} has no config.json (pass --model DIR)\n`);
}
if (suite === 'all' || suite === 'load') rows.push(...(await benchLoad(Number(arg('--load-mb', '400')))));
printTable(rows);
appendJsonLines(out, rows, { suite });
process.stderr.write(`appended ${rows.length} results to ${out}\n`);
