// Runs once in Node before the workers project: compiles every golden model to
// build/golden/<model>.elns so the workerd golden test can fetch the artifacts
// through the FIXTURES binding (workerd cannot read the filesystem).
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { compileTflite, CompileError } from '../../compiler/compile.ts';
import { goldenDirs } from '../../compiler/golden.ts';

const ROOT = resolve(import.meta.dirname, '..', '..');

export default async function setup(): Promise<void> {
  const golden = process.env.EDGELENS_SHARED_DIR ? join(resolve(process.env.EDGELENS_SHARED_DIR), 'golden') : resolve(ROOT, '..', 'shared', 'golden');
  if (!existsSync(golden)) return;
  const out = join(ROOT, 'build', 'golden');
  mkdirSync(out, { recursive: true });
  for (const name of goldenDirs(golden)) {
    const gm = JSON.parse(readFileSync(join(golden, name, 'manifest.json'), 'utf8'));
    const src = resolve(golden, '..', gm.model.file);
    const dst = join(out, `${name}.elns`);
    try {
      writeFileSync(dst, (await compileTflite(new Uint8Array(readFileSync(src)), { name })).artifact);
    } catch (e) {
      if (!(e instanceof CompileError)) throw e;
      writeFileSync(join(out, `${name}.unsupported`), e.message);
    }
  }
}
