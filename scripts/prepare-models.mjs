#!/usr/bin/env node
// Compiles the default models (models/*.json recipes) to build/models/<id>.elns and seeds
// the local KV namespace that `wrangler dev` uses, in the layout of src/store/layout.ts:
//   blob:<sha256> -> artifact bytes,  model:<id> -> JSON pointer (also as KV metadata).
//
// Usage: node scripts/prepare-models.mjs [--no-seed] [--force] [--only <id>] [--persist-to <dir>]
//   --no-seed     only compile (what the tests need)
//   --force       recompile even when build/models/<id>.elns is up to date
//   --only <id>   one recipe
//   --persist-to  wrangler's local state directory (default .wrangler/state, as `wrangler dev`)
//
// Sources are taken from $EDGELENS_MODELS_DIR, else ../shared/models (beside the repo), else
// downloaded from the recipe's url into build/models/downloads/. The sha256 of every source
// is checked against the recipe; a mismatch stops the script.
// Needs `npm run build` first (dist/cli.mjs). Never touches the network when the sources
// are present locally.

import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const OUT_DIR = join(ROOT, 'build', 'models');
const DOWNLOAD_DIR = join(OUT_DIR, 'downloads');
// EDGELENS_CLI: another build of the compiler CLI (same arguments as dist/cli.mjs)
const CLI = process.env.EDGELENS_CLI ? resolve(process.env.EDGELENS_CLI) : join(ROOT, 'dist', 'cli.mjs');
const WRANGLER = join(ROOT, 'node_modules', 'wrangler', 'bin', 'wrangler.js');

const args = process.argv.slice(2);
const opt = {
  seed: !args.includes('--no-seed'),
  force: args.includes('--force'),
  only: valueOf('--only'),
  persistTo: valueOf('--persist-to'),
};

function valueOf(flag) {
  const i = args.indexOf(flag);
  if (i < 0) return undefined;
  const v = args[i + 1];
  if (v === undefined || v.startsWith('--')) fail(`${flag} needs a value`);
  return v;
}

function fail(msg) {
  console.error(`prepare-models: ${msg}`);
  process.exit(1);
}

const log = (msg) => console.log(`prepare-models: ${msg}`);
const sha256Of = (buf) => createHash('sha256').update(buf).digest('hex');
const rel = (p) => (p.startsWith(ROOT + '/') ? p.slice(ROOT.length + 1) : p);

// ---------------------------------------------------------------- recipes

const ID_RE = /^[a-z0-9][a-z0-9_.-]{0,63}$/;
const HEX64 = /^[0-9a-f]{64}$/;

function loadRecipes() {
  const dir = join(ROOT, 'models');
  // ladders.json is not a recipe: it names recipes (checkLadders)
  const files = readdirSync(dir).filter((f) => f.endsWith('.json') && f !== 'ladders.json').sort();
  const recipes = [];
  for (const f of files) {
    let r;
    try {
      r = JSON.parse(readFileSync(join(dir, f), 'utf8'));
    } catch (e) {
      fail(`models/${f}: not valid JSON (${e.message})`);
    }
    const where = `models/${f}`;
    if (typeof r.id !== 'string' || !ID_RE.test(r.id)) fail(`${where}: bad id ${JSON.stringify(r.id)}`);
    if (typeof r.source !== 'string' || r.source.includes('/')) fail(`${where}: "source" must be a file name`);
    if (typeof r.url !== 'string' || !/^https:\/\//.test(r.url)) fail(`${where}: "url" must be an https URL`);
    if (typeof r.sha256 !== 'string' || !HEX64.test(r.sha256)) fail(`${where}: "sha256" must be 64 lower-case hex digits`);
    if (Array.isArray(r.labels)) {
      if (!r.labels.every((l) => typeof l === 'string')) fail(`${where}: inline labels must be strings`);
    } else if (r.labels !== undefined) {
      const l = r.labels;
      if (typeof l !== 'object' || typeof l.file !== 'string' || typeof l.url !== 'string' || !HEX64.test(l.sha256 ?? '')) {
        fail(`${where}: "labels" must be an array of strings or { file, url, sha256 }`);
      }
    }
    const p = r.preprocessing;
    if (p !== undefined) {
      const ok3 = (a) => Array.isArray(a) && a.length === 3 && a.every((x) => typeof x === 'number' && Number.isFinite(x));
      if (!ok3(p.mean) || !ok3(p.std) || p.std.some((s) => s === 0)) fail(`${where}: preprocessing needs mean[3] and non-zero std[3]`);
    }
    if (r.task !== undefined && r.task !== 'classify' && r.task !== 'detect') fail(`${where}: task must be "classify" or "detect"`);
    if (r.inputSize !== undefined) {
      const okSize = (n) => Number.isInteger(n) && n >= 8 && n <= 4096;
      if (!(okSize(r.inputSize) || (Array.isArray(r.inputSize) && r.inputSize.length === 2 && r.inputSize.every(okSize)))) {
        fail(`${where}: "inputSize" must be an integer N or [H, W] (compile --input-size)`);
      }
    }
    recipes.push(r);
  }
  checkLadders(dir, recipes);
  return opt.only ? recipes.filter((r) => r.id === opt.only) : recipes;
}

/** models/ladders.json (adaptive inference): every stage must name a recipe of the ladder's task. */
function checkLadders(dir, recipes) {
  const file = join(dir, 'ladders.json');
  if (!existsSync(file)) return;
  let doc;
  try {
    doc = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    fail(`models/ladders.json: not valid JSON (${e.message})`);
  }
  if (!Array.isArray(doc?.ladders)) fail('models/ladders.json: expected { "ladders": [...] }');
  const byId = new Map(recipes.map((r) => [r.id, r]));
  for (const l of doc.ladders) {
    for (const s of l?.stages ?? []) {
      const r = byId.get(s?.model);
      if (!r) fail(`models/ladders.json: ladder ${l?.id} names model ${JSON.stringify(s?.model)}, which has no recipe in models/`);
      if (r.task !== undefined && r.task !== l.task) fail(`models/ladders.json: ladder ${l.id} (${l.task}) names ${r.id}, a ${r.task} model`);
    }
  }
}

// ---------------------------------------------------------------- sources

/** A local copy of `name` with the expected sha256, downloading it if needed. */
async function obtain(name, url, expectedSha) {
  const candidates = [];
  if (process.env.EDGELENS_MODELS_DIR) candidates.push(join(resolve(process.env.EDGELENS_MODELS_DIR), name));
  candidates.push(join(ROOT, '..', 'shared', 'models', name));
  candidates.push(join(DOWNLOAD_DIR, name));
  for (const file of candidates) {
    if (!existsSync(file)) continue;
    const actual = sha256Of(readFileSync(file));
    if (actual !== expectedSha) {
      fail(`${file} has sha256 ${actual}, but the recipe expects ${expectedSha}: wrong or corrupted file (delete it or fix the recipe)`);
    }
    return file;
  }
  log(`${name} not found locally (looked in ${candidates.map(rel).join(', ')}); downloading ${url}`);
  let buf;
  try {
    const res = await fetch(url, { redirect: 'follow' });
    if (!res.ok) throw new Error(`HTTP ${res.status} ${res.statusText}`);
    buf = Buffer.from(await res.arrayBuffer());
  } catch (e) {
    fail(`downloading ${url} failed: ${e.message}. Put ${name} in $EDGELENS_MODELS_DIR or ../shared/models instead.`);
  }
  const actual = sha256Of(buf);
  if (actual !== expectedSha) {
    fail(`downloaded ${url} has sha256 ${actual}, but the recipe expects ${expectedSha}: refusing to use it`);
  }
  mkdirSync(DOWNLOAD_DIR, { recursive: true });
  const dest = join(DOWNLOAD_DIR, name);
  writeFileSync(dest + '.partial', buf);
  renameSync(dest + '.partial', dest);
  return dest;
}

async function labelsFileOf(recipe) {
  if (recipe.labels === undefined) return undefined;
  if (Array.isArray(recipe.labels)) {
    const file = join(OUT_DIR, `${recipe.id}.labels.txt`);
    const text = recipe.labels.join('\n') + '\n';
    if (!existsSync(file) || readFileSync(file, 'utf8') !== text) writeFileSync(file, text);
    return file;
  }
  return obtain(recipe.labels.file, recipe.labels.url, recipe.labels.sha256);
}

// ---------------------------------------------------------------- compiler

function compile(recipe, sourceFile, labelsFile, outFile) {
  // dist/cli.mjs: compile <model.tflite> -o <artifact> [--labels <file>] [--name <id>]
  //               [--mean a,b,c --std a,b,c] [--meta json]
  const argv = [CLI, 'compile', sourceFile, '-o', outFile, '--name', recipe.id];
  if (labelsFile) argv.push('--labels', labelsFile);
  const pre = recipe.preprocessing;
  if (pre) argv.push('--mean', pre.mean.join(','), '--std', pre.std.join(','));
  const meta = { recipe: recipe.id };
  if (recipe.task !== undefined) meta.task = recipe.task;
  if (recipe.personIndex !== undefined) meta.personIndex = recipe.personIndex;
  if (recipe.inputSize !== undefined) {
    const [h, w] = Array.isArray(recipe.inputSize) ? recipe.inputSize : [recipe.inputSize, recipe.inputSize];
    argv.push('--input-size', `${h}x${w}`);
  }
  argv.push('--meta', JSON.stringify(meta));
  log(`compiling ${recipe.id}: node ${argv.map(rel).join(' ')}`);
  const r = spawnSync(process.execPath, argv, { cwd: ROOT, stdio: 'inherit' });
  if (r.status !== 0) fail(`compiling ${recipe.id} failed (exit ${r.status ?? r.signal})`);
}

// ---------------------------------------------------------------- artifact reader

let readerPromise;
/** parseArtifact from src/model/artifact.ts, bundled with esbuild for Node. */
function artifactReader() {
  readerPromise ??= (async () => {
    const { build } = await import('esbuild');
    const outfile = join(OUT_DIR, '.artifact-reader.mjs');
    await build({
      entryPoints: [join(ROOT, 'src', 'model', 'artifact.ts')],
      bundle: true, platform: 'node', format: 'esm', target: 'node20', outfile, logLevel: 'error',
    });
    return import(pathToFileURL(outfile).href + `?t=${Date.now()}`);
  })();
  return readerPromise;
}

function summaryOf(m) {
  return {
    name: m.name,
    input: { shape: [...m.input.shape], dtype: m.input.dtype },
    outputs: m.outputs.map((o) => ({ shape: [...o.shape], dtype: o.dtype, kind: o.kind })),
    labels: m.labels?.length ?? 0,
    macs: m.macs,
    arenaBytes: m.arenaBytes,
    weightsBytes: m.weightsBytes,
  };
}

// ---------------------------------------------------------------- local KV (wrangler dev)

function wrangler(argv, { input } = {}) {
  const full = [WRANGLER, ...argv, '--local', '--preview', '--binding', 'MODELS'];
  if (opt.persistTo) full.push('--persist-to', opt.persistTo);
  return spawnSync(process.execPath, full, {
    cwd: ROOT, encoding: 'utf8', input,
    env: { ...process.env, WRANGLER_SEND_METRICS: 'false', NO_COLOR: '1' },
    maxBuffer: 64 << 20,
  });
}

function kvGetPointer(id) {
  const r = wrangler(['kv', 'key', 'get', `model:${id}`, '--text']);
  if (r.status !== 0) return null;
  try {
    const p = JSON.parse(r.stdout.trim());
    return p && typeof p === 'object' && typeof p.sha256 === 'string' ? p : null;
  } catch {
    return null;
  }
}

function kvPut(key, { path, value, metadata }) {
  const argv = ['kv', 'key', 'put', key];
  if (path !== undefined) argv.push('--path', path);
  else argv.push(value);
  if (metadata !== undefined) argv.push('--metadata', JSON.stringify(metadata));
  const r = wrangler(argv);
  if (r.status !== 0) fail(`wrangler kv key put ${key} failed:\n${r.stdout}\n${r.stderr}`);
}

function seed(id, artifactFile, manifest, sha256, bytes) {
  const old = kvGetPointer(id);
  if (old && old.sha256 === sha256) {
    log(`local KV: model:${id} already points to ${sha256.slice(0, 12)}… (version ${old.version})`);
    return;
  }
  kvPut(`blob:${sha256}`, { path: artifactFile });
  const pointer = {
    id, sha256,
    version: (Number.isInteger(old?.version) ? old.version : 0) + 1,
    uploadedAt: new Date().toISOString(),
    bytes,
    precision: manifest.precision,
  };
  const full = { ...pointer, summary: summaryOf(manifest) };
  kvPut(`model:${id}`, { value: JSON.stringify(full), metadata: pointer });
  log(`local KV: model:${id} -> blob:${sha256.slice(0, 12)}… (version ${pointer.version})`);
}

// ---------------------------------------------------------------- main

async function main() {
  const recipes = loadRecipes();
  if (recipes.length === 0) fail(opt.only ? `no recipe with id ${opt.only}` : 'no recipes in models/');
  if (!existsSync(CLI)) fail(`${rel(CLI)} is missing: run \`npm run build\` first`);
  mkdirSync(OUT_DIR, { recursive: true });
  const cliSha = sha256Of(readFileSync(CLI));
  const { parseArtifact } = await artifactReader().catch((e) => fail(`cannot load src/model/artifact.ts: ${e.message}`));

  for (const recipe of recipes) {
    const sourceFile = await obtain(recipe.source, recipe.url, recipe.sha256);
    const labelsFile = await labelsFileOf(recipe);
    const outFile = join(OUT_DIR, `${recipe.id}.elns`);
    const stampFile = join(OUT_DIR, `${recipe.id}.stamp.json`);
    const stamp = {
      recipe: sha256Of(readFileSync(join(ROOT, 'models', `${recipe.id}.json`))),
      source: recipe.sha256,
      labels: labelsFile ? sha256Of(readFileSync(labelsFile)) : null,
      cli: cliSha,
    };
    let upToDate = !opt.force && existsSync(outFile) && existsSync(stampFile) &&
      readFileSync(stampFile, 'utf8') === JSON.stringify(stamp);
    let parsed;
    if (upToDate) {
      try {
        parsed = await parseArtifact(new Uint8Array(readFileSync(outFile)));
        log(`${rel(outFile)} is up to date`);
      } catch (e) {
        log(`${rel(outFile)} no longer validates (${e.message}); recompiling`);
        upToDate = false;
      }
    }
    if (!upToDate) {
      compile(recipe, sourceFile, labelsFile, outFile);
      try {
        parsed = await parseArtifact(new Uint8Array(readFileSync(outFile)));
      } catch (e) {
        fail(`${rel(outFile)} does not validate: ${e.message}`);
      }
      writeFileSync(stampFile, JSON.stringify(stamp));
    }
    const bytes = new Uint8Array(readFileSync(outFile));
    const m = parsed.manifest;
    const pre = recipe.preprocessing;
    const norm = m.input?.normalization;
    if (pre && norm && (norm.mean.some((v, i) => Math.abs(v - pre.mean[i]) > 1e-6) || norm.std.some((v, i) => Math.abs(v - pre.std[i]) > 1e-6))) {
      console.warn(`prepare-models: WARNING ${recipe.id}: artifact normalization mean=${norm.mean} std=${norm.std} differs from the recipe's mean=${pre.mean} std=${pre.std}`);
    }
    log(`${recipe.id}: ${rel(outFile)} ${statSync(outFile).size} bytes, ${m.precision}, sha256 ${parsed.sha256}`);
    if (opt.seed) seed(recipe.id, outFile, m, parsed.sha256, bytes.byteLength);
  }
  if (!opt.seed) log('compiled only (--no-seed)');
}

await main();
