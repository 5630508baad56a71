// KV storage layout (content-addressed):
//   blob:<sha256>  -> the compiled artifact's bytes; <sha256> is the artifact's own content
//                     hash (lower-case hex, as recorded in its header and verified by
//                     parseArtifact = ParsedArtifact.sha256 = manifest.sha256; see
//                     src/model/artifact.ts). Immutable: never rewritten with other content.
//   model:<id>     -> JSON ModelPointer (below). Also stored as the key's KV metadata
//                     (the small fields only), so listing needs no per-key reads.
// A request resolves model:<id> once, then loads blob:<sha256>; a pointer switch
// while a request is in flight cannot change what that request runs.

export const BLOB_PREFIX = 'blob:';
export const POINTER_PREFIX = 'model:';

export function blobKey(sha256: string): string {
  return BLOB_PREFIX + sha256;
}

export function pointerKey(id: string): string {
  return POINTER_PREFIX + id;
}

export type Precision = 'int8' | 'uint8' | 'float32' | 'int16' | 'mixed';

/** What model:<id> holds. */
export interface ModelPointer {
  id: string;
  /** the artifact's sha256 (ParsedArtifact.sha256) = the blob key suffix */
  sha256: string;
  /** 1 for the first upload of this id, +1 on every upload that changes the sha256 */
  version: number;
  /** ISO-8601 time of the upload */
  uploadedAt: string;
  /** artifact size in bytes */
  bytes: number;
  precision: Precision;
  /** Optional description taken from the artifact's manifest at upload time. */
  summary?: ModelSummary;
}

export interface ModelSummary {
  name: string;
  input: { shape: number[]; dtype: string };
  outputs: { shape: number[]; dtype: string; kind: string }[];
  labels: number;
  macs: number;
  arenaBytes: number;
  weightsBytes: number;
}

/** The fields kept as KV metadata on model:<id> (KV metadata is limited to 1024 bytes). */
export type PointerMetadata = Pick<ModelPointer, 'id' | 'sha256' | 'version' | 'uploadedAt' | 'bytes' | 'precision'>;

export function pointerMetadata(p: ModelPointer): PointerMetadata {
  return { id: p.id, sha256: p.sha256, version: p.version, uploadedAt: p.uploadedAt, bytes: p.bytes, precision: p.precision };
}

const PRECISIONS: ReadonlySet<string> = new Set(['int8', 'uint8', 'float32', 'int16', 'mixed']);

/** Checks the shape of a decoded pointer; returns null when it is not a valid pointer. */
export function asPointer(v: unknown): ModelPointer | null {
  if (typeof v !== 'object' || v === null) return null;
  const o = v as Record<string, unknown>;
  if (typeof o.id !== 'string' || typeof o.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(o.sha256)) return null;
  if (typeof o.version !== 'number' || !Number.isInteger(o.version) || o.version < 1) return null;
  if (typeof o.uploadedAt !== 'string' || typeof o.bytes !== 'number') return null;
  if (typeof o.precision !== 'string' || !PRECISIONS.has(o.precision)) return null;
  return o as unknown as ModelPointer;
}
