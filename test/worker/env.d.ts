// Types of the bindings the workers test project sees (`import { env } from 'cloudflare:workers'`):
// the Worker's own (wrangler.toml + ADMIN_TOKEN) plus FIXTURES from vitest.config.ts.
/// <reference types="@cloudflare/vitest-pool-workers/types" />

declare namespace Cloudflare {
  interface Env {
    MODELS: KVNamespace;
    ADMIN_TOKEN?: string;
    MAX_BODY_BYTES?: string;
    MAX_IMAGE_PIXELS?: string;
    CACHE_BUDGET_BYTES?: string;
    MAX_UPLOAD_BYTES?: string;
    /** Node-side read-only file server: /models/<f>, /images/<path>, /golden/<path> */
    FIXTURES: Fetcher;
  }
  interface GlobalProps {
    mainModule: typeof import('../../src/worker/index');
  }
}
