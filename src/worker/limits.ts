import type { Env } from './env';

export interface Limits {
  maxBodyBytes: number;
  maxImagePixels: number;
  cacheBudgetBytes: number;
  maxUploadBytes: number;
}

export const DEFAULT_LIMITS: Limits = {
  maxBodyBytes: 10 * 1024 * 1024,
  maxImagePixels: 24_000_000,
  cacheBudgetBytes: 48 * 1024 * 1024,
  maxUploadBytes: 25 * 1024 * 1024,
};

function positiveInt(v: string | undefined, fallback: number, name: string): number {
  if (v === undefined || v === '') return fallback;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n <= 0) {
    console.warn(`edgelens: ignoring invalid ${name}=${JSON.stringify(v)}, using ${fallback}`);
    return fallback;
  }
  return n;
}

export function readLimits(env: Env): Limits {
  return {
    maxBodyBytes: positiveInt(env.MAX_BODY_BYTES, DEFAULT_LIMITS.maxBodyBytes, 'MAX_BODY_BYTES'),
    maxImagePixels: positiveInt(env.MAX_IMAGE_PIXELS, DEFAULT_LIMITS.maxImagePixels, 'MAX_IMAGE_PIXELS'),
    cacheBudgetBytes: positiveInt(env.CACHE_BUDGET_BYTES, DEFAULT_LIMITS.cacheBudgetBytes, 'CACHE_BUDGET_BYTES'),
    maxUploadBytes: positiveInt(env.MAX_UPLOAD_BYTES, DEFAULT_LIMITS.maxUploadBytes, 'MAX_UPLOAD_BYTES'),
  };
}
