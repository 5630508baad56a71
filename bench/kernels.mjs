// Micro-benchmark of the fast conv / depthwise kernels on MobileNetV2-1.0-224 shapes.
//   node scripts/build.mjs wasm && node bench/kernels.mjs [--all] [--reps N] [--wasm path]
// Prints GMAC/s per shape; with --all times every conv / depthwise / FC layer of MobileNetV2 and
// prints the total (kernels only: no pooling / add / softmax).
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const all = args.includes('--all');
const repsArg = args.indexOf('--reps');
const minReps = repsArg >= 0 ? Number(args[repsArg + 1]) : 5;

// src/model/pack.ts is TypeScript: bundle it in memory with esbuild
const packJs = await build({ entryPoints: [join(root, 'src/model/pack.ts')], bundle: true, write: false, format: 'esm', platform: 'neutral' });
const pack = await import('data:text/javascript;base64,' + Buffer.from(packJs.outputFiles[0].text).toString('base64'));

const wasmArg = args.indexOf('--wasm');
const bytes = readFileSync(wasmArg >= 0 ? args[wasmArg + 1] : join(root, 'build', 'edgelens.wasm'));
const { instance } = await WebAssembly.instantiate(bytes, { env: { abort() { throw new Error('abort'); } } });
const ex = instance.exports;
const memory = ex.memory;
let top = (Number(ex.heapBase()) + 15) & ~15;
const base = top;
function alloc(n) {
  const p = (top + 15) & ~15;
  top = p + n + 64;
  if (top > memory.buffer.byteLength) memory.grow(Math.ceil((top - memory.buffer.byteLength) / 65536));
  return p;
}
function put(arr) {
  const u = new Uint8Array(arr.buffer, arr.byteOffset, arr.byteLength);
  const p = alloc(u.length);
  new Uint8Array(memory.buffer, p, u.length).set(u);
  return p;
}
let seed = 1;
function rnd8(n) {
  const a = new Int8Array(n);
  for (let i = 0; i < n; i++) { seed = (seed * 1103515245 + 12345) >>> 0; a[i] = (seed >>> 16) & 255; }
  return a;
}
function requant(n, K) {
  const bias = new Int32Array(n), mult = new Int32Array(n), shift = new Int32Array(n);
  for (let i = 0; i < n; i++) { bias[i] = (i * 37) % 2000 - 1000; mult[i] = 1300000000 + i * 1000; shift[i] = -Math.round(Math.log2(Math.sqrt(K) * 128 * 75 / 100)) - (i % 3); }
  return pack.packRequant(bias, mult, shift);
}

let warming = false;
function time(fn, macs) {
  if (warming) { for (let i = 0; i < 5; i++) fn(); return { ms: 0, gmacs: 0 }; }
  fn(); // warm-up
  fn();
  let best = Infinity;
  const t0 = performance.now();
  let reps = 0;
  while (reps < minReps || performance.now() - t0 < 200) {
    const a = performance.now();
    fn();
    const dt = performance.now() - a;
    if (dt < best) best = dt;
    reps++;
  }
  return { ms: best, gmacs: macs / best / 1e6 };
}

function conv(H, W, Cin, Cout, k = 1, s = 1) {
  top = base;
  const pad = k === 1 ? 0 : (s === 1 ? 1 : 0); // SAME: 3x3 s1 pads 1/1, s2 on even input pads 0 top/left (1 bottom/right)
  const oH = Math.ceil(H / s), oW = Math.ceil(W / s);
  const K = k * k * Cin;
  const input = put(rnd8(H * W * Cin));
  const pw = put(pack.packConvWeights(rnd8(Cout * K), Cout, k, k, Cin));
  const q = put(requant(Cout, K));
  const out = alloc(oH * oW * Cout);
  const scratch = alloc(pack.convScratchBytes(k, k, Cin, oW));
  const macs = oH * oW * Cout * K;
  const r = time(() => ex.conv_i8(input, H, W, Cin, -3, pw, 0, q, out, oH, oW, Cout, 5, -128, 127, k, k, s, s, 1, 1, pad, pad, scratch), macs);
  return { name: `conv ${H}x${W}x${Cin} -> ${Cout} ${k}x${k} s${s}`, macs, ...r };
}

function dw(H, W, C, s = 1) {
  top = base;
  const pad = s === 1 ? 1 : 0;
  const oH = Math.ceil(H / s), oW = Math.ceil(W / s);
  const input = put(rnd8(H * W * C));
  const pw = put(pack.packDepthwiseWeights(rnd8(9 * C), 3, 3, C, 0));
  const q = put(requant(C, 9));
  const out = alloc(oH * oW * C);
  const macs = oH * oW * C * 9;
  const r = time(() => ex.dw_i8(input, H, W, C, -3, pw, q, out, oH, oW, C, 5, -128, 127, 3, 3, s, s, 1, 1, pad, pad), macs);
  return { name: `dw   ${H}x${W}x${C} 3x3 s${s}`, macs, ...r };
}

function show(r) {
  console.log(`${r.name.padEnd(36)} ${(r.macs / 1e6).toFixed(2).padStart(7)} MMAC ${r.ms.toFixed(3).padStart(8)} ms ${r.gmacs.toFixed(1).padStart(6)} GMAC/s`);
}

const selected = () => [
  conv(224, 224, 3, 32, 3, 2),
  dw(112, 112, 32, 1),
  conv(112, 112, 32, 16),
  conv(56, 56, 24, 144),
  conv(56, 56, 144, 24),
  conv(28, 28, 192, 32),
  conv(14, 14, 384, 64),
  conv(7, 7, 960, 320),
  conv(7, 7, 320, 1280),
  conv(1, 1, 1280, 1001),
  dw(56, 56, 144, 1),
  dw(14, 14, 384, 1),
  dw(7, 7, 960, 1),
];
// warm-up pass over every kernel variant (Liftoff -> TurboFan tier-up happens in the background)
warming = true;
selected();
conv(1, 3, 1280, 40); // matrix-vector path
warming = false;
await new Promise((r) => setTimeout(r, 300));
console.log('-- selected shapes');
for (const r of selected()) show(r);

if (all) {
  // MobileNetV2-1.0-224: [expansion t, channels c, repeats n, stride s]
  const layers = [];
  let H = 224, C = 3;
  layers.push(() => conv(224, 224, 3, 32, 3, 2));
  H = 112; C = 32;
  const cfg = [[1, 16, 1, 1], [6, 24, 2, 2], [6, 32, 3, 2], [6, 64, 4, 2], [6, 96, 3, 1], [6, 160, 3, 2], [6, 320, 1, 1]];
  for (const [t, c, n, s0] of cfg) {
    for (let i = 0; i < n; i++) {
      const s = i === 0 ? s0 : 1;
      const hid = C * t, h = H, cin = C;
      if (t !== 1) layers.push(() => conv(h, h, cin, hid));
      layers.push(() => dw(h, h, hid, s));
      const ho = Math.ceil(h / s);
      layers.push(() => conv(ho, ho, hid, c));
      H = ho; C = c;
    }
  }
  { const h = H, cin = C; layers.push(() => conv(h, h, cin, 1280)); }
  layers.push(() => conv(1, 1, 1280, 1001));
  console.log(`-- MobileNetV2-1.0-224, ${layers.length} conv/dw/fc layers`);
  let ms = 0, macs = 0, dwMs = 0, dwMacs = 0;
  for (const l of layers) {
    const r = l();
    show(r);
    ms += r.ms; macs += r.macs;
    if (r.name.startsWith('dw')) { dwMs += r.ms; dwMacs += r.macs; }
  }
  console.log(`total ${(macs / 1e6).toFixed(1)} MMAC in ${ms.toFixed(2)} ms = ${(macs / ms / 1e6).toFixed(1)} GMAC/s` +
    ` (depthwise ${dwMs.toFixed(2)} ms for ${(dwMacs / 1e6).toFixed(1)} MMAC; conv/fc ${(ms - dwMs).toFixed(2)} ms)`);
}
