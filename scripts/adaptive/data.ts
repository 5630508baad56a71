// The labelled data of `npm run calibrate` / `npm run eval:adaptive`, and the stage outputs
// on it, computed in Node with the same engine, image pipeline and stage code as the Worker.

import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { executeOnImage, type StageExecution } from '../../src/adaptive/cascade';
import { Engine, type LoadedModel } from '../../src/engine/engine';
import { DEFAULT_IMAGE_LIMITS, createJpegDecoder, decodeImage, type DecodeOptions } from '../../src/image';
import { parseArtifact } from '../../src/model/artifact';

/** The repository root, from scripts/adaptive/*.ts or its bundle build/adaptive/main.mjs. */
function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    dir = dirname(dir);
  }
  return process.cwd();
}

export const ROOT = repoRoot();

/** The engine from build/edgelens.wasm and the compiled artifacts only (the compiler is not needed). */
async function createEngine(): Promise<Engine> {
  const wasm = join(ROOT, 'build', 'edgelens.wasm');
  if (!existsSync(wasm)) throw new Error(`${wasm} is missing: run \`npm run build\` first`);
  return Engine.create(await WebAssembly.compile(readFileSync(wasm)));
}

export const SHARED = process.env.EDGELENS_SHARED_DIR ? resolve(process.env.EDGELENS_SHARED_DIR) : resolve(ROOT, '..', 'shared');
export const IMAGES = join(SHARED, 'images');

export interface PersonItem { file: string; person: 0 | 1 }
export interface ClassItem { file: string; index: number; label: string }

/** Samples of ../shared/images/samples with their person label (from ../shared/images/README.md).
 *  Left out: cat.png / grace_hopper.png / cat_720p / cat_1080p, re-encodings of photos already in
 *  the set (a duplicate in another fold would leak into cross-validation). */
export const SAMPLE_PERSONS = ['face', 'grace_hopper', 'kite_and_cold', 'squat', 'tflm_person'];
export const SAMPLE_NO_PERSONS = ['bird', 'cat', 'dragonfly', 'hot_dog', 'missvickie_potato_chips', 'owl', 'parrot', 'pets', 'sunflower', 'tflm_no_person'];

function csvRows(path: string): string[][] {
  const rows: string[][] = [];
  for (const line of readFileSync(path, 'utf8').split(/\r?\n/).slice(1)) {
    if (line.trim() === '') continue;
    const cells: string[] = [];
    let cur = '', quoted = false;
    for (let i = 0; i < line.length; i++) {
      const ch = line[i]!;
      if (quoted) {
        if (ch === '"' && line[i + 1] === '"') { cur += '"'; i++; } else if (ch === '"') quoted = false; else cur += ch;
      } else if (ch === '"') quoted = true;
      else if (ch === ',') { cells.push(cur); cur = ''; } else cur += ch;
    }
    cells.push(cur);
    rows.push(cells);
  }
  return rows;
}

/** imagenet-dev/person.csv (96 photos) + the labelled samples (15): 111 photos. */
export function personSet(): PersonItem[] {
  const out: PersonItem[] = csvRows(join(IMAGES, 'imagenet-dev', 'person.csv')).map(([f, p]) => {
    if (p !== '0' && p !== '1') throw new Error(`person.csv: bad label ${p} for ${f}`);
    return { file: `imagenet-dev/${f}`, person: p === '1' ? 1 : 0 };
  });
  for (const s of SAMPLE_PERSONS) out.push({ file: `samples/${s}.jpg`, person: 1 });
  for (const s of SAMPLE_NO_PERSONS) out.push({ file: `samples/${s}.jpg`, person: 0 });
  return out;
}

/** imagenet-dev/labels.csv: 100 photos with their index in the 1001-way output. */
export function imagenetSet(): ClassItem[] {
  return csvRows(join(IMAGES, 'imagenet-dev', 'labels.csv')).map(([file, , index, label]) => ({
    file: `imagenet-dev/${file}`, index: Number(index), label: label!,
  }));
}

export interface Executions {
  /** model id -> per image (same order as the items) */
  byModel: Map<string, StageExecution[]>;
  /** how the photos were decoded */
  decoder: string;
}

/**
 * The Worker's decode: with build/jpeg.wasm, JPEGs go through the wasm decoder at the largest
 * DCT reduction that stays >= the ladder's largest input (src/worker/adaptive.ts does the
 * same), else jpeg-js at full size.
 */
async function decodeOptions(target: [number, number]): Promise<{ options?: DecodeOptions; decoder: string }> {
  const wasm = join(ROOT, 'build', 'jpeg.wasm');
  if (!existsSync(wasm)) return { decoder: 'jpeg-js, full size (build/jpeg.wasm missing)' };
  const jpeg = await createJpegDecoder(await WebAssembly.compile(readFileSync(wasm)));
  return { options: { jpeg, targetSize: target }, decoder: `build/jpeg.wasm, reduced to >= ${target[0]}x${target[1]} (as the Worker)` };
}

/**
 * Runs every model on every image, `runs` times (checking that the outputs are identical:
 * the engine is deterministic); keeps the outputs and the ms of the fastest run (preprocess and
 * inference): the intrinsic cost, least disturbed by other work on the machine.
 */
export async function executeAll(files: string[], modelIds: string[], runs = 3, log = (s: string) => console.error(s)): Promise<Executions> {
  const engine = await createEngine();
  const models = new Map<string, LoadedModel>();
  for (const id of modelIds) {
    const path = join(ROOT, 'build', 'models', `${id}.elns`);
    if (!existsSync(path)) throw new Error(`${path} is missing: run node scripts/prepare-models.mjs --no-seed`);
    models.set(id, engine.load(await parseArtifact(new Uint8Array(readFileSync(path)))));
  }
  const byModel = new Map<string, StageExecution[]>(modelIds.map((id) => [id, []]));
  const now = () => performance.now();
  let th = 0, tw = 0;
  for (const m of models.values()) {
    th = Math.max(th, m.manifest.input.shape[1]!);
    tw = Math.max(tw, m.manifest.input.shape[2]!);
  }
  const { options, decoder } = await decodeOptions([th, tw]);
  log(`  decoding: ${decoder}`);
  for (const [n, file] of files.entries()) {
    const img = await decodeImage(new Uint8Array(readFileSync(join(IMAGES, file))), DEFAULT_IMAGE_LIMITS, options);
    for (const id of modelIds) {
      const m = models.get(id)!;
      const all = Array.from({ length: runs }, () => executeOnImage(m, img, now));
      const first = all[0]!;
      for (const other of all.slice(1)) {
        if (other.outputs.some((o, k) => o.some((v, j) => v !== first.outputs[k]![j]))) throw new Error(`${id} on ${file}: outputs differ between runs`);
      }
      const best = all.reduce((a, b) => (b.preprocessMs + b.inferenceMs < a.preprocessMs + a.inferenceMs ? b : a));
      byModel.get(id)!.push({ manifest: first.manifest, outputs: first.outputs, preprocessMs: best.preprocessMs, inferenceMs: best.inferenceMs });
    }
    if ((n + 1) % 25 === 0) log(`  ${n + 1}/${files.length} images`);
  }
  return { byModel, decoder };
}
