// Node helpers shared by the CLI, benchmarks and tests: the engine from the
// built wasm file, and "model file -> loaded model" for .tflite or artifacts.

import { readFileSync, existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Engine, type LoadedModel } from '../src/engine/engine.ts';
import { parseArtifact, type ParsedArtifact } from '../src/model/artifact.ts';
import { compileTflite, type CompileOptions } from './compile.ts';

/** repository root, whether running from compiler/*.ts or dist/*.mjs */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    dir = dirname(dir);
  }
  return process.cwd();
}

export function wasmPath(): string {
  return join(repoRoot(), 'build', 'edgelens.wasm');
}

export async function createNodeEngine(): Promise<Engine> {
  const p = wasmPath();
  if (!existsSync(p)) throw new Error(`${p} is missing: run \`npm run build\` first`);
  const module = await WebAssembly.compile(readFileSync(p));
  return Engine.create(module);
}

export function isArtifact(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && String.fromCharCode(bytes[0]!, bytes[1]!, bytes[2]!, bytes[3]!) === 'ELNS';
}

/** Read a .tflite (compiling it) or an artifact. */
export async function loadModelFile(path: string, opts: CompileOptions = {}): Promise<{ parsed: ParsedArtifact; artifact: Uint8Array; compileMs: number }> {
  const bytes = new Uint8Array(readFileSync(resolve(path)));
  const t0 = performance.now();
  if (isArtifact(bytes)) {
    return { parsed: await parseArtifact(bytes), artifact: bytes, compileMs: 0 };
  }
  const { artifact } = await compileTflite(bytes, { sourceFile: path.split('/').pop(), ...opts });
  const compileMs = performance.now() - t0;
  return { parsed: await parseArtifact(artifact), artifact, compileMs };
}

export type { LoadedModel };
