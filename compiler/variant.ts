// The whole `edgelens compile` flow with the compression options:
//   --precision fp32|int16|int8 [--calibrate <dir>]   (ptq.ts)
//   --weights-bits 8|4|mixed:<config> / --auto-bits <max drop>   (bits.ts, int8 graphs only)
// Without any of them it is exactly compileTflite.

import type { TfModel } from './tflite.ts';
import { lower, importTflite, CompileError } from './compile.ts';
import { prepareModel, type VariantOptions, type VariantReport } from './ptq.ts';
import { loadImages, type CalibImage } from './calibrate.ts';
import { imagenetLabels } from './quant-report.ts';
import {
  weightLayers, parseWeightsBits, resolveBitsConfig, requantizeWeights4, layerInputMeans, layerHessians, encodeWeightBits, autoBits, bitsConfigJson,
  type BitsConfig, type Bits, type AutoBitsResult,
} from './bits.ts';
import type { ArtifactManifest } from '../src/model/artifact.ts';
import { parseArtifact } from '../src/model/artifact.ts';

export interface FullOptions extends VariantOptions {
  /** 8 | 4 | mixed:<config> */
  weightsBits?: string;
  /** maximum accuracy drop (percentage points) for the greedy bit-width search */
  autoBits?: number;
  /** GPTQ-style error-feedback rounding for 4-bit 1x1 conv / fully connected layers (opt-in: with the
   *  small calibration sets at hand it did not beat round-to-nearest + bias correction reliably) */
  gptq?: boolean;
}

export interface FullReport extends VariantReport {
  bits?: { config: Record<string, Bits>; layers4: number; layers8: number; autoBits?: Omit<AutoBitsResult, 'config'> };
}

export async function compileModel(bytes: Uint8Array, opts: FullOptions = {}): Promise<{ artifact: Uint8Array; manifest: ArtifactManifest; report: FullReport; model: TfModel; bitsConfig?: BitsConfig }> {
  const src = importTflite(bytes);
  const wb = parseWeightsBits(opts.weightsBits);
  if (opts.autoBits !== undefined && !(Number.isFinite(opts.autoBits) && opts.autoBits >= 0 && opts.autoBits <= 100)) {
    throw new CompileError(`--auto-bits takes the maximum accuracy drop in percentage points (0..100), got ${opts.autoBits}`);
  }
  if ((wb || opts.autoBits !== undefined) && (opts.precision === 'fp32' || opts.precision === 'int16')) {
    throw new CompileError(`--weights-bits / --auto-bits apply to int8 graphs; not with --precision ${opts.precision}`);
  }
  if (wb && opts.autoBits !== undefined) throw new CompileError('--weights-bits and --auto-bits are exclusive (auto-bits chooses the widths)');
  if (opts.autoBits !== undefined && !opts.calibrate && !opts.images) throw new CompileError('--auto-bits needs calibration images: --calibrate <image dir>');
  // decode the calibration images once for PTQ, means and auto-bits
  let images: CalibImage[] | undefined = opts.images;
  if (!images && opts.calibrate && (opts.precision === 'int16' || opts.precision === 'int8' || wb || opts.autoBits !== undefined)) {
    images = await loadImages(opts.calibrate, { limit: opts.calibLimit });
  }
  const prep = await prepareModel(src, { ...opts, images });
  const { precision: _p, calibrate: _c, calibLimit: _l, method: _m, images: _i, log: _g, biasCorrection: _b, weightsBits: _w, autoBits: _a, gptq: _q, ...copts } = prep.opts as FullOptions;
  let model = prep.model;
  let cfg: BitsConfig | undefined;
  let auto: AutoBitsResult | undefined;
  if (wb || opts.autoBits !== undefined) {
    const layers = weightLayers(model);
    if (layers.length === 0) throw new CompileError('the model has no layers with symmetric int8 weights to change the width of');
    if (opts.autoBits !== undefined) {
      const labels = opts.calibrate ? imagenetLabels(opts.calibrate) ?? undefined : undefined;
      auto = await autoBits(model, images!, { maxDrop: opts.autoBits, compile: copts, labels, log: opts.log, gptq: opts.gptq });
      cfg = auto.config;
    } else if (wb!.kind === 'uniform') {
      cfg = wb!.bits === 8 ? undefined : new Map(layers.map((l) => [l.op, wb!.bits]));
    } else {
      cfg = resolveBitsConfig(wb!.spec, layers);
    }
  }
  if (!cfg) {
    const r = await lower(model, copts);
    return { ...r, model, report: { ...r.report, ...prep.report } as FullReport };
  }
  if ([...cfg.values()].includes(4)) {
    const means = images ? await layerInputMeans(model, images, copts) : undefined;
    const hessians = images && opts.gptq ? await layerHessians(model, images, copts) : undefined;
    model = requantizeWeights4(model, cfg, means, undefined, hessians);
  }
  const r = await lower(model, copts);
  const ref = await lower(model, { ...copts, reference: true });
  const json = bitsConfigJson(cfg);
  const artifact = await encodeWeightBits(r.artifact, ref.artifact, cfg, {
    ...(auto ? { autoBits: { maxDrop: opts.autoBits, metric: auto.metric, baseline: auto.baseline, final: auto.final } } : {}),
  });
  const parsed = await parseArtifact(artifact);
  const n4 = Object.keys(json.layers).length;
  return {
    artifact, manifest: parsed.manifest, model, bitsConfig: cfg,
    report: {
      ...r.report, ...prep.report, artifactBytes: artifact.length, weightsBytes: parsed.weights.length,
      bits: { config: json.layers, layers4: n4, layers8: cfg.size - n4, ...(auto ? { autoBits: { metric: auto.metric, baseline: auto.baseline, final: auto.final, evaluations: auto.evaluations, order: auto.order } } : {}) },
    } as FullReport,
  };
}

// ---- CLI glue (compiler/cli.ts) ------------------------------------------------------------------

type Flags = Record<string, string | true>;
const COMPRESSION_FLAGS = ['precision', 'calibrate', 'calib-method', 'calib-limit', 'weights-bits', 'auto-bits', 'save-bits', 'no-bias-correction', 'gptq'];

/** `edgelens compile` with the compression flags; exactly compileTflite when none is given. */
export async function compileWithFlags(bytes: Uint8Array, flags: Flags, base: import('./compile.ts').CompileOptions) {
  if (!COMPRESSION_FLAGS.some((f) => flags[f] !== undefined)) {
    const { compileTflite } = await import('./compile.ts');
    return compileTflite(bytes, base);
  }
  const str = (k: string) => {
    const v = flags[k];
    if (v === true) throw new CompileError(`--${k} needs a value`);
    return v;
  };
  const precision = str('precision');
  if (precision !== undefined && !['fp32', 'int16', 'int8'].includes(precision)) throw new CompileError(`--precision takes fp32, int16 or int8, got ${JSON.stringify(precision)}`);
  const method = str('calib-method');
  if (method !== undefined && !['minmax', 'percentile', 'mse'].includes(method)) throw new CompileError(`--calib-method takes minmax, percentile or mse, got ${JSON.stringify(method)}`);
  const limit = str('calib-limit');
  if (limit !== undefined && !(Number.isInteger(Number(limit)) && Number(limit) > 0)) throw new CompileError(`--calib-limit takes a positive integer, got ${JSON.stringify(limit)}`);
  const auto = str('auto-bits');
  const autoN = auto === undefined ? undefined : Number(auto.replace(/%$/, ''));
  if (auto !== undefined && !Number.isFinite(autoN)) throw new CompileError(`--auto-bits takes the maximum accuracy drop in percentage points, e.g. 2, got ${JSON.stringify(auto)}`);
  const r = await compileModel(bytes, {
    ...base,
    precision: precision as FullOptions['precision'],
    calibrate: str('calibrate'),
    calibLimit: limit ? Number(limit) : undefined,
    method: method as FullOptions['method'],
    weightsBits: str('weights-bits'),
    autoBits: autoN,
    biasCorrection: flags['no-bias-correction'] ? false : undefined,
    gptq: flags.gptq === true,
    log: (m) => console.log(m),
  });
  const rep = r.report;
  const c = rep.calibration;
  if (c) {
    console.log(`  calibration: ${c.images} images${c.dir ? ` from ${c.dir}` : ''}, ranges by ${c.method} (${c.clipped} of ${c.calibrated} tensors narrowed below min/max), ` +
      `input ${c.inputExact ? 'on the exact pixel grid' : 'calibrated'}, bias correction on ${c.biasCorrected} layers`);
  } else if (rep.precision !== 'source') {
    console.log(`  precision ${rep.precision} from a ${rep.from} model (no calibration needed)`);
  }
  if (rep.bits) {
    console.log(`  weight bits: ${rep.bits.layers4} layers 4-bit, ${rep.bits.layers8} layers 8-bit` +
      (rep.bits.autoBits ? ` (auto-bits: ${rep.bits.autoBits.metric} ${rep.bits.autoBits.baseline.toFixed(1)} -> ${rep.bits.autoBits.final.toFixed(1)} on the calibration images, ${rep.bits.autoBits.evaluations} evaluations)` : ''));
    const save = str('save-bits');
    if (save && r.bitsConfig) {
      const { writeFileSync } = await import('node:fs');
      writeFileSync(save, JSON.stringify(bitsConfigJson(r.bitsConfig), null, 1) + '\n');
      console.log(`  bit widths written to ${save} (reuse with --weights-bits mixed:${save})`);
    }
  }
  return r;
}
