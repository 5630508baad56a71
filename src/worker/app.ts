import { Hono, type Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { tableBytes, type Engine, type LoadedModel } from '../engine/engine';
import { ArtifactError, parseArtifact, type ArtifactManifest } from '../model/artifact';
import { ImageError, quantizeInput, resizeRGB, type DecodeOptions, type JpegDecoder, type QuantizeSpec } from '../image';
import type { ModelCache, ModelLease } from '../store/cache';
import { ModelUnavailableError } from '../store/errors';
import { isValidModelId } from '../store/ids';
import type { ModelPointer, ModelSummary } from '../store/layout';
import type { ModelStore } from '../store/store';
import { requireAdmin } from './auth';
import { adaptiveRoute, laddersResponse, requestMode } from './adaptive';
import { readBodyLimited } from './body';
import type { Env } from './env';
import { HttpError, errorBody } from './errors';
import { checkImageRequest, readAndDecode } from './image-request';
import { readLimits } from './limits';
import { PAGE_HTML, pageHeaders } from './page';
import { scoresOf, topK } from './scores';
import { Timings, now } from './timing';

export const DEFAULT_CLASSIFY_MODEL = 'mobilenet_v2';
export const DEFAULT_DETECT_MODEL = 'person';
export const DEFAULT_PERSON_INDEX = 1;
const MAX_TOP = 1000;

/** What the app needs from the isolate (runtime.ts wires the real ones; tests may substitute). */
export interface AppDeps {
  cache(env: Env): ModelCache<LoadedModel>;
  engine(): Promise<Engine>;
  store(env: Env): ModelStore;
  /** The wasm JPEG decoder (optional: without it JPEGs go through jpeg-js at full size). */
  jpeg?(): Promise<JpegDecoder>;
}

/** JPEG fast path: the isolate's wasm decoder and the model's input size from the pointer
 *  (JPEGs then decode reduced, never below it); undefined = jpeg-js at full size. */
async function decodeOptions(deps: AppDeps, pointer: ModelPointer): Promise<DecodeOptions | undefined> {
  if (!deps.jpeg) return undefined;
  const jpeg = await deps.jpeg().catch(() => undefined);
  if (!jpeg) return undefined;
  const shape = pointer.summary?.input.shape; // [1, H, W, C]
  const ok = Array.isArray(shape) && shape.length === 4 && shape[1]! > 0 && shape[2]! > 0;
  return { jpeg, targetSize: ok ? [shape[1]!, shape[2]!] : undefined };
}

type AppEnv = { Bindings: Env };
type Ctx = Context<AppEnv>;

interface ModelInfo {
  id: string;
  version: number;
  sha256: string;
  precision: string;
}

interface InferenceResult {
  pointer: ModelPointer;
  manifest: ArtifactManifest;
  outputs: Float64Array[];
  image: { format: string; width: number; height: number };
  timings: Timings;
  hit: boolean;
}

function modelInfo(p: ModelPointer): ModelInfo {
  return { id: p.id, version: p.version, sha256: p.sha256, precision: p.precision };
}

function modelIdParam(raw: string | undefined, fallback: string): string {
  const id = raw === undefined || raw === '' ? fallback : raw;
  if (!isValidModelId(id)) {
    throw new HttpError(400, 'invalid_model_id', 'model ids match ^[a-z0-9][a-z0-9_.-]{0,63}$');
  }
  return id;
}

/** read -> decode -> (model) -> preprocess -> inference, shared by classify and detect. */
async function runInference(c: Ctx, deps: AppDeps, modelId: string): Promise<InferenceResult> {
  const t0 = now();
  const timings = new Timings();
  // Cheap header checks first: nothing is read for these answers (image-request.ts).
  const imageReq = checkImageRequest(c.req.raw, c.env);

  // Resolve the pointer once: this request runs this sha256 whatever happens to the pointer.
  const pointer = await deps.store(c.env).getPointer(modelId);
  if (pointer === null) throw new HttpError(404, 'model_not_found', `model "${modelId}" does not exist`);

  // Start the model fetch + load now; it overlaps with reading and decoding the image.
  const cache = deps.cache(c.env);
  const tModel = now();
  let modelMs = 0;
  const leaseP: Promise<ModelLease<LoadedModel>> = cache.acquire(pointer.sha256).then((l) => {
    modelMs = l.hit ? 0 : now() - tModel;
    return l;
  });
  leaseP.catch(() => {}); // handled where awaited; avoids an unhandled rejection on early errors

  try {
    // read (limits, multipart) -> probe (415/413 before decoding) -> decode
    const decoded = await readAndDecode(imageReq, timings, await decodeOptions(deps, pointer));

    const lease = await leaseP;
    timings.set('model', modelMs);
    const model = lease.model;
    const manifest = model.manifest;
    const spec = manifest.input;
    const [, inH, inW] = spec.shape as [number, number, number, number];

    const input = timings.timeSync('preprocess', () => {
      const rgb = decoded.width === inW && decoded.height === inH
        ? decoded.data
        : resizeRGB(decoded.data, decoded.width, decoded.height, inW, inH);
      // validateManifest guarantees an int8/uint8/float32 input with a normalization
      return quantizeInput(rgb, spec as QuantizeSpec);
    });

    const outputs = timings.timeSync('inference', () => {
      const raw = model.run(input);
      return raw.map((o, i) => scoresOf(o, manifest.outputs[i]!));
    });

    timings.set('total', now() - t0);
    return {
      pointer,
      manifest,
      outputs,
      image: { format: decoded.format, width: decoded.sourceWidth, height: decoded.sourceHeight },
      timings,
      hit: lease.hit,
    };
  } finally {
    leaseP.then((l) => l.release(), () => {});
  }
}

/** meta.personIndex (from the model recipe), else the index of a 'person' label, else 1. */
function personIndexOf(manifest: ArtifactManifest): number {
  const pi = manifest.meta?.personIndex;
  if (typeof pi === 'number' && Number.isInteger(pi)) return pi;
  const labels = manifest.labels;
  if (labels) {
    const i = labels.findIndex((l) => l.trim().toLowerCase() === 'person');
    if (i >= 0) return i;
  }
  return DEFAULT_PERSON_INDEX;
}

function summaryOf(m: ArtifactManifest): ModelSummary {
  return {
    name: m.name,
    input: { shape: [...m.input.shape], dtype: m.input.dtype },
    outputs: m.outputs.map((o) => ({ shape: [...o.shape], dtype: o.dtype, kind: o.kind })),
    labels: m.labels?.length ?? 0,
    macs: m.macs,
    arenaBytes: m.arenaBytes,
    weightsBytes: m.weightsBytes,
  };
}

function jsonWithTimings(c: Ctx, body: unknown, timings: Timings): Response {
  return c.json(body, 200, { 'Server-Timing': timings.serverTiming(), 'Cache-Control': 'no-store' });
}

/**
 * An error answer can leave the request body unread (a 400/401/404 decided from the URL or
 * headers). Read and drop it first (up to `cap` bytes; a larger or bigger-declared body is
 * cancelled instead). Under `wrangler dev`, answering before a body of more than a few KiB
 * was read made the next request on the same connection fail with a 503 (or hang); found by
 * scripts/fuzz-images.mjs. In production this only costs reading the bytes already sent.
 */
async function discardBody(req: Request, cap: number): Promise<void> {
  if (req.body === null || req.bodyUsed || req.body.locked) return;
  const declared = req.headers.get('content-length');
  if (declared !== null && !(Number(declared) <= cap)) {
    await req.body.cancel().catch(() => {});
    return;
  }
  const reader = req.body.getReader();
  try {
    for (let n = 0; n <= cap;) {
      const { done, value } = await reader.read();
      if (done) return;
      n += value.byteLength;
    }
    await reader.cancel();
  } catch {
    // the client went away: nothing left to drain
  } finally {
    reader.releaseLock();
  }
}

/** Maps an error to its JSON answer; unknown errors are logged and become a 500. */
export function errorResponse(err: unknown): Response {
  let status: number;
  let code: string;
  let message: string;
  const headers: Record<string, string> = { 'content-type': 'application/json; charset=UTF-8' };
  if (err instanceof HttpError) {
    ({ status, code, message } = err);
    Object.assign(headers, err.headers);
  } else if (err instanceof ImageError) {
    ({ status, code, message } = err);
  } else if (err instanceof ModelUnavailableError) {
    ({ status, code, message } = err);
  } else if (err instanceof ArtifactError) {
    status = 422;
    code = 'invalid_artifact';
    message = err.message;
  } else if (err instanceof HTTPException) {
    status = err.status;
    code = status === 413 ? 'payload_too_large' : status >= 500 ? 'internal_error' : 'bad_request';
    message = err.message || 'request rejected';
  } else {
    console.error('edgelens: internal error', err);
    status = 500;
    code = 'internal_error';
    message = 'internal error';
  }
  return new Response(JSON.stringify(errorBody(code, message)), { status, headers });
}

export function createApp(deps: AppDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  // The demo page (src/worker/page.ts): inline CSS + JS under a hash-based CSP.
  app.get('/', async (c) => c.body(PAGE_HTML, 200, await pageHeaders()));

  app.get('/healthz', (c) => {
    const s = deps.cache(c.env).stats();
    return c.json({ status: 'ok', cache: { entries: s.entries, bytes: s.bytes, budgetBytes: s.budgetBytes } });
  });

  app.post('/v1/classify', async (c) => {
    if (requestMode(c) === 'adaptive') return adaptiveRoute(c, deps, 'classify'); // src/worker/adaptive.ts
    const modelId = modelIdParam(c.req.query('model'), DEFAULT_CLASSIFY_MODEL);
    const topRaw = c.req.query('top');
    const top = topRaw === undefined || topRaw === '' ? 5 : Number(topRaw);
    if (!Number.isInteger(top) || top < 1 || top > MAX_TOP) {
      throw new HttpError(400, 'invalid_parameter', `top must be an integer from 1 to ${MAX_TOP}`);
    }
    const r = await runInference(c, deps, modelId);
    const scores = r.outputs[0];
    if (!scores) throw new HttpError(422, 'model_task_mismatch', `model "${modelId}" has no output to classify`);
    const labels = r.manifest.labels;
    const predictions = topK(scores, top).map((p) => ({ index: p.index, label: labels?.[p.index] ?? String(p.index), score: p.score }));
    return jsonWithTimings(c, {
      model: modelInfo(r.pointer),
      predictions,
      image: r.image,
      timings_ms: r.timings.toJSON(),
      cache: r.hit ? 'hit' : 'miss',
    }, r.timings);
  });

  app.post('/v1/detect', async (c) => {
    if (requestMode(c) === 'adaptive') return adaptiveRoute(c, deps, 'detect');
    const modelId = modelIdParam(c.req.query('model'), DEFAULT_DETECT_MODEL);
    const thRaw = c.req.query('threshold');
    const threshold = thRaw === undefined || thRaw === '' ? 0.5 : Number(thRaw);
    if (!Number.isFinite(threshold) || threshold < 0 || threshold > 1) {
      throw new HttpError(400, 'invalid_parameter', 'threshold must be a number from 0 to 1');
    }
    const r = await runInference(c, deps, modelId);
    const task = r.manifest.meta?.task;
    if (typeof task === 'string' && task !== 'detect') {
      throw new HttpError(400, 'model_task_mismatch', `model "${modelId}" is a ${task} model, not a person detector`);
    }
    const scores = r.outputs[0];
    const pi = personIndexOf(r.manifest);
    if (!scores || pi < 0 || pi >= scores.length) {
      throw new HttpError(422, 'model_task_mismatch', `model "${modelId}" has no person score (output index ${pi})`);
    }
    const score = scores[pi]!;
    return jsonWithTimings(c, {
      person: { detected: score >= threshold, score, threshold },
      model: modelInfo(r.pointer),
      timings_ms: r.timings.toJSON(),
      cache: r.hit ? 'hit' : 'miss',
    }, r.timings);
  });

  app.get('/v1/ladders', (c) => laddersResponse(c));

  app.get('/v1/models', async (c) => {
    const models = await deps.store(c.env).list();
    return c.json({ models });
  });

  app.get('/v1/models/:id', async (c) => {
    const id = modelIdParam(c.req.param('id'), '');
    const p = await deps.store(c.env).getPointer(id);
    if (p === null) throw new HttpError(404, 'model_not_found', `model "${id}" does not exist`);
    return c.json({ model: p });
  });

  app.put('/v1/models/:id', requireAdmin, async (c) => {
    const id = modelIdParam(c.req.param('id'), '');
    const limits = readLimits(c.env);
    const bytes = await readBodyLimited(c.req.raw, limits.maxUploadBytes, 'artifact');
    if (bytes.byteLength === 0) throw new HttpError(400, 'no_body', 'the request has no body: send a compiled .elns artifact');

    // Full validation before anything is stored: parse (magic, version, sha256, schema,
    // offsets), a trial load in the engine and a trial inference (preprocessing + run on a
    // grey image), so an accepted model cannot fail every request later.
    let parsed: Awaited<ReturnType<typeof parseArtifact>>;
    try {
      parsed = await parseArtifact(bytes); // ArtifactError -> 422
    } catch (e) {
      if (e instanceof ArtifactError) throw e;
      console.error(`edgelens: parsing an upload for "${id}" failed`, e);
      throw new HttpError(422, 'invalid_artifact', 'the artifact could not be parsed');
    }
    // The engine's wasm memory only grows: a model that needs more than the whole model
    // budget (its weights + activation arena + scratch) would grow it for good past what a
    // 128 MB isolate can hold (the manifest alone allows arenas of up to 96 MiB).
    const m = parsed.manifest;
    const engineBytes = m.weightsBytes + tableBytes(m) + m.arenaBytes + m.scratchBytes;
    if (engineBytes > limits.cacheBudgetBytes) {
      throw new HttpError(422, 'invalid_artifact',
        `the model needs ${engineBytes} bytes of engine memory (weights + tables + arena + scratch), more than this Worker's model budget of ${limits.cacheBudgetBytes} bytes (CACHE_BUDGET_BYTES)`);
    }
    const engine = await deps.engine();
    let trial: LoadedModel | undefined;
    try {
      trial = engine.load(parsed);
      const spec = parsed.manifest.input;
      const [, inH, inW] = spec.shape as [number, number, number, number];
      trial.run(quantizeInput(new Uint8Array(inH * inW * 3).fill(128), spec as QuantizeSpec));
    } catch (e) {
      if (e instanceof ArtifactError) throw e;
      console.error(`edgelens: trial load of an upload for "${id}" failed`, e);
      throw new HttpError(422, 'invalid_artifact', `the artifact failed to load or run in the engine: ${e instanceof Error ? e.message : String(e)}`);
    } finally {
      if (trial) engine.unload(trial);
    }

    const sha256 = parsed.sha256;
    const { pointer, created, changed } = await deps.store(c.env).putModel(id, bytes, {
      sha256,
      precision: parsed.manifest.precision,
      summary: summaryOf(parsed.manifest),
    });
    return c.json({ model: pointer, created, changed }, created ? 201 : 200);
  });

  app.delete('/v1/models/:id', requireAdmin, async (c) => {
    const id = modelIdParam(c.req.param('id'), '');
    const { deleted, previous } = await deps.store(c.env).deleteModel(id);
    if (!deleted) throw new HttpError(404, 'model_not_found', `model "${id}" does not exist`);
    return c.json({ deleted: { id, version: previous?.version ?? null, sha256: previous?.sha256 ?? null } });
  });

  const drainCap = (env: Env) => {
    const l = readLimits(env);
    return Math.max(l.maxBodyBytes, l.maxUploadBytes);
  };
  app.notFound(async (c) => {
    await discardBody(c.req.raw, drainCap(c.env));
    return errorResponse(new HttpError(404, 'not_found', 'no such route'));
  });
  app.onError(async (err, c) => {
    await discardBody(c.req.raw, drainCap(c.env));
    return errorResponse(err);
  });
  return app;
}
