// The adaptive cascade: run the cheapest stage of a ladder, stop as soon as its calibrated
// confidence reaches the target, else escalate; optionally capped by a time budget.
// Runtime-neutral: the Worker (src/worker/adaptive.ts) and the Node scripts
// (scripts/adaptive/) run exactly this code; they differ only in how a stage's model is
// obtained (KV + isolate cache vs files), which they pass in as a StageExecutor.
//
// Determinism: for a given image, ladder (with its calibrations), confidence target and start
// stage, the stages run and the answer depend only on the models' outputs (the engine is
// bit-exact). The only time-dependent input is the budget (budgetMs), through the cost
// model's measurements.

import type { LoadedModel } from '../engine/engine';
import type { InputSpec, Output, OutputSpec } from '../engine/types';
import { quantizeInput, resizeRGB, type QuantizeSpec } from '../image';
import { scoresOf, topK } from '../worker/scores';
import { calibrate, classLogOdds, clippedLogit, probabilityFloor, type Calibration } from './calibration';
import type { LadderDef, LadderTask } from './ladder';

export interface RGBImage {
  data: Uint8Array;
  width: number;
  height: number;
}

/** The parts of an artifact manifest the cascade reads. */
export interface StageManifest {
  input: InputSpec;
  outputs: OutputSpec[];
  labels?: string[];
  meta?: Record<string, unknown>;
  macs: number;
  source?: { file?: string };
}

export interface StageExecution {
  manifest: StageManifest;
  outputs: Output[];
  /** measured ms of resize + quantize, and of the engine run (0 when the clock is frozen) */
  preprocessMs: number;
  inferenceMs: number;
  /** copied into the stage record as is (the Worker puts its cache/model-load info here) */
  extra?: Record<string, unknown>;
}

/** Runs stage `index` of the ladder on the request's image. */
export type StageExecutor = (index: number) => Promise<StageExecution>;

/** What is known of a stage before it runs (for the budget and macs.full). */
export interface StagePlan {
  model: string;
  /** MACs (from the store's model summary), null when unknown */
  macs: number | null;
  /** key of the stage's cost measurements (the artifact sha256 in the Worker) */
  costKey: string | null;
}

export interface StageVerdict {
  /** log-odds the calibration was applied to */
  z: number;
  /** detect: uncalibrated P(person) (what mode=full answers); classify: top-1 probability */
  rawScore: number;
  /** detect: calibrated P(person); classify: calibrated P(top-1 is right) */
  score: number;
  /** detect: max(score, 1 - score); classify: score */
  confidence: number;
  /** false when the stage has no calibration, or its calibration was fitted for another
   *  model (different input size or source file): then score is uncalibrated */
  calibrated: boolean;
  /** classify: top-1 */
  top1?: { index: number; label: string };
  /** class scores of output 0 (dequantized, softmax applied to logits) */
  scores: Float64Array;
}

export interface StageRecord {
  index: number;
  model: string;
  input: [number, number];
  macs: number;
  /** measured preprocess + inference */
  ms: number;
  preprocessMs: number;
  inferenceMs: number;
  /** what the budget was charged: ms, or the cost model's estimate when the clock did not advance */
  chargedMs: number;
  verdict: StageVerdict;
  extra?: Record<string, unknown>;
}

export type StopReason = 'confident' | 'last_stage' | 'budget';

export interface CascadeOptions {
  /** stop at the first stage whose confidence reaches this (0..1) */
  confidence: number;
  /** cap on the summed stage time (see CostModel); undefined = no cap */
  budgetMs?: number;
  /** first stage to run (streams); lowered until its expected cost fits budgetMs */
  startStage?: number;
}

export interface CascadeResult {
  task: LadderTask;
  ladder: string;
  startStage: number;
  stages: StageRecord[];
  final: StageRecord;
  stop: { stage: number; reason: StopReason; next?: { stage: number; model: string; expectedMs: number } };
  macs: { used: number; full: number | null };
  /** sum of chargedMs */
  spentMs: number;
}

/** meta.personIndex, else the index of a 'person' label, else 1 (the rule of /v1/detect). */
export function personIndexOf(m: Pick<StageManifest, 'meta' | 'labels'>): number {
  const pi = m.meta?.personIndex;
  if (typeof pi === 'number' && Number.isInteger(pi)) return pi;
  const i = m.labels?.findIndex((l) => l.trim().toLowerCase() === 'person') ?? -1;
  return i >= 0 ? i : 1;
}

/** Whether a calibration was fitted for this model (its `fit.input` / `fit.source`, if recorded, match). */
export function calibrationFits(cal: Calibration | undefined, m: StageManifest): boolean {
  if (!cal || cal.method === 'none') return false;
  const fit = cal.fit;
  if (fit?.input && Array.isArray(fit.input)) {
    const [, h, w] = m.input.shape;
    if (fit.input[0] !== h || fit.input[1] !== w) return false;
  }
  if (typeof fit?.source === 'string' && typeof m.source?.file === 'string' && fit.source !== m.source.file) return false;
  return true;
}

export class TaskMismatchError extends Error {
  override name = 'TaskMismatchError';
}

/** A stage's outputs -> its (calibrated) confidence. Used for every stage, in every runtime. */
export function interpretStage(task: LadderTask, m: StageManifest, outputs: Output[], cal: Calibration | undefined): StageVerdict {
  const out = outputs[0];
  const spec = m.outputs[0];
  if (!out || !spec) throw new TaskMismatchError('the model has no output');
  const scores = scoresOf(out, spec);
  const applies = calibrationFits(cal, m);
  if (task === 'detect') {
    const pi = personIndexOf(m);
    if (pi < 0 || pi >= scores.length) throw new TaskMismatchError(`the model has no person score (output index ${pi})`);
    const real = spec.kind === 'logits' ? dequantized(out, spec) : scores;
    const z = classLogOdds(real, spec.kind === 'logits' ? spec : { ...spec, kind: 'softmax' }, pi);
    const score = applies ? calibrate(cal, z) : scores[pi]!;
    return { z, rawScore: scores[pi]!, score, confidence: Math.max(score, 1 - score), calibrated: applies, scores };
  }
  if (scores.length === 0) throw new TaskMismatchError('the model has an empty output');
  const [best] = topK(scores, 1);
  const p = best!.score;
  const z = clippedLogit(p, probabilityFloor(spec));
  const score = applies ? calibrate(cal, z) : p;
  return {
    z, rawScore: p, score, confidence: score, calibrated: applies, scores,
    top1: { index: best!.index, label: m.labels?.[best!.index] ?? String(best!.index) },
  };
}

function dequantized(out: Output, spec: OutputSpec): Float64Array {
  // scoresOf with kind 'other' dequantizes without a softmax
  return scoresOf(out, { ...spec, kind: 'other' });
}

/** Resize + quantize the image for the model, then run it. */
export function executeOnImage(model: LoadedModel, image: RGBImage, now: () => number): StageExecution {
  const spec = model.manifest.input;
  const [, h, w] = spec.shape as [number, number, number, number];
  const t0 = now();
  const rgb = image.width === w && image.height === h ? image.data : resizeRGB(image.data, image.width, image.height, w, h);
  // validateManifest guarantees an int8/uint8/float32 input with a normalization
  const input = quantizeInput(rgb, spec as QuantizeSpec);
  const t1 = now();
  const outputs = model.run(input);
  const t2 = now();
  return { manifest: model.manifest, outputs, preprocessMs: t1 - t0, inferenceMs: t2 - t1 };
}

/** Default throughput for cost estimates of stages never measured in this process:
 *  5 GMAC/s, below what the SIMD engine sustains on MobileNetV2-type models (6..14 GMAC/s in
 *  Node on a shared core), so estimates err on the expensive side. */
export const DEFAULT_MACS_PER_MS = 5e6;

/**
 * Expected compute ms per stage model, learnt in this process (isolate): an exponential
 * moving average of measured ms per cost key; before the first measurement (and when the
 * clock is frozen, as in deployed Workers during CPU work) an estimate from MACs.
 */
export class CostModel {
  private readonly ms = new Map<string, number>();
  constructor(
    readonly macsPerMs = DEFAULT_MACS_PER_MS,
    private readonly alpha = 0.3,
    private readonly maxKeys = 256,
  ) {}

  expectedMs(key: string | null, macs: number | null): number {
    const m = key === null ? undefined : this.ms.get(key);
    if (m !== undefined) return m;
    if (macs !== null && Number.isFinite(macs) && macs >= 0) return macs / this.macsPerMs;
    return Infinity;
  }

  measured(key: string | null): boolean {
    return key !== null && this.ms.has(key);
  }

  record(key: string | null, ms: number): void {
    if (key === null || !(ms > 0) || !Number.isFinite(ms)) return;
    const old = this.ms.get(key);
    this.ms.delete(key);
    this.ms.set(key, old === undefined ? ms : old + this.alpha * (ms - old));
    if (this.ms.size > this.maxKeys) this.ms.delete(this.ms.keys().next().value as string);
  }

  clear(): void {
    this.ms.clear();
  }
}

export function validateCascadeOptions(o: CascadeOptions): void {
  if (!(o.confidence >= 0 && o.confidence <= 1)) throw new RangeError('confidence must be within 0..1');
  if (o.budgetMs !== undefined && !(o.budgetMs >= 0)) throw new RangeError('budgetMs must be >= 0');
}

/**
 * Runs the cascade. `plan[i]` describes ladder stage i before it runs; `exec(i)` runs it.
 * Stops at the first stage whose confidence >= opts.confidence ('confident'), at the last
 * stage ('last_stage'), or when the next stage's expected ms would exceed what is left of
 * opts.budgetMs ('budget'). The first stage always runs.
 */
export async function runCascade(
  ladder: LadderDef,
  plan: readonly StagePlan[],
  opts: CascadeOptions,
  exec: StageExecutor,
  cost: CostModel,
): Promise<CascadeResult> {
  validateCascadeOptions(opts);
  const n = ladder.stages.length;
  if (plan.length !== n) throw new RangeError('plan and ladder disagree');
  const expected = (i: number) => cost.expectedMs(plan[i]!.costKey, plan[i]!.macs);

  let start = Math.max(0, Math.min(n - 1, Math.trunc(opts.startStage ?? 0)));
  if (opts.budgetMs !== undefined) while (start > 0 && expected(start) > opts.budgetMs) start--;

  const stages: StageRecord[] = [];
  let spent = 0;
  let stop: CascadeResult['stop'] | undefined;
  for (let i = start; stop === undefined; i++) {
    const stage = ladder.stages[i]!;
    const ex = await exec(i);
    const verdict = interpretStage(ladder.task, ex.manifest, ex.outputs, stage.calibration);
    const ms = ex.preprocessMs + ex.inferenceMs;
    // a frozen clock (deployed Workers) measures 0: charge the estimate instead
    const chargedMs = ms > 0 ? ms : cost.expectedMs(plan[i]!.costKey, plan[i]!.macs ?? ex.manifest.macs);
    cost.record(plan[i]!.costKey, ms);
    spent += Number.isFinite(chargedMs) ? chargedMs : 0;
    const [, h, w] = ex.manifest.input.shape as [number, number, number, number];
    stages.push({
      index: i, model: stage.model, input: [h, w], macs: ex.manifest.macs,
      ms, preprocessMs: ex.preprocessMs, inferenceMs: ex.inferenceMs, chargedMs, verdict,
      ...(ex.extra ? { extra: ex.extra } : {}),
    });
    if (verdict.confidence >= opts.confidence) stop = { stage: i, reason: 'confident' };
    else if (i === n - 1) stop = { stage: i, reason: 'last_stage' };
    else if (opts.budgetMs !== undefined) {
      const e = expected(i + 1);
      if (spent + e > opts.budgetMs) stop = { stage: i, reason: 'budget', next: { stage: i + 1, model: plan[i + 1]!.model, expectedMs: e } };
    }
  }

  const ran = new Map(stages.map((s) => [s.index, s.macs]));
  let full: number | null = 0;
  for (let i = 0; i < n; i++) {
    const m = ran.get(i) ?? plan[i]!.macs;
    if (m === null) {
      full = null;
      break;
    }
    full = Math.max(full, m);
  }
  return {
    task: ladder.task,
    ladder: ladder.id,
    startStage: start,
    stages,
    final: stages[stages.length - 1]!,
    stop,
    macs: { used: stages.reduce((s, r) => s + r.macs, 0), full },
    spentMs: spent,
  };
}
