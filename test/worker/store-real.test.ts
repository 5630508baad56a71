// The cache tests of store.test.ts again, with real artifacts: load = parseArtifact + Engine.load.
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import type { LoadedModel } from '../../src/engine/engine';
import { parseArtifact } from '../../src/model/artifact';
import { ModelCache } from '../../src/store/cache';
import { ModelUnavailableError } from '../../src/store/errors';
import { blobKey } from '../../src/store/layout';
import { getEngine, loadArtifact } from '../../src/worker/runtime';
import { countingSource, fixture } from './helpers';

let person: Uint8Array;
let personSha: string;
let mobilenet: Uint8Array;
let mobilenetSha: string;

beforeAll(async () => {
  person = await fixture('models/person.elns');
  mobilenet = await fixture('models/mobilenet_v2.elns');
  personSha = (await parseArtifact(person)).sha256;
  mobilenetSha = (await parseArtifact(mobilenet)).sha256;
  await env.MODELS.put(blobKey(personSha), person);
  await env.MODELS.put(blobKey(mobilenetSha), mobilenet);
});

async function makeCache(budgetBytes = 48 << 20) {
  const engine = await getEngine();
  const source = countingSource(env.MODELS);
  const counts = { loads: 0, unloads: 0 };
  const cache = new ModelCache<LoadedModel>({
    source,
    budgetBytes,
    load: async (bytes) => {
      counts.loads++;
      return loadArtifact(bytes);
    },
    unload: (m) => {
      counts.unloads++;
      engine.unload(m);
    },
    identify: (m) => m.manifest.sha256,
  });
  return { cache, source, counts };
}

describe('ModelCache with real artifacts', () => {
  it('single-flight: 8 concurrent cold acquires -> one KV get, one Engine.load', async () => {
    const { cache, source, counts } = await makeCache();
    const leases = await Promise.all(Array.from({ length: 8 }, () => cache.acquire(personSha)));
    expect(source.gets).toBe(1);
    expect(counts.loads).toBe(1);
    expect(new Set(leases.map((l) => l.model)).size).toBe(1);
    expect(leases[0]!.model.manifest.sha256).toBe(personSha);
    leases.forEach((l) => l.release());
    cache.clear();
    expect(counts.unloads).toBe(1);
  });

  it('evicts by wasm bytes held and unloads (a run after eviction would fail)', async () => {
    const { cache, counts } = await makeCache(1); // every model exceeds this budget
    const a = await cache.acquire(personSha);
    const model = a.model;
    const out = model.run(new Uint8Array(224 * 224 * 3));
    expect(out[0]!.length).toBe(2);
    a.release(); // over budget and unpinned: evicted
    expect(cache.has(personSha)).toBe(false);
    expect(counts.unloads).toBe(1);
    expect(() => model.run(new Uint8Array(224 * 224 * 3))).toThrow();
    const b = await cache.acquire(mobilenetSha);
    expect(b.model.bytes).toBeGreaterThan(1_000_000);
    b.release();
  });

  it('a corrupted blob -> ModelUnavailableError, not cached; repaired blob loads', async () => {
    const errors = vi.spyOn(console, 'error').mockImplementation(() => {});
    try {
      const { cache, source, counts } = await makeCache();
      const bad = person.slice();
      bad[bad.length - 10] = bad[bad.length - 10]! ^ 0x80;
      await env.MODELS.put(blobKey(personSha), bad);
      await expect(cache.acquire(personSha)).rejects.toBeInstanceOf(ModelUnavailableError);
      expect(cache.has(personSha)).toBe(false);
      // a valid artifact under another artifact's key
      await env.MODELS.put(blobKey(personSha), mobilenet);
      await expect(cache.acquire(personSha)).rejects.toThrow(/corrupted/);
      expect(counts.unloads).toBe(1); // the wrong model was loaded, then freed
      expect(cache.stats().entries).toBe(0);
      await env.MODELS.put(blobKey(personSha), person);
      const l = await cache.acquire(personSha);
      expect(l.model.manifest.sha256).toBe(personSha);
      expect(source.gets).toBe(3);
      l.release();
      cache.clear();
      expect(errors).toHaveBeenCalled();
    } finally {
      errors.mockRestore();
    }
  });
});
