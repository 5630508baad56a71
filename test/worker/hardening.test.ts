// Hardening: admin security, no lost or wrong models, and regression tests for the bugs the
// fuzzers found (scripts/fuzz-images.mjs, scripts/fuzz-models.mjs). Inside workerd, real KV,
// real engine. No wall-clock assertions.
import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test';
import { env, exports } from 'cloudflare:workers';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { EngineError } from '../../src/engine/engine';
import { parseArtifact, writeArtifact, type ArtifactManifest } from '../../src/model/artifact';
import { BLOB_PREFIX, POINTER_PREFIX, blobKey, pointerKey, type ModelPointer } from '../../src/store/layout';
import { isValidModelId } from '../../src/store/ids';
import { ModelStore } from '../../src/store/store';
import { createApp, type AppDeps } from '../../src/worker/app';
import type { Env } from '../../src/worker/env';
import { getEngine, runtimeDeps } from '../../src/worker/runtime';
import { rawArtifact, splitArtifact } from '../../scripts/fuzz-models-cases.mjs';
import { concat, ihdr, PNG_SIG, pngChunk } from '../../scripts/fuzz-images-cases.mjs';
import { ADMIN_TOKEN, BASE, adminHeaders, fixture, uniqueId } from './helpers';

interface ErrorJson { error: { code: string; message: string } }
interface PutJson { model: ModelPointer; created: boolean; changed: boolean }
interface DetectJson { person: { score: number }; model: { id: string; version: number; sha256: string } }

const worker = exports.default as unknown as { fetch(req: Request): Promise<Response> };
const call = (path: string, init?: RequestInit) => worker.fetch(new Request(BASE + path, init));
const put = (id: string, body: Uint8Array | ReadableStream | null, headers: Record<string, string> = adminHeaders()) =>
  call(`/v1/models/${id}`, { method: 'PUT', headers: { 'content-type': 'application/octet-stream', ...headers }, body });
const postImage = (path: string, body: Uint8Array) => call(path, { method: 'POST', headers: { 'content-type': 'image/jpeg' }, body });

/** The app with another env and/or other deps, on this isolate's runtime. */
async function callWithEnv(overrides: Partial<Env>, path: string, init?: RequestInit, deps: AppDeps = runtimeDeps): Promise<Response> {
  const ctx = createExecutionContext();
  const res = await createApp(deps).fetch(new Request(BASE + path, init), { ...(env as unknown as Env), ...overrides }, ctx);
  await waitOnExecutionContext(ctx);
  return res;
}

async function keys(prefix: string): Promise<string[]> {
  const out: string[] = [];
  let cursor: string | undefined;
  for (;;) {
    const page = await env.MODELS.list({ prefix, cursor });
    out.push(...page.keys.map((k) => k.name));
    if (page.list_complete) return out;
    cursor = page.cursor;
  }
}

/** A valid artifact that no other test stored: person.elns with another manifest name. */
async function freshVariant(base: Uint8Array, name: string): Promise<{ bytes: Uint8Array; sha256: string }> {
  const { manifest, weights } = splitArtifact(base) as { manifest: ArtifactManifest; weights: Uint8Array };
  const { sha256: _s, format: _f, weightsBytes: _w, ...rest } = manifest;
  const bytes = await writeArtifact({ ...rest, name }, weights);
  return { bytes, sha256: (await parseArtifact(bytes)).sha256 };
}

let person: Uint8Array;
let mobilenet: Uint8Array;
let grace: Uint8Array;

beforeAll(async () => {
  person = await fixture('models/person.elns');
  mobilenet = await fixture('models/mobilenet_v2.elns');
  grace = await fixture('images/samples/grace_hopper.jpg');
  for (const [id, bytes] of [['person', person], ['mobilenet_v2', mobilenet]] as const) {
    expect([200, 201]).toContain((await put(id, bytes)).status);
  }
});

afterEach(() => {
  vi.restoreAllMocks();
});

describe('admin security', () => {
  it('missing, wrong, wrong-length and malformed tokens: same status, body, headers and the same hashing work', async () => {
    const id = uniqueId('auth');
    const digest = vi.spyOn(crypto.subtle, 'digest');
    const variants: Record<string, string>[] = [
      {},
      adminHeaders('wrong-token'),
      adminHeaders(ADMIN_TOKEN.slice(0, -1)),
      adminHeaders(ADMIN_TOKEN + 'x'.repeat(1000)),
      { authorization: 'Bearer' },
      { authorization: `Bearer ${ADMIN_TOKEN} extra` },
      { authorization: `Basic ${btoa(`admin:${ADMIN_TOKEN}`)}` },
    ];
    const answers: string[] = [];
    const work: number[] = [];
    for (const h of variants) {
      const before = digest.mock.calls.length;
      const res = await put(id, person, h);
      work.push(digest.mock.calls.length - before);
      const headers = [...res.headers.entries()].filter(([k]) => k !== 'date').sort();
      answers.push(JSON.stringify({ status: res.status, body: await res.text(), headers }));
    }
    expect(new Set(answers).size).toBe(1);
    expect(JSON.parse(answers[0]!)).toMatchObject({ status: 401 });
    expect(new Set(work)).toEqual(new Set([2])); // provided and expected token hashed, every time
    // the right token does the same hashing, then the upload goes on
    const before = digest.mock.calls.length;
    const ok = await put(id, person);
    expect(ok.status).toBe(201);
    expect(digest.mock.calls.length - before).toBeGreaterThanOrEqual(2);
    expect((await call(`/v1/models/${id}`, { method: 'DELETE' })).status).toBe(401);
  });

  it('uploads are size-limited, from Content-Length and while streaming; nothing is stored', async () => {
    const id = uniqueId('big');
    const art = await freshVariant(person, uniqueId('big-art'));
    const declared = await callWithEnv({ MAX_UPLOAD_BYTES: '100000' }, `/v1/models/${id}`, { method: 'PUT', headers: adminHeaders(), body: art.bytes });
    expect(declared.status).toBe(413);
    expect(((await declared.json()) as ErrorJson).error.code).toBe('payload_too_large');
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(c) {
        if (sent >= art.bytes.length) return c.close();
        c.enqueue(art.bytes.slice(sent, sent + 65536));
        sent += 65536;
      },
    });
    const streamed = await callWithEnv({ MAX_UPLOAD_BYTES: '100000' }, `/v1/models/${id}`, {
      method: 'PUT', headers: adminHeaders(), body: stream,
      // @ts-expect-error - a streaming request body
      duplex: 'half',
    });
    expect(streamed.status).toBe(413);
    expect(sent).toBeLessThan(art.bytes.length); // stopped reading early
    expect((await call(`/v1/models/${id}`)).status).toBe(404);
    expect(await env.MODELS.get(blobKey(art.sha256))).toBeNull();
  });

  it('model ids are validated everywhere: no KV key injection through PUT, GET, DELETE or ?model=', async () => {
    const bad = [
      'blob:' + 'a'.repeat(64), 'blob%3A' + 'a'.repeat(64), 'model:x', '..', '.hidden', '..%2F..%2Fx', '%2E%2E%2Fx', 'a%2Fb', 'a%5Cb',
      'A', 'Mobilenet_v2', '%C3%A9', 'caf%C3%A9', '%F0%9F%98%80', 'a'.repeat(65), '%00', 'a%00b', '%20a', 'a%20b', '-x', '_x',
      'a%0Ab', '%E2%80%8Bperson', 'person%E2%80%AE',
    ];
    for (const id of bad) {
      for (const [method, body] of [['PUT', person], ['GET', null], ['DELETE', null]] as const) {
        const res = await call(`/v1/models/${id}`, { method, headers: adminHeaders(), body });
        expect([400, 404], `${method} ${id}`).toContain(res.status);
        const j = (await res.json()) as ErrorJson;
        expect(['invalid_model_id', 'not_found'], `${method} ${id}`).toContain(j.error.code);
      }
      const q = await postImage(`/v1/classify?model=${id}`, grace);
      expect(q.status, `?model=${id}`).toBe(400);
    }
    // nothing was written: every key is blob:<sha256> or model:<valid id> (per-key checks, as
    // other test files may write to the same KV meanwhile)
    for (const k of await keys('')) {
      if (k.startsWith(BLOB_PREFIX)) expect(k).toMatch(/^blob:[0-9a-f]{64}$/);
      else {
        expect(k.startsWith(POINTER_PREFIX), k).toBe(true);
        expect(isValidModelId(k.slice(POINTER_PREFIX.length)), k).toBe(true);
      }
    }
  });

  it('GET answers (bodies and headers, including errors) never leak the token or internal paths', async () => {
    const id = uniqueId('leak');
    expect((await put(id, person)).status).toBe(201);
    // a corrupted pointer (503) and a corrupted blob (503 on use)
    const broken = uniqueId('leak-broken');
    await env.MODELS.put(pointerKey(broken), '{"not":"a pointer"}');
    const gets = ['/', '/healthz', '/v1/models', `/v1/models/${id}`, '/v1/models/person', `/v1/models/${broken}`, '/v1/models/no-such-model',
      '/v1/models/Bad_Id', '/v1/models/a%2Fb', '/v1/ladders', '/v1/classify', '/v1/detect', '/nope', '/v1/models/' + 'a'.repeat(65)];
    // the token, file-system paths, source files, KV keys (blob:<sha256>, model:<id>), stack frames
    const leak = new RegExp([
      ADMIN_TOKEN, 'ADMIN_TOKEN', '/work/', '/tmp/', 'node_modules', 'build/', '\\.elns\\b', '\\.tsx?:\\d', 'src/worker', 'file://',
      'blob:[0-9a-f]{6}', 'model:[a-z0-9]', '\\n\\s+at [^\\n]+:\\d+:\\d+',
    ].join('|'));
    const errors = vi.spyOn(console, 'error').mockImplementation(() => {});
    for (const path of gets) {
      for (const headers of [{}, adminHeaders()]) {
        const res = await call(path, { headers });
        expect(res.status, path).toBeLessThan(600);
        const text = await res.text();
        expect(leak.exec(text)?.[0], `body of GET ${path}`).toBeUndefined();
        for (const [k, v] of res.headers) expect(leak.exec(`${k}: ${v}`)?.[0], `header of GET ${path}`).toBeUndefined();
      }
    }
    errors.mockRestore();
  });
});

describe('no lost or wrong models', () => {
  it('an upload writes the blob first and the pointer last; a failed blob write leaves the old pointer', async () => {
    const id = uniqueId('order');
    const v1 = await freshVariant(person, uniqueId('order-v1'));
    const v2 = await freshVariant(person, uniqueId('order-v2'));
    const writes: string[] = [];
    let failBlob = false;
    const recording = new Proxy(env.MODELS, {
      get(target, prop) {
        if (prop === 'put') {
          return async (key: string, value: unknown, opts?: KVNamespacePutOptions) => {
            writes.push(key);
            if (failBlob && key.startsWith(BLOB_PREFIX)) throw new Error('KV write failed');
            return target.put(key, value as ArrayBuffer, opts);
          };
        }
        const v = Reflect.get(target, prop) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
    const deps: AppDeps = { ...runtimeDeps, store: () => new ModelStore(recording) };
    const first = await callWithEnv({}, `/v1/models/${id}`, { method: 'PUT', headers: adminHeaders(), body: v1.bytes }, deps);
    expect(first.status).toBe(201);
    expect(writes).toEqual([blobKey(v1.sha256), pointerKey(id)]);

    writes.length = 0;
    failBlob = true;
    vi.spyOn(console, 'error').mockImplementation(() => {});
    const failed = await callWithEnv({}, `/v1/models/${id}`, { method: 'PUT', headers: adminHeaders(), body: v2.bytes }, deps);
    expect(failed.status).toBeGreaterThanOrEqual(500);
    expect(writes).toEqual([blobKey(v2.sha256)]); // the pointer was never written
    const ptr = ((await (await call(`/v1/models/${id}`)).json()) as { model: ModelPointer }).model;
    expect(ptr).toMatchObject({ version: 1, sha256: v1.sha256 });
    const res = await postImage(`/v1/detect?model=${id}`, grace);
    expect(res.status).toBe(200);
    expect(((await res.json()) as DetectJson).model.sha256).toBe(v1.sha256);
  });

  it('a blob whose content does not hash to its key: detected, logged, 503, never cached', async () => {
    const id = uniqueId('mismatch');
    const good = await freshVariant(person, uniqueId('mismatch-good'));
    const other = await freshVariant(person, uniqueId('mismatch-other'));
    expect((await put(id, good.bytes)).status).toBe(201);
    // the store's blob for good.sha256 now holds another (valid) artifact
    await env.MODELS.put(blobKey(good.sha256), other.bytes);
    const errors = vi.spyOn(console, 'error').mockImplementation(() => {});
    for (let i = 0; i < 2; i++) {
      const res = await postImage(`/v1/detect?model=${id}`, grace);
      expect(res.status).toBe(503);
      expect(((await res.json()) as ErrorJson).error.code).toBe('model_unavailable');
    }
    expect(errors.mock.calls.some((c) => String(c[0]).includes(good.sha256))).toBe(true);
    // repaired: served at once, so the failure was not cached
    await env.MODELS.put(blobKey(good.sha256), good.bytes);
    const ok = await postImage(`/v1/detect?model=${id}`, grace);
    expect(ok.status).toBe(200);
    expect(((await ok.json()) as DetectJson).model.sha256).toBe(good.sha256);
  });

  it('a request that resolved the old pointer finishes on the old version while the pointer is switched', async () => {
    const id = uniqueId('inflight');
    const v1 = await freshVariant(person, uniqueId('inflight-v1')); // never loaded: the request must read its blob
    expect((await put(id, v1.bytes)).status).toBe(201);
    let release!: () => void;
    const gate = new Promise<void>((r) => { release = r; });
    let blobReadStarted!: () => void;
    const started = new Promise<void>((r) => { blobReadStarted = r; });
    const paused = new Proxy(env.MODELS, {
      get(target, prop) {
        if (prop === 'get') {
          return async (key: string, opts: unknown) => {
            if (key === blobKey(v1.sha256)) {
              blobReadStarted();
              await gate; // hold the blob read until the pointer has moved on
            }
            return target.get(key, opts as KVNamespaceGetOptions<'arrayBuffer'>);
          };
        }
        const v = Reflect.get(target, prop) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
    const pending = callWithEnv({ MODELS: paused }, `/v1/detect?model=${id}`, {
      method: 'POST', headers: { 'content-type': 'image/jpeg' }, body: grace,
    });
    await started;
    // meanwhile: v2 (mobilenet) is uploaded, the pointer switches
    const up = await put(id, mobilenet);
    expect(up.status).toBe(200);
    const v2 = ((await up.json()) as PutJson).model;
    expect(v2).toMatchObject({ version: 2 });
    expect(((await (await call(`/v1/models/${id}`)).json()) as { model: ModelPointer }).model.sha256).toBe(v2.sha256);
    release();
    const res = await pending;
    expect(res.status).toBe(200);
    const body = (await res.json()) as DetectJson;
    expect(body.model).toMatchObject({ id, version: 1, sha256: v1.sha256 });
    // and the next request runs v2
    const next = await call(`/v1/classify?model=${id}&top=1`, { method: 'POST', headers: { 'content-type': 'image/jpeg' }, body: grace });
    expect(next.status).toBe(200);
    expect(((await next.json()) as DetectJson).model).toMatchObject({ version: 2, sha256: v2.sha256 });
  });
});

describe('regressions found by the fuzzers', () => {
  it('an artifact whose manifest is JSON null / a number / a string: 422, not 500', async () => {
    const { weights } = splitArtifact(person) as { weights: Uint8Array };
    vi.spyOn(console, 'error').mockImplementation(() => {});
    for (const text of ['null', '42', '"manifest"', 'true']) {
      const res = await put(uniqueId('nullmanifest'), await rawArtifact(text, weights));
      expect(res.status, text).toBe(422);
      expect(((await res.json()) as ErrorJson).error.code).toBe('invalid_artifact');
    }
  });

  it('an input scale of 0 or below is rejected at upload (it made every inference a 500)', async () => {
    const { manifest, weights } = splitArtifact(person) as { manifest: ArtifactManifest; weights: Uint8Array };
    const { sha256: _s, format: _f, weightsBytes: _w, ...rest } = manifest;
    vi.spyOn(console, 'error').mockImplementation(() => {});
    for (const scale of [0, -1, -0.0039]) {
      const bytes = await writeArtifact({ ...rest, input: { ...rest.input, scale } }, weights);
      const res = await put(uniqueId('scale'), bytes);
      expect(res.status, `scale ${scale}`).toBe(422);
    }
  });

  it('a valid artifact whose weights + arena + scratch exceed CACHE_BUDGET_BYTES is refused before loading (wasm memory never shrinks)', async () => {
    const { manifest, weights } = splitArtifact(person) as { manifest: ArtifactManifest; weights: Uint8Array };
    const { sha256: _s, format: _f, weightsBytes: _w, ...rest } = manifest;
    const big = await writeArtifact({ ...rest, arenaBytes: 90 << 20 }, weights); // allowed by the manifest schema (<= 96 MiB)
    expect((await parseArtifact(big)).manifest.arenaBytes).toBe(90 << 20);
    const engine = await getEngine();
    const memBefore = engine.memoryBytes;
    const res = await put(uniqueId('bigarena'), big);
    expect(res.status).toBe(422);
    expect(((await res.json()) as ErrorJson).error.message).toMatch(/CACHE_BUDGET_BYTES/);
    expect(engine.memoryBytes).toBe(memBefore); // nothing was allocated for it
    // the same model under a budget that holds it is fine (and the real models fit the default one)
    const small = await callWithEnv({ CACHE_BUDGET_BYTES: String(1 << 30) }, `/v1/models/${uniqueId('bigarena-ok')}`, {
      method: 'PUT', headers: adminHeaders(), body: await writeArtifact({ ...rest, arenaBytes: rest.arenaBytes + 4096 }, weights),
    });
    expect(small.status).toBe(201);
  });

  it('an error answer drains the request body first (wrangler dev failed the next request otherwise)', async () => {
    const total = 512 * 1024;
    let pulled = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(c) {
        if (pulled >= total) return c.close();
        c.enqueue(new Uint8Array(16384));
        pulled += 16384;
      },
    });
    const res = await callWithEnv({}, '/v1/detect?threshold=NaN', {
      method: 'POST', headers: { 'content-type': 'image/jpeg' }, body,
      // @ts-expect-error - a streaming request body
      duplex: 'half',
    });
    expect(res.status).toBe(400);
    expect(pulled).toBe(total);
    // an unauthenticated upload is drained the same way
    const res2 = await put(uniqueId('drain'), person, {});
    expect(res2.status).toBe(401);
  });

  it('PNG inflate edge cases answer 200/422 (no unhandled stream rejection: workerd logged one per truncated zlib stream)', async () => {
    const raw = new Uint8Array(8 * (1 + 8 * 3));
    const z = new Uint8Array(await new Response(new Blob([raw]).stream().pipeThrough(new CompressionStream('deflate'))).arrayBuffer());
    const png = (idat: Uint8Array) => concat([PNG_SIG, ihdr(8, 8), pngChunk('IDAT', idat), pngChunk('IEND', new Uint8Array(0))]);
    const garbage = new Uint8Array(4096).map((_, i) => (i * 2654435761) >>> 24);
    const post = (b: Uint8Array) => call('/v1/classify', { method: 'POST', headers: { 'content-type': 'image/png' }, body: b });
    expect([200, 422]).toContain((await post(png(concat([z, garbage])))).status); // trailing bytes: bisection path
    expect((await post(png(z.subarray(0, z.length - 6)))).status).toBe(422); // truncated zlib stream
    expect((await post(png(z))).status).toBe(200);
  });

  it('PNG zip bomb: the inflater is fed in small writes and stopped early (a 64 KiB IDAT used to inflate to 64 MiB at once)', async () => {
    const zeros = new Uint8Array(64 << 20);
    const z = new Uint8Array(await new Response(new Blob([zeros]).stream().pipeThrough(new CompressionStream('deflate'))).arrayBuffer());
    const bomb = concat([PNG_SIG, ihdr(64, 64), pngChunk('IDAT', z), pngChunk('IEND', new Uint8Array(0))]);
    // count what png.ts writes into its DecompressionStream
    const g = globalThis as unknown as { DecompressionStream: new (format: string) => DecompressionStream };
    const Real = g.DecompressionStream;
    const writes: number[] = [];
    class Spy extends Real {
      constructor(format: string) {
        super(format);
        const w = this.writable;
        const getWriter = w.getWriter.bind(w);
        Object.defineProperty(w, 'getWriter', {
          value: () => {
            const writer = getWriter();
            const write = writer.write.bind(writer);
            writer.write = (chunk?: Uint8Array) => {
              writes.push(chunk?.byteLength ?? 0);
              return write(chunk);
            };
            return writer;
          },
        });
      }
    }
    g.DecompressionStream = Spy;
    try {
      const res = await call('/v1/classify', { method: 'POST', headers: { 'content-type': 'image/png' }, body: bomb });
      expect(res.status).toBe(422);
      expect(((await res.json()) as ErrorJson).error.message).toMatch(/larger than its header declares/);
    } finally {
      g.DecompressionStream = Real;
    }
    expect(writes.length).toBeGreaterThan(0);
    expect(Math.max(...writes)).toBeLessThanOrEqual(2048); // <= ~2 MiB of output per write
    expect(writes.reduce((a, b) => a + b, 0)).toBeLessThan(z.length / 4); // stopped long before the end
  });

  it('Engine.load: when the arena cannot be allocated, the model is not left registered', async () => {
    const engine = await getEngine();
    const parsed = await parseArtifact(person);
    const before = engine.loadedModels;
    const e = engine as unknown as { ensureArena(bytes: number): void };
    const ensureArena = e.ensureArena;
    e.ensureArena = () => { throw new EngineError('out of memory (simulated)'); };
    try {
      expect(() => engine.load(parsed)).toThrow(/out of memory/);
    } finally {
      e.ensureArena = ensureArena;
    }
    expect(engine.loadedModels).toBe(before);
    const m = engine.load(parsed); // and loading still works
    expect(engine.loadedModels).toBe(before + 1);
    engine.unload(m);
  });
});
