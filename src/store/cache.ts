import { ModelUnavailableError } from './errors';
import { isSha256Hex } from './ids';
import { blobKey } from './layout';

/** The part of a KV namespace the cache reads (a KVNamespace satisfies it; tests wrap it). */
export interface BlobSource {
  get(key: string, options: { type: 'arrayBuffer'; cacheTtl?: number }): Promise<ArrayBuffer | null>;
}

/** What the cache holds: anything that knows how much memory it keeps alive. */
export interface Sized {
  readonly bytes: number;
}

export interface ModelCacheOptions<M extends Sized> {
  /** Where blob:<sha256> lives (the MODELS KV namespace). */
  source: BlobSource;
  /** Turns artifact bytes into a loaded model: parseArtifact (which verifies the artifact's
   *  checksum) + Engine.load. Throwing means the blob is unusable. */
  load: (bytes: Uint8Array, sha256: string) => Promise<M>;
  /** The artifact sha256 a loaded model reports for itself (LoadedModel: manifest.sha256,
   *  verified by parseArtifact). It must equal the key the blob was stored under. */
  identify: (model: M) => string;
  /** Frees a model (Engine.unload); called on eviction and clear(). */
  unload: (model: M) => void;
  /** Sum of `model.bytes` the cache tries to stay under. Default 48 MiB. */
  budgetBytes?: number;
  /** cacheTtl for blob reads: blobs are immutable, so edge caching is safe. Default 1 day. */
  blobCacheTtl?: number;
}

export const DEFAULT_CACHE_BUDGET_BYTES = 48 * 1024 * 1024;

/** A model handed to one request. While a lease is held its model is never evicted
 *  (run() would otherwise use freed wasm memory). Call release() once done. */
export interface ModelLease<M> {
  readonly model: M;
  readonly sha256: string;
  /** true when the model was already loaded in this isolate; false when this request
   *  waited for a KV read + load (its own or one it joined). */
  readonly hit: boolean;
  release(): void;
}

export interface ModelCacheStats {
  entries: number;
  bytes: number;
  budgetBytes: number;
  hits: number;
  misses: number;
  loads: number;
  failedLoads: number;
  evictions: number;
  inflight: number;
}

interface Entry<M> {
  sha256: string;
  model: M;
  bytes: number;
  pins: number;
}

interface Inflight<M> {
  promise: Promise<Entry<M>>;
  /** requests waiting on this load; the entry starts with this many pins */
  waiters: number;
}

/**
 * In-isolate LRU of loaded models keyed by artifact sha256, with a byte budget and
 * single-flight loading: concurrent cold requests for one sha256 share one KV read and
 * one load. A blob that fails to parse/load, or whose verified sha256 is not its key, raises
 * ModelUnavailableError, is logged, and is never cached (a later request retries).
 *
 * A single model larger than the budget is still served (the budget is exceeded while
 * it is held, and everything else unpinned is evicted); pinned (leased) models are
 * evicted only after release.
 */
export class ModelCache<M extends Sized> {
  private readonly entries = new Map<string, Entry<M>>(); // insertion order = LRU order
  private readonly inflight = new Map<string, Inflight<M>>();
  private readonly source: BlobSource;
  private readonly loadFn: (bytes: Uint8Array, sha256: string) => Promise<M>;
  private readonly unloadFn: (model: M) => void;
  private readonly identify: (model: M) => string;
  private readonly blobCacheTtl: number;
  private totalBytes = 0;
  budgetBytes: number;
  private counters = { hits: 0, misses: 0, loads: 0, failedLoads: 0, evictions: 0 };

  constructor(opts: ModelCacheOptions<M>) {
    this.source = opts.source;
    this.loadFn = opts.load;
    this.unloadFn = opts.unload;
    this.identify = opts.identify;
    this.budgetBytes = opts.budgetBytes ?? DEFAULT_CACHE_BUDGET_BYTES;
    this.blobCacheTtl = opts.blobCacheTtl ?? 86400;
  }

  /** Gets (loading if needed) the model with this artifact sha256 and pins it. */
  async acquire(sha256: string): Promise<ModelLease<M>> {
    if (!isSha256Hex(sha256)) throw new ModelUnavailableError(`invalid artifact sha256 "${sha256}"`);
    const cached = this.entries.get(sha256);
    if (cached) {
      this.counters.hits++;
      // move to most recently used
      this.entries.delete(sha256);
      this.entries.set(sha256, cached);
      cached.pins++;
      return this.lease(cached, true);
    }
    this.counters.misses++;
    let flight = this.inflight.get(sha256);
    if (flight) {
      flight.waiters++;
    } else {
      const f: Inflight<M> = { promise: Promise.resolve(null as unknown as Entry<M>), waiters: 1 };
      this.inflight.set(sha256, f); // registered before loadEntry starts, so it can always remove it
      f.promise = this.loadEntry(sha256, f);
      flight = f;
    }
    const entry = await flight.promise; // pinned once for each waiter by loadEntry
    return this.lease(entry, false);
  }

  /** Whether a model with this sha256 is loaded (not merely loading). */
  has(sha256: string): boolean {
    return this.entries.has(sha256);
  }

  stats(): ModelCacheStats {
    return {
      entries: this.entries.size,
      bytes: this.totalBytes,
      budgetBytes: this.budgetBytes,
      inflight: this.inflight.size,
      ...this.counters,
    };
  }

  /** Unloads every model that is not leased. */
  clear(): void {
    for (const e of [...this.entries.values()]) if (e.pins === 0) this.evict(e);
  }

  private lease(entry: Entry<M>, hit: boolean): ModelLease<M> {
    let released = false;
    return {
      model: entry.model,
      sha256: entry.sha256,
      hit,
      release: () => {
        if (released) return;
        released = true;
        entry.pins--;
        if (entry.pins === 0) this.enforceBudget();
      },
    };
  }

  private async loadEntry(sha256: string, flight: Inflight<M>): Promise<Entry<M>> {
    try {
      let buf: ArrayBuffer | null;
      try {
        buf = await this.source.get(blobKey(sha256), { type: 'arrayBuffer', cacheTtl: this.blobCacheTtl });
      } catch (e) {
        throw new ModelUnavailableError(`artifact ${sha256}: reading it from KV failed`, { cause: e });
      }
      if (buf === null) throw new ModelUnavailableError(`artifact ${sha256} is missing from the model store`);
      const bytes = new Uint8Array(buf);
      let model: M;
      try {
        model = await this.loadFn(bytes, sha256);
      } catch (e) {
        const why = e instanceof Error ? e.message : String(e);
        throw new ModelUnavailableError(`artifact ${sha256} in the model store is corrupted or cannot be loaded: ${why}`, { cause: e });
      }
      const actual = this.identify(model);
      if (actual !== sha256) {
        this.safeUnload(sha256, model);
        throw new ModelUnavailableError(`artifact ${sha256} in the model store is corrupted: its content hashes to ${actual}`);
      }
      const entry: Entry<M> = { sha256, model, bytes: model.bytes, pins: flight.waiters };
      if (this.inflight.get(sha256) === flight) this.inflight.delete(sha256);
      this.entries.set(sha256, entry);
      this.totalBytes += entry.bytes;
      this.counters.loads++;
      this.enforceBudget();
      return entry;
    } catch (e) {
      if (this.inflight.get(sha256) === flight) this.inflight.delete(sha256);
      this.counters.failedLoads++;
      const err = e instanceof ModelUnavailableError
        ? e
        : new ModelUnavailableError(`artifact ${sha256}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
      console.error(`edgelens: model unavailable: ${err.message}`);
      throw err;
    }
  }

  private enforceBudget(): void {
    if (this.totalBytes <= this.budgetBytes) return;
    for (const e of [...this.entries.values()]) {
      if (this.totalBytes <= this.budgetBytes) break;
      if (e.pins === 0) this.evict(e);
    }
  }

  private evict(e: Entry<M>): void {
    this.entries.delete(e.sha256);
    this.totalBytes -= e.bytes;
    this.counters.evictions++;
    this.safeUnload(e.sha256, e.model);
  }

  private safeUnload(sha256: string, model: M): void {
    try {
      this.unloadFn(model);
    } catch (err) {
      console.error(`edgelens: unloading model ${sha256} failed`, err);
    }
  }
}
