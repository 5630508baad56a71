// Model management: PUT/DELETE /v1/models/:id (admin), GET metadata.
import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test';
import { env, exports } from 'cloudflare:workers';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { createApp } from '../../src/worker/app';
import { runtimeDeps } from '../../src/worker/runtime';
import { BLOB_PREFIX, type ModelPointer } from '../../src/store/layout';
import type { Env } from '../../src/worker/env';
import { ADMIN_TOKEN, BASE, adminHeaders, fixture, uniqueId } from './helpers';

interface ErrorJson { error: { code: string; message: string } }
interface PutJson { model: ModelPointer; created: boolean; changed: boolean }

const worker = exports.default as unknown as { fetch(req: Request): Promise<Response> };
const call = (path: string, init?: RequestInit) => worker.fetch(new Request(BASE + path, init));

async function callWithEnv(overrides: Partial<Env>, path: string, init?: RequestInit): Promise<Response> {
  const ctx = createExecutionContext();
  const res = await createApp(runtimeDeps).fetch(new Request(BASE + path, init), { ...(env as unknown as Env), ...overrides }, ctx);
  await waitOnExecutionContext(ctx);
  return res;
}

const put = (id: string, body: Uint8Array | null, headers: Record<string, string> = adminHeaders()) =>
  call(`/v1/models/${id}`, { method: 'PUT', headers: { 'content-type': 'application/octet-stream', ...headers }, body });
const del = (id: string, headers: Record<string, string> = adminHeaders()) => call(`/v1/models/${id}`, { method: 'DELETE', headers });

async function expectError(res: Response, status: number, code: string): Promise<ErrorJson> {
  const body = (await res.json()) as ErrorJson;
  expect({ status: res.status, code: body.error?.code }).toEqual({ status, code });
  return body;
}

async function blobCount(): Promise<number> {
  let n = 0;
  let cursor: string | undefined;
  for (;;) {
    const page = await env.MODELS.list({ prefix: BLOB_PREFIX, cursor });
    n += page.keys.length;
    if (page.list_complete) return n;
    cursor = page.cursor;
  }
}

let person: Uint8Array;
let mobilenet: Uint8Array;
let owl: Uint8Array;
let grace: Uint8Array;

beforeAll(async () => {
  person = await fixture('models/person.elns');
  mobilenet = await fixture('models/mobilenet_v2.elns');
  owl = await fixture('images/samples/owl.jpg');
  grace = await fixture('images/samples/grace_hopper.jpg');
});

describe('admin auth', () => {
  it('missing and wrong tokens get the same 401', async () => {
    const id = uniqueId('auth');
    const missing = await put(id, person, {});
    const wrong = await put(id, person, adminHeaders('not-the-token'));
    const wrongLen = await put(id, person, adminHeaders(ADMIN_TOKEN + 'x'));
    const notBearer = await put(id, person, { authorization: `Basic ${btoa('admin:' + ADMIN_TOKEN)}` });
    const bodies = await Promise.all([missing, wrong, wrongLen, notBearer].map((r) => r.text()));
    for (const r of [missing, wrong, wrongLen, notBearer]) {
      expect(r.status).toBe(401);
      expect(r.headers.get('www-authenticate')).toMatch(/^Bearer/);
    }
    expect(new Set(bodies).size).toBe(1);
    expect(JSON.parse(bodies[0]!)).toMatchObject({ error: { code: 'unauthorized' } });
    await expectError(await del(id, {}), 401, 'unauthorized');
    await expectError(await del(id, adminHeaders('nope')), 401, 'unauthorized');
    await expectError(await call(`/v1/models/${id}`), 404, 'model_not_found'); // nothing stored
  });

  it('admin endpoints answer 403 "admin disabled" when ADMIN_TOKEN is unset', async () => {
    for (const token of [undefined, '']) {
      const res = await callWithEnv({ ADMIN_TOKEN: token }, '/v1/models/x', { method: 'PUT', headers: adminHeaders(''), body: person });
      const body = await expectError(res, 403, 'admin_disabled');
      expect(body.error.message).toMatch(/admin/i);
      await expectError(await callWithEnv({ ADMIN_TOKEN: token }, '/v1/models/x', { method: 'DELETE' }), 403, 'admin_disabled');
    }
  });

  it('never leaks the token or internal paths in metadata answers', async () => {
    const id = uniqueId('leak');
    expect((await put(id, person)).status).toBe(201);
    for (const path of ['/v1/models', `/v1/models/${id}`, '/healthz']) {
      const text = await (await call(path)).text();
      expect(text).not.toContain(ADMIN_TOKEN);
      expect(text).not.toMatch(/\/work\/|build\/models|\.elns|blob:/);
    }
  });
});

describe('PUT / GET / DELETE /v1/models/:id', () => {
  it('stores a validated artifact, bumps versions, lists it, deletes it', async () => {
    const id = uniqueId('m');
    const first = await put(id, person);
    expect(first.status).toBe(201);
    const p1 = (await first.json()) as PutJson;
    expect(p1).toMatchObject({ created: true, changed: true, model: { id, version: 1, bytes: person.byteLength } });
    expect(p1.model.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(p1.model.summary?.outputs[0]?.shape).toEqual([1, 2]);

    const same = await put(id, person);
    expect(same.status).toBe(200);
    expect((await same.json()) as PutJson).toMatchObject({ created: false, changed: false, model: { version: 1 } });

    const second = await put(id, mobilenet);
    expect(second.status).toBe(200);
    const p2 = (await second.json()) as PutJson;
    expect(p2).toMatchObject({ created: false, changed: true, model: { version: 2 } });
    expect(p2.model.sha256).not.toBe(p1.model.sha256);

    const got = (await (await call(`/v1/models/${id}`)).json()) as { model: ModelPointer };
    expect(got.model).toMatchObject({ id, version: 2, sha256: p2.model.sha256, precision: p2.model.precision });
    const list = (await (await call('/v1/models')).json()) as { models: ModelPointer[] };
    expect(list.models.find((m) => m.id === id)).toMatchObject({ version: 2, sha256: p2.model.sha256 });

    const gone = await del(id);
    expect(gone.status).toBe(200);
    expect(await gone.json()).toMatchObject({ deleted: { id, version: 2 } });
    await expectError(await call(`/v1/models/${id}`), 404, 'model_not_found');
    await expectError(await del(id), 404, 'model_not_found');
    expect(((await (await call('/v1/models')).json()) as { models: ModelPointer[] }).models.some((m) => m.id === id)).toBe(false);
  });

  it('rejects bad ids, empty bodies and oversized uploads', async () => {
    await expectError(await put('Bad_Id', person), 400, 'invalid_model_id');
    await expectError(await put('-x', person), 400, 'invalid_model_id');
    await expectError(await put(uniqueId('empty'), new Uint8Array(0)), 400, 'no_body');
    const res = await callWithEnv({ MAX_UPLOAD_BYTES: '1000' }, `/v1/models/${uniqueId('big')}`, { method: 'PUT', headers: adminHeaders(), body: person });
    await expectError(res, 413, 'payload_too_large');
  });

  it('a corrupted upload -> 422, nothing stored, the old version is still served', async () => {
    vi.spyOn(console, 'error').mockImplementation(() => {});
    const id = uniqueId('door');
    expect((await put(id, person)).status).toBe(201);
    const before = ((await (await call(`/v1/models/${id}`)).json()) as { model: ModelPointer }).model;
    const blobsBefore = await blobCount();

    const flipped = person.slice();
    flipped[flipped.length - 50] = flipped[flipped.length - 50]! ^ 0x01; // checksum mismatch
    const truncated = person.slice(0, person.length - 1000);
    const badMagic = person.slice();
    badMagic[0] = 0x58;
    const garbage = new TextEncoder().encode('this is not a model');
    for (const bad of [flipped, truncated, badMagic, garbage]) {
      const body = await expectError(await put(id, bad), 422, 'invalid_artifact');
      expect(body.error.message.length).toBeGreaterThan(5);
    }

    expect(await blobCount()).toBe(blobsBefore);
    const after = ((await (await call(`/v1/models/${id}`)).json()) as { model: ModelPointer }).model;
    expect(after).toEqual(before);
    const res = await call(`/v1/detect?model=${id}`, { method: 'POST', headers: { 'content-type': 'image/jpeg' }, body: grace });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { model: { version: number; sha256: string } }).model).toMatchObject({ version: 1, sha256: before.sha256 });
    const res2 = await call(`/v1/detect?model=${id}`, { method: 'POST', headers: { 'content-type': 'image/jpeg' }, body: owl });
    expect(res2.status).toBe(200);
  });
});
