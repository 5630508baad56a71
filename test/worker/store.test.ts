// ModelCache and ModelStore against the real KV namespace of the pool (env.MODELS).
// The loader here is a stand-in (helpers.fakeLoad) so these tests need neither the engine
// nor compiled artifacts; store-real.test.ts repeats the key cases with parseArtifact + Engine.
import { env } from 'cloudflare:workers';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ModelCache } from '../../src/store/cache';
import { ModelUnavailableError } from '../../src/store/errors';
import { isValidModelId } from '../../src/store/ids';
import { blobKey, pointerKey, type ModelPointer } from '../../src/store/layout';
import { ModelStore } from '../../src/store/store';
import { countingSource, fakeArtifact, fakeLoad, uniqueId, type FakeModel } from './helpers';

function makeCache(budgetBytes: number, source = countingSource(env.MODELS)) {
  const loads: string[] = [];
  const unloads: string[] = [];
  const cache = new ModelCache<FakeModel>({
    source,
    budgetBytes,
    load: async (bytes) => {
      const m = await fakeLoad(bytes);
      loads.push(m.name);
      return m;
    },
    unload: (m) => {
      m.unloaded = true;
      unloads.push(m.name);
    },
    identify: (m) => m.sha256,
  });
  return { cache, source, loads, unloads };
}

async function putFake(name: string, size: number): Promise<string> {
  const a = await fakeArtifact(`${name}-${uniqueId('x')}`, size);
  await env.MODELS.put(blobKey(a.sha256), a.bytes);
  return a.sha256;
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('model ids', () => {
  it('accepts ^[a-z0-9][a-z0-9_.-]{0,63}$ only', () => {
    for (const ok of ['a', 'mobilenet_v2', 'person', 'm.v-2_x', '0', 'a'.repeat(64)]) expect(isValidModelId(ok)).toBe(true);
    for (const bad of ['', '_a', '.a', '-a', 'A', 'a/b', 'a b', 'a'.repeat(65), '../x', 'a:b', 'é']) expect(isValidModelId(bad)).toBe(false);
  });
});

describe('ModelCache', () => {
  it('evicts least recently used models by bytes and unloads them', async () => {
    const { cache, unloads } = makeCache(100);
    const a = await putFake('a', 40);
    const b = await putFake('b', 40);
    const c = await putFake('c', 40);
    const d = await putFake('d', 40);

    (await cache.acquire(a)).release();
    (await cache.acquire(b)).release();
    expect(cache.stats()).toMatchObject({ entries: 2, bytes: 80 });
    (await cache.acquire(c)).release(); // 120 > 100: a (LRU) goes
    expect(cache.has(a)).toBe(false);
    expect(cache.has(b) && cache.has(c)).toBe(true);
    expect(unloads).toHaveLength(1);
    expect(cache.stats().bytes).toBe(80);

    const hitB = await cache.acquire(b); // b becomes most recently used
    expect(hitB.hit).toBe(true);
    hitB.release();
    (await cache.acquire(d)).release(); // c is now LRU
    expect(cache.has(c)).toBe(false);
    expect(cache.has(b) && cache.has(d)).toBe(true);
    expect(unloads).toHaveLength(2);

    const again = await cache.acquire(a); // evicted -> loads again
    expect(again.hit).toBe(false);
    again.release();
    expect(cache.stats().evictions).toBe(3);
  });

  it('never evicts a leased model; evicts it after release', async () => {
    const { cache } = makeCache(50);
    const a = await putFake('a', 40);
    const b = await putFake('b', 40);
    const leaseA = await cache.acquire(a);
    const leaseB = await cache.acquire(b); // 80 > 50 but a is pinned, b is pinned
    expect(cache.has(a) && cache.has(b)).toBe(true);
    expect(leaseA.model.unloaded).toBe(false);
    leaseA.release();
    expect(cache.has(a)).toBe(false); // released and over budget: evicted
    expect(leaseA.model.unloaded).toBe(true);
    expect(leaseB.model.unloaded).toBe(false);
    leaseB.release();
    leaseB.release(); // idempotent
    expect(cache.has(b)).toBe(true); // within budget alone
  });

  it('serves a model larger than the whole budget', async () => {
    const { cache } = makeCache(10);
    const big = await putFake('big', 1000);
    const l = await cache.acquire(big);
    expect(l.model.bytes).toBe(1000);
    l.release();
  });

  it('single-flight: 8 concurrent cold requests -> exactly one KV get and one load', async () => {
    const { cache, source, loads } = makeCache(1 << 20);
    const sha = await putFake('sf', 100);
    const leases = await Promise.all(Array.from({ length: 8 }, () => cache.acquire(sha)));
    expect(source.gets).toBe(1);
    expect(source.keys).toEqual([blobKey(sha)]);
    expect(loads).toHaveLength(1);
    expect(new Set(leases.map((l) => l.model)).size).toBe(1);
    expect(leases.every((l) => !l.hit)).toBe(true);
    leases.forEach((l) => l.release());
    const warm = await cache.acquire(sha);
    expect(warm.hit).toBe(true);
    expect(source.gets).toBe(1);
    warm.release();
    expect(cache.stats()).toMatchObject({ loads: 1, hits: 1, misses: 8, inflight: 0 });
  });

  it('corrupted blob -> ModelUnavailableError, logged, not cached; a later request retries', async () => {
    const errors = vi.spyOn(console, 'error').mockImplementation(() => {});
    const { cache, source } = makeCache(1 << 20);
    const good = await fakeArtifact(uniqueId('good'), 10);
    const other = await fakeArtifact(uniqueId('other'), 10);
    // the blob under good's key holds other content (a corrupted / wrong value)
    await env.MODELS.put(blobKey(good.sha256), other.bytes);
    const p = cache.acquire(good.sha256);
    await expect(p).rejects.toBeInstanceOf(ModelUnavailableError);
    await expect(p).rejects.toThrow(/corrupted/);
    expect(errors).toHaveBeenCalled();
    expect(cache.has(good.sha256)).toBe(false);
    expect(cache.stats()).toMatchObject({ entries: 0, inflight: 0, failedLoads: 1 });

    // unparseable bytes fail the loader: also ModelUnavailableError
    await env.MODELS.put(blobKey(good.sha256), new Uint8Array([1, 2, 3]));
    await expect(cache.acquire(good.sha256)).rejects.toBeInstanceOf(ModelUnavailableError);

    // concurrent waiters all get the error, and nothing stays in flight
    const all = await Promise.allSettled(Array.from({ length: 4 }, () => cache.acquire(good.sha256)));
    expect(all.every((r) => r.status === 'rejected' && r.reason instanceof ModelUnavailableError)).toBe(true);
    expect(cache.stats().inflight).toBe(0);

    // repaired: the next request loads it (not a cached failure)
    await env.MODELS.put(blobKey(good.sha256), good.bytes);
    const gets = source.gets;
    const l = await cache.acquire(good.sha256);
    expect(l.hit).toBe(false);
    expect(source.gets).toBe(gets + 1);
    l.release();
  });

  it('missing blob -> ModelUnavailableError', async () => {
    vi.spyOn(console, 'error').mockImplementation(() => {});
    const { cache } = makeCache(1 << 20);
    const a = await fakeArtifact(uniqueId('missing'), 1);
    await expect(cache.acquire(a.sha256)).rejects.toThrow(/missing/);
    await expect(cache.acquire('not-a-sha')).rejects.toBeInstanceOf(ModelUnavailableError);
  });
});

describe('ModelStore', () => {
  async function fakePut(store: ModelStore, id: string, name: string) {
    const a = await fakeArtifact(name, 1);
    return { a, ...(await store.putModel(id, a.bytes, { sha256: a.sha256, precision: 'int8' })) };
  }

  it('writes the blob first and the pointer last; versions increment', async () => {
    const order: string[] = [];
    const kv = env.MODELS;
    const spy = new Proxy(kv, {
      get(target, prop, receiver) {
        if (prop === 'put') {
          return (key: string, ...rest: unknown[]) => {
            order.push(key);
            return (target.put as (...a: unknown[]) => Promise<void>)(key, ...rest);
          };
        }
        const v = Reflect.get(target, prop, receiver) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
    const store = new ModelStore(spy);
    const id = uniqueId('order');
    const first = await fakePut(store, id, uniqueId('v1'));
    expect(order).toEqual([blobKey(first.a.sha256), pointerKey(id)]);
    expect(first.created).toBe(true);
    expect(first.pointer).toMatchObject({ id, sha256: first.a.sha256, version: 1, precision: 'int8', bytes: first.a.bytes.byteLength });

    const second = await fakePut(store, id, uniqueId('v2'));
    expect(second.pointer.version).toBe(2);
    expect(second.created).toBe(false);

    // same content again: nothing written, same version
    order.length = 0;
    const same = await store.putModel(id, second.a.bytes, { sha256: second.a.sha256, precision: 'int8' });
    expect(same.changed).toBe(false);
    expect(same.pointer.version).toBe(2);
    expect(order).toEqual([]);

    expect(await store.getPointer(id)).toMatchObject({ version: 2, sha256: second.a.sha256 });
    const listed = (await store.list()).find((p) => p.id === id);
    expect(listed).toMatchObject({ id, version: 2, sha256: second.a.sha256 });
  });

  it('delete removes the pointer, keeps the (immutable) blob', async () => {
    const store = new ModelStore(env.MODELS);
    const id = uniqueId('del');
    const { a } = await fakePut(store, id, uniqueId('d'));
    const r = await store.deleteModel(id);
    expect(r.deleted).toBe(true);
    expect(await store.getPointer(id)).toBeNull();
    expect(await store.hasBlob(a.sha256)).toBe(true);
    expect((await store.deleteModel(id)).deleted).toBe(false);
  });

  it('a corrupted pointer is a ModelUnavailableError, not a 404 or a crash', async () => {
    vi.spyOn(console, 'error').mockImplementation(() => {});
    const store = new ModelStore(env.MODELS);
    const id = uniqueId('badptr');
    await env.MODELS.put(pointerKey(id), '{not json');
    await expect(store.getPointer(id)).rejects.toBeInstanceOf(ModelUnavailableError);
    await env.MODELS.put(pointerKey(id), JSON.stringify({ id, sha256: 'zz', version: 1 }));
    await expect(store.getPointer(id)).rejects.toBeInstanceOf(ModelUnavailableError);
  });

  it('a request keeps the version it resolved even if the pointer switches mid-request', async () => {
    const store = new ModelStore(env.MODELS);
    const { cache, source } = makeCache(1 << 20);
    const id = uniqueId('switch');
    const v1 = await fakePut(store, id, uniqueId('one'));

    // request: resolve the pointer once ...
    const resolved = (await store.getPointer(id)) as ModelPointer;
    expect(resolved.version).toBe(1);
    // ... the pointer switches to v2 while the request is in flight ...
    const v2 = await fakePut(store, id, uniqueId('two'));
    expect((await store.getPointer(id))?.version).toBe(2);
    // ... and the request still loads v1 by its sha256
    const lease = await cache.acquire(resolved.sha256);
    expect(lease.model.sha256).toBe(v1.a.sha256);
    expect(source.keys).toEqual([blobKey(v1.a.sha256)]);
    lease.release();

    // the next request resolves v2
    const next = (await store.getPointer(id)) as ModelPointer;
    const lease2 = await cache.acquire(next.sha256);
    expect(lease2.model.sha256).toBe(v2.a.sha256);
    lease2.release();
  });
});
