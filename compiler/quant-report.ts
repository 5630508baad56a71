// `edgelens quant-report <float model> <artifact> --images <dir>`: how far a quantized artifact is
// from the float model it came from, per layer (SQNR of every intermediate tensor both graphs share,
// matched by TFLite tensor name) and at the output (top-1 agreement, cosine similarity).
// Also the accuracy helpers (ImageNet top-1 on imagenet-dev/labels.csv, person accuracy on the
// labelled samples and imagenet-dev/person.csv) used by auto-bits and bench/variants.ts.

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseTflite, type TfModel } from './tflite.ts';
import { CompileError } from './compile.ts';
import { parseArtifact, type ArtifactManifest } from '../src/model/artifact.ts';
import { scoresOf } from '../src/worker/scores.ts';
import type { Output } from '../src/engine/types.ts';
import type { LoadedModel } from '../src/engine/engine.ts';
import { TracedModel, loadImages, preprocess, type CalibImage } from './calibrate.ts';
import { dequantizeModel, isFloatModel } from './ptq.ts';
import { isArtifact } from './node-engine.ts';
import { compileTflite } from './compile.ts';

// ---- labels -------------------------------------------------------------------------------

/** Person / no person of the samples, from ../shared/images/README.md. */
export const PERSON_SAMPLES: Record<string, boolean> = {
  'grace_hopper.jpg': true, 'squat.jpg': true, 'face.jpg': true, 'kite_and_cold.jpg': true, 'tflm_person.jpg': true,
  'cat.jpg': false, 'bird.jpg': false, 'sunflower.jpg': false, 'dragonfly.jpg': false, 'missvickie_potato_chips.jpg': false,
  'owl.jpg': false, 'parrot.jpg': false, 'hot_dog.jpg': false, 'pets.jpg': false, 'tflm_no_person.jpg': false,
};

function csv(file: string): Record<string, string>[] {
  const [head, ...rows] = readFileSync(file, 'utf8').trim().split(/\r?\n/);
  const cols = head!.split(',');
  // the label column may contain quoted commas; only the leading columns are needed
  return rows.map((r) => Object.fromEntries(cols.map((c, i) => [c, r.split(',')[i] ?? ''])));
}

/** imagenet-dev/labels.csv: file -> class index (1001-way). */
export function imagenetLabels(dir: string): Map<string, number> | null {
  const f = join(dir, 'labels.csv');
  if (!existsSync(f)) return null;
  return new Map(csv(f).map((r) => [r.file!, Number(r.index)]));
}

/** imagenet-dev/person.csv: file -> person visible. */
export function personLabels(dir: string): Map<string, boolean> | null {
  const f = join(dir, 'person.csv');
  if (!existsSync(f)) return null;
  return new Map(csv(f).map((r) => [r.file!, r.person === '1']));
}

// ---- running models on images ---------------------------------------------------------------

export interface Prediction { file: string; scores: Float64Array; top1: number }

export const argmax = (a: ArrayLike<number>) => {
  let b = 0;
  for (let i = 1; i < a.length; i++) if (a[i]! > a[b]!) b = i;
  return b;
};

/** Scores (dequantized, softmax for logits) of the first output for every image. */
export function predict(model: LoadedModel | TracedModel, manifest: ArtifactManifest, images: CalibImage[]): Prediction[] {
  return images.map((img) => {
    const outs: Output[] = model.run(preprocess(img, manifest.input));
    const scores = scoresOf(outs[0]!, manifest.outputs[0]!);
    return { file: img.file, scores, top1: argmax(scores) };
  });
}

export interface Accuracy { correct: number; total: number; pct: number }
const acc = (correct: number, total: number): Accuracy => ({ correct, total, pct: total ? (100 * correct) / total : NaN });

/** ImageNet top-1 over the images that have a label. */
export function top1Accuracy(preds: Prediction[], labels: Map<string, number>): Accuracy {
  let c = 0, n = 0;
  for (const p of preds) {
    const want = labels.get(p.file.split('/').pop()!);
    if (want === undefined) continue;
    n++;
    if (p.top1 === want) c++;
  }
  return acc(c, n);
}

/** Person accuracy (score of personIndex >= 0.5) over labelled images. */
export function personAccuracy(preds: Prediction[], labels: Map<string, boolean> | Record<string, boolean>, personIndex = 1): Accuracy {
  const get = (f: string) => (labels instanceof Map ? labels.get(f) : labels[f]);
  let c = 0, n = 0;
  for (const p of preds) {
    const want = get(p.file.split('/').pop()!);
    if (want === undefined) continue;
    n++;
    if ((p.scores[personIndex]! >= 0.5) === want) c++;
  }
  return acc(c, n);
}

export function agreement(a: Prediction[], b: Prediction[]): Accuracy {
  let c = 0;
  a.forEach((p, i) => { if (p.top1 === b[i]!.top1) c++; });
  return acc(c, a.length);
}

export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let ab = 0, aa = 0, bb = 0;
  for (let i = 0; i < a.length; i++) { ab += a[i]! * b[i]!; aa += a[i]! * a[i]!; bb += b[i]! * b[i]!; }
  return aa > 0 && bb > 0 ? ab / Math.sqrt(aa * bb) : aa === bb ? 1 : 0;
}

// ---- the report ------------------------------------------------------------------------------

export interface LayerSqnr { name: string; dtype: string; sqnrDb: number }
export interface QuantReport {
  images: number;
  reference: string;
  layers: LayerSqnr[];
  top1Agreement: Accuracy;
  meanCosine: number;
  minCosine: number;
}

/** The float reference of a model file: a float .tflite as is, an int8 one dequantized. */
export function floatReference(bytes: Uint8Array): { model: TfModel; normalization?: ReturnType<typeof dequantizeModel>['normalization']; note: string } {
  const m = parseTflite(bytes);
  if (isFloatModel(m)) return { model: m, note: 'float model' };
  const d = dequantizeModel(m);
  return { model: d.model, normalization: d.normalization, note: 'int8 model dequantized to float' };
}

export async function quantReport(floatBytes: Uint8Array, artifactBytes: Uint8Array, images: CalibImage[]): Promise<QuantReport> {
  const ref = floatReference(floatBytes);
  const art = isArtifact(artifactBytes) ? artifactBytes : (await compileTflite(artifactBytes)).artifact;
  const parsed = await parseArtifact(art);
  const fl = await TracedModel.fromTfModel(ref.model, { normalization: ref.normalization ?? parsed.manifest.input.normalization });
  // its own engine: models of one engine share the activation arena, and both traces must survive a run
  const q = await TracedModel.fromArtifactManifest(parsed.manifest, parsed.weights);
  try {
    // tensors both graphs have (same TFLite name, same element count)
    const byName = new Map<string, number>();
    for (const [ti, mi] of fl.map) byName.set(ref.model.tensors[ti]!.name, mi);
    const pairs: { name: string; f: number; q: number; dtype: string; sig: number; noise: number }[] = [];
    q.manifest.tensors.forEach((t, i) => {
      const fi = byName.get(t.name);
      if (fi === undefined || t.dtype === 'int32') return;
      const ft = fl.manifest.tensors[fi]!;
      if (ft.shape.reduce((a, b) => a * b, 1) !== t.shape.reduce((a, b) => a * b, 1)) return;
      pairs.push({ name: t.name, f: fi, q: i, dtype: t.dtype, sig: 0, noise: 0 });
    });
    const fp: Prediction[] = [], qp: Prediction[] = [];
    let cosSum = 0, cosMin = 1;
    for (const img of images) {
      const fo = fl.run(preprocess(img, fl.manifest.input));
      const qo = q.run(preprocess(img, q.manifest.input));
      for (const p of pairs) {
        const a = fl.read(p.f), b = q.read(p.q);
        let s = 0, n = 0;
        for (let k = 0; k < a.length; k++) { const d = a[k]! - b[k]!; s += a[k]! * a[k]!; n += d * d; }
        p.sig += s; p.noise += n;
      }
      const fs = scoresOf(fo[0]!, fl.manifest.outputs[0]!), qs = scoresOf(qo[0]!, q.manifest.outputs[0]!);
      fp.push({ file: img.file, scores: fs, top1: argmax(fs) });
      qp.push({ file: img.file, scores: qs, top1: argmax(qs) });
      const c = cosine(fs, qs);
      cosSum += c; cosMin = Math.min(cosMin, c);
    }
    return {
      images: images.length,
      reference: ref.note,
      layers: pairs.map((p) => ({ name: p.name, dtype: p.dtype, sqnrDb: p.noise > 0 ? 10 * Math.log10(p.sig / p.noise) : Infinity })),
      top1Agreement: agreement(qp, fp),
      meanCosine: cosSum / images.length,
      minCosine: cosMin,
    };
  } finally {
    q.dispose();
    fl.dispose();
  }
}

export function formatQuantReport(r: QuantReport, precision: string): string {
  const lines = [`quant-report: ${r.images} images, reference = ${r.reference}, artifact precision ${precision}`];
  lines.push('per-layer SQNR (dB, signal = float tensor, noise = float - dequantized):');
  for (const l of r.layers) lines.push(`  ${l.sqnrDb.toFixed(1).padStart(6)}  ${l.dtype.padEnd(7)} ${l.name.slice(0, 90)}`);
  const finite = r.layers.filter((l) => Number.isFinite(l.sqnrDb));
  if (finite.length) lines.push(`  (${r.layers.length} shared tensors; mean ${(finite.reduce((a, l) => a + l.sqnrDb, 0) / finite.length).toFixed(1)} dB, min ${Math.min(...finite.map((l) => l.sqnrDb)).toFixed(1)} dB)`);
  lines.push(`top-1 agreement with the float model: ${r.top1Agreement.correct}/${r.top1Agreement.total} (${r.top1Agreement.pct.toFixed(1)}%)`);
  lines.push(`output cosine similarity: mean ${r.meanCosine.toFixed(5)}, min ${r.minCosine.toFixed(5)}`);
  return lines.join('\n');
}

export async function quantReportCli(floatFile: string, artifactFile: string, imagesDir: string, limit?: number): Promise<string> {
  if (!existsSync(floatFile)) throw new CompileError(`${floatFile} does not exist`);
  if (!existsSync(artifactFile)) throw new CompileError(`${artifactFile} does not exist`);
  const images = await loadImages(imagesDir, { limit, what: 'image' });
  const ab = new Uint8Array(readFileSync(artifactFile));
  const r = await quantReport(new Uint8Array(readFileSync(floatFile)), ab, images);
  const prec = isArtifact(ab) ? (await parseArtifact(ab)).manifest.precision : 'source';
  return formatQuantReport(r, prec);
}
