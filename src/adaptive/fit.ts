// Fitting and judging calibrations (used by `npm run calibrate` and `npm run eval:adaptive`;
// not needed by the Worker). Pure functions, deterministic (seeded fold assignment).

import { calibrate, sigmoid, type Calibration } from './calibration';

/**
 * Platt scaling: q = sigmoid(a z + b) fitted by Newton's method (with step halving) on the
 * cross-entropy against Platt's smoothed targets t+ = (N+ + 1) / (N+ + 2) and
 * t- = 1 / (N- + 2) (Platt 1999; the form libsvm uses), a prior that keeps a small set from
 * producing probabilities of exactly 0 or 1.
 */
export function fitPlatt(z: readonly number[], y: readonly number[], smoothTargets = true): { a: number; b: number } {
  const n = z.length;
  const np = y.filter((v) => v === 1).length;
  const nn = n - np;
  const tp = smoothTargets ? (np + 1) / (np + 2) : 1;
  const tn = smoothTargets ? 1 / (nn + 2) : 0;
  const t = y.map((v) => (v === 1 ? tp : tn));
  const loss = (a: number, b: number) => {
    let s = 0;
    for (let i = 0; i < n; i++) {
      const f = a * z[i]! + b;
      // t*log(1+e^-f) + (1-t)*log(1+e^f), stably
      s += t[i]! * softplus(-f) + (1 - t[i]!) * softplus(f);
    }
    return s;
  };
  let a = 1;
  let b = Math.log((np + 1) / (nn + 1));
  let cur = loss(a, b);
  for (let it = 0; it < 200; it++) {
    let ga = 0, gb = 0, haa = 1e-12, hab = 0, hbb = 1e-12;
    for (let i = 0; i < n; i++) {
      const p = sigmoid(a * z[i]! + b);
      const d = p - t[i]!;
      const w = p * (1 - p);
      ga += d * z[i]!;
      gb += d;
      haa += w * z[i]! * z[i]!;
      hab += w * z[i]!;
      hbb += w;
    }
    const det = haa * hbb - hab * hab;
    if (!(Math.abs(det) > 0)) break;
    const da = (hbb * ga - hab * gb) / det;
    const db = (haa * gb - hab * ga) / det;
    let step = 1;
    let next = loss(a - da, b - db);
    while (next > cur + 1e-12 && step > 1e-8) {
      step /= 2;
      next = loss(a - step * da, b - step * db);
    }
    a -= step * da;
    b -= step * db;
    const done = Math.abs(cur - next) < 1e-12 * Math.max(1, Math.abs(cur));
    cur = next;
    if (done) break;
  }
  return { a, b };
}

/** Temperature scaling: q = sigmoid(z / t) with t minimizing the NLL of the hard labels
 *  (Guo et al. 2017). Newton on s = 1/t (the loss is convex in s). */
export function fitTemperature(z: readonly number[], y: readonly number[]): { t: number } {
  let s = 1;
  for (let it = 0; it < 100; it++) {
    let g = 0, h = 1e-12;
    for (let i = 0; i < z.length; i++) {
      const p = sigmoid(s * z[i]!);
      g += (p - y[i]!) * z[i]!;
      h += p * (1 - p) * z[i]! * z[i]!;
    }
    const ns = Math.min(100, Math.max(1e-3, s - g / h));
    const done = Math.abs(ns - s) < 1e-12;
    s = ns;
    if (done) break;
  }
  return { t: 1 / s };
}

function softplus(x: number): number {
  return x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x));
}

export interface Metrics {
  n: number;
  /** mean negative log-likelihood (natural log), probabilities clipped at 1e-12 */
  nll: number;
  /** mean squared error of the probability */
  brier: number;
  /** expected calibration error: 10 equal-width bins of q, |mean q - frequency| weighted by bin size */
  ece: number;
  /** share with (q >= 0.5) == y */
  accuracy: number;
}

export function metrics(q: readonly number[], y: readonly number[]): Metrics {
  const n = q.length;
  let nll = 0, brier = 0, acc = 0;
  const bins = Array.from({ length: 10 }, () => ({ n: 0, q: 0, y: 0 }));
  for (let i = 0; i < n; i++) {
    const p = Math.min(1 - 1e-12, Math.max(1e-12, q[i]!));
    nll -= y[i] === 1 ? Math.log(p) : Math.log(1 - p);
    brier += (q[i]! - y[i]!) ** 2;
    if ((q[i]! >= 0.5 ? 1 : 0) === y[i]) acc++;
    const bin = bins[Math.min(9, Math.floor(q[i]! * 10))]!;
    bin.n++;
    bin.q += q[i]!;
    bin.y += y[i]!;
  }
  let ece = 0;
  for (const b of bins) if (b.n > 0) ece += (b.n / n) * Math.abs(b.q / b.n - b.y / b.n);
  return { n, nll: nll / n, brier: brier / n, ece, accuracy: acc / n };
}

/** mulberry32: a small seeded PRNG (deterministic folds). */
export function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Fold index (0..k-1) of each sample: stratified by y, shuffled with `seed`. */
export function stratifiedFolds(y: readonly number[], k: number, seed: number): number[] {
  const rnd = prng(seed);
  const fold = new Array<number>(y.length).fill(0);
  let offset = 0;
  for (const cls of [...new Set(y)].sort((a, b) => a - b)) {
    const idx = y.map((v, i) => (v === cls ? i : -1)).filter((i) => i >= 0);
    for (let i = idx.length - 1; i > 0; i--) {
      const j = Math.floor(rnd() * (i + 1));
      [idx[i], idx[j]] = [idx[j]!, idx[i]!];
    }
    idx.forEach((sample, r) => (fold[sample] = (r + offset) % k));
    offset += idx.length; // continue the round robin so fold sizes stay balanced
  }
  return fold;
}

export type Fitter = (z: readonly number[], y: readonly number[]) => Calibration;

export const FITTERS: Record<'none' | 'temperature' | 'platt', Fitter> = {
  none: () => ({ method: 'none' }),
  temperature: (z, y) => ({ method: 'temperature', ...fitTemperature(z, y) }),
  platt: (z, y) => ({ method: 'platt', ...fitPlatt(z, y) }),
};

export interface CvSummary {
  k: number;
  repeats: number;
  mean: Metrics;
  sd: Omit<Metrics, 'n'>;
}

/**
 * Repeated stratified k-fold cross-validation of a fitter: for each repeat (seed r + 1),
 * every sample is predicted by a calibration fitted on the other folds; the metrics of these
 * out-of-fold predictions are averaged over the repeats. `base` maps z to the probability
 * used by method 'none' (sigmoid(z) by default).
 */
export function crossValidate(
  z: readonly number[], y: readonly number[], fitter: Fitter, k = 5, repeats = 10,
  base: (z: number, i: number) => number = (v) => sigmoid(v),
): CvSummary {
  const runs: Metrics[] = [];
  for (let r = 0; r < repeats; r++) {
    const folds = stratifiedFolds(y, k, r + 1);
    const q = new Array<number>(z.length);
    for (let f = 0; f < k; f++) {
      const tr = folds.map((g, i) => (g === f ? -1 : i)).filter((i) => i >= 0);
      const cal = fitter(tr.map((i) => z[i]!), tr.map((i) => y[i]!));
      folds.forEach((g, i) => {
        if (g === f) q[i] = cal.method === 'none' ? base(z[i]!, i) : calibrate(cal, z[i]!);
      });
    }
    runs.push(metrics(q, y));
  }
  const keys = ['nll', 'brier', 'ece', 'accuracy'] as const;
  const mean = { n: z.length } as Metrics;
  const sd = {} as Omit<Metrics, 'n'>;
  for (const key of keys) {
    const xs = runs.map((m) => m[key]);
    const mu = xs.reduce((s, v) => s + v, 0) / xs.length;
    mean[key] = mu;
    sd[key] = Math.sqrt(xs.reduce((s, v) => s + (v - mu) ** 2, 0) / Math.max(1, xs.length - 1));
  }
  return { k, repeats, mean, sd };
}
