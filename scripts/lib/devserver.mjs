// Start `wrangler dev` on a free loopback port with the default models seeded in a
// private persistence directory, wait for /healthz, and stop it again.
// Shared by the scripts that drive a real local Worker (eval, bench:e2e, load).
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const WRANGLER = join(ROOT, 'node_modules', 'wrangler', 'bin', 'wrangler.js');

export function freePort() {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
  });
}

/** Is something already answering /healthz at url? */
export async function reachable(url) {
  try {
    const r = await fetch(new URL('/healthz', url), { signal: AbortSignal.timeout(2000) });
    return r.ok;
  } catch {
    return false;
  }
}

/**
 * Seeds the default models into a fresh directory and starts wrangler dev.
 * Returns { url, pid, adminToken, stop() }.
 */
export async function startDevServer({ adminToken = 'bench-admin-token', quiet = true, vars = {} } = {}) {
  const persist = mkdtempSync(join(tmpdir(), 'edgelens-dev-'));
  const seed = spawnSync(process.execPath, [join(ROOT, 'scripts', 'prepare-models.mjs'), '--persist-to', persist], {
    cwd: ROOT, stdio: quiet ? 'pipe' : 'inherit', encoding: 'utf8',
  });
  if (seed.status !== 0) throw new Error(`prepare-models failed:\n${seed.stdout ?? ''}${seed.stderr ?? ''}`);
  const port = await freePort();
  const args = [WRANGLER, 'dev', '--port', String(port), '--ip', '127.0.0.1', '--persist-to', persist,
    '--var', `ADMIN_TOKEN:${adminToken}`, '--show-interactive-dev-session=false', '--log-level', 'warn'];
  for (const [k, v] of Object.entries(vars)) args.push('--var', `${k}:${v}`);
  const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let log = '';
  child.stdout.on('data', (d) => { log += d; });
  child.stderr.on('data', (d) => { log += d; });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 90_000;
  while (!(await reachable(url))) {
    if (child.exitCode !== null) throw new Error(`wrangler dev exited (${child.exitCode}):\n${log}`);
    if (Date.now() > deadline) {
      process.kill(-child.pid, 'SIGTERM');
      throw new Error(`wrangler dev did not become ready in 90 s:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return {
    url, pid: child.pid, adminToken, persist,
    log: () => log,
    async stop() {
      try { process.kill(-child.pid, 'SIGTERM'); } catch { /* already gone */ }
      await new Promise((r) => setTimeout(r, 300));
      try { process.kill(-child.pid, 'SIGKILL'); } catch { /* already gone */ }
      rmSync(persist, { recursive: true, force: true });
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
