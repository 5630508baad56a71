export { ModelCache, DEFAULT_CACHE_BUDGET_BYTES } from './cache';
export type { BlobSource, ModelCacheOptions, ModelCacheStats, ModelLease, Sized } from './cache';
export { ModelUnavailableError } from './errors';
export { ModelStore } from './store';
export { MODEL_ID_RE, isValidModelId, isSha256Hex } from './ids';
export { sha256Hex, toHex } from './digest';
export * from './layout';
