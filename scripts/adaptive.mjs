#!/usr/bin/env node
// Runner of the adaptive-inference tools (scripts/adaptive/main.ts):
//   node scripts/adaptive.mjs calibrate   (npm run calibrate)
//   node scripts/adaptive.mjs eval        (npm run eval:adaptive)
// Makes sure the stage models are compiled (prepare-models --no-seed), bundles the TypeScript
// with esbuild into build/adaptive/main.mjs and runs it. Needs `npm run build` first.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
for (const f of ['build/edgelens.wasm', 'dist/cli.mjs']) {
  if (!existsSync(join(ROOT, f))) {
    console.error(`adaptive: ${f} is missing: run \`npm run build\` first`);
    process.exit(1);
  }
}
if (process.env.EDGELENS_SKIP_PREPARE !== '1') {
  const r = spawnSync(process.execPath, [join(ROOT, 'scripts', 'prepare-models.mjs'), '--no-seed'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
  if (r.status !== 0) process.exit(r.status ?? 1);
}
const { build } = await import('esbuild');
const outfile = join(ROOT, 'build', 'adaptive', 'main.mjs');
await build({
  entryPoints: [join(ROOT, 'scripts', 'adaptive', 'main.ts')],
  bundle: true, platform: 'node', format: 'esm', target: 'node20', outfile, logLevel: 'error',
  banner: { js: 'import { createRequire as __cr } from "node:module"; const require = __cr(import.meta.url);' },
});
await import(pathToFileURL(outfile).href);
