// build/jpeg.wasm inside workerd: instantiated from the imported WebAssembly.Module (the
// CompiledWasm rule of wrangler.toml; compiling wasm bytes at run time is forbidden in
// Workers), bit-exact with libjpeg-turbo (djpeg digests made by
// test/node/fixtures/jpeg/make-fixtures.sh), and the Worker's fast path end to end.
import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test';
import { env, exports } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import jpegWasm from '../../build/jpeg.wasm';
import { DEFAULT_IMAGE_LIMITS, ImageError, decodeImage } from '../../src/image';
import { createJpegDecoder, type JpegDecoder } from '../../src/image/wasmjpeg';
import { createApp, type AppDeps } from '../../src/worker/app';
import type { Env } from '../../src/worker/env';
import { getJpegDecoder, runtimeDeps } from '../../src/worker/runtime';
import djpeg from '../node/fixtures/jpeg/djpeg-sha256.json';
import { ADMIN_TOKEN, BASE, adminHeaders, fixture } from './helpers';

const REF = (djpeg as { files: Record<string, Record<string, string>> }).files;
const worker = exports.default as unknown as { fetch(req: Request): Promise<Response> };

async function digest(img: { width: number; height: number; data: Uint8Array }): Promise<string> {
  const d = new Uint8Array(await crypto.subtle.digest('SHA-256', img.data));
  return `${img.width}x${img.height} ${Array.from(d.subarray(0, 12), (b) => b.toString(16).padStart(2, '0')).join('')}`;
}

/** A valid flat (mid-grey) baseline 4:2:0 JPEG of any size: DC-only blocks, 1-bit codes. */
function flatJpeg420(W: number, H: number): Uint8Array {
  const seg = (m: number, p: number[]): number[] => [0xff, m, (p.length + 2) >> 8, (p.length + 2) & 255, ...p];
  const bits = Math.ceil(W / 16) * Math.ceil(H / 16) * 6 * 2; // per block: DC "0" + EOB "0"
  const data = new Uint8Array(Math.ceil(bits / 8));
  if (bits % 8) data[data.length - 1] = (1 << (8 - (bits % 8))) - 1;
  const head = [
    0xff, 0xd8,
    ...seg(0xdb, [0, ...new Array<number>(64).fill(1)]),
    ...seg(0xc0, [8, H >> 8, H & 255, W >> 8, W & 255, 3, 1, 0x22, 0, 2, 0x11, 0, 3, 0x11, 0]),
    ...seg(0xc4, [0x00, 1, ...new Array<number>(15).fill(0), 0x00, 0x10, 1, ...new Array<number>(15).fill(0), 0x00]),
    ...seg(0xda, [3, 1, 0, 2, 0, 3, 0, 0, 63, 0]),
  ];
  const out = new Uint8Array(head.length + data.length + 2);
  out.set(head);
  out.set(data, head.length);
  out.set([0xff, 0xd9], head.length + data.length);
  return out;
}

let dec: JpegDecoder;
let cat1080: Uint8Array;
beforeAll(async () => {
  dec = await createJpegDecoder(jpegWasm);
  cat1080 = await fixture('images/samples/cat_1080p.jpg');
});

describe('wasm JPEG decoder in workerd', () => {
  it('decodes a sample bit-exactly (libjpeg-turbo 2.1.5) at 1/1 and at the 224x224 scale', async () => {
    const full = dec.decode(cat1080);
    expect(await digest(full)).toBe(REF['samples/cat_1080p.jpg']!['1']);
    const small = dec.decode(cat1080, { minWidth: 224, minHeight: 224 });
    expect([small.width, small.height, small.scale]).toEqual([480, 270, 4]);
    expect(await digest(small)).toBe(REF['samples/cat_1080p.jpg']!['4']);
    for (const name of ['grace_hopper.jpg', 'kite_and_cold.jpg', 'tflm_person.jpg']) {
      const img = dec.decode(await fixture(`images/samples/${name}`));
      expect(await digest(img), name).toBe(REF[`samples/${name}`]!['1']);
    }
  });

  it('re-instantiates synchronously from the module after dropping a grown instance', async () => {
    const d = await createJpegDecoder(jpegWasm, { retainBytes: 1 }); // drop after every decode
    for (let i = 0; i < 3; i++) {
      expect(await digest(d.decode(cat1080, { scale: 8 }))).toBe(REF['samples/cat_1080p.jpg']!['8']);
      expect(d.memoryBytes).toBe(0);
    }
  });

  it('clean ImageErrors for corrupt data, and the instance keeps working', () => {
    const bad = cat1080.slice();
    for (let i = 1000; i < bad.length; i += 997) bad[i] ^= 0x5a;
    let err: unknown;
    try {
      dec.decode(bad);
    } catch (e) {
      err = e;
    }
    expect(err === undefined || (err instanceof ImageError && err.status === 422)).toBe(true);
    expect(dec.decode(cat1080, { scale: 2 }).width).toBe(960);
  });

  it('decodeImage fast path: 12 MP accepted at 1/8, 413 without the decoder', async () => {
    const big = flatJpeg420(4000, 3000);
    const img = await decodeImage(big, DEFAULT_IMAGE_LIMITS, { jpeg: dec, targetSize: [224, 224] });
    expect([img.width, img.height, img.scale, img.sourceWidth, img.sourceHeight]).toEqual([500, 375, 8, 4000, 3000]);
    expect(Array.from(img.data.subarray(0, 3))).toEqual([128, 128, 128]);
    await expect(decodeImage(big)).rejects.toMatchObject({ status: 413 });
  });
});

describe('the Worker with the JPEG fast path', () => {
  beforeAll(async () => {
    const res = await worker.fetch(new Request(`${BASE}/v1/models/mobilenet_v2`, {
      method: 'PUT', headers: { ...adminHeaders(ADMIN_TOKEN), 'content-type': 'application/octet-stream' },
      body: await fixture('models/mobilenet_v2.elns'),
    }));
    expect([200, 201]).toContain(res.status);
  });

  it('one decoder per isolate', async () => {
    expect(await getJpegDecoder()).toBe(await getJpegDecoder());
  });

  it('classifies a 12 MP JPEG (was 413 with jpeg-js) and reports its real size', async () => {
    const big = flatJpeg420(4000, 3000);
    const res = await worker.fetch(new Request(`${BASE}/v1/classify?top=1`, { method: 'POST', headers: { 'content-type': 'image/jpeg' }, body: big }));
    expect(res.status).toBe(200);
    const body = (await res.json()) as { image: { width: number; height: number }; predictions: unknown[] };
    expect(body.image).toMatchObject({ width: 4000, height: 3000 });
    expect(body.predictions).toHaveLength(1);
    // the same app without the decoder refuses it from the header
    const deps: AppDeps = { ...runtimeDeps, jpeg: undefined };
    const ctx = createExecutionContext();
    const res2 = await createApp(deps).fetch(new Request(`${BASE}/v1/classify`, { method: 'POST', headers: { 'content-type': 'image/jpeg' }, body: big }), env as unknown as Env, ctx);
    await waitOnExecutionContext(ctx);
    expect(res2.status).toBe(413);
  });

  it('cat_1080p.jpg: same top-1 as with the full-size jpeg-js decode', async () => {
    const post = async (deps: AppDeps): Promise<{ predictions: { index: number }[]; image: { width: number } }> => {
      const ctx = createExecutionContext();
      const res = await createApp(deps).fetch(new Request(`${BASE}/v1/classify?top=1`, { method: 'POST', headers: { 'content-type': 'image/jpeg' }, body: cat1080 }), env as unknown as Env, ctx);
      await waitOnExecutionContext(ctx);
      expect(res.status).toBe(200);
      return res.json();
    };
    const fast = await post(runtimeDeps);
    const slow = await post({ ...runtimeDeps, jpeg: undefined });
    expect(fast.image.width).toBe(1920);
    expect(fast.predictions[0]!.index).toBe(slow.predictions[0]!.index);
  });
});
