// Per-isolate singletons: one Engine (created lazily from the imported wasm module) and
// one ModelCache (created on first use, sized from CACHE_BUDGET_BYTES).
import wasmModule from '../../build/edgelens.wasm';
import jpegWasm from '../../build/jpeg.wasm';
import { Engine, type LoadedModel } from '../engine/engine';
import { createJpegDecoder, type JpegDecoder } from '../image/wasmjpeg';
import { parseArtifact } from '../model/artifact';
import { ModelCache } from '../store/cache';
import { ModelStore } from '../store/store';
import type { AppDeps } from './app';
import type { Env } from './env';
import { readLimits } from './limits';

let enginePromise: Promise<Engine> | null = null;
let engine: Engine | null = null;

/** The isolate's engine. A failed creation is not remembered: the next call retries. */
export function getEngine(): Promise<Engine> {
  if (enginePromise !== null) return enginePromise;
  const p = Engine.create(wasmModule).then((e: Engine) => {
    engine = e;
    return e;
  });
  enginePromise = p;
  p.catch((err: unknown) => {
    console.error('edgelens: creating the engine failed', err);
    if (enginePromise === p) enginePromise = null;
  });
  return p;
}

let jpegPromise: Promise<JpegDecoder> | null = null;

/** The isolate's JPEG decoder (build/jpeg.wasm, one instance reused by every request; a
 *  failed creation is not remembered: the next call retries, requests use jpeg-js meanwhile). */
export function getJpegDecoder(): Promise<JpegDecoder> {
  if (jpegPromise !== null) return jpegPromise;
  const p = createJpegDecoder(jpegWasm);
  jpegPromise = p;
  p.catch((err: unknown) => {
    console.error('edgelens: creating the JPEG decoder failed', err);
    if (jpegPromise === p) jpegPromise = null;
  });
  return p;
}

/** parseArtifact (magic, version, sha256, schema, offsets) + Engine.load. */
export async function loadArtifact(bytes: Uint8Array): Promise<LoadedModel> {
  const parsed = await parseArtifact(bytes);
  const e = await getEngine();
  return e.load(parsed);
}

let cache: ModelCache<LoadedModel> | null = null;
let kv: KVNamespace | null = null;

/** The isolate's model cache; reads blobs from the MODELS binding of the latest request. */
export function getModelCache(env: Env): ModelCache<LoadedModel> {
  kv = env.MODELS;
  if (cache === null) {
    cache = new ModelCache<LoadedModel>({
      source: {
        get: (key, options) => {
          if (kv === null) throw new Error('MODELS binding missing');
          return kv.get(key, options);
        },
      },
      load: (bytes) => loadArtifact(bytes),
      unload: (m) => engine?.unload(m),
      identify: (m) => m.manifest.sha256,
      budgetBytes: readLimits(env).cacheBudgetBytes,
    });
  }
  return cache;
}

/** For tests (same isolate as the worker under vitest-pool-workers): drops every cached
 *  model so the next request is a cold one. */
export function resetModelCacheForTests(): void {
  cache?.clear();
  cache = null;
}

/** The real dependencies of the app: this isolate's engine and cache, KV from env. */
export const runtimeDeps: AppDeps = {
  cache: getModelCache,
  engine: getEngine,
  jpeg: getJpegDecoder,
  store: (env) => new ModelStore(env.MODELS),
};
