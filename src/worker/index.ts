// edgelens Worker entry point: POST /v1/classify, POST /v1/detect, /v1/models admin + metadata, /healthz.
import { createApp } from './app';
import { runtimeDeps } from './runtime';

export { createApp, errorResponse, type AppDeps } from './app';
export { runtimeDeps } from './runtime';
export type { Env } from './env';

/** The Hono app with this isolate's engine and model cache. */
export const app = createApp(runtimeDeps);

export default app;
