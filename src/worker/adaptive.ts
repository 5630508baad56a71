// POST /v1/detect?mode=adaptive and POST /v1/classify?mode=adaptive: the cascade of
// src/adaptive/ over a model ladder (models/ladders.json, bundled), with the models from the
// store/cache like every other route. GET /v1/ladders lists the ladders.
//
// Isolate-local state (both reset when the isolate does):
//   - costModel: measured ms per stage model, for budget_ms;
//   - streams: per-camera cascade state for stream=<id> (bounded, TTL).

import type { Context } from 'hono';
import laddersJson from '../../models/ladders.json';
import {
  CostModel, LADDER_ID_RE, LadderError, STREAM_ID_RE, StreamStore, TaskMismatchError, DEFAULT_RELAX_AFTER,
  executeOnImage, nextStreamState, parseLadders, runCascade, selectLadder,
  type CascadeResult, type LadderDef, type LadderTask, type StageExecution, type StagePlan, type StageRecord,
} from '../adaptive';
import type { LoadedModel } from '../engine/engine';
import type { DecodeOptions } from '../image';
import type { ModelLease } from '../store/cache';
import type { ModelPointer } from '../store/layout';
import type { AppDeps } from './app';
import type { Env } from './env';
import { HttpError } from './errors';
import { checkImageRequest, readAndDecode } from './image-request';
import { topK } from './scores';
import { Timings, now } from './timing';

type Ctx = Context<{ Bindings: Env }>;

export const DEFAULT_CONFIDENCE = 0.9;
export const MAX_BUDGET_MS = 60_000;
export const STREAM_TTL_MS = 120_000;
export const STREAM_MAX_ENTRIES = 1000;
const MAX_TOP = 1000;
/** query parameters that only mean something with mode=adaptive */
const ADAPTIVE_ONLY = ['confidence', 'budget_ms', 'stream', 'ladder'] as const;

const costModel = new CostModel();
const streams = new StreamStore({ maxEntries: STREAM_MAX_ENTRIES, ttlMs: STREAM_TTL_MS });

/** For tests (same isolate): forget measured stage costs and every stream. */
export function resetAdaptiveStateForTests(): void {
  costModel.clear();
  streams.clear();
}

let ladders: LadderDef[] | null = null;
let laddersError: string | null = null;

/** models/ladders.json, validated once per isolate; a broken file disables only the adaptive mode. */
export function getLadders(): LadderDef[] {
  if (ladders !== null) return ladders;
  if (laddersError === null) {
    try {
      ladders = parseLadders(laddersJson as unknown);
      return ladders;
    } catch (e) {
      laddersError = e instanceof LadderError ? e.message : String(e);
      console.error(`edgelens: ${laddersError}`);
    }
  }
  throw new HttpError(503, 'ladders_unavailable', `the model ladders are misconfigured: ${laddersError}`);
}

export type Mode = 'full' | 'adaptive';

/** ?mode=full (default) | adaptive. The adaptive parameters are refused without mode=adaptive. */
export function requestMode(c: Ctx): Mode {
  const raw = c.req.query('mode');
  const mode = raw === undefined || raw === '' ? 'full' : raw;
  if (mode !== 'full' && mode !== 'adaptive') throw new HttpError(400, 'invalid_parameter', 'mode must be "full" or "adaptive"');
  if (mode === 'full') {
    for (const p of ADAPTIVE_ONLY) {
      if (c.req.query(p) !== undefined) throw new HttpError(400, 'invalid_parameter', `${p} needs mode=adaptive`);
    }
  }
  return mode;
}

interface AdaptiveParams {
  ladder: LadderDef;
  confidence: number;
  budgetMs?: number;
  stream?: string;
  /** detect */
  threshold: number;
  /** classify */
  top: number;
}

function numberParam(c: Ctx, name: string): number | undefined {
  const raw = c.req.query(name);
  if (raw === undefined || raw === '') return undefined;
  const n = Number(raw.trim());
  if (raw.trim() === '' || !Number.isFinite(n)) throw new HttpError(400, 'invalid_parameter', `${name} must be a number`);
  return n;
}

function adaptiveParams(c: Ctx, task: LadderTask): AdaptiveParams {
  if (c.req.query('model') !== undefined) {
    throw new HttpError(400, 'invalid_parameter', 'mode=adaptive runs a ladder of models: name it with ladder=<id> (GET /v1/ladders), not model=');
  }
  const confidence = numberParam(c, 'confidence') ?? DEFAULT_CONFIDENCE;
  if (confidence < 0 || confidence > 1) throw new HttpError(400, 'invalid_parameter', 'confidence must be a number from 0 to 1');
  const budgetMs = numberParam(c, 'budget_ms');
  if (budgetMs !== undefined && (budgetMs < 0 || budgetMs > MAX_BUDGET_MS)) {
    throw new HttpError(400, 'invalid_parameter', `budget_ms must be a number from 0 to ${MAX_BUDGET_MS}`);
  }
  const stream = c.req.query('stream');
  if (stream !== undefined && !STREAM_ID_RE.test(stream)) {
    throw new HttpError(400, 'invalid_parameter', 'stream ids match ^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$');
  }
  const threshold = numberParam(c, 'threshold') ?? 0.5;
  if (threshold < 0 || threshold > 1) throw new HttpError(400, 'invalid_parameter', 'threshold must be a number from 0 to 1');
  const topRaw = c.req.query('top');
  const top = topRaw === undefined || topRaw === '' ? 5 : Number(topRaw);
  if (!Number.isInteger(top) || top < 1 || top > MAX_TOP) throw new HttpError(400, 'invalid_parameter', `top must be an integer from 1 to ${MAX_TOP}`);

  const ladderId = c.req.query('ladder');
  if (ladderId !== undefined && !LADDER_ID_RE.test(ladderId)) throw new HttpError(400, 'invalid_parameter', 'ladder ids match ^[a-z0-9][a-z0-9_.-]{0,63}$');
  const all = getLadders();
  const ladder = selectLadder(all, task, ladderId);
  if (ladder === null) {
    throw new HttpError(404, 'ladder_not_found', ladderId === undefined
      ? `no ${task} ladder is configured`
      : `no ${task} ladder "${ladderId}" (GET /v1/ladders lists them)`);
  }
  return { ladder, confidence, budgetMs, stream, threshold, top };
}

const round2 = (x: number) => Math.round(x * 100) / 100;

/** The largest [height, width] among the stages' inputs (from the pointers' summaries), or
 *  undefined if a stage has none. */
export function ladderInputSize(ptrs: readonly ModelPointer[]): [number, number] | undefined {
  let h = 0, w = 0;
  for (const p of ptrs) {
    const shape = p.summary?.input.shape; // [1, H, W, C]
    if (!(Array.isArray(shape) && shape.length === 4 && shape[1]! > 0 && shape[2]! > 0)) return undefined;
    h = Math.max(h, shape[1]!);
    w = Math.max(w, shape[2]!);
  }
  return [h, w];
}

/** Like mode=full's JPEG fast path (app.ts), with the ladder's largest input as the target: the
 *  image is decoded once, never below what any stage needs, and the largest stage sees exactly
 *  the pixels mode=full gives that model. */
async function decodeOptions(deps: AppDeps, ptrs: readonly ModelPointer[]): Promise<DecodeOptions | undefined> {
  if (!deps.jpeg) return undefined;
  const jpeg = await deps.jpeg().catch(() => undefined);
  if (!jpeg) return undefined;
  return { jpeg, targetSize: ladderInputSize(ptrs) };
}

function modelInfo(p: ModelPointer) {
  return { id: p.id, version: p.version, sha256: p.sha256, precision: p.precision };
}

interface StageExtra {
  cache: 'hit' | 'miss';
  modelMs: number;
  labels?: string[];
}

function stageJson(s: StageRecord, task: LadderTask) {
  const x = s.extra as unknown as StageExtra | undefined;
  const v = s.verdict;
  return {
    model: s.model,
    input: s.input,
    score: v.score,
    raw_score: v.rawScore,
    ...(task === 'classify' ? { top1: v.top1 } : {}),
    confidence: v.confidence,
    calibrated: v.calibrated,
    macs: s.macs,
    ms: round2(s.ms),
    ...(x ? { cache: x.cache, model_ms: round2(x.modelMs) } : {}),
  };
}

/** The adaptive answer to POST /v1/detect or /v1/classify (mode=adaptive). */
export async function adaptiveRoute(c: Ctx, deps: AppDeps, task: LadderTask): Promise<Response> {
  const t0 = now();
  const timings = new Timings();
  const p = adaptiveParams(c, task); // every 400/404 before anything is read
  const imageReq = checkImageRequest(c.req.raw, c.env);
  const ladder = p.ladder;
  const n = ladder.stages.length;

  // Every stage's pointer, resolved once and up front: the request runs these versions
  // whatever happens to the pointers meanwhile, and a missing stage fails before any work.
  const store = deps.store(c.env);
  const pointers = await Promise.all(ladder.stages.map((s) => store.getPointer(s.model)));
  const missing = ladder.stages.filter((_, i) => pointers[i] === null).map((s) => s.model);
  if (missing.length > 0) {
    throw new HttpError(503, 'ladder_unavailable', `ladder "${ladder.id}" needs model(s) ${missing.map((m) => `"${m}"`).join(', ')}, missing from the store`);
  }
  const ptrs = pointers as ModelPointer[];

  const streamKey = p.stream === undefined ? null : `${ladder.id}\u0000${p.stream}`;
  const prev = streamKey === null ? null : streams.get(streamKey);
  const startStage = Math.min(prev?.startStage ?? 0, n - 1);

  const cache = deps.cache(c.env);
  const leases = new Map<number, Promise<{ lease: ModelLease<LoadedModel>; ms: number }>>();
  const acquire = (i: number) => {
    let lp = leases.get(i);
    if (lp === undefined) {
      const t = now();
      lp = cache.acquire(ptrs[i]!.sha256).then((lease) => ({ lease, ms: lease.hit ? 0 : now() - t }));
      lp.catch(() => {}); // handled where awaited
      leases.set(i, lp);
    }
    return lp;
  };
  acquire(startStage); // overlaps the model load with reading + decoding the image

  try {
    const decoded = await readAndDecode(imageReq, timings, await decodeOptions(deps, ptrs));
    const plan: StagePlan[] = ptrs.map((ptr, i) => ({
      model: ladder.stages[i]!.model,
      macs: typeof ptr.summary?.macs === 'number' ? ptr.summary.macs : null,
      costKey: ptr.sha256,
    }));
    const exec = async (i: number): Promise<StageExecution> => {
      const { lease, ms } = await acquire(i);
      try {
        const ex = executeOnImage(lease.model, decoded, now);
        const extra: StageExtra = { cache: lease.hit ? 'hit' : 'miss', modelMs: ms, labels: lease.model.manifest.labels };
        return { ...ex, extra: extra as unknown as Record<string, unknown> };
      } finally {
        lease.release();
      }
    };

    let r: CascadeResult;
    try {
      r = await runCascade(ladder, plan, { confidence: p.confidence, budgetMs: p.budgetMs, startStage }, exec, costModel);
    } catch (e) {
      if (e instanceof TaskMismatchError) {
        throw new HttpError(422, 'model_task_mismatch', `ladder "${ladder.id}" (${task}): ${e.message}`);
      }
      throw e;
    }

    let pre = 0, inf = 0, model = 0;
    let allHits = true;
    for (const s of r.stages) {
      pre += s.preprocessMs;
      inf += s.inferenceMs;
      const x = s.extra as unknown as StageExtra;
      model += x.modelMs;
      if (x.cache !== 'hit') allHits = false;
    }
    timings.set('preprocess', pre);
    timings.set('inference', inf);
    timings.set('model', model);

    let stream: Record<string, unknown> | undefined;
    if (streamKey !== null) {
      const relaxAfter = ladder.stream?.relax_after ?? DEFAULT_RELAX_AFTER;
      const next = streams.set(streamKey, nextStreamState(prev, r, n, relaxAfter));
      stream = {
        id: p.stream,
        scope: 'isolate',
        new: prev === null,
        start_stage: r.startStage,
        stop_stage: r.stop.stage,
        next_start_stage: next.startStage,
        confident_streak: next.confidentStreak,
        relax_after: relaxAfter,
        frames: next.frames,
        ttl_s: STREAM_TTL_MS / 1000,
      };
    }

    const final = r.final;
    const v = final.verdict;
    const common = {
      model: modelInfo(ptrs[final.index]!),
      mode: 'adaptive' as const,
      ladder: ladder.id,
      confidence: { target: p.confidence, value: v.confidence, reached: r.stop.reason === 'confident' },
      stop: {
        stage: r.stop.stage,
        model: final.model,
        reason: r.stop.reason,
        ...(r.stop.next ? { next: { stage: r.stop.next.stage, model: r.stop.next.model, expected_ms: round2(r.stop.next.expectedMs) } } : {}),
      },
      stages: r.stages.map((s) => stageJson(s, task)),
      macs: r.macs,
      ...(p.budgetMs !== undefined ? { budget_ms: { limit: p.budgetMs, spent: round2(r.spentMs) } } : {}),
      ...(stream ? { stream } : {}),
      image: { format: decoded.format, width: decoded.sourceWidth, height: decoded.sourceHeight },
    };
    timings.set('total', now() - t0);
    const answer = task === 'detect'
      ? { person: { detected: v.score >= p.threshold, score: v.score, threshold: p.threshold, calibrated: v.calibrated }, ...common }
      : {
        predictions: topK(v.scores, p.top).map((x) => ({ index: x.index, label: (final.extra as unknown as StageExtra).labels?.[x.index] ?? String(x.index), score: x.score })),
        ...common,
      };
    return c.json({ ...answer, timings_ms: timings.toJSON(), cache: allHits ? 'hit' : 'miss' }, 200, {
      'Server-Timing': timings.serverTiming(),
      'Cache-Control': 'no-store',
    });
  } finally {
    for (const lp of leases.values()) lp.then((x) => x.lease.release(), () => {});
  }
}

/** GET /v1/ladders: the configured ladders (stages and how each is calibrated). */
export function laddersResponse(c: Ctx): Response {
  const all = getLadders();
  return c.json({
    ladders: all.map((l) => ({
      id: l.id,
      task: l.task,
      default: l.default === true,
      ...(l.description ? { description: l.description } : {}),
      stages: l.stages.map((s) => ({
        model: s.model,
        calibration: s.calibration ? { method: s.calibration.method, a: s.calibration.a, b: s.calibration.b, t: s.calibration.t } : { method: 'none' },
      })),
      stream: { relax_after: l.stream?.relax_after ?? DEFAULT_RELAX_AFTER, ttl_s: STREAM_TTL_MS / 1000, max_streams: STREAM_MAX_ENTRIES, scope: 'isolate' },
    })),
  });
}
