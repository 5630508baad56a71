// Small pure pieces of the worker: scores, auth, body reading, timings.
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { bearerToken, secretsEqual } from '../../src/worker/auth';
import { classifyUploadType, mediaType, readBodyLimited } from '../../src/worker/body';
import { HttpError } from '../../src/worker/errors';
import { readLimits } from '../../src/worker/limits';
import { dequantize, scoresOf, softmax, topK } from '../../src/worker/scores';
import { Timings } from '../../src/worker/timing';
import { byteStream } from './helpers';

describe('scores', () => {
  it('dequantizes scale * (q - zp)', () => {
    expect(Array.from(dequantize(Uint8Array.of(0, 128, 255), { dtype: 'uint8', scale: 0.5, zeroPoint: 128 }))).toEqual([-64, 0, 63.5]);
    expect(Array.from(dequantize(Int8Array.of(-128, 0, 127), { dtype: 'int8', scale: 1 / 256, zeroPoint: -128 }))).toEqual([0, 0.5, 255 / 256]);
    expect(Array.from(dequantize(Float32Array.of(0.25, -1), { dtype: 'float32', scale: 0, zeroPoint: 0 }))).toEqual([0.25, -1]);
  });

  it('applies softmax to logits only', () => {
    const logits = scoresOf(Uint8Array.of(119 - 88, 119 + 112), { name: 'o', shape: [1, 2], dtype: 'uint8', scale: 0.01858, zeroPoint: 119, kind: 'logits' });
    expect(logits[0]! + logits[1]!).toBeCloseTo(1, 12);
    expect(logits[1]!).toBeGreaterThan(0.97);
    const probs = scoresOf(Uint8Array.of(43, 213), { name: 'o', shape: [1, 2], dtype: 'uint8', scale: 1 / 256, zeroPoint: 0, kind: 'softmax' });
    expect(Array.from(probs)).toEqual([43 / 256, 213 / 256]);
    const s = softmax(Float64Array.of(1000, 1000));
    expect(Array.from(s)).toEqual([0.5, 0.5]);
  });

  it('top-k: highest first, ties to the lower index', () => {
    const s = Float64Array.of(0.1, 0.3, 0.3, 0.05, 0.25);
    expect(topK(s, 3)).toEqual([{ index: 1, score: 0.3 }, { index: 2, score: 0.3 }, { index: 4, score: 0.25 }]);
    expect(topK(s, 99)).toHaveLength(5);
  });
});

describe('auth', () => {
  it('compares secrets by their SHA-256', async () => {
    expect(await secretsEqual('abc', 'abc')).toBe(true);
    expect(await secretsEqual('abc', 'abd')).toBe(false);
    expect(await secretsEqual('', 'abc')).toBe(false);
    expect(await secretsEqual('abc', 'abcabc')).toBe(false);
  });
  it('parses Bearer tokens', () => {
    expect(bearerToken('Bearer t0k')).toBe('t0k');
    expect(bearerToken('bearer   t0k  ')).toBe('t0k');
    expect(bearerToken('Basic xyz')).toBe('');
    expect(bearerToken(undefined)).toBe('');
    expect(bearerToken('Bearer a b')).toBe('');
  });
});

describe('body', () => {
  it('media types', () => {
    expect(mediaType('Image/JPEG; charset=x')).toBe('image/jpeg');
    expect(classifyUploadType('multipart/form-data; boundary=x')).toBe('multipart');
    expect(classifyUploadType('image/png')).toBe('raw');
    expect(classifyUploadType(null)).toBe('raw');
    expect(() => classifyUploadType('application/json')).toThrow(HttpError);
  });

  it('reads up to the limit, refuses more (stream without Content-Length)', async () => {
    const ok = await readBodyLimited(new Request('http://x/', { method: 'POST', body: byteStream(5000, 1000) }), 5000);
    expect(ok.byteLength).toBe(5000);
    await expect(readBodyLimited(new Request('http://x/', { method: 'POST', body: byteStream(5001, 1000) }), 5000)).rejects.toMatchObject({ status: 413 });
    await expect(readBodyLimited(new Request('http://x/', { method: 'POST', body: new Uint8Array(10) }), 9)).rejects.toMatchObject({ status: 413 });
    expect((await readBodyLimited(new Request('http://x/', { method: 'POST' }), 9)).byteLength).toBe(0);
  });
});

describe('limits and timings', () => {
  it('parses [vars] with fallbacks', () => {
    const l = readLimits({ MODELS: undefined as unknown as KVNamespace, MAX_BODY_BYTES: '123', MAX_IMAGE_PIXELS: 'x', CACHE_BUDGET_BYTES: '-1' });
    expect(l.maxBodyBytes).toBe(123);
    expect(l.maxImagePixels).toBe(24_000_000);
    expect(l.cacheBudgetBytes).toBe(48 * 1024 * 1024);
  });
  it('formats Server-Timing', () => {
    const t = new Timings();
    t.set('read', 1.234);
    t.set('total', 10);
    expect(t.serverTiming()).toBe('read;dur=1.2, decode;dur=0, preprocess;dur=0, model;dur=0, inference;dur=0, total;dur=10');
    expect(t.toJSON()).toMatchObject({ read: 1.23, total: 10 });
  });
});

describe('FIXTURES service (vitest.config.ts)', () => {
  it('serves read-only files and rejects path traversal', async () => {
    const ok = await env.FIXTURES.fetch('http://fixtures/images/samples/cat.jpg');
    expect(ok.status).toBe(200);
    expect(new Uint8Array(await ok.arrayBuffer()).subarray(0, 2)).toEqual(Uint8Array.of(0xff, 0xd8));
    for (const p of ['images/..%2f..%2fmain%2fpackage.json', 'golden/..%5c..%5cx', 'images/samples%2f..%2f..%2f..%2fetc%2fpasswd', 'images/%2e%2e%2f%2e%2e%2fmodels%2fSOURCES.md']) {
      expect((await env.FIXTURES.fetch(`http://fixtures/${p}`)).status).toBe(403);
    }
    // the URL parser folds %2e%2e segments itself: this lands in another root, not outside
    expect((await env.FIXTURES.fetch('http://fixtures/images/%2e%2e/models/SOURCES.md')).status).toBe(404);
    expect((await env.FIXTURES.fetch('http://fixtures/etc/passwd')).status).toBe(404);
    expect((await env.FIXTURES.fetch('http://fixtures/images/samples/nope.jpg')).status).toBe(404);
    expect((await env.FIXTURES.fetch('http://fixtures/images/samples')).status).toBe(404);
    expect((await env.FIXTURES.fetch('http://fixtures/images/samples/cat.jpg', { method: 'PUT', body: 'x' })).status).toBe(405);
  });
});
