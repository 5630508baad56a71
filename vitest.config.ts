// Three Vitest projects:
//   node    - plain Node tests (engine kernels vs goldens, compiler, image pipeline): test/node/**
//   workers - tests inside workerd via @cloudflare/vitest-pool-workers 0.14 (its `cloudflareTest`
//             Vite plugin, the Vitest 4 way), with wrangler.toml's bindings (MODELS KV, vars,
//             the CompiledWasm rule) plus:
//               ADMIN_TOKEN = "test-admin-token"
//               FIXTURES    = a service binding implemented here in Node that serves read-only
//                             files tests cannot read from inside workerd:
//                               GET /models/<name>   build/models/<name>   (compiled artifacts)
//                               GET /images/<path>   ../shared/images/<path>
//                               GET /golden/<path>   ../shared/golden/<path>
//             test/worker/global-setup.ts compiles build/models/*.elns first when needed.
//   browser - the demo page (GET /) in headless Chromium against `wrangler dev`: test/browser/**
import { cloudflareTest } from '@cloudflare/vitest-pool-workers';
import { readFileSync, realpathSync, statSync } from 'node:fs';
import { dirname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const ROOT = dirname(fileURLToPath(import.meta.url));
const SHARED = process.env.EDGELENS_SHARED_DIR ? resolve(process.env.EDGELENS_SHARED_DIR) : resolve(ROOT, '..', 'shared');

export const TEST_ADMIN_TOKEN = 'test-admin-token';

const FIXTURE_ROOTS: Record<string, string> = {
  // EDGELENS_TEST_MODELS_DIR: serve artifacts from elsewhere (e.g. compiled by hand)
  models: process.env.EDGELENS_TEST_MODELS_DIR ? resolve(process.env.EDGELENS_TEST_MODELS_DIR) : join(ROOT, 'build', 'models'),
  'golden-models': join(ROOT, 'build', 'golden'),
  images: join(SHARED, 'images'),
  golden: join(SHARED, 'golden'),
};

function text(status: number, body: string): Response {
  return new Response(body, { status, headers: { 'content-type': 'text/plain; charset=utf-8' } });
}

/** The FIXTURES service: read-only files under FIXTURE_ROOTS; no traversal, no symlink escapes. */
export async function serveFixture(request: Request): Promise<Response> {
  if (request.method !== 'GET' && request.method !== 'HEAD') return text(405, 'read-only');
  let parts: string[];
  try {
    parts = new URL(request.url).pathname.split('/').filter((s) => s !== '').map((s) => decodeURIComponent(s));
  } catch {
    return text(400, 'bad path');
  }
  const [kind, ...rest] = parts;
  const root = kind === undefined ? undefined : FIXTURE_ROOTS[kind];
  if (root === undefined || rest.length === 0) return text(404, `unknown fixture ${parts.join('/')}`);
  if (rest.some((s) => s === '.' || s === '..' || s.includes('/') || s.includes('\\') || s.includes('\0'))) {
    return text(403, 'path traversal rejected');
  }
  let realRoot: string;
  let real: string;
  try {
    realRoot = realpathSync(root);
    real = realpathSync(resolve(root, ...rest));
  } catch {
    return text(404, `no fixture ${parts.join('/')}`);
  }
  if (!real.startsWith(realRoot + sep)) return text(403, 'path traversal rejected');
  if (!statSync(real).isFile()) return text(404, `no fixture ${parts.join('/')}`);
  const body = request.method === 'HEAD' ? null : readFileSync(real);
  return new Response(body, { headers: { 'content-type': 'application/octet-stream' } });
}

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'node',
          environment: 'node',
          include: ['test/node/**/*.test.ts'],
        },
      },
      {
        plugins: [
          cloudflareTest({
            wrangler: { configPath: './wrangler.toml' },
            miniflare: {
              bindings: { ADMIN_TOKEN: TEST_ADMIN_TOKEN },
              serviceBindings: { FIXTURES: serveFixture },
            },
          }),
        ],
        test: {
          name: 'workers',
          include: ['test/worker/**/*.test.ts'],
          globalSetup: ['test/worker/global-setup.ts', 'test/worker/golden-setup.ts'],
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
      {
        // the demo page in headless Chromium (Debian /usr/bin/chromium via playwright-core)
        // against `wrangler dev` started by test/browser/server.ts: test/browser/**
        test: {
          name: 'browser',
          environment: 'node',
          include: ['test/browser/**/*.test.ts'],
          testTimeout: 60_000,
          hookTimeout: 240_000,
          // after node + workers (group 0): its wrangler + Chromium startup would otherwise
          // compete for the 2 cores with CPU-bound tests that have 5 s timeouts
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
