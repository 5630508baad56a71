// Per-layer weight bit widths (compiler/bits.ts, src/model/wbits.ts): nibble encoding, configs,
// all-8-bit artifacts behave exactly like the int8 one, 4-bit layers expand losslessly into the int8
// kernels' layouts, the validator checks the encoded footprints, and auto-bits.
import { describe, it, expect, beforeAll } from 'vitest';
import { readFileSync, existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { compileModel } from '../../compiler/variant.ts';
import { compileTflite, lower } from '../../compiler/compile.ts';
import { parseTflite } from '../../compiler/tflite.ts';
import { weightLayers, resolveBitsConfig, requantizeWeights4, autoBits } from '../../compiler/bits.ts';
import { loadImages, type CalibImage } from '../../compiler/calibrate.ts';
import { predict } from '../../compiler/quant-report.ts';
import { createNodeEngine } from '../../compiler/node-engine.ts';
import { parseArtifact, writeArtifact, ArtifactError, type ArtifactManifest } from '../../src/model/artifact.ts';
import { encodeNibbles, decodeWeights, expandWeights } from '../../src/model/wbits.ts';
import type { Engine } from '../../src/engine/engine.ts';

const SHARED = process.env.EDGELENS_SHARED_DIR ? resolve(process.env.EDGELENS_SHARED_DIR) : resolve(import.meta.dirname, '..', '..', '..', 'shared');
const MODELS = join(SHARED, 'models');
const SAMPLES = join(SHARED, 'images', 'samples');
const has = existsSync(join(MODELS, 'wv_quality_mobilenetv2.tflite')) && existsSync(SAMPLES);
const model = (f: string) => new Uint8Array(readFileSync(join(MODELS, f)));
const PERSON_NRM = { mean: [0, 0, 0] as [number, number, number], std: [1, 1, 1] as [number, number, number] };

let engine: Engine;
let images: CalibImage[];
beforeAll(async () => {
  if (!has) return;
  engine = await createNodeEngine();
  images = await loadImages(SAMPLES, { limit: 5 });
});

async function run(art: Uint8Array, imgs: CalibImage[]) {
  const p = await parseArtifact(art);
  const m = engine.load(p);
  try { return predict(m, p.manifest, imgs); } finally { engine.unload(m); }
}

describe('nibble encoding', () => {
  it('round-trips every 4-bit value, odd lengths included', () => {
    const w = Int8Array.from({ length: 37 }, (_, i) => (i % 16) - 8);
    const e = encodeNibbles(w);
    expect(e.length).toBe(19);
    expect(Array.from(decodeWeights(e, 4, 37))).toEqual(Array.from(w));
    expect(() => encodeNibbles(Int8Array.of(8))).toThrow(RangeError);
    expect(Array.from(decodeWeights(new Uint8Array(Int8Array.of(-128, 5, 127).buffer), 8, 3))).toEqual([-128, 5, 127]);
  });
});

describe.skipIf(!has)('weight bit widths', () => {
  it('--weights-bits 8 is byte-identical to a plain compile; mixed all-8 is smaller and answers identically', async () => {
    const src = model('wv_quality_mobilenetv2.tflite');
    const plain = await compileTflite(src, { normalization: PERSON_NRM });
    const w8 = await compileModel(src, { weightsBits: '8', normalization: PERSON_NRM });
    expect(Buffer.compare(Buffer.from(w8.artifact), Buffer.from(plain.artifact))).toBe(0);
    const m8 = await compileModel(src, { weightsBits: 'mixed:default=8', normalization: PERSON_NRM });
    expect(m8.artifact.length).toBeLessThan(plain.artifact.length);
    expect(m8.manifest.ops.filter((o) => o.p.wEnc === 8).length).toBe(weightLayers(parseTflite(src)).length);
    expect((m8.manifest.meta!.compression as { layers4: number }).layers4).toBe(0);
    // expanded weights == the plain artifact's, op by op; requant blocks too, except that the load-time
    // expansion skips the compiler's search for FAST2R's affine half-blocks (exact FAST2R there instead)
    const pp = await parseArtifact(plain.artifact), pm = await parseArtifact(m8.artifact);
    const x = expandWeights(pm.manifest, pm.weights);
    let affineHalves = 0;
    x.manifest.ops.forEach((op, i) => {
      for (const [k, [o, l]] of Object.entries(op.w)) {
        const [po, pl] = pp.manifest.ops[i]!.w[k]!;
        expect(l).toBe(pl);
        const got = x.weights.slice(o, o + l), want = pp.weights.slice(po, po + pl);
        if (k === 'q' && op.p.fast) {
          const g = new Int32Array(got.buffer), w = new Int32Array(want.buffer);
          for (let b = 0; b < w[1]!; b++) {
            for (let h = 0; h < 2; h++) {
              if (w[3] !== 2 || w[4 + b * 96 + 56 + 4 * h] !== 0) continue;
              affineHalves++;
              for (const f of [24, 32, 56, 64]) for (let j = 0; j < 4; j++) g[4 + b * 96 + f + 4 * h + j] = w[4 + b * 96 + f + 4 * h + j]!;
            }
          }
        }
        expect(Buffer.compare(Buffer.from(got), Buffer.from(want))).toBe(0);
      }
    });
    expect(affineHalves).toBeGreaterThan(0);
    const a = await run(plain.artifact, images), b = await run(m8.artifact, images);
    a.forEach((p, i) => expect(Array.from(b[i]!.scores)).toEqual(Array.from(p.scores)));
  }, 120_000);

  it('4-bit layers: nibble slots expand into exactly the int8 kernels\' weights of the requantized model', async () => {
    const src = model('wv_quality_mobilenetv2.tflite');
    const r = await compileModel(src, { weightsBits: 'mixed:default=4,dw=8', normalization: PERSON_NRM });
    expect(r.manifest.precision).toBe('mixed');
    const layers = weightLayers(parseTflite(src));
    const n4 = r.manifest.ops.filter((o) => o.p.wEnc === 4).length;
    expect(n4).toBe(layers.filter((l) => l.kind !== 'dw').length);
    // nibble slots are half the logical weights
    for (const op of r.manifest.ops.filter((o) => o.p.wEnc === 4)) {
      expect(op.w.w![1]).toBe(Math.ceil((op.p.outC! * op.p.kH! * op.p.kW! * op.p.inC!) / 2));
    }
    // the same requantized model lowered without encoding gives identical outputs
    const plain = await lower(r.model, { normalization: PERSON_NRM });
    const a = await run(plain.artifact, images), b = await run(r.artifact, images);
    a.forEach((p, i) => expect(Array.from(b[i]!.scores)).toEqual(Array.from(p.scores)));
    // fast vs reference kernels agree on the 4-bit artifact
    const ref = await compileModel(src, { weightsBits: 'mixed:default=4,dw=8', normalization: PERSON_NRM, reference: true });
    const c = await run(ref.artifact, images);
    c.forEach((p, i) => expect(Array.from(b[i]!.scores)).toEqual(Array.from(p.scores)));
  }, 120_000);

  it('requantized 4-bit weights lie in [-8, 7] with per-channel scales; biases re-derived', () => {
    const m = parseTflite(model('wv_quality_mobilenetv2.tflite'));
    const l = weightLayers(m).find((x) => x.kind === 'conv' && x.params > 5000)!;
    const q = requantizeWeights4(m, new Map([[l.op, 4]]));
    const w = new Int8Array(q.tensors[l.filter]!.data!.slice().buffer);
    expect(Math.min(...w)).toBeGreaterThanOrEqual(-8);
    expect(Math.max(...w)).toBeLessThanOrEqual(7);
    const op = m.operators.find((o) => o.index === l.op)!;
    expect(q.tensors[op.inputs[2]!]!.data).not.toEqual(m.tensors[op.inputs[2]!]!.data);
    expect(q.tensors[l.filter]!.quant!.scale.length).toBe(m.tensors[l.filter]!.quant!.scale.length);
  });

  it('configs: inline selectors, ranges, JSON files; later, more specific entries win', () => {
    const layers = weightLayers(parseTflite(model('wv_quality_mobilenetv2.tflite')));
    const dw = layers.find((l) => l.kind === 'dw')!, conv = layers.find((l) => l.kind === 'conv')!;
    const c = resolveBitsConfig(`default=4,dw=8,${conv.op}=8`, layers);
    expect(c.get(dw.op)).toBe(8);
    expect(c.get(conv.op)).toBe(8);
    expect([...c.values()].filter((b) => b === 4).length).toBe(layers.filter((l) => l.kind !== 'dw').length - 1);
    const r = resolveBitsConfig(`${layers[0]!.op}-${layers[3]!.op}=4`, layers);
    expect([...r.values()].filter((b) => b === 4).length).toBe(4);
    const f = join(mkdtempSync(join(tmpdir(), 'bits-')), 'cfg.json');
    writeFileSync(f, JSON.stringify({ default: 8, layers: { [String(conv.op)]: 4 } }));
    const j = resolveBitsConfig(f, layers);
    expect([...j.entries()].filter(([, b]) => b === 4)).toEqual([[conv.op, 4]]);
  });

  it('the validator checks encoded footprints (truncated nibble slot, unknown encoding, 16-bit weights)', async () => {
    const r = await compileModel(model('wv_quality_mobilenetv2.tflite'), { weightsBits: '4', normalization: PERSON_NRM });
    const p = await parseArtifact(r.artifact);
    const rewrite = async (f: (m: ArtifactManifest) => void) => {
      const m = structuredClone(p.manifest);
      f(m);
      const { sha256: _s, format: _f, weightsBytes: _w, ...rest } = m;
      return parseArtifact(await writeArtifact(rest, p.weights));
    };
    const i = p.manifest.ops.findIndex((o) => o.p.wEnc === 4);
    await expect(rewrite((m) => { m.ops[i]!.w.w![1] -= 1; })).rejects.toThrow(/weight block w .*invalid/);
    await expect(rewrite((m) => { m.ops[i]!.p.wEnc = 5; })).rejects.toThrow(/invalid wEnc=5/);
    await expect(rewrite((m) => { m.ops[i]!.p.wIs16 = 1; })).rejects.toThrow(ArtifactError);
  }, 120_000);

  it('auto-bits keeps the accuracy on the calibration images within the budget', async () => {
    const m = parseTflite(model('vww_96_int8.tflite'));
    const imgs = images.slice(0, 4);
    const r = await autoBits(m, imgs, { maxDrop: 0, compile: {} });
    expect(r.metric).toBe('top-1 agreement with the 8-bit model');
    expect(r.final).toBeGreaterThanOrEqual(r.baseline);
    expect(r.order.length).toBe(weightLayers(m).length);
    expect([...r.config.values()].filter((b) => b === 4).length).toBe(r.order.filter((o) => o.accepted).length);
    const art = await compileModel(model('vww_96_int8.tflite'), { autoBits: 0, images: imgs });
    const base = await run((await compileTflite(model('vww_96_int8.tflite'))).artifact, imgs);
    const got = await run(art.artifact, imgs);
    got.forEach((p, k) => expect(p.top1).toBe(base[k]!.top1));
  }, 300_000);
});
