/** Bindings of the edgelens Worker (see wrangler.toml). All [vars] arrive as strings. */
export interface Env {
  /** Model store: blob:<sha256> -> artifact bytes, model:<id> -> JSON pointer. */
  MODELS: KVNamespace;
  /** Secret (wrangler secret put ADMIN_TOKEN / .dev.vars). Unset = admin endpoints disabled. */
  ADMIN_TOKEN?: string;
  /** Largest accepted request body for /v1/classify and /v1/detect (bytes). */
  MAX_BODY_BYTES?: string;
  /** Largest accepted image (width * height), checked from the image header before decoding. */
  MAX_IMAGE_PIXELS?: string;
  /** Byte budget of the in-isolate model cache (wasm memory held by loaded models). */
  CACHE_BUDGET_BYTES?: string;
  /** Largest accepted artifact for PUT /v1/models/:id (bytes; KV values are limited to 25 MiB). */
  MAX_UPLOAD_BYTES?: string;
}
