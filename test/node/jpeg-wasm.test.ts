// build/jpeg.wasm (assembly/jpeg) through src/image/wasmjpeg.ts and decodeImage's fast path.
//
// References, none of them produced by the code under test:
// - test/node/fixtures/jpeg/djpeg-sha256.json: SHA-256 of libjpeg-turbo 2.1.5's djpeg RGB
//   output (default islow IDCT + fancy upsampling) at 1/1, 1/2, 1/4, 1/8 for every sample,
//   ImageNet and fixture JPEG (make-fixtures.sh made them and the fixtures: lossless
//   jpegtran transcodes to progressive / restart markers / grayscale / multi-scan, and
//   cjpeg files with many sampling factors).
// - the golden model inputs (Pillow 9.4 + libjpeg-turbo 2.1.5 decode + BILINEAR resize);
// - the jpeg-js path of decodeImage.
// Needs `npm run build` (build/jpeg.wasm).
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import jpegJs from 'jpeg-js';
import { beforeAll, describe, expect, it } from 'vitest';
import { ImageError, decodeImage, probeImage, resizeRGB, DEFAULT_IMAGE_LIMITS } from '../../src/image/index.ts';
import { probeJpeg } from '../../src/image/jpeg.ts';
import {
  JpegUnsupportedError, chooseJpegScale, createJpegDecoder, estimateWasmJpegBytes, planJpegBytes, type JpegDecoder,
} from '../../src/image/wasmjpeg.ts';
import {
  CMYK_ADOBE_JPEG_40x30_B64, DC_ONLY_CASES, GOLDEN, IMAGENET, SAMPLES, concat, diffStats, encodeDcOnlyJpeg, exifApp1,
  fromBase64, insertAfterSoi, readBytes, segment,
} from './fixtures-image.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const FIX = `${ROOT}/test/node/fixtures/jpeg`;
const WASM = `${ROOT}/build/jpeg.wasm`;
const REF = (JSON.parse(readFileSync(`${FIX}/djpeg-sha256.json`, 'utf8')) as { files: Record<string, Record<string, string>> }).files;
const MIB = 1 << 20;

function pathOf(name: string): string {
  const [dir, f] = name.split('/') as [string, string];
  return dir === 'fixtures' ? `${FIX}/${f}` : dir === 'samples' ? `${SAMPLES}/${f}` : `${IMAGENET}/${f}`;
}
const fixture = (f: string): Uint8Array => readBytes(`${FIX}/${f}`);
const hashOf = (img: { width: number; height: number; data: Uint8Array }): string =>
  `${img.width}x${img.height} ${createHash('sha256').update(img.data).digest('hex').slice(0, 24)}`;

/** Files the decoder keeps as coefficients (progressive / several scans): 1/8 is DC-only there. */
function buffered(bytes: Uint8Array): boolean {
  const h = probeJpeg(bytes);
  if (h.sof === 0xc2) return true;
  let sos = 0;
  for (let i = 0; i + 1 < bytes.length; i++) if (bytes[i] === 0xff && bytes[i + 1] === 0xda) sos++;
  return sos > 1;
}

let dec: JpegDecoder;
beforeAll(async () => {
  if (!existsSync(WASM)) throw new Error('build/jpeg.wasm missing: run `npm run build` first');
  dec = await createJpegDecoder(new WebAssembly.Module(readFileSync(WASM)));
});

/** Golden cases: the 17 sample JPEGs and the first 20 ImageNet rows. */
const GOLDEN_JPEGS: [string, string][] = [
  ...Object.keys(REF).filter((n) => n.startsWith('samples/')).map((n) => [n.slice(8), pathOf(n)] as [string, string]),
  ...Object.keys(REF).filter((n) => n.startsWith('imagenet-dev/')).slice(0, 20).map((n) => [n.slice(13), pathOf(n)] as [string, string]),
];

describe('wasm JPEG decoder: bit-exact with libjpeg-turbo 2.1.5', () => {
  it('at 1/1, 1/2 and 1/4 for every sample, ImageNet and fixture JPEG', () => {
    const bad: string[] = [];
    let n = 0;
    for (const [name, ref] of Object.entries(REF)) {
      const bytes = readBytes(pathOf(name));
      for (const d of [1, 2, 4]) {
        const img = dec.decode(bytes, { scale: d, maxMemoryMB: 256 });
        expect(img.scale).toBe(d);
        if (hashOf(img) !== ref[d]) bad.push(`${name} 1/${d}: ${hashOf(img)} != ${ref[d]}`);
        n++;
      }
    }
    expect(bad).toEqual([]);
    expect(n).toBeGreaterThan(400);
  });

  it('at 1/8 for single-scan sequential files; progressive files keep only DC there (same size)', () => {
    const bad: string[] = [];
    for (const [name, ref] of Object.entries(REF)) {
      const bytes = readBytes(pathOf(name));
      const img = dec.decode(bytes, { scale: 8 });
      const [size] = ref['8']!.split(' ');
      expect(`${img.width}x${img.height}`, name).toBe(size);
      if (!buffered(bytes)) {
        if (hashOf(img) !== ref['8']) bad.push(name);
      } else {
        // DC-only chroma (replicated) instead of libjpeg's 2x2 chroma IDCT: close to an
        // 8x8 box average of the full-scale decode, not equal to djpeg
        const full = dec.decode(bytes);
        const box = new Uint8Array(img.data.length);
        for (let y = 0; y < img.height; y++) {
          for (let x = 0; x < img.width; x++) {
            for (let c = 0; c < 3; c++) {
              let sum = 0;
              let n = 0;
              for (let yy = y * 8; yy < Math.min(y * 8 + 8, full.height); yy++) {
                for (let xx = x * 8; xx < Math.min(x * 8 + 8, full.width); xx++, n++) sum += full.data[(yy * full.width + xx) * 3 + c]!;
              }
              box[(y * img.width + x) * 3 + c] = Math.round(sum / n);
            }
          }
        }
        expect(diffStats(img.data, box).mean, name).toBeLessThan(8);
      }
    }
    expect(bad).toEqual([]);
  });

  it('flat-block JPEGs: upsampling + colour conversion match libjpeg-turbo (sharp) digests', () => {
    for (const [name, cfg] of Object.entries(DC_ONLY_CASES)) {
      const img = dec.decode(encodeDcOnlyJpeg(cfg));
      expect(createHash('sha256').update(img.data).digest('hex'), name).toBe(cfg.sha256);
    }
  });

  it('lossless transcodes (progressive, restart markers, multi-scan, grayscale) decode to the same pixels', () => {
    const variants = ['cat_crop_prog.jpg', 'cat_crop_rst2b.jpg', 'cat_crop_prog_rst1b.jpg', 'cat_crop_multiscan.jpg'];
    for (const d of [1, 2, 4]) {
      const base = dec.decode(fixture('cat_crop.jpg'), { scale: d });
      for (const v of variants) expect(hashOf(dec.decode(fixture(v), { scale: d })), `${v} 1/${d}`).toBe(hashOf(base));
    }
    for (const d of [1, 2, 4, 8]) {
      const g = dec.decode(fixture('cat_crop_gray.jpg'), { scale: d });
      expect(hashOf(dec.decode(fixture('cat_crop_grayprog.jpg'), { scale: d }))).toBe(hashOf(g));
      for (let i = 0; i < g.data.length; i += 3) {
        if (g.data[i] !== g.data[i + 1] || g.data[i] !== g.data[i + 2]) throw new Error('grayscale output is not grey');
      }
    }
    // progressive with restart markers inside the refinement scans, 1x2 sampling
    expect(hashOf(dec.decode(fixture('samp_1x2_prog_rst.jpg')))).toBe(REF['fixtures/samp_1x2_prog_rst.jpg']!['1']);
  });
});

describe('wasm JPEG decoder vs the jpeg-js path and the golden model inputs', () => {
  it('matches the golden 224x224 inputs at least as well as the jpeg-js path (full-scale decode)', async () => {
    const stats = { wasm: { eq: 0, max: 0, n: 0, sum: 0 }, jpegjs: { eq: 0, max: 0, n: 0, sum: 0 }, decoded: { eq: 0, max: 0, n: 0, sum: 0 } };
    for (const [name, path] of GOLDEN_JPEGS) {
      const bytes = readBytes(path);
      const golden = readBytes(`${GOLDEN}/wv_quality_mobilenetv2/${name}.input.bin`);
      const a = await decodeImage(bytes, DEFAULT_IMAGE_LIMITS, { jpeg: dec }); // no targetSize: 1/1
      const b = await decodeImage(bytes);
      const da = diffStats(resizeRGB(a.data, a.width, a.height, 224, 224), golden);
      const db = diffStats(resizeRGB(b.data, b.width, b.height, 224, 224), golden);
      // and the decoded pixels themselves: wasm vs jpeg-js (+ our libjpeg colour stage)
      const dd = diffStats(a.data, b.data);
      expect(dd.mean, name).toBeLessThan(0.5);
      for (const [k, d, len] of [['wasm', da, golden.length], ['jpegjs', db, golden.length], ['decoded', dd, a.data.length]] as const) {
        stats[k].eq += d.exact * len;
        stats[k].n += len;
        stats[k].max = Math.max(stats[k].max, d.max);
        stats[k].sum += d.mean * len;
      }
      expect(da.exact, name).toBeGreaterThanOrEqual(db.exact);
      expect(da.max, name).toBeLessThanOrEqual(db.max);
    }
    const fmt = (s: typeof stats.wasm): string => `${(100 * s.eq / s.n).toFixed(2)}% equal, MAD ${(s.sum / s.n).toFixed(4)}, max ${s.max}`;
    console.log(`golden inputs, ${GOLDEN_JPEGS.length} JPEG cases: wasm ${fmt(stats.wasm)}; jpeg-js ${fmt(stats.jpegjs)}; ` +
      `decoded pixels wasm vs jpeg-js: ${fmt(stats.decoded)}`);
    expect(stats.decoded.max).toBeLessThanOrEqual(4); // jpeg-js's IDCT: +-1..3 (measured max 3)
    expect(GOLDEN_JPEGS.length).toBe(37);
    expect(stats.wasm.eq / stats.wasm.n).toBeGreaterThan(0.999); // measured: 100% (all 37 bit-exact)
  }, 60_000);

  it('reduced decodes stay close to the golden inputs after the resize', async () => {
    const rows: string[] = [];
    let sum = 0;
    let n = 0;
    for (const [name, path] of GOLDEN_JPEGS) {
      const bytes = readBytes(path);
      const golden = readBytes(`${GOLDEN}/wv_quality_mobilenetv2/${name}.input.bin`);
      const a = await decodeImage(bytes, DEFAULT_IMAGE_LIMITS, { jpeg: dec, targetSize: [224, 224] });
      const h = probeJpeg(bytes);
      expect(a.width, name).toBeGreaterThanOrEqual(Math.min(224, h.width));
      expect(a.height, name).toBeGreaterThanOrEqual(Math.min(224, h.height));
      const d = diffStats(resizeRGB(a.data, a.width, a.height, 224, 224), golden);
      // a different low-pass (DCT-domain reduction, then Pillow's filter over fewer pixels)
      expect(d.mean, name).toBeLessThan(5);
      if (a.width !== h.width) {
        rows.push(`${name} ${h.width}x${h.height}->${a.width}x${a.height}: MAD ${d.mean.toFixed(2)} max ${d.max} equal ${(100 * d.exact).toFixed(1)}%`);
        sum += d.mean;
        n++;
      }
    }
    console.log(`reduced decode + resize vs golden, ${n} reduced cases, mean MAD ${(sum / n).toFixed(2)}:\n${rows.join('\n')}`);
  });
});

describe('wasm JPEG decoder: scales and sizes', () => {
  it('chooses the largest reduction that keeps the output >= the target', () => {
    expect(chooseJpegScale(1920, 1080, 224, 224)).toBe(4); // 480x270
    expect(chooseJpegScale(1280, 720, 224, 224)).toBe(2); // 640x360 (1/4 would be 180 high)
    expect(chooseJpegScale(4000, 3000, 224, 224)).toBe(8); // 500x375
    expect(chooseJpegScale(500, 375, 224, 224)).toBe(1);
    expect(chooseJpegScale(1792, 1792, 224, 224)).toBe(8);
    expect(chooseJpegScale(1791, 1792, 224, 224)).toBe(8); // ceil(1791/8) = 224
    expect(chooseJpegScale(1784, 1792, 224, 224)).toBe(4); // 223 < 224
    expect(chooseJpegScale(8000, 300, 224, 224)).toBe(1);
    expect(chooseJpegScale(640, 480)).toBe(8); // no target
  });

  it('output sizes are ceil(size / scale) at every scale', () => {
    const bytes = readBytes(`${SAMPLES}/cat_1080p.jpg`);
    for (const d of [1, 2, 4, 8]) {
      const img = dec.decode(bytes, { scale: d });
      expect([img.width, img.height, img.data.length]).toEqual([Math.ceil(1920 / d), Math.ceil(1080 / d), Math.ceil(1920 / d) * Math.ceil(1080 / d) * 3]);
    }
    const img = dec.decode(bytes, { minWidth: 224, minHeight: 224 });
    expect([img.width, img.height, img.scale, img.sourceWidth, img.sourceHeight]).toEqual([480, 270, 4, 1920, 1080]);
  });

  it('decodeImage: targetSize after EXIF orientation, result oriented', async () => {
    const bytes = readBytes(`${SAMPLES}/cat_1080p.jpg`);
    const plain = await decodeImage(bytes, DEFAULT_IMAGE_LIMITS, { jpeg: dec, targetSize: [224, 224] });
    expect([plain.width, plain.height]).toEqual([480, 270]);
    // orientation 6 (rotate 90): the oriented image is 1080 wide, 1920 high. A target of
    // 600 wide x 300 high needs stored height >= 600: only 1/1 (1/2 would be 960x540).
    const rotated = insertAfterSoi(bytes, exifApp1(6, false));
    const r = await decodeImage(rotated, DEFAULT_IMAGE_LIMITS, { jpeg: dec, targetSize: [300, 600] });
    expect([r.width, r.height]).toEqual([1080, 1920]);
    const upright = await decodeImage(bytes, DEFAULT_IMAGE_LIMITS, { jpeg: dec, targetSize: [300, 600] });
    expect([upright.width, upright.height]).toEqual([960, 540]);
    expect(probeImage(rotated, DEFAULT_IMAGE_LIMITS, { jpeg: dec, targetSize: [300, 600] })).toMatchObject({ width: 1080, height: 1920 });
  });
});

// ---- synthetic big images ---------------------------------------------------------

/** jpeg-js baseline encode (4:2:0) of a smooth pattern. */
let bigCache: Uint8Array | undefined;
const big12 = (): Uint8Array => (bigCache ??= bigBaseline(4000, 3000));
function bigBaseline(W: number, H: number): Uint8Array {
  const d = new Uint8Array(W * H * 4);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const i = (y * W + x) * 4;
      d[i] = (x >> 3) & 255;
      d[i + 1] = (y >> 3) & 255;
      d[i + 2] = ((x + y) >> 4) & 255;
      d[i + 3] = 255;
    }
  }
  return new Uint8Array(jpegJs.encode({ data: d, width: W, height: H }, 80).data);
}

/** A valid flat progressive 4:2:0 JPEG of any size (DC scan + one EOB-only AC scan per component). */
function flatProgressive(W: number, H: number): Uint8Array {
  const seg = (m: number, p: number[]): Uint8Array => segment(m, Uint8Array.from(p));
  const comps = [[1, 0x22], [2, 0x11], [3, 0x11]] as const;
  const mcus = Math.ceil(W / 16) * Math.ceil(H / 16);
  const zeros = (bits: number): Uint8Array => {
    const n = Math.ceil(bits / 8);
    const out = new Uint8Array(n);
    if (bits % 8) out[n - 1] = (1 << (8 - (bits % 8))) - 1;
    return out;
  };
  const bc = (c: number): number => Math.ceil(Math.ceil(W * (c === 0 ? 2 : 1) / 2) / 8) * Math.ceil(Math.ceil(H * (c === 0 ? 2 : 1) / 2) / 8);
  return concat(
    Uint8Array.of(0xff, 0xd8),
    seg(0xdb, [0, ...new Array<number>(64).fill(1)]),
    seg(0xc2, [8, H >> 8, H & 255, W >> 8, W & 255, 3, ...comps.flatMap(([id, hv]) => [id, hv, 0])]),
    seg(0xc4, [0x00, 1, ...new Array<number>(15).fill(0), 0x00, 0x10, 1, ...new Array<number>(15).fill(0), 0x00]),
    seg(0xda, [3, 1, 0, 2, 0, 3, 0, 0, 0, 0]),
    zeros(mcus * 6),
    ...[0, 1, 2].flatMap((c) => [seg(0xda, [1, c + 1, 0, 1, 63, 0]), zeros(bc(c))]),
    Uint8Array.of(0xff, 0xd9),
  );
}

describe('wasm JPEG decoder: memory', () => {
  let big: Uint8Array;
  beforeAll(() => {
    big = big12();
  }, 60_000);

  it('12 MP baseline: small peak at the 224x224 scale; decodeImage accepts it with the fast path only', async () => {
    const img = dec.decode(big, { minWidth: 224, minHeight: 224 });
    expect([img.width, img.height, img.scale]).toEqual([500, 375, 8]);
    const h = probeJpeg(big);
    const est = estimateWasmJpegBytes(h, big.length, 8);
    expect(img.peakBytes).toBeLessThanOrEqual(est);
    expect(img.peakBytes).toBeLessThan(big.length + 2 * MIB);
    // full scale: 36 MB output in wasm + its JS copy: over the default 48 MiB, refused before decoding
    let err: unknown;
    try {
      dec.decode(big, { maxMemoryMB: 48 });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ImageError);
    expect((err as ImageError).status).toBe(413);
    expect((err as ImageError).message).toMatch(/^decoding this 4000x3000 JPEG needs ~\d+ MiB, the limit is 48 MiB$/);
    const full = dec.decode(big, { maxMemoryMB: 128 });
    expect(full.peakBytes).toBeLessThanOrEqual(estimateWasmJpegBytes(h, big.length, 1));
    console.log(`12 MP baseline 4:2:0 (${(big.length / MIB).toFixed(2)} MiB input): peak ${(img.peakBytes / MIB).toFixed(2)} MiB at 1/8, ${(full.peakBytes / MIB).toFixed(1)} MiB at 1/1`);
    // through decodeImage: 413 from the header without the decoder (jpeg-js estimate), fine with it
    await expect(decodeImage(big)).rejects.toMatchObject({ status: 413 });
    const d = await decodeImage(big, DEFAULT_IMAGE_LIMITS, { jpeg: dec, targetSize: [224, 224] });
    expect([d.width, d.height]).toEqual([500, 375]);
  }, 60_000);

  it('12 MP progressive: coefficients kept (128 B/block), DC only (2 B/block) at 1/8', () => {
    const prog = flatProgressive(4000, 3000);
    const h = probeJpeg(prog);
    const small = dec.decode(prog, { scale: 8 });
    expect(small.peakBytes).toBeLessThanOrEqual(estimateWasmJpegBytes(h, prog.length, 8));
    expect(small.peakBytes).toBeLessThan(3 * MIB);
    const half = dec.decode(prog, { scale: 2, maxMemoryMB: 64 });
    expect(half.peakBytes).toBeLessThanOrEqual(estimateWasmJpegBytes(h, prog.length, 2));
    expect(half.peakBytes).toBeGreaterThan(281_250 * 128); // the coefficient buffer
    expect(Array.from(half.data.subarray(0, 6))).toEqual([128, 128, 128, 128, 128, 128]);
    console.log(`12 MP progressive 4:2:0: peak ${(small.peakBytes / MIB).toFixed(2)} MiB at 1/8, ${(half.peakBytes / MIB).toFixed(1)} MiB at 1/2`);
  });

  it('the header estimate equals the decoder plan (single-scan baseline and progressive files)', () => {
    for (const name of Object.keys(REF).filter((n) => !n.startsWith('imagenet-dev/'))) {
      const bytes = readBytes(pathOf(name));
      const h = probeJpeg(bytes);
      if (!(h.sof === 0xc2 || !buffered(bytes))) continue;
      for (const d of [1, 2, 4, 8]) {
        const img = dec.decode(bytes, { scale: d });
        const est = estimateWasmJpegBytes(h, bytes.length, d);
        expect(img.peakBytes, `${name} 1/${d}`).toBeLessThanOrEqual(est);
        expect(est - img.peakBytes, `${name} 1/${d}`).toBeLessThan(1024); // 16-byte rounding only
        expect(planJpegBytes(h, d)).toBeGreaterThan(0);
      }
    }
  });

  it('drops an instance whose memory grew past retainBytes, and recreates it on demand', async () => {
    const d2 = await createJpegDecoder(new WebAssembly.Module(readFileSync(WASM)), { retainBytes: 8 * MIB });
    d2.decode(readBytes(`${SAMPLES}/cat.jpg`));
    expect(d2.memoryBytes).toBeGreaterThan(0);
    expect(d2.memoryBytes).toBeLessThan(8 * MIB);
    d2.decode(big, { scale: 2, maxMemoryMB: 64 });
    expect(d2.memoryBytes).toBe(0);
    const again = d2.decode(readBytes(`${SAMPLES}/cat.jpg`));
    expect(hashOf(again)).toBe(REF['samples/cat.jpg']!['1']);
  });
});

describe('wasm JPEG decoder: unsupported and corrupt input', () => {
  function errorOf(fn: () => unknown): ImageError {
    try {
      fn();
    } catch (e) {
      if (e instanceof ImageError) return e;
      throw e;
    }
    throw new Error('expected an ImageError');
  }

  it('reports unsupported files (CMYK, arithmetic) so that decodeImage falls back to jpeg-js', async () => {
    const cmyk = fromBase64(CMYK_ADOBE_JPEG_40x30_B64);
    expect(errorOf(() => dec.decode(cmyk))).toBeInstanceOf(JpegUnsupportedError);
    const viaJs = await decodeImage(cmyk);
    const viaFast = await decodeImage(cmyk, DEFAULT_IMAGE_LIMITS, { jpeg: dec, targetSize: [8, 8] });
    expect(viaFast.data).toEqual(viaJs.data);
    const arith = fixture('arithmetic.jpg');
    expect(errorOf(() => dec.decode(arith))).toBeInstanceOf(JpegUnsupportedError);
    await expect(decodeImage(arith, DEFAULT_IMAGE_LIMITS, { jpeg: dec })).rejects.toMatchObject({ status: 422 });
  });

  it('clean errors for truncated data, missing tables, bad headers, too many scans', async () => {
    const good = fixture('cat_crop.jpg');
    expect(errorOf(() => dec.decode(good.subarray(0, good.length - 200))).status).toBe(422);
    expect(errorOf(() => dec.decode(good.subarray(0, good.length - 2))).message).toMatch(/truncated/); // no EOI
    expect(errorOf(() => dec.decode(new Uint8Array([0xff, 0xd8, 0xff, 0xd9]))).status).toBe(422);
    expect(errorOf(() => dec.decode(new Uint8Array(0))).status).toBe(422);
    const prog = fixture('cat_crop_prog.jpg');
    const e = errorOf(() => dec.decode(prog, { maxScans: 5 }));
    expect([e.status, e.message]).toEqual([413, 'JPEG has more than 5 scans (limit maxProgressiveScans)']);
    // a Huffman table with an over-subscribed code: 3 codes of length 1 (same total count)
    const bad = good.slice();
    let dht = 2;
    while (!(bad[dht] === 0xff && bad[dht + 1] === 0xc4)) dht++;
    expect(bad[dht + 5]).toBe(0); // the first table's count of 1-bit codes
    bad[dht + 5] = 3;
    bad[dht + 7] = bad[dht + 7]! - 3;
    expect(errorOf(() => dec.decode(bad)).message).toMatch(/Huffman table/);
    // a 12 MP image cut after a few KB (EOI appended): 422 at the first MCU row that runs
    // out of data, not after zero-decoding 12 MP
    const cut = concat(big12().subarray(0, 4000), Uint8Array.of(0xff, 0xd9));
    const t0 = performance.now();
    expect(errorOf(() => dec.decode(cut, { scale: 1, maxMemoryMB: 128 })).message).toMatch(/truncated/);
    expect(performance.now() - t0).toBeLessThan(1000);
  });

  it('seeded fuzz: bit flips, byte noise, truncations and splices only ever give a result or an ImageError', async () => {
    const bases = [
      fixture('cat_crop.jpg'), fixture('cat_crop_prog.jpg'), fixture('cat_crop_prog_rst1b.jpg'), fixture('cat_crop_rst2b.jpg'),
      fixture('cat_crop_multiscan.jpg'), fixture('samp_2x1_prog.jpg'), fixture('samp_3x2.jpg'), fixture('cat_crop_grayprog.jpg'),
      readBytes(`${SAMPLES}/tflm_person.jpg`),
    ];
    let seed = 0x5eed1234;
    const rand = (n: number): number => {
      seed = (Math.imul(seed ^ (seed >>> 15), 0x2c1b3c6d) + 0x9e3779b9) >>> 0;
      seed ^= seed >>> 13;
      return (seed >>> 0) % n;
    };
    const CASES = 1500;
    const outcome: Record<string, number> = {};
    let slowest = 0;
    for (let i = 0; i < CASES; i++) {
      const base = bases[i % bases.length]!;
      const b = base.slice();
      const kind = rand(5);
      if (kind === 0) {
        for (let k = 1 + rand(8); k > 0; k--) { const p = 2 + rand(b.length - 2); b[p]! ^= 1 << rand(8); }
      } else if (kind === 1) {
        // header region: tables, SOF, SOS
        for (let k = 1 + rand(4); k > 0; k--) b[2 + rand(Math.min(700, b.length - 2))] = rand(256);
      } else if (kind === 2) {
        const cut = 2 + rand(b.length - 2);
        b.fill(0, cut);
        b[cut] = 0xff;
        if (cut + 1 < b.length) b[cut + 1] = 0xd9;
      } else if (kind === 3) {
        const a = rand(b.length);
        const len = rand(200);
        b.copyWithin(2 + rand(b.length - 2), a, a + len);
      } else {
        for (let k = 1 + rand(30); k > 0; k--) b[2 + rand(b.length - 2)] = rand(2) ? 0xff : rand(256);
      }
      const bytes = kind === 2 && rand(2) ? b.subarray(0, 2 + rand(b.length - 2)) : b;
      const t0 = performance.now();
      let key: string;
      try {
        const img = dec.decode(bytes, { scale: [1, 2, 4, 8][rand(4)]!, maxMemoryMB: 64 });
        expect(img.data.length).toBe(img.width * img.height * 3);
        key = 'ok';
      } catch (e) {
        if (!(e instanceof ImageError)) throw new Error(`case ${i}: ${String(e)}`);
        key = `${e.status}`;
      }
      slowest = Math.max(slowest, performance.now() - t0);
      outcome[key] = (outcome[key] ?? 0) + 1;
      if (i % 100 === 0) {
        // the (reused) instance is still healthy
        expect(hashOf(dec.decode(bases[0]!))).toBe(REF['fixtures/cat_crop.jpg']!['1']);
      }
    }
    console.log(`jpeg fuzz: ${CASES} cases ${JSON.stringify(outcome)}, slowest ${slowest.toFixed(1)} ms`);
    expect(slowest).toBeLessThan(5000);
    expect(outcome.ok).toBeGreaterThan(0);
    expect(outcome['422']).toBeGreaterThan(0);
    // and through decodeImage with the fast path: only ImageErrors
    for (let i = 0; i < 200; i++) {
      const b = bases[i % bases.length]!.slice();
      for (let k = 1 + rand(6); k > 0; k--) b[2 + rand(b.length - 2)] ^= 1 << rand(8);
      try {
        await decodeImage(b, DEFAULT_IMAGE_LIMITS, { jpeg: dec, targetSize: [32, 32] });
      } catch (e) {
        if (!(e instanceof ImageError)) throw new Error(`decodeImage case ${i}: ${String(e)}`);
      }
    }
  }, 120_000);
});

describe('wasm JPEG decoder: speed (logged)', () => {
  it('decodes faster than jpeg-js', () => {
    const time = (fn: () => unknown, n: number): number => {
      let best = Infinity;
      for (let i = 0; i < n; i++) {
        const t0 = performance.now();
        fn();
        best = Math.min(best, performance.now() - t0);
      }
      return best;
    };
    const lines: string[] = [];
    for (const f of ['cat_720p.jpg', 'cat_1080p.jpg']) {
      const bytes = readBytes(`${SAMPLES}/${f}`);
      const full = time(() => dec.decode(bytes), 10);
      const scaled = time(() => dec.decode(bytes, { minWidth: 224, minHeight: 224 }), 10);
      const js = time(() => jpegJs.decode(bytes, { useTArray: true, formatAsRGBA: false }), 3);
      lines.push(`${f}: wasm 1/1 ${full.toFixed(1)} ms, for 224x224 (1/${dec.decode(bytes, { minWidth: 224, minHeight: 224 }).scale}) ${scaled.toFixed(1)} ms, jpeg-js ${js.toFixed(1)} ms`);
      expect(full).toBeLessThan(js);
    }
    console.log(lines.join('\n'));
  }, 60_000);
});

describe('wasm JPEG decoder: IDCT kernels', () => {
  it('SIMD islow / 4x4 / 2x2 equal the scalar jidctint.c / jidctred.c arithmetic on realistic blocks', () => {
    const inst = new WebAssembly.Instance(new WebAssembly.Module(readFileSync(WASM)), { env: { abort: () => { throw new Error('abort'); } } });
    type K = (blk: number, q: number, out: number, pitch: number) => void;
    const ex = inst.exports as unknown as Record<'idct8' | 'idct4' | 'idct2' | 'idct8Scalar' | 'idct4Scalar' | 'idct2Scalar', K> &
      { memory: WebAssembly.Memory; heapBase(): number; parseHeader(p: number, n: number): number };
    ex.parseHeader(0, 0); // initialises the range-limit table
    const base = ex.heapBase();
    if (ex.memory.buffer.byteLength < base + 4096) ex.memory.grow(1);
    const blk = base, q = base + 256, o1 = base + 1024, o2 = base + 2048;
    const mem = (): ArrayBuffer => ex.memory.buffer;
    let seed = 12345;
    const rnd = (): number => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
    // forward DCT of pixel blocks (noise, hard edges, waves), quantised with random tables
    const cos = (x: number, u: number): number => Math.cos(((2 * x + 1) * u * Math.PI) / 16);
    let checked = 0;
    for (let t = 0; t < 3000; t++) {
      const px = new Float64Array(64);
      const kind = t % 3;
      for (let y = 0; y < 8; y++) {
        for (let x = 0; x < 8; x++) {
          px[y * 8 + x] = kind === 0 ? rnd() * 255 : kind === 1 ? (x + y < 8 ? 0 : 255) : 128 + 100 * Math.sin(x * rnd() + y);
        }
      }
      const qt = new Int32Array(64);
      const qs = 1 + Math.floor(rnd() * 40);
      for (let i = 0; i < 64; i++) qt[i] = Math.max(1, Math.floor(qs * (1 + i / 16) * (0.5 + rnd())));
      const coef = new Int16Array(64);
      for (let v = 0; v < 8; v++) {
        for (let u = 0; u < 8; u++) {
          let sum = 0;
          for (let y = 0; y < 8; y++) for (let x = 0; x < 8; x++) sum += (px[y * 8 + x]! - 128) * cos(x, u) * cos(y, v);
          const c = ((u === 0 ? Math.SQRT1_2 : 1) * (v === 0 ? Math.SQRT1_2 : 1) * sum) / 4;
          coef[v * 8 + u] = Math.round(c / qt[v * 8 + u]!);
        }
      }
      if (t % 7 === 0) coef.fill(0, 1); // DC-only blocks (fast path)
      new Int16Array(mem(), blk, 64).set(coef);
      new Int32Array(mem(), q, 64).set(qt);
      for (const [simd, scalar, n] of [['idct8', 'idct8Scalar', 8], ['idct4', 'idct4Scalar', 4], ['idct2', 'idct2Scalar', 2]] as const) {
        ex[simd](blk, q, o1, 16);
        ex[scalar](blk, q, o2, 16);
        for (let r = 0; r < n; r++) {
          const a = new Uint8Array(mem(), o1 + r * 16, n);
          const b = new Uint8Array(mem(), o2 + r * 16, n);
          if (a.some((v, i) => v !== b[i])) throw new Error(`${simd} differs from ${scalar} (case ${t}, row ${r}): ${a} vs ${b}`);
        }
        checked++;
      }
    }
    expect(checked).toBe(9000);
  });
});
