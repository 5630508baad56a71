// A private `wrangler dev` with the default models seeded, for the scripts that drive a real
// local Worker (eval, bench:e2e). Built on scripts/hardening-lib.mjs (shared with fuzz/load).
import { ROOT, tempState, seedModels, startDevServer as startWrangler, rmState } from '../hardening-lib.mjs';

export { ROOT };

/** Is something already answering /healthz at url? */
export async function reachable(url) {
  try {
    const r = await fetch(new URL('/healthz', url), { signal: AbortSignal.timeout(2000) });
    return r.ok;
  } catch {
    return false;
  }
}

/** Seeds the default models into a fresh state dir and starts wrangler dev on loopback. */
export async function startDevServer({ adminToken = 'bench-admin-token' } = {}) {
  const persistTo = tempState('dev');
  seedModels(persistTo);
  const server = await startWrangler({ persistTo, vars: { ADMIN_TOKEN: adminToken } });
  return {
    url: server.url, adminToken,
    async stop() {
      await server.stop();
      rmState(persistTo);
    },
  };
}

/** Use --url if given and reachable; otherwise start a private dev server. */
export async function serverFromArgs(argv) {
  const i = argv.indexOf('--url');
  if (i >= 0) {
    const url = argv[i + 1];
    if (!(await reachable(url))) throw new Error(`${url} is not reachable (is \`npm run dev\` running?)`);
    return { url, adminToken: process.env.ADMIN_TOKEN, async stop() {} };
  }
  return startDevServer();
}
