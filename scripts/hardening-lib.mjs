// Shared by scripts/fuzz-images.mjs, scripts/fuzz-models.mjs and scripts/load.mjs:
// start `wrangler dev` on loopback with its own local KV state (seeded like `npm run dev`),
// find its workerd child process, read that process's memory, small statistics helpers.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const WRANGLER = join(ROOT, 'node_modules', 'wrangler', 'bin', 'wrangler.js');
export const SAMPLES_DIR = process.env.EDGELENS_SHARED_DIR
  ? join(resolve(process.env.EDGELENS_SHARED_DIR), 'images', 'samples')
  : resolve(ROOT, '..', 'shared', 'images', 'samples');

// No telemetry, no colours, and no fetch of the `Request.cf` placeholder from the network.
const quietEnv = () => ({ ...process.env, WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false', NO_COLOR: '1', FORCE_COLOR: '0' });

/** `--name value` / `--flag` parsing for the scripts. */
export function parseArgs(argv, defaults) {
  const out = { ...defaults };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) throw new Error(`unexpected argument ${a}`);
    const key = a.slice(2).replace(/-([a-z])/g, (_, c) => c.toUpperCase());
    if (!(key in defaults)) throw new Error(`unknown option ${a}`);
    if (typeof defaults[key] === 'boolean') out[key] = true;
    else {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      out[key] = typeof defaults[key] === 'number' ? Number(v) : v;
      if (typeof defaults[key] === 'number' && !Number.isFinite(out[key])) throw new Error(`${a}: not a number`);
    }
  }
  return out;
}

export function requireBuild() {
  for (const f of ['build/edgelens.wasm', 'dist/cli.mjs']) {
    if (!existsSync(join(ROOT, f))) throw new Error(`${f} is missing: run \`npm run build\` first`);
  }
}

/** The sample images: [{ name, bytes }], sorted by name. */
export function readSamples(dir = SAMPLES_DIR) {
  return readdirSync(dir).filter((f) => /\.(jpe?g|png)$/i.test(f)).sort()
    .map((name) => ({ name, bytes: new Uint8Array(readFileSync(join(dir, name))) }));
}

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

/** A fresh local-state directory for wrangler (removed by the caller). */
export function tempState(prefix) {
  return mkdtempSync(join(tmpdir(), `edgelens-${prefix}-`));
}

/** Compiles (if needed) and seeds the default models into `persistTo`, like `npm run dev`. */
export function seedModels(persistTo) {
  const r = spawnSync(process.execPath, [join(ROOT, 'scripts', 'prepare-models.mjs'), '--persist-to', persistTo], {
    cwd: ROOT, encoding: 'utf8', env: quietEnv(),
  });
  if (r.status !== 0) throw new Error(`prepare-models failed:\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/** Keys of the local KV namespace in `persistTo` (wrangler kv key list --local --preview). */
export function listLocalKv(persistTo, prefix) {
  const r = spawnSync(process.execPath, [WRANGLER, 'kv', 'key', 'list', '--local', '--preview', '--binding', 'MODELS', '--persist-to', persistTo, '--prefix', prefix], {
    cwd: ROOT, encoding: 'utf8', env: quietEnv(), maxBuffer: 64 << 20,
  });
  if (r.status !== 0) throw new Error(`wrangler kv key list failed:\n${r.stdout}\n${r.stderr}`);
  const start = r.stdout.indexOf('[');
  return JSON.parse(r.stdout.slice(start)).map((k) => k.name);
}

/** Child pids of `pid` (from /proc/<pid>/task/<tid>/children). */
function childrenOf(pid) {
  const out = [];
  let tasks = [];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const t of tasks) {
    try {
      for (const c of readFileSync(`/proc/${pid}/task/${t}/children`, 'utf8').trim().split(/\s+/)) if (c) out.push(Number(c));
    } catch {
      // the task ended meanwhile
    }
  }
  return out;
}

/** The pid of the first process named `name` in the process tree under `root`, or null. */
export function findDescendant(root, name) {
  const queue = [root];
  while (queue.length > 0) {
    const pid = queue.shift();
    for (const c of childrenOf(pid)) {
      let comm = '';
      try {
        comm = readFileSync(`/proc/${c}/comm`, 'utf8').trim();
      } catch {
        continue;
      }
      if (comm === name) return c;
      queue.push(c);
    }
  }
  return null;
}

/** Pids of every process named `name` in the process tree under `root`. */
export function findDescendants(root, name) {
  const out = [];
  const queue = [root];
  while (queue.length > 0) {
    const pid = queue.shift();
    for (const c of childrenOf(pid)) {
      try {
        if (readFileSync(`/proc/${c}/comm`, 'utf8').trim() === name) out.push(c);
      } catch {
        continue;
      }
      queue.push(c);
    }
  }
  return out;
}

/**
 * The workerd process that runs the Worker itself. `wrangler dev` starts two: one for its
 * proxy (listening on the dev port we chose) and one for the user Worker (on a port of its
 * own); the second is the one whose memory counts.
 */
export function findWorkerWorkerd(wranglerPid, devPort) {
  const all = findDescendants(wranglerPid, 'workerd');
  const cmd = (pid) => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
    } catch {
      return '';
    }
  };
  const user = all.filter((pid) => !cmd(pid).includes(`entry=127.0.0.1:${devPort} `) && !cmd(pid).endsWith(`entry=127.0.0.1:${devPort}`));
  return user[0] ?? all[0] ?? null;
}

/** VmRSS and VmHWM (peak RSS) of a process, in MiB. */
export function procMem(pid) {
  const s = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(s)?.[1] ?? NaN);
  return { rssMiB: kb('VmRSS') / 1024, hwmMiB: kb('VmHWM') / 1024 };
}

/** Resets a process's VmHWM to its current RSS (Linux >= 4.0: "5" > /proc/<pid>/clear_refs). */
export function resetPeak(pid) {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

export const fmtMiB = (m) => (m ? `RSS ${m.rssMiB.toFixed(1)} MiB, peak (VmHWM) ${m.hwmMiB.toFixed(1)} MiB` : '-');

/**
 * Bundles the Worker once, exactly as `wrangler deploy` would (`wrangler deploy --dry-run
 * --outdir`), and writes a copy of wrangler.toml that serves that bundle unbundled. `wrangler
 * dev` on it behaves like `npm run dev` but does not rebuild and restart the Worker when a
 * source file changes during a long run. Returns the config path (inside `dir`).
 */
export function snapshotConfig(dir) {
  const out = join(dir, 'bundle');
  const r = spawnSync(process.execPath, [WRANGLER, 'deploy', '--dry-run', '--outdir', out], { cwd: ROOT, encoding: 'utf8', env: quietEnv() });
  if (r.status !== 0 || !existsSync(join(out, 'index.js'))) throw new Error(`wrangler deploy --dry-run failed:\n${r.stdout}\n${r.stderr}`);
  const toml = readFileSync(join(ROOT, 'wrangler.toml'), 'utf8');
  if (!/^main\s*=.*$/m.test(toml)) throw new Error('wrangler.toml has no main');
  const config = join(dir, 'wrangler.snapshot.toml');
  writeFileSync(config, toml.replace(/^main\s*=.*$/m, 'main = "bundle/index.js"\nno_bundle = true'));
  return config;
}

/**
 * Starts `wrangler dev` (local mode, the repo's wrangler.toml; with snapshot, on the deploy
 * bundle made by snapshotConfig) on 127.0.0.1 with the local state in `persistTo`, extra
 * --var values, and waits until GET /healthz answers (bounded).
 * Returns { url, pid (wrangler), workerdPid, output (lines so far), stop() }.
 */
export async function startDevServer({ persistTo, vars = {}, readyTimeoutMs = 180_000, echo = false, snapshot = true }) {
  const port = await freePort();
  const inspectorPort = await freePort();
  const argv = [WRANGLER, 'dev', '--ip', '127.0.0.1', '--port', String(port), '--inspector-port', String(inspectorPort),
    '--persist-to', persistTo, '--show-interactive-dev-session=false', '--live-reload=false'];
  if (snapshot) argv.push('--config', snapshotConfig(persistTo));
  for (const [k, v] of Object.entries(vars)) argv.push('--var', `${k}:${v}`);
  const child = spawn(process.execPath, argv, { cwd: ROOT, env: quietEnv(), stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  // If this script is interrupted, take the server (its own process group) down with it.
  const onSignal = (sig) => {
    try { process.kill(-child.pid, 'SIGKILL'); } catch { /* gone */ }
    process.exit(sig === 'SIGINT' ? 130 : 143);
  };
  // ... and when it exits any other way (an uncaught exception included)
  const onExit = () => {
    try { process.kill(-child.pid, 'SIGKILL'); } catch { /* gone */ }
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  process.once('exit', onExit);
  child.on('exit', () => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.off('exit', onExit);
  });
  const output = [];
  const onData = (buf) => {
    for (const line of buf.toString().split('\n')) {
      if (line.trim() === '') continue;
      output.push(line);
      if (echo) console.log(`  [wrangler] ${line}`);
    }
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  let exited = null;
  const exitP = new Promise((res) => child.on('exit', (code, signal) => { exited = { code, signal }; res(exited); }));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + readyTimeoutMs;
  for (;;) {
    if (exited) throw new Error(`wrangler dev exited (${JSON.stringify(exited)}):\n${output.join('\n')}`);
    try {
      const res = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(5000) });
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      process.kill(-child.pid, 'SIGKILL');
      throw new Error(`wrangler dev did not answer /healthz within ${readyTimeoutMs} ms:\n${output.join('\n')}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  const workerdPid = findWorkerWorkerd(child.pid, port);
  const proxyWorkerdPid = findDescendants(child.pid, 'workerd').find((p) => p !== workerdPid) ?? null;
  return {
    url,
    pid: child.pid,
    port,
    inspectorPort,
    /** the workerd running the Worker (memory is measured here) and the one of wrangler's proxy */
    workerdPid,
    proxyWorkerdPid,
    /** whether the Worker's workerd is still the one found at start (no crash, no restart) */
    sameWorkerd() {
      return !exited && findWorkerWorkerd(child.pid, port) === workerdPid;
    },
    output,
    get exited() { return exited; },
    /** Stops wrangler and its children (its own process group), SIGKILL after 10 s. */
    async stop() {
      if (exited) return;
      try {
        process.kill(-child.pid, 'SIGTERM');
      } catch {
        return;
      }
      const t = setTimeout(() => { try { process.kill(-child.pid, 'SIGKILL'); } catch { /* gone */ } }, 10_000);
      await exitP;
      clearTimeout(t);
    },
  };
}

/** src/model/artifact.ts bundled for Node (like scripts/prepare-models.mjs does). */
export async function loadArtifactModule() {
  const { build } = await import('esbuild');
  const outfile = join(ROOT, 'build', 'models', '.artifact-writer.mjs');
  await build({
    entryPoints: [join(ROOT, 'src', 'model', 'artifact.ts')],
    bundle: true, platform: 'node', format: 'esm', target: 'node20', outfile, logLevel: 'error',
  });
  return import(pathToFileURL(outfile).href + `?t=${Date.now()}`);
}

export function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

/** Lines of workerd/wrangler output that mean an exception escaped the Worker. */
export function uncaughtLines(output) {
  return output.filter((l) => /uncaught exception|Uncaught \(in promise\)|workerd\/.*failed:|internal error/i.test(l));
}

export function rmState(dir) {
  rmSync(dir, { recursive: true, force: true });
}

/**
 * A DevTools-protocol connection to the Worker's isolate through wrangler's inspector port
 * (the same one `wrangler dev` offers to DevTools). Gives the isolate's own memory, which
 * the 128 MB Workers limit applies to, separately from the workerd process (which also
 * holds the runtime, Miniflare's local KV and caches):
 *   heap(): Runtime.getHeapUsage (JS heap used/total, ArrayBuffer backing stores)
 *   wasm(): byteLength of every live WebAssembly.Memory (engine, JPEG decoder)
 * Returns null when no WebSocket client is available.
 */
export async function inspectIsolate(server) {
  let WS = globalThis.WebSocket;
  try {
    WS = (await import('ws')).default; // wrangler's own dependency
  } catch {
    // Node's global WebSocket (Node >= 22, or 20 with --experimental-websocket)
  }
  if (typeof WS !== 'function') return null;
  const list = await (await fetch(`http://127.0.0.1:${server.inspectorPort}/json`)).json();
  const target = list.find((t) => t.webSocketDebuggerUrl) ?? null;
  if (!target) return null;
  const ws = new WS(target.webSocketDebuggerUrl);
  await new Promise((res, rej) => {
    ws.onopen = res;
    ws.onerror = rej;
  });
  let nextId = 0;
  const pending = new Map();
  let contextId;
  ws.onmessage = (ev) => {
    const msg = JSON.parse(typeof ev.data === 'string' ? ev.data : ev.data.toString());
    if (msg.method === 'Runtime.executionContextCreated') contextId ??= msg.params.context.id;
    const p = pending.get(msg.id);
    if (p) {
      pending.delete(msg.id);
      if (msg.error) p.rej(new Error(`${msg.error.message}`));
      else p.res(msg.result);
    }
  };
  const send = (method, params = {}) => new Promise((res, rej) => {
    const id = ++nextId;
    pending.set(id, { res, rej });
    ws.send(JSON.stringify({ id, method, params }));
  });
  await send('Runtime.enable'); // gives Runtime.evaluate its execution context
  const MiB = (b) => b / 2 ** 20;
  return {
    async heap() {
      const h = await send('Runtime.getHeapUsage');
      return { usedMiB: MiB(h.usedSize), totalMiB: MiB(h.totalSize), backingStoreMiB: MiB(h.backingStorageSize ?? 0) };
    },
    async wasm() {
      const proto = await send('Runtime.evaluate', { expression: 'WebAssembly.Memory.prototype', ...(contextId !== undefined ? { contextId } : {}) });
      const q = await send('Runtime.queryObjects', { prototypeObjectId: proto.result.objectId });
      const r = await send('Runtime.callFunctionOn', {
        objectId: q.objects.objectId,
        functionDeclaration: 'function () { return this.map((m) => m.buffer.byteLength); }',
        returnByValue: true,
      });
      const sizes = r.result.value ?? [];
      await send('Runtime.releaseObjectGroup', { objectGroup: 'console' }).catch(() => {});
      return { memories: sizes.length, totalMiB: MiB(sizes.reduce((a, b) => a + b, 0)), eachMiB: sizes.map(MiB) };
    },
    close() {
      ws.close();
    },
  };
}

export const fmtIsolate = (h, w) =>
  `JS heap ${h.usedMiB.toFixed(1)} MiB used / ${h.totalMiB.toFixed(1)} MiB, ArrayBuffer backing stores ${h.backingStoreMiB.toFixed(1)} MiB` +
  (w ? `, wasm memories ${w.totalMiB.toFixed(1)} MiB (${w.eachMiB.map((x) => x.toFixed(1)).join(' + ')})` : '');

/** End of a hardening run: list the failures (exit code 1) or print the OK line. */
export function reportFailures(log, failures, okLine, limit = 50) {
  if (failures.length > 0) {
    log(`${failures.length} FAILURES:`);
    for (const f of failures.slice(0, limit)) console.log(`  ${f}`);
    process.exitCode = 1;
  } else {
    log(okLine);
  }
}

/** Run a script's async main; an exception prints its stack under the script's name and exits 1. */
export function runMain(name, main) {
  main().catch((e) => {
    console.error(`${name}: ${e.stack ?? e}`);
    process.exitCode = 1;
  });
}
