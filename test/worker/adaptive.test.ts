// Adaptive inference inside workerd: POST /v1/detect|classify?mode=adaptive over the ladders of
// models/ladders.json, with the real stage models (build/models/*.elns via FIXTURES), KV,
// cache, engine and image pipeline.
import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test';
import { env, exports } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/worker/app';
import { resetAdaptiveStateForTests } from '../../src/worker/adaptive';
import { runtimeDeps } from '../../src/worker/runtime';
import { ModelStore } from '../../src/store/store';
import type { Env } from '../../src/worker/env';
import { BASE, adminHeaders, fixture } from './helpers';

interface Stage {
  model: string;
  input: [number, number];
  score: number;
  raw_score: number;
  confidence: number;
  calibrated: boolean;
  macs: number;
  ms: number;
  cache: 'hit' | 'miss';
  model_ms: number;
  top1?: { index: number; label: string };
}
interface StreamJson {
  id: string; scope: string; new: boolean; start_stage: number; stop_stage: number; next_start_stage: number;
  confident_streak: number; relax_after: number; frames: number; ttl_s: number;
}
interface AdaptiveJson {
  mode: 'adaptive';
  ladder: string;
  model: { id: string; version: number; sha256: string; precision: string };
  confidence: { target: number; value: number; reached: boolean };
  stop: { stage: number; model: string; reason: 'confident' | 'last_stage' | 'budget'; next?: { stage: number; model: string; expected_ms: number } };
  stages: Stage[];
  macs: { used: number; full: number };
  budget_ms?: { limit: number; spent: number };
  stream?: StreamJson;
  image: { format: string; width: number; height: number };
  timings_ms: Record<string, number>;
  cache: 'hit' | 'miss';
}
interface DetectJson extends AdaptiveJson { person: { detected: boolean; score: number; threshold: number; calibrated: boolean } }
interface ClassifyJson extends AdaptiveJson { predictions: { index: number; label: string; score: number }[] }
interface ErrorJson { error: { code: string; message: string } }

const PERSON_LADDER = ['person_hallaq', 'person_cezar', 'person'];
const PERSON_INPUTS = [[80, 80], [50, 50], [224, 224]];
const CLASSIFY_LADDER = ['mobilenet_v2_128', 'mobilenet_v2_160', 'mobilenet_v2_192', 'mobilenet_v2'];

const worker = exports.default as unknown as { fetch(req: Request): Promise<Response> };
const img: Record<string, Uint8Array> = {};

function post(path: string, file: string): Promise<Response> {
  return worker.fetch(new Request(BASE + path, { method: 'POST', headers: { 'content-type': 'image/jpeg' }, body: img[file]! }));
}

async function ok<T>(path: string, file: string): Promise<T> {
  const res = await post(path, file);
  const body = await res.json();
  expect(res.status, JSON.stringify(body)).toBe(200);
  return body as T;
}

beforeAll(async () => {
  for (const id of [...PERSON_LADDER, ...CLASSIFY_LADDER]) {
    const bytes = await fixture(`models/${id}.elns`);
    const res = await worker.fetch(new Request(`${BASE}/v1/models/${id}`, {
      method: 'PUT', headers: { ...adminHeaders(), 'content-type': 'application/octet-stream' }, body: bytes,
    }));
    expect([200, 201], `PUT ${id}`).toContain(res.status);
  }
  for (const f of ['face.jpg', 'grace_hopper.jpg', 'squat.jpg', 'cat.jpg', 'sunflower.jpg']) img[f] = await fixture(`images/samples/${f}`);
  resetAdaptiveStateForTests();
});

describe('detect, mode=adaptive', () => {
  it('the stages contract: model, input, score, macs, ms per stage; macs used/full; timings', async () => {
    const res = await post('/v1/detect?mode=adaptive&confidence=0.999', 'squat.jpg');
    expect(res.status).toBe(200);
    const b = (await res.json()) as DetectJson;
    expect(b.mode).toBe('adaptive');
    expect(b.ladder).toBe('person-ladder');
    expect(b.stages.map((s) => s.model)).toEqual(PERSON_LADDER);
    b.stages.forEach((s, i) => {
      expect(s.input).toEqual(PERSON_INPUTS[i]);
      for (const v of [s.score, s.raw_score, s.confidence]) {
        expect(v).toBeGreaterThanOrEqual(0);
        expect(v).toBeLessThanOrEqual(1);
      }
      expect(s.confidence).toBeCloseTo(Math.max(s.score, 1 - s.score), 12);
      expect(s.calibrated).toBe(true);
      expect(s.macs).toBeGreaterThan(0);
      expect(s.ms).toBeGreaterThanOrEqual(0);
      expect(['hit', 'miss']).toContain(s.cache);
    });
    // 0.999 is out of reach for the two small stages: it escalates to the last one
    expect(b.stop).toMatchObject({ stage: 2, model: 'person' });
    expect(['confident', 'last_stage']).toContain(b.stop.reason);
    expect(b.macs.used).toBe(b.stages.reduce((s, x) => s + x.macs, 0));
    expect(b.macs.full).toBe(Math.max(...b.stages.map((s) => s.macs)));
    expect(b.macs.full).toBe(b.stages[2]!.macs);
    expect(b.model.id).toBe('person');
    expect(b.person.score).toBe(b.stages[2]!.score);
    expect(b.person.detected).toBe(b.person.score >= 0.5);
    expect(b.confidence).toMatchObject({ target: 0.999, value: b.stages[2]!.confidence });
    expect(b.image.format).toBe('jpeg');
    expect(Object.keys(b.timings_ms).sort()).toEqual(['decode', 'inference', 'model', 'preprocess', 'read', 'total']);
    expect(res.headers.get('server-timing')).toMatch(/inference;dur=/);
    expect(b.stream).toBeUndefined();
    expect(b.budget_ms).toBeUndefined();
  });

  it('a clear person photo stops at the cheapest stage at a low confidence target (deterministically)', async () => {
    const a = await ok<DetectJson>('/v1/detect?mode=adaptive&confidence=0.6', 'face.jpg');
    expect(a.stages.map((s) => s.model)).toEqual(['person_hallaq']);
    expect(a.stop).toMatchObject({ stage: 0, reason: 'confident' });
    expect(a.person.detected).toBe(true);
    expect(a.person.calibrated).toBe(true);
    expect(a.confidence.reached).toBe(true);
    expect(a.macs.used).toBeLessThan(a.macs.full / 5);
    const b = await ok<DetectJson>('/v1/detect?mode=adaptive&confidence=0.6', 'face.jpg');
    expect(b.stages.map((s) => [s.model, s.score])).toEqual(a.stages.map((s) => [s.model, s.score]));
  });

  it('the last stage answers like mode=full (same model, same pipeline; raw_score = the full-mode score)', async () => {
    const adaptive = await ok<DetectJson>('/v1/detect?mode=adaptive&confidence=1', 'grace_hopper.jpg');
    const full = await ok<{ person: { score: number } }>('/v1/detect?mode=full', 'grace_hopper.jpg');
    expect(adaptive.stages).toHaveLength(3);
    expect(adaptive.stop.reason).toBe('last_stage');
    expect(adaptive.stages[2]!.raw_score).toBe(full.person.score);
  });

  it('budget_ms=0: only the first stage runs; a large budget does not cut the cascade', async () => {
    const b = await ok<DetectJson>('/v1/detect?mode=adaptive&confidence=0.999&budget_ms=0', 'squat.jpg');
    expect(b.stages.map((s) => s.model)).toEqual(['person_hallaq']);
    expect(b.stop).toMatchObject({ stage: 0, reason: 'budget', next: { stage: 1, model: 'person_cezar' } });
    expect(b.stop.next!.expected_ms).toBeGreaterThan(0);
    expect(b.budget_ms!.limit).toBe(0);
    const tiny = await ok<DetectJson>('/v1/detect?mode=adaptive&confidence=0.999&budget_ms=0.001', 'squat.jpg');
    expect(tiny.stages).toHaveLength(1);
    const big = await ok<DetectJson>('/v1/detect?mode=adaptive&confidence=0.999&budget_ms=60000', 'squat.jpg');
    expect(big.stages).toHaveLength(3);
    expect(big.budget_ms!.spent).toBeGreaterThan(0);
  });

  it('stream: throttles up to the stage a frame needed, back down after relax_after confident frames, and up again', async () => {
    const id = `cam-${Date.now().toString(36)}`;
    const frame = async (confidence: number) =>
      (await ok<DetectJson>(`/v1/detect?mode=adaptive&confidence=${confidence}&stream=${id}`, 'face.jpg')).stream!;
    // confidence=1 is never reached: every stage runs, the next frame starts at the last stage
    let s = await frame(1);
    expect(s).toMatchObject({ id, scope: 'isolate', new: true, start_stage: 0, stop_stage: 2, next_start_stage: 2, frames: 1, relax_after: 3 });
    // confidence=0.5 is always reached (max(p, 1-p) >= 0.5): each frame is confident at its start stage
    const seen: [number, number, number][] = [];
    for (let i = 0; i < 7; i++) {
      s = await frame(0.5);
      expect(s.new).toBe(false);
      seen.push([s.start_stage, s.confident_streak, s.next_start_stage]);
    }
    expect(seen).toEqual([
      [2, 1, 2], [2, 2, 2], [2, 0, 1], // 3 confident frames at stage 2 -> down to 1
      [1, 1, 1], [1, 2, 1], [1, 0, 0], // 3 at stage 1 -> down to 0
      [0, 1, 0],
    ]);
    s = await frame(1);
    expect(s).toMatchObject({ start_stage: 0, stop_stage: 2, next_start_stage: 2, confident_streak: 0, frames: 9 });
    // the frame's stages start where the stream said
    const r = await ok<DetectJson>(`/v1/detect?mode=adaptive&confidence=0.5&stream=${id}`, 'face.jpg');
    expect(r.stages.map((x) => x.model)).toEqual(['person']);
    // another camera is independent
    const other = await ok<DetectJson>(`/v1/detect?mode=adaptive&confidence=0.5&stream=${id}-b`, 'face.jpg');
    expect(other.stream).toMatchObject({ new: true, start_stage: 0 });
  });
});

describe('classify, mode=adaptive (resolution ladder)', () => {
  it('a low target stops at 128x128; the answer is still a cat', async () => {
    const b = await ok<ClassifyJson>('/v1/classify?mode=adaptive&confidence=0.05&top=3', 'cat.jpg');
    expect(b.ladder).toBe('classify-ladder');
    expect(b.stages).toHaveLength(1);
    expect(b.stages[0]).toMatchObject({ model: 'mobilenet_v2_128', input: [128, 128] });
    expect(b.stages[0]!.top1!.index).toBe(b.predictions[0]!.index);
    expect(b.predictions).toHaveLength(3);
    expect(b.predictions[0]!.index).toBeGreaterThanOrEqual(282);
    expect(b.predictions[0]!.index).toBeLessThanOrEqual(286);
    expect(b.model.id).toBe('mobilenet_v2_128');
  });

  it('confidence=0.999 escalates through 128, 160, 192 to 224, which answers like mode=full', async () => {
    const b = await ok<ClassifyJson>('/v1/classify?mode=adaptive&confidence=0.999&top=5', 'grace_hopper.jpg');
    expect(b.stages.map((s) => s.model)).toEqual(CLASSIFY_LADDER);
    expect(b.stages.map((s) => s.input)).toEqual([[128, 128], [160, 160], [192, 192], [224, 224]]);
    expect(b.macs.full).toBe(b.stages[3]!.macs);
    expect(b.stages[0]!.macs).toBeLessThan(b.stages[1]!.macs);
    const full = await ok<{ predictions: ClassifyJson['predictions'] }>('/v1/classify?top=5', 'grace_hopper.jpg');
    expect(b.predictions).toEqual(full.predictions);
    expect(b.predictions[0]!.label).toBe('military uniform');
  });
});

describe('parameters and errors', () => {
  it.each([
    ['/v1/detect?mode=fast', 'invalid_parameter'],
    ['/v1/detect?mode=adaptive&confidence=abc', 'invalid_parameter'],
    ['/v1/detect?mode=adaptive&confidence=1.5', 'invalid_parameter'],
    ['/v1/detect?mode=adaptive&confidence=-0.1', 'invalid_parameter'],
    ['/v1/detect?mode=adaptive&budget_ms=-1', 'invalid_parameter'],
    ['/v1/detect?mode=adaptive&budget_ms=1e9', 'invalid_parameter'],
    ['/v1/detect?mode=adaptive&budget_ms=soon', 'invalid_parameter'],
    ['/v1/detect?mode=adaptive&stream=' + encodeURIComponent('bad id'), 'invalid_parameter'],
    ['/v1/detect?mode=adaptive&stream=' + 'x'.repeat(65), 'invalid_parameter'],
    ['/v1/detect?mode=adaptive&model=person', 'invalid_parameter'],
    ['/v1/detect?mode=adaptive&threshold=2', 'invalid_parameter'],
    ['/v1/detect?mode=adaptive&ladder=BAD!', 'invalid_parameter'],
    ['/v1/detect?confidence=0.9', 'invalid_parameter'],
    ['/v1/detect?stream=cam1', 'invalid_parameter'],
    ['/v1/detect?mode=full&budget_ms=5', 'invalid_parameter'],
    ['/v1/classify?mode=adaptive&top=0', 'invalid_parameter'],
  ])('%s -> 400 %s', async (path, code) => {
    const res = await post(path, 'face.jpg');
    const body = (await res.json()) as ErrorJson;
    expect({ status: res.status, code: body.error.code }).toEqual({ status: 400, code });
  });

  it('unknown ladder, or a ladder of the other task -> 404 ladder_not_found', async () => {
    for (const path of ['/v1/detect?mode=adaptive&ladder=nope', '/v1/detect?mode=adaptive&ladder=classify-ladder']) {
      const res = await post(path, 'face.jpg');
      expect(res.status).toBe(404);
      expect(((await res.json()) as ErrorJson).error.code).toBe('ladder_not_found');
    }
  });

  it('no body -> 400 no_body; not an image -> 415', async () => {
    const empty = await worker.fetch(new Request(`${BASE}/v1/detect?mode=adaptive`, { method: 'POST', headers: { 'content-type': 'image/jpeg' }, body: new Uint8Array(0) }));
    expect(empty.status).toBe(400);
    const text = await worker.fetch(new Request(`${BASE}/v1/detect?mode=adaptive`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'hello' }));
    expect(text.status).toBe(415);
  });

  it('a stage model missing from the store -> 503 ladder_unavailable', async () => {
    const kv = env.MODELS;
    const holey = { get: (key: string, o: unknown) => (key === 'model:person_cezar' ? Promise.resolve(null) : kv.get(key, o as 'text')) } as unknown as KVNamespace;
    const deps = { ...runtimeDeps, store: () => new ModelStore(holey) };
    const ctx = createExecutionContext();
    const res = await createApp(deps).fetch(
      new Request(`${BASE}/v1/detect?mode=adaptive`, { method: 'POST', headers: { 'content-type': 'image/jpeg' }, body: img['face.jpg']! }),
      env as unknown as Env, ctx,
    );
    await waitOnExecutionContext(ctx);
    expect(res.status).toBe(503);
    const body = (await res.json()) as ErrorJson;
    expect(body.error.code).toBe('ladder_unavailable');
    expect(body.error.message).toMatch(/person_cezar/);
  });

  it('GET /v1/ladders lists the ladders with their stages and calibration', async () => {
    const res = await worker.fetch(new Request(`${BASE}/v1/ladders`));
    expect(res.status).toBe(200);
    const body = (await res.json()) as { ladders: { id: string; task: string; default: boolean; stages: { model: string; calibration: { method: string } }[] }[] };
    const person = body.ladders.find((l) => l.id === 'person-ladder')!;
    expect(person).toMatchObject({ task: 'detect', default: true });
    expect(person.stages.map((s) => s.model)).toEqual(PERSON_LADDER);
    for (const s of person.stages) expect(['platt', 'temperature']).toContain(s.calibration.method);
    expect(body.ladders.find((l) => l.id === 'classify-ladder')!.stages.map((s) => s.model)).toEqual(CLASSIFY_LADDER);
  });
});
