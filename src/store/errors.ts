/** The model exists (its pointer resolved) but cannot be served right now:
 *  the blob is missing, corrupted (sha256 mismatch), fails to parse or to load,
 *  or the KV read failed. Maps to HTTP 503. Never cached. */
export class ModelUnavailableError extends Error {
  readonly status = 503 as const;
  readonly code = 'model_unavailable' as const;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ModelUnavailableError';
  }
}
