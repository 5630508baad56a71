// npm run bench:variants: the memory-vs-inference table of the precision variants.
//
// For mobilenet_v2 (coral_tf2 MobileNetV2, ImageNet) and person (Wake Vision MobileNetV2 0.25),
// each of fp32 (int8 weights dequantized) / int16 (16x8, activations re-calibrated) / int8 (the
// source) / mixed (4/8-bit weights, bench/bits/<id>.json) is compiled here and measured:
//   - artifact bytes;
//   - load: inside workerd (Miniflare, a real local KV namespace): KV read + parseArtifact (full
//     validation) + Engine.load into a ready engine (median of --loads); plus the served path's
//     own figure: timings_ms.model of the first /v1/classify|detect after PUT /v1/models/:id (a miss);
//   - inference ms: inside workerd (batched means, median) and in Node (median of --runs);
//   - peak memory: the engine's wasm linear memory after load + inference (weights + arena + the
//     runtime's own pages), plus the weights and arena parts;
//   - accuracy: ImageNet top-1 on imagenet-dev/labels.csv (mobilenet_v2); person accuracy on the
//     15 labelled samples and imagenet-dev/person.csv (person);
//   - serve: PUT /v1/models/:id of the variant and a classify/detect request through the real app.
// The seed's numbers (its hardware) are printed beside: large model 110 ms load / 189 ms inference,
// small model 159 ms / 15 ms.
//
//   node dist/bench-variants.mjs [--runs N] [--loads N] [--calibrate <dir>] [--json] [--no-workerd] [--only mobilenet_v2|person]

import { readFileSync, existsSync, mkdirSync, writeFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createNodeEngine, repoRoot } from '../compiler/node-engine.ts';
import { compileModel } from '../compiler/variant.ts';
import { loadImages, type CalibImage } from '../compiler/calibrate.ts';
import { predict, top1Accuracy, personAccuracy, imagenetLabels, personLabels, PERSON_SAMPLES, agreement, type Prediction } from '../compiler/quant-report.ts';
import { parseArtifact } from '../src/model/artifact.ts';

const args = process.argv.slice(2);
const arg = (k: string) => { const i = args.indexOf(`--${k}`); return i >= 0 ? args[i + 1] : undefined; };
const RUNS = Number(arg('runs') ?? 20) || 20;
const LOADS = Number(arg('loads') ?? 5) || 5;
const ROOT = repoRoot();
const SHARED = process.env.EDGELENS_SHARED_DIR ? resolve(process.env.EDGELENS_SHARED_DIR) : resolve(ROOT, '..', 'shared');
const MODELS_DIR = process.env.EDGELENS_MODELS_DIR ?? join(SHARED, 'models');
const IMAGES = join(SHARED, 'images');
const CALIB = arg('calibrate') ?? join(IMAGES, 'samples');
const ONLY = arg('only');

const SEED: Record<string, { loadMs: number; inferMs: number }> = {
  mobilenet_v2: { loadMs: 110, inferMs: 189 },
  person: { loadMs: 159, inferMs: 15 },
};

interface Recipe { id: string; source: string; labels?: string[] | { file: string }; preprocessing: { mean: number[]; std: number[] }; task: string; personIndex?: number }
const median = (a: number[]) => { const s = [...a].sort((x, y) => x - y); return s[Math.floor(s.length / 2)]!; };

interface Row {
  model: string; variant: string; precision: string; bytes: number;
  loadMs?: number; kvMs?: number; servedLoadMs?: number; inferMs?: number; nodeInferMs: number;
  wasmMemoryBytes?: number; weightsInWasm?: number; arenaBytes: number;
  accuracy: string; accuracyPct: number; agreeFp32?: string; served?: string; compileMs: number;
}

async function main() {
  const all = await loadImages(IMAGES, { what: 'evaluation' });
  const calib = await loadImages(CALIB);
  const devLabels = imagenetLabels(join(IMAGES, 'imagenet-dev'))!;
  const devPersons = personLabels(join(IMAGES, 'imagenet-dev'))!;
  const strip = (p: Prediction[], prefix: string) => p.filter((x) => x.file.startsWith(prefix)).map((x) => ({ ...x, file: x.file.slice(prefix.length) }));
  const engine = await createNodeEngine();
  const rows: Row[] = [];
  const artifacts: { key: string; id: string; bytes: Uint8Array; task: string; row: Row; expect: number }[] = [];
  const out = join(ROOT, 'build', 'variants');
  mkdirSync(out, { recursive: true });

  for (const id of ['mobilenet_v2', 'person']) {
    if (ONLY && ONLY !== id) continue;
    const recipe = JSON.parse(readFileSync(join(ROOT, 'models', `${id}.json`), 'utf8')) as Recipe;
    const src = new Uint8Array(readFileSync(join(MODELS_DIR, recipe.source)));
    const labels = Array.isArray(recipe.labels) ? recipe.labels
      : recipe.labels ? readFileSync(join(MODELS_DIR, recipe.labels.file), 'utf8').split(/\r?\n/).filter((l, i, a) => l.length > 0 || i < a.length - 1) : undefined;
    const base = {
      name: id, labels, normalization: { mean: recipe.preprocessing.mean as [number, number, number], std: recipe.preprocessing.std as [number, number, number] },
      meta: { task: recipe.task, ...(recipe.personIndex !== undefined ? { personIndex: recipe.personIndex } : {}) }, sourceFile: recipe.source,
    };
    const bitsFile = join(ROOT, 'bench', 'bits', `${id}.json`);
    const variants: [string, Parameters<typeof compileModel>[1]][] = [
      ['fp32', { precision: 'fp32' }],
      ['int16', { precision: 'int16', images: calib, calibrate: CALIB }],
      ['int8', { precision: 'int8' }],
      ['mixed', existsSync(bitsFile) ? { weightsBits: `mixed:${bitsFile}`, images: calib } : { autoBits: 2, images: calib, calibrate: CALIB }],
    ];
    let fp32Preds: Prediction[] | undefined;
    for (const [variant, vo] of variants) {
      const t0 = performance.now();
      const r = await compileModel(src, { ...base, ...vo });
      const compileMs = performance.now() - t0;
      writeFileSync(join(out, `${id}.${variant}.elns`), r.artifact);
      const parsed = await parseArtifact(r.artifact);
      const model = engine.load(parsed);
      const preds = predict(model, parsed.manifest, all);
      const m = parsed.manifest;
      const n = m.tensors[m.inputTensor]!.bytes;
      const input = m.input.dtype === 'float32' ? new Float32Array(n / 4).map((_, i) => ((i * 7919) % 256) / 255) : new Uint8Array(n).map((_, i) => (i * 7919) % 256);
      for (let i = 0; i < 3; i++) model.run(input);
      const ts: number[] = [];
      for (let i = 0; i < RUNS; i++) { const a = performance.now(); model.run(input); ts.push(performance.now() - a); }
      engine.unload(model);
      let accuracy: string, accuracyPct: number;
      if (recipe.task === 'classify') {
        const a = top1Accuracy(strip(preds, 'imagenet-dev/'), devLabels);
        accuracy = `top-1 ${a.correct}/${a.total}`; accuracyPct = a.pct;
      } else {
        const a = personAccuracy(strip(preds, 'samples/'), PERSON_SAMPLES, recipe.personIndex ?? 1);
        const b = personAccuracy(strip(preds, 'imagenet-dev/'), devPersons, recipe.personIndex ?? 1);
        accuracy = `samples ${a.correct}/${a.total}, dev ${b.correct}/${b.total}`; accuracyPct = (100 * (a.correct + b.correct)) / (a.total + b.total);
      }
      if (variant === 'fp32') fp32Preds = preds;
      const ag = fp32Preds && variant !== 'fp32' ? agreement(preds, fp32Preds) : undefined;
      const row: Row = {
        model: id, variant, precision: m.precision, bytes: r.artifact.length, nodeInferMs: median(ts), arenaBytes: m.arenaBytes + m.scratchBytes,
        accuracy, accuracyPct, ...(ag ? { agreeFp32: `${ag.correct}/${ag.total}` } : {}), compileMs,
      };
      rows.push(row);
      // the image the serve check sends, and what Node predicts for it
      const probe = preds.find((p) => p.file === (recipe.task === 'classify' ? 'samples/cat.jpg' : 'samples/grace_hopper.jpg'))!;
      artifacts.push({ key: `bench:${id}.${variant}`, id: `${id}-${variant}`, bytes: r.artifact, task: recipe.task, row, expect: probe.top1 });
      console.error(`compiled ${id} ${variant}: ${r.artifact.length} B in ${(compileMs / 1000).toFixed(1)} s, ${accuracy}`);
    }
  }

  if (!args.includes('--no-workerd')) await workerd(artifacts);
  if (args.includes('--json')) { console.log(JSON.stringify(rows, null, 1)); return; }
  printTable(rows);
}

async function workerd(artifacts: { key: string; id: string; bytes: Uint8Array; task: string; row: Row; expect: number }[]) {
  const { Miniflare } = await import('miniflare');
  const { build } = await import('esbuild');
  const dir = join(ROOT, 'build', 'bench-variants');
  mkdirSync(dir, { recursive: true });
  await build({
    entryPoints: [join(ROOT, 'bench', 'variants-entry.ts')], bundle: true, format: 'esm', target: 'es2022', platform: 'neutral',
    mainFields: ['module', 'main'], conditions: ['workerd', 'worker', 'browser'],
    outfile: join(dir, 'worker.mjs'), external: ['*.wasm', 'node:*', 'cloudflare:*'], logLevel: 'warning',
  });
  // point every wasm import at a module of the same name next to the bundle
  const wasmFiles = readdirSync(join(ROOT, 'build')).filter((f) => f.endsWith('.wasm'));
  const code = readFileSync(join(dir, 'worker.mjs'), 'utf8').replace(/from\s+"[^"]*\/([\w.-]+\.wasm)"/g, 'from "./$1"');
  const TOKEN = 'bench-admin-token';
  const mf = new Miniflare({
    modules: [
      { type: 'ESModule', path: join(dir, 'worker.mjs'), contents: code },
      ...wasmFiles.map((f) => ({ type: 'CompiledWasm' as const, path: join(dir, f), contents: readFileSync(join(ROOT, 'build', f)) })),
    ],
    compatibilityDate: '2026-04-01',
    compatibilityFlags: ['nodejs_compat'],
    kvNamespaces: ['MODELS'],
    bindings: { ADMIN_TOKEN: TOKEN, CACHE_BUDGET_BYTES: String(64 << 20), MAX_UPLOAD_BYTES: String(25 << 20) },
  });
  try {
    const kv = await mf.getKVNamespace('MODELS');
    const cat = readFileSync(join(IMAGES, 'samples', 'cat.jpg'));
    const grace = readFileSync(join(IMAGES, 'samples', 'grace_hopper.jpg'));
    for (const a of artifacts) {
      await kv.put(a.key, a.bytes as unknown as ArrayBuffer);
      const res = await mf.dispatchFetch(`http://bench/__bench/load?key=${encodeURIComponent(a.key)}&loads=${LOADS}&runs=${RUNS}`);
      if (!res.ok) throw new Error(`${a.key}: ${res.status} ${await res.text()}`);
      const j = (await res.json()) as { loadMs: number[]; kvMs: number[]; times: number[]; wasmMemoryBytes: number; modelBytes: number };
      Object.assign(a.row, { loadMs: median(j.loadMs), kvMs: median(j.kvMs), inferMs: median(j.times), wasmMemoryBytes: j.wasmMemoryBytes, weightsInWasm: j.modelBytes });
      // served through the real app: upload, then one request (a cache miss: timings_ms.model = KV + load)
      const put = await mf.dispatchFetch(`http://bench/v1/models/${a.id}`, {
        method: 'PUT', body: a.bytes as unknown as ArrayBuffer, headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/octet-stream' },
      });
      if (!put.ok) { a.row.served = `PUT ${put.status}: ${(await put.text()).slice(0, 120)}`; continue; }
      const path = a.task === 'classify' ? `/v1/classify?model=${a.id}&top=1` : `/v1/detect?model=${a.id}&threshold=0.5`;
      const r = await mf.dispatchFetch(`http://bench${path}`, { method: 'POST', body: (a.task === 'classify' ? cat : grace) as unknown as ArrayBuffer, headers: { 'content-type': 'image/jpeg' } });
      const body = (await r.json()) as { predictions?: { index: number; label?: string; score: number }[]; person?: { detected: boolean; score: number }; timings_ms?: { model: number }; cache?: string; model?: { precision: string } };
      if (!r.ok) { a.row.served = `${r.status}: ${JSON.stringify(body).slice(0, 120)}`; continue; }
      a.row.servedLoadMs = body.timings_ms?.model;
      a.row.served = a.task === 'classify'
        ? `cat.jpg -> ${body.predictions![0]!.label ?? body.predictions![0]!.index} (${body.predictions![0]!.score.toFixed(2)})${body.predictions![0]!.index === a.expect ? '' : ' [Node differs]'}`
        : `grace_hopper.jpg -> person ${body.person!.detected} (${body.person!.score.toFixed(2)})`;
    }
  } finally {
    await mf.dispose();
  }
}

function printTable(rows: Row[]) {
  const mb = (b?: number) => (b === undefined ? '-' : (b / 1e6).toFixed(2));
  const ms = (v?: number, d = 1) => (v === undefined ? '-' : v.toFixed(d));
  console.log(`edgelens precision variants (Node ${process.version}; workerd via Miniflare with a local KV namespace; median of ${RUNS} runs, ${LOADS} loads)`);
  console.log('model         variant  precision  artifact MB  load ms (KV read)  served load ms  infer ms workerd / Node  peak wasm MB (weights + arena)  accuracy                         agree fp32  seed load / infer ms');
  for (const r of rows) {
    const seed = SEED[r.model]!;
    console.log([
      r.model.padEnd(13), r.variant.padEnd(8), r.precision.padEnd(10), mb(r.bytes).padStart(11),
      `${ms(r.loadMs)} (${ms(r.kvMs)})`.padStart(18), ms(r.servedLoadMs).padStart(15),
      `${ms(r.inferMs, 2)} / ${ms(r.nodeInferMs, 2)}`.padStart(24),
      `${mb(r.wasmMemoryBytes)} (${mb(r.weightsInWasm)} + ${mb(r.arenaBytes)})`.padStart(31),
      r.accuracy.padEnd(32), (r.agreeFp32 ?? '-').padStart(10), `${seed.loadMs} / ${seed.inferMs}`.padStart(21),
    ].join('  '));
    if (r.served) console.log(`${''.padEnd(24)}served: ${r.served}`);
  }
  console.log('load = KV get + parseArtifact (checksum, manifest, every op footprint) + Engine.load (weights copied into wasm memory; 4-bit/compact slots packed) into a ready engine.');
  console.log('served load = timings_ms.model of the first request after PUT /v1/models/:id (cache miss, through the real Worker app).');
  console.log("peak wasm = the engine's linear memory after load + inference; seed = the seed project's figures on its own hardware (large = mobilenet_v2, small = person).");
}

main().catch((e) => { console.error(e); process.exitCode = 1; });
