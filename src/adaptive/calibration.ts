// Confidence signals of a stage and their calibration. Runtime-neutral (Worker and Node).
//
// Every stage reduces its output to one log-odds value z:
//   detect   z = log P(person) - log P(not person), from the dequantized outputs
//            ('logits' outputs: l[pi] - logsumexp(l[others]); probability outputs:
//            log p[pi] - log sum(p[others]), each clipped at half a quantization step so
//            a quantized 0 or 1 stays finite);
//   classify z = logit(top-1 probability), clipped the same way.
// A calibration maps z to a probability:
//   platt        q = sigmoid(a * z + b)
//   temperature  q = sigmoid(z / t)
//   none         q = sigmoid(z) (detect; = the raw probability up to clipping) or the raw
//                top-1 probability (classify)
// For detect q is P(person); for classify q is P(top-1 is correct).

import type { OutputSpec } from '../engine/types';

export type CalibrationMethod = 'none' | 'temperature' | 'platt';

/** What the Worker needs; recipes may carry more (the `fit` record of scripts/adaptive). */
export interface Calibration {
  method: CalibrationMethod;
  /** platt slope */
  a?: number;
  /** platt intercept */
  b?: number;
  /** temperature */
  t?: number;
  /** how and on what the parameters were fitted (free-form; `source` and `input`, when
   *  present, identify the model they belong to) */
  fit?: { source?: string; input?: number[]; [k: string]: unknown };
}

export const IDENTITY: Calibration = Object.freeze({ method: 'none' }) as Calibration;

export function sigmoid(x: number): number {
  if (x >= 0) return 1 / (1 + Math.exp(-x));
  const e = Math.exp(x);
  return e / (1 + e);
}

/** Smallest probability an output can distinguish from 0: half its quantization step. */
export function probabilityFloor(spec: Pick<OutputSpec, 'dtype' | 'scale'>): number {
  if (spec.dtype === 'float32' || !(spec.scale > 0)) return 1e-6;
  return Math.min(0.25, Math.max(1e-6, spec.scale / 2));
}

/** logit(p) with p clipped to [eps, 1 - eps]. */
export function clippedLogit(p: number, eps: number): number {
  const q = Math.min(1 - eps, Math.max(eps, Number.isFinite(p) ? p : 0.5));
  return Math.log(q) - Math.log(1 - q);
}

function logSumExp(xs: number[]): number {
  if (xs.length === 0) return -Infinity;
  const m = Math.max(...xs);
  if (!Number.isFinite(m)) return m;
  let s = 0;
  for (const x of xs) s += Math.exp(x - m);
  return m + Math.log(s);
}

/**
 * Log-odds of class `index` against all other classes, from the real (dequantized) values of
 * an output: differences of logits for 'logits' outputs, log-ratios of clipped probabilities
 * otherwise.
 */
export function classLogOdds(real: ArrayLike<number>, spec: Pick<OutputSpec, 'kind' | 'dtype' | 'scale'>, index: number): number {
  const n = real.length;
  if (index < 0 || index >= n) throw new RangeError(`class index ${index} outside an output of ${n}`);
  if (n === 1) {
    // a single unit: a logit or a probability of the positive class
    return spec.kind === 'logits' ? real[0]! : clippedLogit(real[0]!, probabilityFloor(spec));
  }
  if (spec.kind === 'logits') {
    const others: number[] = [];
    for (let i = 0; i < n; i++) if (i !== index) others.push(real[i]!);
    return real[index]! - logSumExp(others);
  }
  const eps = probabilityFloor(spec);
  let others = 0;
  for (let i = 0; i < n; i++) if (i !== index) others += real[i]!;
  return Math.log(Math.max(eps, real[index]!)) - Math.log(Math.max(eps, others));
}

/** Calibrated probability of log-odds z. */
export function calibrate(cal: Calibration | undefined, z: number): number {
  const c = cal ?? IDENTITY;
  switch (c.method) {
    case 'platt':
      return sigmoid(c.a! * z + c.b!);
    case 'temperature':
      return sigmoid(z / c.t!);
    default:
      return sigmoid(z);
  }
}

/** Checks the runtime part of a calibration; returns a message or null. */
export function calibrationProblem(c: unknown): string | null {
  if (c === undefined || c === null) return null;
  if (typeof c !== 'object') return 'calibration must be an object';
  const o = c as Record<string, unknown>;
  const fin = (v: unknown) => typeof v === 'number' && Number.isFinite(v);
  switch (o.method) {
    case 'none':
      return null;
    case 'platt':
      return fin(o.a) && fin(o.b) ? null : 'platt calibration needs finite a and b';
    case 'temperature':
      return fin(o.t) && (o.t as number) > 0 ? null : 'temperature calibration needs t > 0';
    default:
      return `unknown calibration method ${JSON.stringify(o.method)}`;
  }
}
