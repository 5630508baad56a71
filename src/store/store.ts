import { ModelUnavailableError } from './errors';
import {
  asPointer, blobKey, pointerKey, pointerMetadata, POINTER_PREFIX,
  type ModelPointer, type ModelSummary, type PointerMetadata, type Precision,
} from './layout';

/** Reads and writes the KV layout of layout.ts. Independent of Hono and of the engine. */
export class ModelStore {
  constructor(private readonly kv: KVNamespace) {}

  /** The current pointer of `id`, or null when there is none. A pointer that is not
   *  valid JSON of the right shape is a corrupted store: ModelUnavailableError. */
  async getPointer(id: string): Promise<ModelPointer | null> {
    let text: string | null;
    try {
      text = await this.kv.get(pointerKey(id), 'text');
    } catch (e) {
      throw new ModelUnavailableError(`model "${id}": reading its pointer from KV failed`, { cause: e });
    }
    if (text === null) return null;
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    const p = asPointer(parsed);
    if (p === null || p.id !== id) {
      console.error(`edgelens: pointer ${pointerKey(id)} is corrupted`);
      throw new ModelUnavailableError(`model "${id}": its pointer in KV is corrupted`);
    }
    return p;
  }

  /** All pointers (from KV metadata when present; otherwise one read per key), sorted by id. */
  async list(): Promise<PointerMetadata[]> {
    const out: PointerMetadata[] = [];
    let cursor: string | undefined;
    for (;;) {
      const page: KVNamespaceListResult<PointerMetadata, string> = await this.kv.list<PointerMetadata>({ prefix: POINTER_PREFIX, cursor });
      for (const k of page.keys) {
        const id = k.name.slice(POINTER_PREFIX.length);
        const meta = k.metadata ? asPointer(k.metadata) : null;
        if (meta) {
          out.push(pointerMetadata(meta));
          continue;
        }
        try {
          const p = await this.getPointer(id);
          if (p) out.push(pointerMetadata(p));
        } catch {
          // a corrupted pointer is left out of the listing (it answers 503 on use)
        }
      }
      if (page.list_complete) break;
      cursor = page.cursor;
    }
    out.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    return out;
  }

  async hasBlob(sha256: string): Promise<boolean> {
    const page = await this.kv.list({ prefix: blobKey(sha256), limit: 1 });
    return page.keys.some((k) => k.name === blobKey(sha256));
  }

  /**
   * Stores an artifact that the caller has fully validated, under `id`:
   * the blob first, the pointer last, so a reader never sees a pointer to a missing blob.
   * Re-uploading the sha256 the pointer already names changes nothing (same version).
   * KV has no compare-and-swap: two concurrent uploads of one id may get the same version.
   */
  async putModel(
    id: string,
    bytes: Uint8Array,
    info: { sha256: string; precision: Precision; summary?: ModelSummary },
    now: Date = new Date(),
  ): Promise<{ pointer: ModelPointer; created: boolean; changed: boolean }> {
    const previous = await this.getPointer(id).catch(() => null);
    if (previous && previous.sha256 === info.sha256 && (await this.hasBlob(info.sha256))) {
      return { pointer: previous, created: false, changed: false };
    }
    await this.kv.put(blobKey(info.sha256), bytes);
    const pointer: ModelPointer = {
      id,
      sha256: info.sha256,
      version: (previous?.version ?? 0) + 1,
      uploadedAt: now.toISOString(),
      bytes: bytes.byteLength,
      precision: info.precision,
      ...(info.summary ? { summary: info.summary } : {}),
    };
    await this.writePointer(pointer);
    return { pointer, created: previous === null, changed: true };
  }

  /** Writes model:<id> (value and metadata). */
  async writePointer(pointer: ModelPointer): Promise<void> {
    await this.kv.put(pointerKey(pointer.id), JSON.stringify(pointer), { metadata: pointerMetadata(pointer) });
  }

  /**
   * Removes the pointer of `id`. `deleted` is false when there was none; `previous` is
   * what it named (null when it was corrupted). The blob is kept: blobs are immutable and
   * content-addressed, may be shared by several ids, and requests that already resolved
   * the old pointer keep loading it.
   */
  async deleteModel(id: string): Promise<{ deleted: boolean; previous: ModelPointer | null }> {
    const previous = await this.getPointer(id).catch(() => null);
    const exists = previous !== null
      || (await this.kv.list({ prefix: pointerKey(id), limit: 1 })).keys.some((k) => k.name === pointerKey(id));
    if (!exists) return { deleted: false, previous: null };
    await this.kv.delete(pointerKey(id));
    return { deleted: true, previous };
  }
}
