#!/usr/bin/env node
// The `dsteer` command. The TypeScript sources are compiled to dist/ by `npm ci` (the `prepare` script).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const main = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(main))) {
  process.stderr.write('dsteer: error: dist/ is missing; run `npm ci` (or `npm run build`) in the dsteer folder first\n');
  process.exit(1);
}
await import(main.href);
