// Runs once in Node before the workers project: makes sure build/models/*.elns exist and are
// up to date (compiled from models/*.json with dist/cli.mjs), since tests inside workerd get
// them through the FIXTURES service binding. Does not touch wrangler's local KV.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

export default function setup(): void {
  if (process.env.EDGELENS_SKIP_PREPARE === '1') return;
  if (!existsSync(join(ROOT, 'dist', 'cli.mjs'))) {
    console.warn('[workers] dist/cli.mjs is missing (run `npm run build`): tests that need compiled models will fail');
    return;
  }
  const r = spawnSync(process.execPath, [join(ROOT, 'scripts', 'prepare-models.mjs'), '--no-seed'], {
    cwd: ROOT,
    stdio: 'inherit',
  });
  if (r.status !== 0) {
    console.warn('[workers] scripts/prepare-models.mjs --no-seed failed: tests that need compiled models will fail');
  }
}
