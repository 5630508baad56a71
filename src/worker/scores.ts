import type { Output, OutputSpec } from '../engine/types';

/** Real values of an output tensor: scale * (q - zeroPoint) for quantized dtypes. */
export function dequantize(out: Output, spec: Pick<OutputSpec, 'dtype' | 'scale' | 'zeroPoint'>): Float64Array {
  const r = new Float64Array(out.length);
  if (out instanceof Float32Array || spec.dtype === 'float32') {
    for (let i = 0; i < out.length; i++) r[i] = out[i]!;
    return r;
  }
  const scale = spec.scale;
  const zp = spec.zeroPoint;
  for (let i = 0; i < out.length; i++) r[i] = scale * (out[i]! - zp);
  return r;
}

export function softmax(x: Float64Array): Float64Array {
  const r = new Float64Array(x.length);
  if (x.length === 0) return r;
  let max = -Infinity;
  for (let i = 0; i < x.length; i++) if (x[i]! > max) max = x[i]!;
  let sum = 0;
  for (let i = 0; i < x.length; i++) {
    const e = Math.exp(x[i]! - max);
    r[i] = e;
    sum += e;
  }
  for (let i = 0; i < x.length; i++) r[i] = r[i]! / sum;
  return r;
}

/**
 * Class scores of an output: dequantized, then softmax for 'logits' outputs
 * (a single logit becomes a sigmoid probability). 'softmax' and 'other' are used as is.
 */
export function scoresOf(out: Output, spec: OutputSpec): Float64Array {
  const real = dequantize(out, spec);
  if (spec.kind !== 'logits') return real;
  if (real.length === 1) return Float64Array.of(1 / (1 + Math.exp(-real[0]!)));
  return softmax(real);
}

export interface Scored {
  index: number;
  score: number;
}

/** The k best scores, highest first; equal scores go to the lower index. */
export function topK(scores: Float64Array, k: number): Scored[] {
  const n = Math.max(0, Math.min(k, scores.length));
  const idx = Array.from({ length: scores.length }, (_, i) => i);
  idx.sort((a, b) => scores[b]! - scores[a]! || a - b);
  return idx.slice(0, n).map((i) => ({ index: i, score: scores[i]! }));
}
