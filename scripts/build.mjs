// npm run build: the engine's wasm (AssemblyScript, SIMD128) and the Node CLI bundle.
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bin = (name) => join(root, 'node_modules', '.bin', name);
mkdirSync(join(root, 'build'), { recursive: true });
mkdirSync(join(root, 'dist'), { recursive: true });

const only = process.argv[2];
if (!only || only === 'wasm') {
  execFileSync(bin('asc'), [
    'assembly/index.ts', '-o', 'build/edgelens.wasm', '-t', 'build/edgelens.wat',
    '--enable', 'simd', '-O3', '--runtime', 'stub', '--noAssert', '--initialMemory', '16',
    '--converge',
  ], { cwd: root, stdio: 'inherit' });
}
// The JPEG decoder (assembly/jpeg, src/image/wasmjpeg.ts): its own small module.
if (!only || only === 'wasm' || only === 'jpeg') {
  execFileSync(bin('asc'), [
    'assembly/jpeg/index.ts', '-o', 'build/jpeg.wasm', '--enable', 'simd', '-O3', '--runtime', 'stub',
    '--noAssert', '--initialMemory', '1', '--converge',
  ], { cwd: root, stdio: 'inherit' });
}
if (!only || only === 'cli') {
  const entries = [['compiler/cli.ts', 'dist/cli.mjs'], ['bench/bench.ts', 'dist/bench.mjs'], ['bench/workerd.ts', 'dist/bench-workerd.mjs'], ['bench/variants.ts', 'dist/bench-variants.mjs']];
  for (const [src, out] of entries) {
    execFileSync(bin('esbuild'), [src, '--bundle', '--platform=node', '--format=esm', '--target=node20',
      `--outfile=${out}`, '--loader:.wasm=binary', '--external:@tensorflow/*', '--external:miniflare', '--external:esbuild',
      '--banner:js=import { createRequire as __cr } from "node:module"; const require = __cr(import.meta.url);'],
      { cwd: root, stdio: 'inherit' });
  }
}
