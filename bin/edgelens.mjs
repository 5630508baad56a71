#!/usr/bin/env node
// `npx edgelens ...`: the CLI bundle built by `npm run build`.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
const cli = fileURLToPath(new URL('../dist/cli.mjs', import.meta.url));
if (!existsSync(cli)) {
  console.error('edgelens: dist/cli.mjs is missing; run `npm run build` first');
  process.exit(2);
}
await import(cli);
