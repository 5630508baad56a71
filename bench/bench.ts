// npm run bench: our engine vs TensorFlow.js's WebAssembly backend, in one
// process and one run, single-threaded, on the MobileNetV2-1.0-224
// architecture; plus the two small person models. Prints ratios.
//
// TF.js gets the same architecture (MobileNetV2 1.0, 224x224, 1001 classes)
// built from its ops with random float32 weights: the arithmetic work is the
// same whatever the weights are. It runs fp32 (TF.js has no int8 path).
//
// Steady state, the same protocol for all: WARMUP untimed runs (V8 first runs new wasm code in its
// baseline tier and tiers hot functions up to TurboFan within the first few runs), then RUNS timed
// runs, or more for fast models until they span MIN_MS (a burst of load on this shared machine then
// covers a part of a model's samples instead of all of them); medians and p90s of those.

import { readFileSync, existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createRequire } from 'node:module';
import { createNodeEngine, loadModelFile, repoRoot } from '../compiler/node-engine.ts';
import type { LoadedModel } from '../src/engine/engine.ts';

const args = process.argv.slice(2);
const RUNS = Number(args[args.indexOf('--runs') + 1] || 100) || 100;
const WARMUP = 20;
const JSON_OUT = args.includes('--json');
const MODELS_DIR = process.env.EDGELENS_MODELS_DIR ?? resolve(repoRoot(), '..', 'shared', 'models');

const median = (a: number[]) => { const s = [...a].sort((x, y) => x - y); return s[Math.floor(s.length / 2)]!; };
const p90 = (a: number[]) => { const s = [...a].sort((x, y) => x - y); return s[Math.min(s.length - 1, Math.floor(s.length * 0.9))]!; };

const MIN_MS = 1000;

function time(fn: () => void, runs: number, warmup = WARMUP): number[] {
  (globalThis as { gc?: () => void }).gc?.(); // a clean heap for both engines (npm run bench passes --expose-gc)
  for (let i = 0; i < warmup; i++) fn();
  const t: number[] = [];
  let total = 0;
  while (t.length < runs || total < MIN_MS) {
    const t0 = performance.now();
    fn();
    const dt = performance.now() - t0;
    t.push(dt);
    total += dt;
  }
  return t;
}

async function ours(file: string) {
  const engine = await createNodeEngine();
  const path = join(MODELS_DIR, file);
  if (!existsSync(path)) throw new Error(`missing ${path} (set EDGELENS_MODELS_DIR)`);
  const { parsed, artifact } = await loadModelFile(path);
  const t0 = performance.now();
  const model: LoadedModel = engine.load(parsed);
  const loadMs = performance.now() - t0;
  const m = parsed.manifest;
  const n = m.tensors[m.inputTensor]!.bytes;
  const input = m.input.dtype === 'float32' ? new Float32Array(n / 4).fill(0.5) : new Uint8Array(n).map((_, i) => (i * 7919) % 256);
  const t = time(() => model.run(input), RUNS);
  return { file, median: median(t), p90: p90(t), macs: m.macs, artifactBytes: artifact.length, arenaBytes: m.arenaBytes + m.scratchBytes, loadMs };
}

async function tfjsMobileNetV2() {
  const require = createRequire(import.meta.url);
  const tf = require('@tensorflow/tfjs-core') as typeof import('@tensorflow/tfjs-core');
  const wasm = require('@tensorflow/tfjs-backend-wasm') as typeof import('@tensorflow/tfjs-backend-wasm');
  const dist = join(require.resolve('@tensorflow/tfjs-backend-wasm/package.json'), '..', 'dist') + '/';
  wasm.setWasmPaths(dist);
  wasm.setThreadsCount(1);
  await tf.setBackend('wasm');
  await tf.ready();
  let seed = 1;
  const rnd = (shape: number[], scale: number) => {
    const n = shape.reduce((a, b) => a * b, 1);
    const v = new Float32Array(n);
    for (let i = 0; i < n; i++) { seed = (seed * 1103515245 + 12345) >>> 0; v[i] = ((seed / 2 ** 32) * 2 - 1) * scale; }
    return tf.tensor(v, shape);
  };
  // MobileNetV2 1.0: (expansion t, channels c, repeats n, stride s)
  const cfg = [[1, 16, 1, 1], [6, 24, 2, 2], [6, 32, 3, 2], [6, 64, 4, 2], [6, 96, 3, 1], [6, 160, 3, 2], [6, 320, 1, 1]];
  type W = { f: import('@tensorflow/tfjs-core').Tensor4D; b: import('@tensorflow/tfjs-core').Tensor1D };
  const conv = (k: number, cin: number, cout: number): W => ({ f: rnd([k, k, cin, cout], Math.sqrt(2 / (k * k * cin))) as never, b: rnd([cout], 0.01) as never });
  const dw = (cin: number): W => ({ f: rnd([3, 3, cin, 1], Math.sqrt(2 / 9)) as never, b: rnd([cin], 0.01) as never });
  const stem = conv(3, 3, 32);
  const blocks: { exp?: W; dw: W; proj: W; stride: number; res: boolean }[] = [];
  let cin = 32;
  macs = 112 * 112 * 32 * 27;
  let hw = 112;
  for (const [t, c, n, s] of cfg) {
    for (let i = 0; i < n!; i++) {
      const stride = i === 0 ? s! : 1;
      const mid = cin * t!;
      const outHw = hw / stride;
      macs += (t! !== 1 ? hw * hw * cin * mid : 0) + outHw * outHw * mid * 9 + outHw * outHw * mid * c!;
      blocks.push({ exp: t !== 1 ? conv(1, cin, mid) : undefined, dw: dw(mid), proj: conv(1, mid, c!), stride, res: stride === 1 && cin === c });
      cin = c!;
      hw = outHw;
    }
  }
  const head = conv(1, 320, 1280);
  macs += 7 * 7 * 320 * 1280 + 1280 * 1001;
  const fc = rnd([1280, 1001], 0.03) as import('@tensorflow/tfjs-core').Tensor2D;
  const fcb = rnd([1001], 0.01);
  const input = rnd([1, 224, 224, 3], 1) as import('@tensorflow/tfjs-core').Tensor4D;
  const forward = () => tf.tidy(() => {
    let x = tf.fused.conv2d({ x: input, filter: stem.f, strides: 2, pad: 'same', bias: stem.b, activation: 'relu6' });
    for (const b of blocks) {
      const inp = x;
      if (b.exp) x = tf.fused.conv2d({ x, filter: b.exp.f, strides: 1, pad: 'same', bias: b.exp.b, activation: 'relu6' });
      x = tf.fused.depthwiseConv2d({ x, filter: b.dw.f, strides: b.stride, pad: 'same', bias: b.dw.b, activation: 'relu6' });
      x = tf.fused.conv2d({ x, filter: b.proj.f, strides: 1, pad: 'same', bias: b.proj.b });
      if (b.res) x = tf.add(x, inp);
    }
    x = tf.fused.conv2d({ x, filter: head.f, strides: 1, pad: 'same', bias: head.b, activation: 'relu6' });
    const pooled = tf.mean(x, [1, 2]) as import('@tensorflow/tfjs-core').Tensor2D;
    const logits = tf.add(tf.matMul(pooled, fc), fcb);
    return tf.softmax(logits);
  });
  const run = () => { const y = forward(); y.dataSync(); y.dispose(); };
  const t = time(run, RUNS);
  return { median: median(t), p90: p90(t), macs, threads: wasm.getThreadsCount() };
}
let macs = 0;

async function main() {
  const big = await ours('coral_tf2_mobilenet_v2_1.0_224_ptq.tflite');
  const tfjs = await tfjsMobileNetV2();
  const person = await ours('wv_quality_mobilenetv2.tflite');
  const vww = await ours('vww_96_int8.tflite');
  const result = {
    runs: RUNS, min_ms: MIN_MS,
    mobilenet_v2: { edgelens_int8_ms: big.median, edgelens_p90_ms: big.p90, tfjs_wasm_fp32_ms: tfjs.median, tfjs_p90_ms: tfjs.p90, tfjs_threads: tfjs.threads, speedup_vs_tfjs: tfjs.median / big.median, gmacs: big.macs / big.median / 1e6, macs: big.macs, artifact_bytes: big.artifactBytes, arena_bytes: big.arenaBytes },
    person_wv_mobilenetv2: { ms: person.median, p90_ms: person.p90, macs: person.macs, gmacs: person.macs / person.median / 1e6, target_ms: 2 },
    vww_96_int8: { ms: vww.median, p90_ms: vww.p90, macs: vww.macs, gmacs: vww.macs / vww.median / 1e6, target_ms: 0.4 },
  };
  if (JSON_OUT) { console.log(JSON.stringify(result, null, 1)); return; }
  const f = (x: number) => x.toFixed(2).padStart(7);
  console.log(`edgelens bench (Node ${process.version}, single thread, medians of >= ${RUNS} runs spanning >= ${MIN_MS / 1000} s, after ${WARMUP} warm-up runs)`);
  console.log(`MobileNetV2-1.0-224: edgelens int8 ${f(big.median)} ms (p90 ${big.p90.toFixed(2)}, ${(big.macs / big.median / 1e6).toFixed(1)} GMAC/s) | TF.js wasm fp32 ${f(tfjs.median)} ms (p90 ${tfjs.p90.toFixed(2)}, threads ${tfjs.threads})`);
  console.log(`  ratio: edgelens is ${(tfjs.median / big.median).toFixed(2)}x faster than TF.js wasm   [target: <= 12 ms]`);
  console.log(`  artifact ${big.artifactBytes} B, arena+scratch ${big.arenaBytes} B, ${(big.macs / 1e6).toFixed(1)} M MACs`);
  console.log(`wv_quality_mobilenetv2: ${f(person.median)} ms (p90 ${person.p90.toFixed(2)}, ${(person.macs / 1e6).toFixed(1)} M MACs, ${(person.macs / person.median / 1e6).toFixed(1)} GMAC/s)   [target: <= 2 ms]`);
  console.log(`vww_96_int8:            ${vww.median.toFixed(3).padStart(7)} ms (p90 ${vww.p90.toFixed(3)}, ${(vww.macs / 1e6).toFixed(1)} M MACs, ${(vww.macs / vww.median / 1e6).toFixed(1)} GMAC/s)   [target: <= 0.4 ms]`);
  void readFileSync;
}

main().catch((e) => { console.error(e); process.exitCode = 1; });
