// Starts `wrangler dev` for the browser tests: the default models (mobilenet_v2 and person,
// see DEFAULT_SEEDED) compiled when needed and seeded into a temporary --persist-to directory
// by scripts/prepare-models.mjs, a free port on 127.0.0.1, a readiness poll of /healthz with a
// timeout, and a stop() that ends wrangler's whole process group (wrangler + workerd) and
// removes the temporary state.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const WRANGLER = join(ROOT, 'node_modules', 'wrangler', 'bin', 'wrangler.js');

export interface DevServer {
  url: string;
  /** wrangler's output so far (for failure messages) */
  log(): string;
  stop(): Promise<void>;
}

/** A port that was free a moment ago on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      srv.close(() => (port > 0 ? resolvePort(port) : reject(new Error('no port'))));
    });
  });
}

const env = { ...process.env, WRANGLER_SEND_METRICS: 'false', NO_COLOR: '1', FORCE_COLOR: '0' };

/**
 * The models the page tests use: the two default models, plus the stages of the default detect
 * ladder (models/ladders.json) when there is one, for adaptive mode. Seeding costs about three
 * wrangler runs per model, so only these; EDGELENS_BROWSER_MODELS = "all" seeds every recipe in
 * models/, or give a comma-separated list of ids.
 */
export const DEFAULT_SEEDED = ['mobilenet_v2', 'person'];

/** The stage models of the default detect ladder, or [] without models/ladders.json. */
export function detectLadderModels(): string[] {
  const file = join(ROOT, 'models', 'ladders.json');
  if (!existsSync(file)) return [];
  try {
    const doc = JSON.parse(readFileSync(file, 'utf8')) as { ladders?: { task?: string; default?: boolean; stages?: { model?: unknown }[] }[] };
    const l = doc.ladders?.find((x) => x.task === 'detect' && x.default === true) ?? doc.ladders?.find((x) => x.task === 'detect');
    return (l?.stages ?? []).map((st) => st.model).filter((m): m is string => typeof m === 'string');
  } catch {
    return [];
  }
}

/** Compiles (if needed) and seeds models into `persistTo` with scripts/prepare-models.mjs. */
export function seedModels(persistTo: string, ids: string[] | 'all' = seededFromEnv()): void {
  if (!existsSync(join(ROOT, 'dist', 'cli.mjs'))) {
    throw new Error('dist/cli.mjs is missing: run `npm run build` first');
  }
  for (const only of ids === 'all' ? [undefined] : ids) {
    const argv = [join(ROOT, 'scripts', 'prepare-models.mjs'), '--persist-to', persistTo, ...(only ? ['--only', only] : [])];
    const r = spawnSync(process.execPath, argv, { cwd: ROOT, env, encoding: 'utf8', timeout: 240_000, maxBuffer: 16 << 20 });
    if (r.status !== 0) {
      throw new Error(`prepare-models ${argv.slice(1).join(' ')} failed (${r.status ?? r.signal}):\n${r.stdout}\n${r.stderr}`);
    }
  }
}

function seededFromEnv(): string[] | 'all' {
  const v = process.env.EDGELENS_BROWSER_MODELS?.trim();
  if (!v) return [...new Set([...DEFAULT_SEEDED, ...detectLadderModels()])];
  return v === 'all' ? 'all' : v.split(',').map((s) => s.trim()).filter(Boolean);
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal); // the group that wrangler leads (detached)
  } catch {
    try { child.kill(signal); } catch { /* already gone */ }
  }
}

export async function startDevServer(opts: { readyTimeoutMs?: number } = {}): Promise<DevServer> {
  const readyTimeoutMs = opts.readyTimeoutMs ?? 90_000;
  const persistTo = mkdtempSync(join(tmpdir(), 'edgelens-browser-'));
  const cleanupState = () => rmSync(persistTo, { recursive: true, force: true });
  try {
    seedModels(persistTo);
  } catch (e) {
    cleanupState();
    throw e;
  }

  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(process.execPath, [
    WRANGLER, 'dev', '--port', String(port), '--ip', '127.0.0.1', '--persist-to', persistTo,
    '--inspector-port', String(await freePort()), '--show-interactive-dev-session=false',
  ], { cwd: ROOT, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const append = (b: Buffer) => {
    output += b.toString();
    if (output.length > 200_000) output = output.slice(-100_000);
  };
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  // Last resort if the test process ends without stop(): synchronous, so it runs on 'exit'.
  const onExit = () => killGroup(child, 'SIGKILL');
  process.once('exit', onExit);

  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    process.removeListener('exit', onExit);
    killGroup(child, 'SIGTERM');
    const timer = setTimeout(() => killGroup(child, 'SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
    cleanupState();
  };

  const deadline = Date.now() + readyTimeoutMs;
  let lastError = '';
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      await stop();
      throw new Error(`wrangler dev exited (${child.exitCode ?? child.signalCode}) before it was ready:\n${output}`);
    }
    try {
      const res = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(2_000) });
      if (res.ok) break;
      lastError = `HTTP ${res.status}`;
    } catch (e) {
      lastError = e instanceof Error ? e.message : String(e);
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`wrangler dev on ${url} not ready after ${readyTimeoutMs} ms (last: ${lastError}):\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return { url, log: () => output, stop };
}
