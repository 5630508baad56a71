// Post-training quantization (compiler/ptq.ts, calibrate.ts, variant.ts): deterministic for a fixed
// calibration set, close to the float model, the 16x8 graph bit-exact between the fast and the
// reference kernels, the fp32 variant of an int8 model, and clear errors for bad options.
import { describe, it, expect, beforeAll } from 'vitest';
import { readFileSync, mkdtempSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { compileModel } from '../../compiler/variant.ts';
import { prepareModel, dequantizeModel, isFloatModel } from '../../compiler/ptq.ts';
import { loadImages, chooseRange, asymmetricParams, type CalibImage, type TensorStats } from '../../compiler/calibrate.ts';
import { quantReport, predict, agreement } from '../../compiler/quant-report.ts';
import { compileTflite, CompileError } from '../../compiler/compile.ts';
import { parseTflite } from '../../compiler/tflite.ts';
import { createNodeEngine } from '../../compiler/node-engine.ts';
import { parseArtifact } from '../../src/model/artifact.ts';
import type { Engine } from '../../src/engine/engine.ts';

const SHARED = process.env.EDGELENS_SHARED_DIR ? resolve(process.env.EDGELENS_SHARED_DIR) : resolve(import.meta.dirname, '..', '..', '..', 'shared');
const MODELS = join(SHARED, 'models');
const SAMPLES = join(SHARED, 'images', 'samples');
const has = existsSync(join(MODELS, 'vww_96_float.tflite')) && existsSync(SAMPLES);
const model = (f: string) => new Uint8Array(readFileSync(join(MODELS, f)));

let engine: Engine;
let calib: CalibImage[];
let vwwFloat: Uint8Array;
beforeAll(async () => {
  if (!has) return;
  engine = await createNodeEngine();
  calib = await loadImages(SAMPLES, { limit: 6 });
  vwwFloat = model('vww_96_float.tflite');
});

async function outputs(art: Uint8Array, images: CalibImage[]) {
  const p = await parseArtifact(art);
  const m = engine.load(p);
  try { return predict(m, p.manifest, images); } finally { engine.unload(m); }
}

describe.skipIf(!has)('PTQ of a float model (vww_96_float)', () => {
  it('int8: deterministic for a fixed calibration set, int8 graph, agrees with the float model', async () => {
    const a = await compileModel(vwwFloat, { precision: 'int8', images: calib });
    const b = await compileModel(vwwFloat, { precision: 'int8', images: calib });
    expect(Buffer.compare(Buffer.from(a.artifact), Buffer.from(b.artifact))).toBe(0);
    expect(a.manifest.precision).toBe('int8');
    expect(a.manifest.input.dtype).toBe('int8');
    expect(a.manifest.ops.every((op) => op.kind.endsWith('_i8'))).toBe(true);
    expect(a.report.calibration).toMatchObject({ images: 6, method: 'mse', inputExact: true });
    const f = await outputs((await compileTflite(vwwFloat)).artifact, calib);
    const q = await outputs(a.artifact, calib);
    expect(agreement(q, f).correct).toBeGreaterThanOrEqual(5);
  }, 120_000);

  it('every range method works and min/max never clips', async () => {
    for (const method of ['minmax', 'percentile', 'mse'] as const) {
      const r = await compileModel(vwwFloat, { precision: 'int8', images: calib.slice(0, 3), method });
      expect(r.report.calibration!.method).toBe(method);
      if (method === 'minmax') expect(r.report.calibration!.clipped).toBe(0);
    }
  }, 120_000);

  it('int16 (16x8): deterministic, int16 kernels, fast == reference kernels bit for bit, close to float', async () => {
    const a = await compileModel(vwwFloat, { precision: 'int16', images: calib });
    const b = await compileModel(vwwFloat, { precision: 'int16', images: calib });
    expect(Buffer.compare(Buffer.from(a.artifact), Buffer.from(b.artifact))).toBe(0);
    expect(a.manifest.precision).toBe('int16');
    const kinds = new Set(a.manifest.ops.map((o) => o.kind));
    for (const k of ['requantize_i8_i16', 'conv_i16', 'dw_i16', 'avgpool_i16', 'softmax_i16', 'dequantize_i16_f32']) expect(kinds).toContain(k);
    expect(a.manifest.outputs[0]!.dtype).toBe('float32');
    const ref = await compileModel(vwwFloat, { precision: 'int16', images: calib, reference: true });
    expect(ref.manifest.ops.filter((o) => o.p.fast === 1)).toHaveLength(0);
    const fo = await outputs(a.artifact, calib), ro = await outputs(ref.artifact, calib);
    fo.forEach((p, i) => expect(Array.from(p.scores)).toEqual(Array.from(ro[i]!.scores)));
    const f = await outputs((await compileTflite(vwwFloat)).artifact, calib);
    fo.forEach((p, i) => expect(Math.abs(p.scores[1]! - f[i]!.scores[1]!)).toBeLessThan(0.1));
  }, 120_000);

  it('quant-report: per-layer SQNR of every shared tensor, agreement and cosine', async () => {
    const a = await compileModel(vwwFloat, { precision: 'int8', images: calib });
    const r = await quantReport(vwwFloat, a.artifact, calib.slice(0, 3));
    expect(r.layers.length).toBeGreaterThan(25);
    for (const l of r.layers) expect(l.sqnrDb).toBeGreaterThan(5);
    expect(r.layers[0]!.sqnrDb).toBeGreaterThan(30); // the input sits on the exact pixel grid
    expect(r.meanCosine).toBeGreaterThan(0.99);
  }, 120_000);
});

describe.skipIf(!has)('variants of an int8 model', () => {
  it('fp32 dequantizes weights and drops QUANTIZE; same answers as the int8 model', async () => {
    const src = model('wv_quality_mobilenetv2.tflite');
    const m = parseTflite(src);
    expect(isFloatModel(m)).toBe(false);
    const d = dequantizeModel(m);
    expect(isFloatModel(d.model)).toBe(true);
    expect(d.model.operators.some((o) => o.name === 'QUANTIZE')).toBe(false);
    expect(d.normalization).toEqual({ mean: [0, 0, 0], std: [1, 1, 1] });
    const fp = await compileModel(src, { precision: 'fp32' });
    expect(fp.manifest.precision).toBe('float32');
    expect(fp.manifest.input.dtype).toBe('float32');
    const i8 = await compileModel(src, { precision: 'int8' });
    const a = await outputs(fp.artifact, calib.slice(0, 4)), b = await outputs(i8.artifact, calib.slice(0, 4));
    a.forEach((p, i) => expect(Math.abs(p.scores[1]! - b[i]!.scores[1]!)).toBeLessThan(0.1));
  }, 120_000);

  it('int16 of an int8 model keeps its int8 weights and re-derives activation scales', async () => {
    const src = model('wv_quality_mobilenetv2.tflite');
    const { model: q } = await prepareModel(parseTflite(src), { precision: 'int16', images: calib.slice(0, 2) });
    const m = parseTflite(src);
    const conv = m.operators.find((o) => o.name === 'CONV_2D')!;
    expect(Array.from(q.tensors[conv.inputs[1]!]!.data!)).toEqual(Array.from(m.tensors[conv.inputs[1]!]!.data!));
    expect(q.tensors[conv.outputs[0]!]!.typeName).toBe('INT16');
    expect(q.tensors[conv.inputs[2]!]!.typeName).toBe('INT64');
  }, 120_000);
});

describe('range choice', () => {
  const stats = (values: number[]): TensorStats => {
    const min = Math.min(...values), max = Math.max(...values);
    const hist = new Float64Array(2048);
    for (const v of values) if (v !== 0) hist[Math.min(2047, Math.floor(((v - min) * 2048) / (max - min)))]! += 1;
    return { min, max, count: values.length, zeros: values.filter((v) => v === 0).length, hist };
  };
  it('minmax keeps the extremes (and 0); mse and percentile clip a lone outlier', () => {
    const vals = [...Array.from({ length: 10000 }, (_, i) => (i % 100) / 100), 50];
    const s = stats(vals);
    expect(chooseRange(s, 'minmax', 255, false)).toEqual([0, 50]);
    expect(chooseRange(s, 'mse', 255, false)[1]).toBeLessThan(50);
    expect(chooseRange(s, 'percentile', 255, false)[1]).toBeLessThan(50);
    expect(chooseRange(stats([2, 3, 4]), 'minmax', 255, false)).toEqual([0, 4]);
  });
  it('asymmetric parameters put real 0 exactly on the grid', () => {
    for (const [lo, hi] of [[0, 6], [-3, 5], [-10, 0.5], [-1, 1]] as const) {
      const { scale, zeroPoint } = asymmetricParams(lo, hi);
      expect(zeroPoint).toBeGreaterThanOrEqual(-128);
      expect(zeroPoint).toBeLessThanOrEqual(127);
      // the grid covers [lo, hi] to within one step (zero-point nudging), and 0 is a grid point
      expect(scale * (127 - zeroPoint)).toBeGreaterThanOrEqual(hi - scale);
      expect(scale * (-128 - zeroPoint)).toBeLessThanOrEqual(lo + scale);
      expect(Number.isInteger(zeroPoint)).toBe(true);
    }
    expect(asymmetricParams(0, 6).zeroPoint).toBe(-128);
  });
});

describe.skipIf(!has)('bad options give clear errors', () => {
  const compileErr = async (p: Promise<unknown>, re: RegExp) => {
    const e = await p.then(() => null, (x: unknown) => x);
    expect(e).toBeInstanceOf(CompileError);
    expect((e as Error).message).toMatch(re);
  };
  it('int16 of a graph with an op the 16x8 kernels lack names the op', async () => {
    await compileErr(compileModel(model('movenet_single_pose_lightning_ptq.tflite'), { precision: 'int16', images: calib.slice(0, 1) }),
      /--precision int16: operator \d+ \([A-Z_0-9]+\) is not supported by the int16 \(16x8\) kernels/);
    // a float graph with an unsupported op
    const m = parseTflite(vwwFloat);
    m.operators[27] = { ...m.operators[27]!, name: 'TANH' };
    await compileErr(prepareModel(m, { precision: 'int16', images: calib.slice(0, 1) }), /operator 27 \(TANH\) is not supported/);
  }, 120_000);
  it('a calibration directory without images, or missing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'calib-'));
    writeFileSync(join(dir, 'notes.txt'), 'no images here');
    await compileErr(compileModel(vwwFloat, { precision: 'int8', calibrate: dir }), /calibration directory .* has no images/);
    await compileErr(compileModel(vwwFloat, { precision: 'int8', calibrate: join(dir, 'missing') }), /does not exist/);
  });
  it('PTQ without calibration images, and option combinations that make no sense', async () => {
    await compileErr(compileModel(vwwFloat, { precision: 'int8' }), /needs calibration images: --calibrate/);
    await compileErr(compileModel(vwwFloat, { precision: 'int16', weightsBits: '4', images: calib }), /apply to int8 graphs/);
    await compileErr(compileModel(model('vww_96_int8.tflite'), { weightsBits: '3' }), /--weights-bits takes 8, 4 or mixed/);
    await compileErr(compileModel(model('vww_96_int8.tflite'), { weightsBits: 'mixed:default=4,wat=8' }), /unknown selector "wat"/);
    await compileErr(compileModel(model('vww_96_int8.tflite'), { weightsBits: 'mixed:999=4' }), /operator 999 is not a conv/);
    await compileErr(compileModel(model('vww_96_int8.tflite'), { autoBits: 2 }), /--auto-bits needs calibration images/);
  });
});
