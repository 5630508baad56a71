// Param checks shared by the op tables (ops.ts, ops-int16.ts): conv / pool geometry and combinators.
// Artifacts are untrusted uploads: every product the kernels form in 32-bit arithmetic (and the JS
// size formulas, which use 32-bit bitwise ops) must stay exact, or a crafted op could pass the
// footprint checks with wrapped sizes and then write outside its scratch.

type P = Record<string, number>;

/** Largest single dimension, stride or dilation. */
const MAX_DIM = 1 << 20;
/** Largest K = kH*kW*inC (real models stay below ~2^14). */
const MAX_K = 1 << 24;

/** Names of the geometry params. */
export const CONV_PARAMS = ['inH', 'inW', 'inC', 'outH', 'outW', 'outC', 'kH', 'kW', 'sH', 'sW', 'dH', 'dW', 'padT', 'padL'];

export const geometryCheck = (p: P): string | null => {
  for (const k of ['inH', 'inW', 'inC', 'outH', 'outW', 'outC', 'kH', 'kW', 'sH', 'sW', 'dH', 'dW']) {
    if (!(p[k]! >= 1 && p[k]! <= MAX_DIM)) return `${k}=${p[k]}`;
  }
  if (!(p.kH! * p.kW! * p.inC! <= MAX_K)) return `K = kH*kW*inC = ${p.kH! * p.kW! * p.inC!} > ${MAX_K}`;
  if (!(p.padT! >= 0 && p.padL! >= 0 && p.padT! < (p.kH! - 1) * p.dH! + 1 + p.sH! && p.padL! < (p.kW! - 1) * p.dW! + 1 + p.sW!)) return 'padding';
  return null;
};

/** All checks in order; the first failure's message. */
export const allOf = (...fs: ((p: P) => string | null)[]) => (p: P): string | null => {
  for (const f of fs) { const r = f(p); if (r) return r; }
  return null;
};

/** Names of the pooling params and their shape check (windows are clipped to the input by the kernels). */
export const POOL_PARAMS = ['inH', 'inW', 'c', 'outH', 'outW', 'fH', 'fW', 'sH', 'sW', 'padT', 'padL'];
export const poolGeometryCheck = (p: P): string | null => {
  for (const k of ['inH', 'inW', 'c', 'outH', 'outW', 'fH', 'fW', 'sH', 'sW']) if (!(p[k]! >= 1)) return `${k}=${p[k]}`;
  if (!(p.padT! >= 0 && p.padL! >= 0)) return 'padding';
  return null;
};

/** Element count of flat elementwise ops. */
export const flatN = (p: P): number => p.n!;
