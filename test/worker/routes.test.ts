// The HTTP contract of the Worker, end to end inside workerd: real KV, real artifacts
// (build/models/*.elns via FIXTURES), the real engine and image pipeline.
import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test';
import { env, exports } from 'cloudflare:workers';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { createApp, type AppDeps } from '../../src/worker/app';
import { app } from '../../src/worker/index';
import { getModelCache, resetModelCacheForTests, runtimeDeps } from '../../src/worker/runtime';
import { ModelStore } from '../../src/store/store';
import { pointerKey, blobKey, type ModelPointer } from '../../src/store/layout';
import type { Env } from '../../src/worker/env';
import { ADMIN_TOKEN, BASE, adminHeaders, byteStream, fixture, pngHeaderOnly, uniqueId } from './helpers';

interface ModelJson { id: string; version: number; sha256: string; precision: string }
interface ClassifyJson {
  model: ModelJson;
  predictions: { index: number; label: string; score: number }[];
  image: { format: string; width: number; height: number };
  timings_ms: Record<'read' | 'decode' | 'preprocess' | 'model' | 'inference' | 'total', number>;
  cache: 'hit' | 'miss';
}
interface DetectJson {
  person: { detected: boolean; score: number; threshold: number };
  model: ModelJson;
  timings_ms: ClassifyJson['timings_ms'];
  cache: 'hit' | 'miss';
}
interface ErrorJson { error: { code: string; message: string } }

const worker = exports.default as unknown as { fetch(req: Request): Promise<Response> };

function call(path: string, init?: RequestInit): Promise<Response> {
  return worker.fetch(new Request(BASE + path, init));
}

/** The app with a modified env (e.g. no ADMIN_TOKEN, tiny limits). */
async function callWithEnv(overrides: Partial<Env>, path: string, init?: RequestInit, deps: AppDeps = runtimeDeps): Promise<Response> {
  const ctx = createExecutionContext();
  const res = await createApp(deps).fetch(new Request(BASE + path, init), { ...(env as unknown as Env), ...overrides }, ctx);
  await waitOnExecutionContext(ctx);
  return res;
}

function postImage(path: string, bytes: Uint8Array, type = 'image/jpeg'): Promise<Response> {
  return call(path, { method: 'POST', headers: { 'content-type': type }, body: bytes });
}

async function expectError(res: Response, status: number, code: string): Promise<ErrorJson> {
  const body = (await res.json()) as ErrorJson;
  expect({ status: res.status, code: body.error?.code }).toEqual({ status, code });
  expect(typeof body.error.message).toBe('string');
  expect(res.headers.get('content-type')).toMatch(/application\/json/);
  return body;
}

async function putModel(id: string, bytes: Uint8Array, token = ADMIN_TOKEN): Promise<Response> {
  return call(`/v1/models/${id}`, { method: 'PUT', headers: { ...adminHeaders(token), 'content-type': 'application/octet-stream' }, body: bytes });
}

const img: Record<string, Uint8Array> = {};
let mobilenet: Uint8Array;
let person: Uint8Array;

beforeAll(async () => {
  mobilenet = await fixture('models/mobilenet_v2.elns');
  person = await fixture('models/person.elns');
  for (const f of ['cat.jpg', 'cat.png', 'grace_hopper.jpg', 'squat.jpg', 'sunflower.jpg', 'owl.jpg']) img[f] = await fixture(`images/samples/${f}`);
  for (const [id, bytes] of [['mobilenet_v2', mobilenet], ['person', person]] as const) {
    const res = await putModel(id, bytes);
    expect([200, 201]).toContain(res.status);
  }
});

describe('classify', () => {
  it('cat.jpg: top-1 is a cat (ImageNet 282..286), full response shape, Server-Timing', async () => {
    const res = await postImage('/v1/classify?model=mobilenet_v2&top=5', img['cat.jpg']!);
    expect(res.status).toBe(200);
    const body = (await res.json()) as ClassifyJson;
    expect(body.predictions).toHaveLength(5);
    expect(body.predictions[0]!.index).toBeGreaterThanOrEqual(282);
    expect(body.predictions[0]!.index).toBeLessThanOrEqual(286);
    for (let i = 1; i < body.predictions.length; i++) {
      const [a, b] = [body.predictions[i - 1]!, body.predictions[i]!];
      expect(a.score > b.score || (a.score === b.score && a.index < b.index)).toBe(true);
    }
    expect(body.model).toMatchObject({ id: 'mobilenet_v2', precision: expect.any(String) });
    expect(body.model.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(body.model.version).toBeGreaterThanOrEqual(1);
    expect(body.image.format).toBe('jpeg');
    expect(body.image.width).toBeGreaterThan(0);
    expect(Object.keys(body.timings_ms).sort()).toEqual(['decode', 'inference', 'model', 'preprocess', 'read', 'total']);
    expect(['hit', 'miss']).toContain(body.cache);
    const st = res.headers.get('server-timing') ?? '';
    for (const s of ['read', 'decode', 'preprocess', 'model', 'inference', 'total']) expect(st).toMatch(new RegExp(`(^|, )${s};dur=\\d+(\\.\\d+)?`));
  });

  it('cat.png works like cat.jpg', async () => {
    const body = (await (await postImage('/v1/classify', img['cat.png']!, 'image/png')).json()) as ClassifyJson;
    expect(body.image.format).toBe('png');
    expect(body.predictions[0]!.index).toBeGreaterThanOrEqual(282);
    expect(body.predictions[0]!.index).toBeLessThanOrEqual(286);
  });

  it('grace_hopper.jpg: top-1 label "military uniform" (default model, top=1)', async () => {
    const res = await postImage('/v1/classify?top=1', img['grace_hopper.jpg']!);
    const body = (await res.json()) as ClassifyJson;
    expect(res.status).toBe(200);
    expect(body.predictions).toHaveLength(1);
    expect(body.predictions[0]).toMatchObject({ index: 653, label: 'military uniform' });
    expect(body.model.id).toBe('mobilenet_v2');
  });

  it('accepts multipart/form-data with an "image" field', async () => {
    const form = new FormData();
    form.append('image', new File([img['grace_hopper.jpg']!], 'g.jpg', { type: 'image/jpeg' }));
    const res = await call('/v1/classify?top=3', { method: 'POST', body: form });
    expect(res.status).toBe(200);
    const body = (await res.json()) as ClassifyJson;
    expect(body.predictions[0]!.label).toBe('military uniform');
  });

  it('first request after a cold start is a miss, the second a hit (model time 0)', async () => {
    resetModelCacheForTests();
    const first = (await (await postImage('/v1/classify', img['cat.jpg']!)).json()) as ClassifyJson;
    expect(first.cache).toBe('miss');
    expect(first.timings_ms.model).toBeGreaterThan(0);
    const second = (await (await postImage('/v1/classify', img['cat.jpg']!)).json()) as ClassifyJson;
    expect(second.cache).toBe('hit');
    expect(second.timings_ms.model).toBe(0);
    expect(second.predictions).toEqual(first.predictions);
  });
});

describe('detect', () => {
  it.each([
    ['grace_hopper.jpg', true],
    ['squat.jpg', true],
    ['sunflower.jpg', false],
    ['owl.jpg', false],
  ])('%s -> person detected: %s', async (file, expected) => {
    const res = await postImage('/v1/detect?threshold=0.5', img[file]!);
    expect(res.status).toBe(200);
    const body = (await res.json()) as DetectJson;
    expect(body.person.detected).toBe(expected);
    expect(body.person.threshold).toBe(0.5);
    expect(body.person.score).toBeGreaterThanOrEqual(0);
    expect(body.person.score).toBeLessThanOrEqual(1);
    expect(body.model.id).toBe('person');
    expect(res.headers.get('server-timing')).toMatch(/inference;dur=/);
  });

  it('threshold decides; default is 0.5; explicit model', async () => {
    const lo = (await (await postImage('/v1/detect?model=person&threshold=0', img['owl.jpg']!)).json()) as DetectJson;
    expect(lo.person.detected).toBe(true);
    const hi = (await (await postImage('/v1/detect?threshold=1', img['owl.jpg']!)).json()) as DetectJson;
    expect(hi.person.detected).toBe(false);
    const def = (await (await postImage('/v1/detect', img['grace_hopper.jpg']!)).json()) as DetectJson;
    expect(def.person.threshold).toBe(0.5);
  });
});

describe('errors', () => {
  it('400 without a body', async () => {
    await expectError(await call('/v1/classify', { method: 'POST', headers: { 'content-type': 'image/jpeg' } }), 400, 'no_body');
    await expectError(await call('/v1/detect', { method: 'POST', headers: { 'content-type': 'image/png' }, body: new Uint8Array(0) }), 400, 'no_body');
  });

  it('400 on bad parameters', async () => {
    for (const q of ['top=0', 'top=abc', 'top=1.5', 'top=100000']) {
      await expectError(await postImage(`/v1/classify?${q}`, img['cat.jpg']!), 400, 'invalid_parameter');
    }
    for (const q of ['threshold=2', 'threshold=-0.1', 'threshold=x']) {
      await expectError(await postImage(`/v1/detect?${q}`, img['cat.jpg']!), 400, 'invalid_parameter');
    }
    await expectError(await postImage('/v1/classify?model=Bad..Id', img['cat.jpg']!), 400, 'invalid_model_id');
  });

  it('400 when /v1/detect is asked to use a classifier', async () => {
    await expectError(await postImage('/v1/detect?model=mobilenet_v2', img['cat.jpg']!), 400, 'model_task_mismatch');
  });

  it('400 for multipart without an image field', async () => {
    const form = new FormData();
    form.append('photo', new File([img['cat.jpg']!], 'c.jpg', { type: 'image/jpeg' }));
    await expectError(await call('/v1/classify', { method: 'POST', body: form }), 400, 'no_body');
  });

  it('404 for an unknown model and an unknown route', async () => {
    await expectError(await postImage('/v1/classify?model=no-such-model', img['cat.jpg']!), 404, 'model_not_found');
    await expectError(await postImage('/v1/detect?model=no-such-model', img['cat.jpg']!), 404, 'model_not_found');
    await expectError(await call('/v1/models/no-such-model'), 404, 'model_not_found');
    await expectError(await call('/nope'), 404, 'not_found');
    await expectError(await call('/v1/classify'), 404, 'not_found'); // GET on a POST route
  });

  it('413 when Content-Length exceeds MAX_BODY_BYTES (nothing read)', async () => {
    const big = new Uint8Array(10 * 1024 * 1024 + 1);
    big.set([0xff, 0xd8, 0xff]);
    await expectError(await postImage('/v1/classify', big), 413, 'payload_too_large');
  });

  it('413 while streaming a body without Content-Length', async () => {
    const res = await callWithEnv({ MAX_BODY_BYTES: String(3 << 20) }, '/v1/classify', {
      method: 'POST', headers: { 'content-type': 'image/jpeg' }, body: byteStream(8 << 20),
      // @ts-expect-error - workerd needs duplex for streaming request bodies in some versions
      duplex: 'half',
    });
    await expectError(res, 413, 'payload_too_large');
  });

  it('413 for an image over the pixel limit, from its header (decompression bomb)', async () => {
    await expectError(await postImage('/v1/classify', pngHeaderOnly(20000, 20000), 'image/png'), 413, 'image_too_large');
    const small = await callWithEnv({ MAX_IMAGE_PIXELS: '1000' }, '/v1/classify', {
      method: 'POST', headers: { 'content-type': 'image/jpeg' }, body: img['cat.jpg']!,
    });
    await expectError(small, 413, 'image_too_large');
  });

  it('415 for an unsupported Content-Type or non-JPEG/PNG bytes', async () => {
    await expectError(await postImage('/v1/classify', img['cat.jpg']!, 'text/plain'), 415, 'unsupported_media_type');
    await expectError(await postImage('/v1/detect', img['cat.jpg']!, 'image/gif'), 415, 'unsupported_media_type');
    const gif = new TextEncoder().encode('GIF89a\x01\x00\x01\x00\x00\x00\x00;');
    await expectError(await postImage('/v1/classify', gif, 'image/jpeg'), 415, 'unsupported_media_type');
    const form = new FormData();
    form.append('image', new File(['hello'], 'x.txt', { type: 'text/plain' }));
    await expectError(await call('/v1/classify', { method: 'POST', body: form }), 415, 'unsupported_media_type');
  });

  it('422 for a JPEG/PNG that cannot be decoded', async () => {
    const jpg = img['cat.jpg']!;
    const truncated = jpg.slice(0, Math.floor(jpg.length / 3));
    await expectError(await postImage('/v1/classify', truncated), 422, 'undecodable_image');
    const garbage = new Uint8Array(4096).map((_, i) => (i * 7919) & 0xff);
    garbage.set([0xff, 0xd8, 0xff, 0xdb]);
    await expectError(await postImage('/v1/classify', garbage), 422, 'undecodable_image');
    const png = img['cat.png']!.slice();
    for (let i = 200; i < png.length - 20; i += 97) png[i] = png[i]! ^ 0x5a; // corrupt the compressed data
    await expectError(await postImage('/v1/classify', png, 'image/png'), 422, 'undecodable_image');
  });

  it('503 for a corrupted stored model, every time (never cached)', async () => {
    const errors = vi.spyOn(console, 'error').mockImplementation(() => {});
    try {
      const id = uniqueId('broken');
      const real = await (await call('/v1/models/person')).json() as { model: ModelPointer };
      const bad = person.slice();
      bad[bad.length - 100] = bad[bad.length - 100]! ^ 0xff; // flip a weight byte: checksum fails
      const fakeSha = 'f'.repeat(64);
      await env.MODELS.put(blobKey(fakeSha), bad);
      await new ModelStore(env.MODELS).writePointer({ ...real.model, id, sha256: fakeSha, version: 1 });
      for (let i = 0; i < 2; i++) {
        await expectError(await postImage(`/v1/detect?model=${id}`, img['owl.jpg']!), 503, 'model_unavailable');
      }
      // a valid artifact stored under the wrong key is caught too
      const id2 = uniqueId('wrongkey');
      const otherSha = 'e'.repeat(64);
      await env.MODELS.put(blobKey(otherSha), person);
      await new ModelStore(env.MODELS).writePointer({ ...real.model, id: id2, sha256: otherSha, version: 1 });
      await expectError(await postImage(`/v1/detect?model=${id2}`, img['owl.jpg']!), 503, 'model_unavailable');
      // a pointer that is not JSON
      const id3 = uniqueId('badptr');
      await env.MODELS.put(pointerKey(id3), 'garbage');
      await expectError(await postImage(`/v1/detect?model=${id3}`, img['owl.jpg']!), 503, 'model_unavailable');
      expect(errors).toHaveBeenCalled();
    } finally {
      errors.mockRestore();
    }
  });

  it('the healthz endpoint answers', async () => {
    const res = await call('/healthz');
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: 'ok' });
  });
});

describe('pointer switch mid-request', () => {
  it('a request that resolved v1 runs v1 even if the pointer moves to v2 meanwhile', async () => {
    const id = uniqueId('switch');
    expect((await putModel(id, person)).status).toBe(201);
    const v1 = ((await (await call(`/v1/models/${id}`)).json()) as { model: ModelPointer }).model;
    const mobilenetPtr = ((await (await call('/v1/models/mobilenet_v2')).json()) as { model: ModelPointer }).model;
    // a store whose getPointer lets the pointer switch right after this request resolved it
    const deps: AppDeps = {
      ...runtimeDeps,
      store: (e) => {
        const s = new ModelStore(e.MODELS);
        const getPointer = s.getPointer.bind(s);
        s.getPointer = async (mid: string) => {
          const p = await getPointer(mid);
          await s.writePointer({ ...mobilenetPtr, id, version: 2 });
          return p;
        };
        return s;
      },
    };
    const res = await callWithEnv({}, `/v1/detect?model=${id}`, {
      method: 'POST', headers: { 'content-type': 'image/jpeg' }, body: img['grace_hopper.jpg']!,
    }, deps);
    expect(res.status).toBe(200);
    const body = (await res.json()) as DetectJson;
    expect(body.model).toMatchObject({ id, version: 1, sha256: v1.sha256 });
    expect(body.person.detected).toBe(true);
    // the next request sees v2
    const after = ((await (await call(`/v1/models/${id}`)).json()) as { model: ModelPointer }).model;
    expect(after).toMatchObject({ version: 2, sha256: mobilenetPtr.sha256 });
  });
});

describe('concurrency', () => {
  it('8 concurrent cold requests share one load and all succeed', async () => {
    resetModelCacheForTests();
    const results = await Promise.all(Array.from({ length: 8 }, () => postImage('/v1/detect', img['grace_hopper.jpg']!)));
    const bodies = (await Promise.all(results.map((r) => r.json()))) as DetectJson[];
    expect(results.every((r) => r.status === 200)).toBe(true);
    expect(bodies.every((b) => b.person.detected)).toBe(true);
    expect(bodies.filter((b) => b.cache === 'miss').length).toBeGreaterThanOrEqual(1);
    expect(new Set(bodies.map((b) => b.person.score)).size).toBe(1);
    // one KV read + load in this isolate for all of them (the cache was reset above)
    expect(getModelCache(env as unknown as Env).stats()).toMatchObject({ loads: 1, failedLoads: 0 });
    const next = (await (await postImage('/v1/detect', img['grace_hopper.jpg']!)).json()) as DetectJson;
    expect(next.cache).toBe('hit');
  });
});

describe('the exported app', () => {
  it('is the same Hono app as the default export', () => {
    expect(typeof app.fetch).toBe('function');
  });
});
