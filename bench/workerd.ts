// npm run bench:workerd: the same engine and artifacts, timed inside workerd
// (Miniflare, the runtime wrangler dev uses). Local workerd advances timers
// during CPU work; deployed Workers do not.
import { Miniflare } from 'miniflare';
import { build } from 'esbuild';
import { readFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { compileTflite } from '../compiler/compile.ts';
import { repoRoot } from '../compiler/node-engine.ts';

const root = repoRoot();
const MODELS_DIR = process.env.EDGELENS_MODELS_DIR ?? resolve(root, '..', 'shared', 'models');
const RUNS = Number(process.argv[process.argv.indexOf('--runs') + 1] || 100) || 100;
const median = (a: number[]) => { const s = [...a].sort((x, y) => x - y); return s[Math.floor(s.length / 2)]!; };
const p90 = (a: number[]) => { const s = [...a].sort((x, y) => x - y); return s[Math.min(s.length - 1, Math.floor(s.length * 0.9))]!; };

async function main() {
  const out = join(root, 'build', 'bench');
  mkdirSync(out, { recursive: true });
  const artifacts: Record<string, Uint8Array> = {};
  for (const f of ['coral_tf2_mobilenet_v2_1.0_224_ptq', 'wv_quality_mobilenetv2', 'vww_96_int8']) {
    artifacts[f] = (await compileTflite(new Uint8Array(readFileSync(join(MODELS_DIR, `${f}.tflite`))))).artifact;
  }
  await build({
    entryPoints: [join(root, 'bench', 'workerd-entry.ts')], bundle: true, format: 'esm', target: 'es2022',
    outfile: join(out, 'worker.mjs'), external: ['*.wasm'], logLevel: 'warning',
  });
  // esbuild leaves the wasm import as is; point it at the built module
  const code = readFileSync(join(out, 'worker.mjs'), 'utf8').replace(/from\s+"[^"]*edgelens\.wasm"/, 'from "./edgelens.wasm"');
  writeFileSync(join(out, 'worker.mjs'), code);
  writeFileSync(join(out, 'edgelens.wasm'), readFileSync(join(root, 'build', 'edgelens.wasm')));
  const mf = new Miniflare({
    modules: [
      { type: 'ESModule', path: join(out, 'worker.mjs'), contents: code },
      { type: 'CompiledWasm', path: join(out, 'edgelens.wasm'), contents: readFileSync(join(root, 'build', 'edgelens.wasm')) },
    ],
    compatibilityDate: '2026-04-01',
    serviceBindings: {
      FIXTURES: async (req: Request) => {
        const name = new URL(req.url).pathname.split('/').pop()!;
        const a = artifacts[name];
        return a ? new Response(a as unknown as ArrayBuffer) : new Response('no such model', { status: 404 });
      },
    },
  });
  try {
    console.log(`edgelens inside workerd (Miniflare, 10 batches of ${Math.ceil(RUNS / 10)} runs: median and p90 of the batch means)`);
    for (const name of Object.keys(artifacts)) {
      const res = await mf.dispatchFetch(`http://bench/?model=${name}&runs=${RUNS}`);
      if (!res.ok) throw new Error(`${name}: ${res.status} ${await res.text()}`);
      const r = (await res.json()) as { loadMs: number; times: number[] };
      console.log(`${name.padEnd(40)} median ${median(r.times).toFixed(2)} ms, p90 ${p90(r.times).toFixed(2)} ms, load ${r.loadMs.toFixed(1)} ms`);
    }
  } finally {
    await mf.dispose();
  }
}
main().catch((e) => { console.error(e); process.exitCode = 1; });
