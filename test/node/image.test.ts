// src/image: sniff/probe, JPEG (jpeg-js + libjpeg-compatible colour stage), PNG,
// EXIF orientation, Pillow-compatible resize, quantization. Node environment.

import { describe, expect, it } from 'vitest';
import {
  DEFAULT_IMAGE_LIMITS,
  ImageError,
  decodeImage,
  probeImage,
  quantizeInput,
  resizeRGB,
  type ImageLimits,
} from '../../src/image/index.ts';
import {
  CMYK_ADOBE_JPEG_40x30_B64,
  DC_ONLY_CASES,
  encodeDcOnlyJpeg,
  sha256Hex,
  GOLDEN,
  IMAGENET,
  PNG_SIG,
  PROGRESSIVE_JPEG_64x48_B64,
  PROGRESSIVE_JPEG_64x48_THUMB_8x6,
  SAMPLES,
  concat,
  diffStats,
  exifApp1,
  fixChunkCrc,
  forgeSof,
  fromBase64,
  ihdr,
  insertAfterSoi,
  jpegSegments,
  makePng,
  orientedSource,
  pngChunk,
  pngChunks,
  readBytes,
  removeSegments,
  sample,
  segment,
  zlibDeflate,
} from './fixtures-image.ts';

const SAMPLE_SIZES: Record<string, [number, number]> = {
  'bird.jpg': [512, 343],
  'cat.jpg': [512, 341],
  'cat.png': [512, 341],
  'cat_1080p.jpg': [1920, 1080],
  'cat_720p.jpg': [1280, 720],
  'dragonfly.jpg': [512, 418],
  'face.jpg': [512, 355],
  'grace_hopper.jpg': [512, 600],
  'grace_hopper.png': [512, 600],
  'hot_dog.jpg': [512, 384],
  'kite_and_cold.jpg': [1352, 900],
  'missvickie_potato_chips.jpg': [500, 500],
  'owl.jpg': [512, 384],
  'parrot.jpg': [512, 929],
  'pets.jpg': [512, 430],
  'squat.jpg': [500, 610],
  'sunflower.jpg': [512, 340],
  'tflm_no_person.jpg': [96, 96],
  'tflm_person.jpg': [96, 96],
};

/** The golden ImageNet cases: first 20 rows of labels.csv. */
const IMAGENET_CASES = [
  'n01491361_tiger_shark.JPEG',
  'n01534433_junco.JPEG',
  'n01616318_vulture.JPEG',
  'n01664065_loggerhead.JPEG',
  'n01688243_frilled_lizard.JPEG',
  'n01728920_ringneck_snake.JPEG',
  'n01748264_Indian_cobra.JPEG',
  'n01773549_barn_spider.JPEG',
  'n01798484_prairie_chicken.JPEG',
  'n01829413_hornbill.JPEG',
  'n01873310_platypus.JPEG',
  'n01944390_snail.JPEG',
  'n01984695_spiny_lobster.JPEG',
  'n02011460_bittern.JPEG',
  'n02037110_oystercatcher.JPEG',
  'n02085936_Maltese_dog.JPEG',
  'n02088466_bloodhound.JPEG',
  'n02091244_Ibizan_hound.JPEG',
  'n02093859_Kerry_blue_terrier.JPEG',
  'n02096294_Australian_terrier.JPEG',
];

const golden224 = (caseName: string): Uint8Array =>
  readBytes(`${GOLDEN}/wv_quality_mobilenetv2/${caseName}.input.bin`);

function expectImageError(fn: () => unknown, status: number, code?: string): void {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err, 'expected an ImageError').toBeInstanceOf(ImageError);
  expect((err as ImageError).status).toBe(status);
  if (code) expect((err as ImageError).code).toBe(code);
}

async function expectRejects(p: Promise<unknown>, status: number): Promise<ImageError> {
  let err: unknown;
  try {
    await p;
  } catch (e) {
    err = e;
  }
  expect(err, 'expected an ImageError').toBeInstanceOf(ImageError);
  expect((err as ImageError).status).toBe(status);
  return err as ImageError;
}

/** Naive bilinear (half-pixel centres, no antialiasing): what the golden check must reject. */
function naiveBilinear(src: Uint8Array, sw: number, sh: number, dw: number, dh: number): Uint8Array {
  const out = new Uint8Array(dw * dh * 3);
  for (let y = 0; y < dh; y++) {
    const fy = Math.min(Math.max((y + 0.5) * (sh / dh) - 0.5, 0), sh - 1);
    const y0 = Math.floor(fy);
    const y1 = Math.min(y0 + 1, sh - 1);
    for (let x = 0; x < dw; x++) {
      const fx = Math.min(Math.max((x + 0.5) * (sw / dw) - 0.5, 0), sw - 1);
      const x0 = Math.floor(fx);
      const x1 = Math.min(x0 + 1, sw - 1);
      for (let c = 0; c < 3; c++) {
        const p = (xx: number, yy: number): number => src[(yy * sw + xx) * 3 + c]!;
        const top = p(x0, y0) + (p(x1, y0) - p(x0, y0)) * (fx - x0);
        const bot = p(x0, y1) + (p(x1, y1) - p(x0, y1)) * (fx - x0);
        out[(y * dw + x) * 3 + c] = Math.round(top + (bot - top) * (fy - y0));
      }
    }
  }
  return out;
}

describe('probeImage', () => {
  it('sniffs the format and reads the size of every sample from the header', () => {
    for (const [name, [w, h]] of Object.entries(SAMPLE_SIZES)) {
      const info = probeImage(sample(name));
      expect(info, name).toEqual({ format: name.endsWith('.png') ? 'png' : 'jpeg', width: w, height: h, orientation: 1 });
    }
  });

  it('ignores the file name / content type: a PNG is a PNG', () => {
    expect(probeImage(sample('cat.png')).format).toBe('png');
  });

  it('rejects empty and non-image bodies with 415', () => {
    expectImageError(() => probeImage(new Uint8Array(0)), 415, 'unsupported_media_type');
    expectImageError(() => probeImage(new TextEncoder().encode('hello, this is not an image')), 415);
    expectImageError(() => probeImage(new TextEncoder().encode('GIF89a\x01\x00\x01\x00')), 415);
    expectImageError(() => probeImage(new Uint8Array([0x42, 0x4d, 0, 0, 0, 0])), 415); // BMP
  });

  it('rejects truncated or malformed headers with 422', () => {
    const jpg = sample('cat.jpg');
    expectImageError(() => probeImage(jpg.subarray(0, 2)), 422, 'undecodable_image');
    expectImageError(() => probeImage(jpg.subarray(0, 20)), 422);
    const sofEnd = jpegSegments(jpg).find((s) => s.marker === 0xc0)!;
    expectImageError(() => probeImage(jpg.subarray(0, sofEnd.offset + 6)), 422); // cut inside SOF
    const png = sample('cat.png');
    expectImageError(() => probeImage(png.subarray(0, 6)), 422); // partial signature
    expectImageError(() => probeImage(png.subarray(0, 20)), 422);
    const badIhdrCrc = png.slice(0, 64);
    badIhdrCrc[30] ^= 1;
    expectImageError(() => probeImage(badIhdrCrc), 422);
  });

  it('rejects JPEG coding processes jpeg-js cannot decode with 422', () => {
    const jpg = sample('cat.jpg');
    const sof = jpegSegments(jpg).find((s) => s.marker === 0xc0)!;
    const arithmetic = jpg.slice();
    arithmetic[sof.offset + 1] = 0xc9;
    expectImageError(() => probeImage(arithmetic), 422);
    const lossless = jpg.slice();
    lossless[sof.offset + 1] = 0xc3;
    expectImageError(() => probeImage(lossless), 422);
    const twelveBit = jpg.slice();
    twelveBit[sof.offset + 4] = 12;
    expectImageError(() => probeImage(twelveBit), 422);
  });

  it('rejects a forged 60000x60000 JPEG frame header with 413 from the header alone', () => {
    const bomb = forgeSof(sample('tflm_person.jpg'), 60000, 60000);
    expectImageError(() => probeImage(bomb), 413, 'image_too_large');
    return expectRejects(decodeImage(bomb), 413);
  });

  it('rejects a PNG whose IHDR claims 100000x100000 with 413', async () => {
    const z = await zlibDeflate(new Uint8Array(1001)); // some valid zlib data, never read
    const bomb = concat(PNG_SIG, ihdr(100000, 100000, 8, 2), pngChunk('IDAT', z), pngChunk('IEND', new Uint8Array()));
    expectImageError(() => probeImage(bomb), 413, 'image_too_large');
    await expectRejects(decodeImage(bomb), 413);
  });

  it('allows 20000x1: the pixel limit is on the area, not on a side', async () => {
    expect(probeImage(forgeSof(sample('tflm_person.jpg'), 20000, 1))).toMatchObject({ width: 20000, height: 1 });
    const samples = Array.from({ length: 20000 }, (_, i) => i % 256);
    const png = await makePng({ width: 20000, height: 1, bitDepth: 8, colorType: 0, samples });
    const img = await decodeImage(png);
    expect([img.width, img.height]).toEqual([20000, 1]);
    expect(img.data[3 * 300]).toBe(300 % 256);
  });

  it('applies maxPixels and the memory estimate (413) before decoding', () => {
    const small: ImageLimits = { ...DEFAULT_IMAGE_LIMITS, maxPixels: 100_000 };
    expectImageError(() => probeImage(sample('cat.jpg'), small), 413); // 512x341 = 174592 pixels
    expect(probeImage(sample('tflm_person.jpg'), small).width).toBe(96);
    const tinyMemory: ImageLimits = { ...DEFAULT_IMAGE_LIMITS, maxMemoryMB: 1 };
    expectImageError(() => probeImage(sample('cat.jpg'), tinyMemory), 413);
    // Default budget (jpeg-js needs ~20 bytes per pixel at 4:2:0, see DEFAULT_IMAGE_LIMITS):
    // 1080p and 1600x1200 fit, 2048x1536 and a 12 MP phone photo do not.
    const jpg = sample('cat_1080p.jpg'); // 4:2:0
    expect(probeImage(jpg).width).toBe(1920);
    expect(probeImage(forgeSof(jpg, 1600, 1200)).width).toBe(1600);
    expectImageError(() => probeImage(forgeSof(jpg, 2048, 1536)), 413);
    expectImageError(() => probeImage(forgeSof(jpg, 4000, 3000)), 413);
    // The same 12 MP header passes with a bigger budget (e.g. the CLI in Node).
    expect(probeImage(forgeSof(jpg, 4000, 3000), { ...DEFAULT_IMAGE_LIMITS, maxMemoryMB: 512 }).width).toBe(4000);
  });
});

describe('decodeImage: JPEG', () => {
  it('decodes every sample to RGB of the right size', async () => {
    for (const [name, [w, h]] of Object.entries(SAMPLE_SIZES)) {
      const img = await decodeImage(sample(name));
      expect([img.format, img.width, img.height], name).toEqual([name.endsWith('.png') ? 'png' : 'jpeg', w, h]);
      expect(img.data.length, name).toBe(w * h * 3);
      let min = 255;
      let max = 0;
      for (const v of img.data) {
        if (v < min) min = v;
        if (v > max) max = v;
      }
      expect(max - min, `${name} has contrast`).toBeGreaterThan(100);
    }
  });

  it('turns a 1-component (grayscale) JPEG into RGB with R = G = B', async () => {
    const bytes = readBytes(`${IMAGENET}/n02749479_assault_rifle.JPEG`);
    const img = await decodeImage(bytes);
    expect([img.width, img.height]).toEqual([500, 333]);
    expect(img.data.length).toBe(500 * 333 * 3);
    for (let i = 0; i < img.data.length; i += 3) {
      if (img.data[i] !== img.data[i + 1] || img.data[i] !== img.data[i + 2]) throw new Error(`pixel ${i / 3} is not gray`);
    }
  });

  it('decodes tflm_person.jpg (gray content, neutral chroma) close to the VWW golden input', async () => {
    const img = await decodeImage(sample('tflm_person.jpg'));
    for (let i = 0; i < img.data.length; i += 3) {
      expect(img.data[i + 1]).toBe(img.data[i]);
      expect(img.data[i + 2]).toBe(img.data[i]);
    }
    // vww_96_int8 input = p - 128 at 96x96 (no resize): only decoder (IDCT) differences.
    const golden = new Int8Array(readBytes(`${GOLDEN}/vww_96_int8/tflm_person.jpg.input.bin`).slice().buffer);
    const q = quantizeInput(img.data, {
      dtype: 'int8',
      scale: 1 / 255,
      zeroPoint: -128,
      normalization: { mean: [0, 0, 0], std: [255, 255, 255] },
    }) as Int8Array;
    const d = diffStats(q, golden);
    expect(d.max).toBeLessThanOrEqual(1); // measured: max 1, mean 0.06, 94% exact
    expect(d.mean).toBeLessThan(0.1);
  });

  it('upsamples chroma and converts YCbCr exactly like libjpeg-turbo (DC-only JPEGs)', async () => {
    // Flat blocks make the IDCT exact everywhere, so this isolates our colour stage:
    // h2v2 / h2v1 / h1v2 fancy upsampling, edges, tiny images, fixed-point YCbCr->RGB.
    for (const [name, cfg] of Object.entries(DC_ONLY_CASES)) {
      const img = await decodeImage(encodeDcOnlyJpeg(cfg));
      expect([img.width, img.height], name).toEqual([cfg.width, cfg.height]);
      expect(await sha256Hex(img.data), name).toBe(cfg.sha256);
    }
  });

  it('decodes a progressive JPEG (10 scans) like libjpeg-turbo', async () => {
    const img = await decodeImage(fromBase64(PROGRESSIVE_JPEG_64x48_B64));
    expect([img.width, img.height]).toEqual([64, 48]);
    const thumb = resizeRGB(img.data, 64, 48, 8, 6);
    const d = diffStats(thumb, new Uint8Array(PROGRESSIVE_JPEG_64x48_THUMB_8x6));
    expect(d.max).toBeLessThanOrEqual(2); // measured max 1
  });

  it('caps the number of scans (413), counted before jpeg-js runs', async () => {
    const prog = fromBase64(PROGRESSIVE_JPEG_64x48_B64);
    await expectRejects(decodeImage(prog, { ...DEFAULT_IMAGE_LIMITS, maxProgressiveScans: 9 }), 413);
    expect((await decodeImage(prog, { ...DEFAULT_IMAGE_LIMITS, maxProgressiveScans: 10 })).width).toBe(64);
    // A crafted stream with 40 tiny scans (a DoS pattern) is rejected under the defaults.
    const base = sample('tflm_person.jpg');
    const sos = jpegSegments(base).find((s) => s.marker === 0xda)!;
    const head = base.subarray(0, sos.offset);
    const tinyScan = concat(base.subarray(sos.offset, sos.offset + sos.size), new Uint8Array([0x00]));
    const many = concat(head, ...Array.from({ length: 40 }, () => tinyScan), new Uint8Array([0xff, 0xd9]));
    expect(probeImage(many).width).toBe(96); // the header is fine
    const err = await expectRejects(decodeImage(many), 413);
    expect(err.message).toMatch(/scans/);
  });

  it('decodes an Adobe CMYK JPEG, and rejects a 4-component JPEG without Adobe marker (422)', async () => {
    const cmyk = fromBase64(CMYK_ADOBE_JPEG_40x30_B64);
    const img = await decodeImage(cmyk);
    expect([img.width, img.height, img.data.length]).toEqual([40, 30, 40 * 30 * 3]);
    await expectRejects(decodeImage(removeSegments(cmyk, 0xee)), 422);
  });

  it('rejects a 2-component JPEG (422)', () => {
    // Rewrite the SOF of a 3-component file to declare 2 components.
    const jpg = sample('cat.jpg');
    const sof = jpegSegments(jpg).find((s) => s.marker === 0xc0)!;
    const payload = jpg.slice(sof.offset + 4, sof.offset + sof.size);
    payload[5] = 2;
    const two = concat(jpg.subarray(0, sof.offset), segment(0xc0, payload.subarray(0, 6 + 6)), jpg.subarray(sof.offset + sof.size));
    expectImageError(() => probeImage(two), 422);
  });

  it('rejects truncated JPEG data (422) even though the header is intact', async () => {
    const jpg = sample('cat.jpg');
    const half = jpg.subarray(0, jpg.length >> 1);
    expect(probeImage(half).width).toBe(512);
    await expectRejects(decodeImage(half), 422);
    await expectRejects(decodeImage(jpg.subarray(0, jpg.length - 2)), 422); // EOI cut off
  });

  it('never throws anything but ImageError on corrupted input', async () => {
    let seed = 7;
    const rnd = (n: number): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return Math.floor((seed / 2 ** 32) * n);
    };
    const sources = [sample('tflm_person.jpg'), fromBase64(PROGRESSIVE_JPEG_64x48_B64), fromBase64(CMYK_ADOBE_JPEG_40x30_B64)];
    const smallPng = await makePng({
      width: 9,
      height: 5,
      bitDepth: 8,
      colorType: 2,
      samples: Array.from({ length: 9 * 5 * 3 }, (_, i) => (i * 37) & 255),
    });
    sources.push(smallPng);
    let decoded = 0;
    for (let it = 0; it < 400; it++) {
      const src = sources[it % sources.length]!;
      let b = src.slice();
      if (it % 3 === 0) b = b.subarray(0, rnd(b.length));
      else {
        const hits = 1 + rnd(6);
        const span = it % 3 === 1 ? Math.min(b.length, 700) : b.length; // headers or anywhere
        for (let j = 0; j < hits; j++) b[rnd(span)] = rnd(256);
      }
      try {
        const img = await decodeImage(b);
        expect(img.data.length).toBe(img.width * img.height * 3);
        decoded++;
      } catch (e) {
        if (!(e instanceof ImageError)) throw new Error(`iteration ${it}: ${String(e)}`);
      }
    }
    expect(decoded).toBeGreaterThan(0);
  });
});

describe('decodeImage: PNG', () => {
  it('decodes cat.png to the same picture as cat.jpg (both re-encoded from one source)', async () => {
    const png = await decodeImage(sample('cat.png'));
    const jpg = await decodeImage(sample('cat.jpg'));
    expect([png.format, png.width, png.height]).toEqual(['png', 512, 341]);
    const d = diffStats(png.data, jpg.data);
    expect(d.mean).toBeLessThan(2.5); // measured 1.54 (JPEG q92 loss)
  });

  const cases: Array<{ colorType: number; bitDepth: number }> = [
    { colorType: 0, bitDepth: 1 },
    { colorType: 0, bitDepth: 2 },
    { colorType: 0, bitDepth: 4 },
    { colorType: 0, bitDepth: 8 },
    { colorType: 0, bitDepth: 16 },
    { colorType: 2, bitDepth: 8 },
    { colorType: 2, bitDepth: 16 },
    { colorType: 3, bitDepth: 1 },
    { colorType: 3, bitDepth: 2 },
    { colorType: 3, bitDepth: 4 },
    { colorType: 3, bitDepth: 8 },
    { colorType: 4, bitDepth: 8 },
    { colorType: 4, bitDepth: 16 },
    { colorType: 6, bitDepth: 8 },
    { colorType: 6, bitDepth: 16 },
  ];
  const CH: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };
  for (const { colorType, bitDepth } of cases) {
    for (const interlace of [0, 1]) {
      it(`round-trips colour type ${colorType}, ${bitDepth}-bit, ${interlace ? 'Adam7' : 'non-interlaced'}, all filters`, async () => {
        const W = 13;
        const H = 11; // odd sizes: every Adam7 pass is partial
        const ch = CH[colorType]!;
        const max = (1 << bitDepth) - 1;
        const samples = Array.from({ length: W * H * ch }, (_, i) => (i * 2654435761) % (max + 1));
        const palette = colorType === 3 ? Array.from({ length: (max + 1) * 3 }, (_, i) => (i * 97 + 13) & 255) : undefined;
        const png = await makePng({ width: W, height: H, bitDepth, colorType, interlace, samples, palette });
        const img = await decodeImage(png);
        expect([img.width, img.height]).toEqual([W, H]);
        const expected = new Uint8Array(W * H * 3);
        for (let p = 0; p < W * H; p++) {
          const s = samples.slice(p * ch, p * ch + ch);
          const to8 = (v: number): number => (bitDepth === 16 ? v >> 8 : Math.round((v * 255) / max));
          let rgb: number[];
          if (colorType === 3) rgb = palette!.slice(s[0]! * 3, s[0]! * 3 + 3);
          else if (colorType === 0 || colorType === 4) rgb = [to8(s[0]!), to8(s[0]!), to8(s[0]!)];
          else rgb = [to8(s[0]!), to8(s[1]!), to8(s[2]!)];
          expected.set(rgb, p * 3);
        }
        expect(Array.from(img.data)).toEqual(Array.from(expected));
      });
    }
  }

  it('applies the orientation of an eXIf chunk', async () => {
    const tiff = exifApp1(6, false).subarray(4 + 6); // TIFF block of the APP1 helper
    const samples = Array.from({ length: 3 * 2 * 3 }, (_, i) => i * 10);
    const png = await makePng({ width: 3, height: 2, bitDepth: 8, colorType: 2, samples, extraChunks: [pngChunk('eXIf', tiff)] });
    expect(probeImage(png)).toEqual({ format: 'png', width: 2, height: 3, orientation: 6 });
    const img = await decodeImage(png);
    expect([img.width, img.height]).toEqual([2, 3]);
    for (let dy = 0; dy < 3; dy++) {
      for (let dx = 0; dx < 2; dx++) {
        const [sx, sy] = orientedSource(6, 3, 2, dx, dy);
        expect(Array.from(img.data.subarray((dy * 2 + dx) * 3, (dy * 2 + dx) * 3 + 3))).toEqual(samples.slice((sy * 3 + sx) * 3, (sy * 3 + sx) * 3 + 3));
      }
    }
  });

  it('rejects a corrupted IDAT (422), whether or not the CRC was fixed up', async () => {
    const png = sample('cat.png');
    const idat = pngChunks(png).find((c) => c.type === 'IDAT')!;
    const broken = png.slice();
    for (let i = 0; i < 64; i++) broken[idat.offset + 8 + 100 + i] ^= 0x5a;
    const e1 = await expectRejects(decodeImage(broken), 422);
    expect(e1.message).toMatch(/CRC/);
    fixChunkCrc(broken, idat.offset);
    const e2 = await expectRejects(decodeImage(broken), 422);
    expect(e2.message).not.toMatch(/CRC/);
  });

  it('rejects truncated PNG data (422)', async () => {
    const png = sample('grace_hopper.png');
    await expectRejects(decodeImage(png.subarray(0, png.length >> 1)), 422);
    // Complete chunks but a zlib stream that ends early.
    const samples = Array.from({ length: 16 * 16 }, (_, i) => i & 255);
    const good = await makePng({ width: 16, height: 16, bitDepth: 8, colorType: 0, samples });
    const idats = pngChunks(good).filter((c) => c.type === 'IDAT');
    const onlyFirst = concat(good.subarray(0, idats[1]!.offset), pngChunk('IEND', new Uint8Array()));
    await expectRejects(decodeImage(onlyFirst), 422);
  });

  it('accepts padding after the end of the zlib stream (as libpng/Pillow do)', async () => {
    const rows = new Uint8Array(3 * 4).map((_, i) => (i % 4 === 0 ? 0 : i * 20)); // filter 0
    const z = concat(await zlibDeflate(rows), new Uint8Array([0, 0, 0, 0, 0]));
    const png = concat(PNG_SIG, ihdr(3, 3, 8, 0), pngChunk('IDAT', z), pngChunk('IEND', new Uint8Array()));
    const img = await decodeImage(png);
    expect(Array.from(img.data.filter((_, i) => i % 3 === 0))).toEqual([20, 40, 60, 100, 120, 140, 180, 200, 220]);
  });

  it('stops inflating at the declared size: a zip bomb is 422, not an allocation', async () => {
    // 100x100 gray needs 100*(1+100) bytes; the IDAT inflates to 64 MiB of zeros.
    const z = await zlibDeflate(new Uint8Array(64 * 1024 * 1024));
    expect(z.length).toBeLessThan(100_000);
    const bomb = concat(PNG_SIG, ihdr(100, 100, 8, 0), pngChunk('IDAT', z), pngChunk('IEND', new Uint8Array()));
    const err = await expectRejects(decodeImage(bomb), 422);
    expect(err.message).toMatch(/larger than/);
  });

  it('rejects structural errors (422): no PLTE for a palette image, bad filter type, bad IHDR', async () => {
    const noPlte = await makePng({ width: 4, height: 4, bitDepth: 8, colorType: 3, samples: new Array(16).fill(0) });
    await expectRejects(decodeImage(noPlte), 422);
    const rows = new Uint8Array(4 * 5);
    rows[5] = 9; // filter type 9 on row 1
    const badFilter = concat(PNG_SIG, ihdr(4, 4, 8, 0), pngChunk('IDAT', await zlibDeflate(rows)), pngChunk('IEND', new Uint8Array()));
    await expectRejects(decodeImage(badFilter), 422);
    const badDepth = concat(PNG_SIG, ihdr(4, 4, 3, 2), pngChunk('IEND', new Uint8Array()));
    expectImageError(() => probeImage(badDepth), 422);
    const noIdat = concat(PNG_SIG, ihdr(4, 4, 8, 0), pngChunk('IEND', new Uint8Array()));
    await expectRejects(decodeImage(noIdat), 422);
  });
});

describe('EXIF orientation', () => {
  it('applies all 8 orientations (both TIFF byte orders) with exact pixel correspondence', async () => {
    const base = sample('cat.jpg'); // 512x341: non-square, so swaps are visible
    const ref = await decodeImage(base);
    const W = ref.width;
    const H = ref.height;
    for (const le of [true, false]) {
      for (let o = 1; o <= 8; o++) {
        const bytes = insertAfterSoi(base, exifApp1(o, le));
        const swap = o >= 5;
        expect(probeImage(bytes)).toEqual({ format: 'jpeg', width: swap ? H : W, height: swap ? W : H, orientation: o });
        const img = await decodeImage(bytes);
        expect([img.width, img.height]).toEqual(swap ? [H, W] : [W, H]);
        for (let dy = 0; dy < img.height; dy++) {
          for (let dx = 0; dx < img.width; dx++) {
            const [sx, sy] = orientedSource(o, W, H, dx, dy);
            const d = (dy * img.width + dx) * 3;
            const s = (sy * W + sx) * 3;
            if (img.data[d] !== ref.data[s] || img.data[d + 1] !== ref.data[s + 1] || img.data[d + 2] !== ref.data[s + 2]) {
              throw new Error(`orientation ${o} (${le ? 'II' : 'MM'}): pixel (${dx},${dy}) != source (${sx},${sy})`);
            }
          }
        }
      }
    }
  });

  it('reads the orientation of a real camera file (imagenet can_opener, orientation 6)', async () => {
    const bytes = readBytes(`${IMAGENET}/n02951585_can_opener.JPEG`); // stored 392x294
    expect(probeImage(bytes)).toEqual({ format: 'jpeg', width: 294, height: 392, orientation: 6 });
    const img = await decodeImage(bytes);
    expect([img.width, img.height]).toEqual([294, 392]);
  });

  it('treats a malformed or out-of-range EXIF block as orientation 1', async () => {
    const base = sample('tflm_person.jpg');
    const badValue = insertAfterSoi(base, exifApp1(9, true));
    expect(probeImage(badValue).orientation).toBe(1);
    const truncated = exifApp1(6, true).slice(0, 4 + 6 + 12); // IFD cut off
    truncated[2] = 0;
    truncated[3] = truncated.length - 2;
    expect(probeImage(insertAfterSoi(base, truncated)).orientation).toBe(1);
    const notTiff = segment(0xe1, new TextEncoder().encode('Exif\0\0XXXXXXXXXXXXXXXX'));
    expect((await decodeImage(insertAfterSoi(base, notTiff))).width).toBe(96);
  });
});

describe('resizeRGB (Pillow BILINEAR)', () => {
  it('reproduces the golden 224x224 inputs of the PNG cases exactly', async () => {
    for (const name of ['grace_hopper.png', 'cat.png']) {
      const img = await decodeImage(sample(name));
      const out = resizeRGB(img.data, img.width, img.height, 224, 224);
      const d = diffStats(out, golden224(name));
      // Measured: 100% of bytes equal. A plain (non-antialiased) bilinear resize gives
      // mean 3.75 / max 99 on grace_hopper.png.
      expect(d.max, name).toBe(0);
    }
  });

  it('is within decoder noise of the golden inputs for every JPEG case', async () => {
    const jpgs = [
      ...Object.keys(SAMPLE_SIZES).filter((n) => n.endsWith('.jpg')).map((n) => [n, `${SAMPLES}/${n}`] as const),
      ...IMAGENET_CASES.map((n) => [n, `${IMAGENET}/${n}`] as const),
    ];
    let meanSum = 0;
    for (const [name, path] of jpgs) {
      const img = await decodeImage(readBytes(path));
      const d = diffStats(resizeRGB(img.data, img.width, img.height, 224, 224), golden224(name));
      // jpeg-js's IDCT differs from libjpeg-turbo's ISLOW by a few LSB; measured worst
      // case: max 3, mean 0.150, exact 85.3%.
      expect(d.max, name).toBeLessThanOrEqual(3);
      expect(d.mean, name).toBeLessThan(0.2);
      expect(d.exact, name).toBeGreaterThan(0.84);
      meanSum += d.mean;
    }
    expect(meanSum / jpgs.length).toBeLessThan(0.13); // measured 0.11
  });

  it('is a real check: a non-antialiased bilinear resize fails the same tolerance', async () => {
    const img = await decodeImage(sample('grace_hopper.png'));
    const d = diffStats(naiveBilinear(img.data, img.width, img.height, 224, 224), golden224('grace_hopper.png'));
    expect(d.mean).toBeGreaterThan(1);
    expect(d.max).toBeGreaterThan(3);
  });

  it('matches hand-computed Pillow weights on a 2x1 -> 4x1 upscale', () => {
    // Output centres 0.25, 0.75, 1.25, 1.75 in source pixels: weights (1), (.75,.25),
    // (.25,.75), (1) in 22-bit fixed point, + 2^21, >> 22.
    const src = new Uint8Array([0, 100, 255, 255, 0, 3]);
    const out = resizeRGB(src, 2, 1, 4, 1);
    expect(Array.from(out)).toEqual([0, 100, 255, 64, 75, 192, 191, 25, 66, 255, 0, 3]);
  });

  it('returns a copy for same-size resizes and handles single-axis resizes', () => {
    const src = new Uint8Array(5 * 4 * 3).map((_, i) => i);
    const same = resizeRGB(src, 5, 4, 5, 4);
    expect(same).not.toBe(src);
    expect(Array.from(same)).toEqual(Array.from(src));
    // Vertical-only: each column is resized independently; uniform columns stay uniform.
    const cols = new Uint8Array(3 * 6 * 3);
    for (let y = 0; y < 6; y++) for (let x = 0; x < 3; x++) cols.set([x * 50, 7, 200], (y * 3 + x) * 3);
    const v = resizeRGB(cols, 3, 6, 3, 2);
    expect(Array.from(v)).toEqual([0, 7, 200, 50, 7, 200, 100, 7, 200, 0, 7, 200, 50, 7, 200, 100, 7, 200]);
  });

  it('validates its arguments', () => {
    expect(() => resizeRGB(new Uint8Array(12), 2, 2, 0, 1)).toThrow(RangeError);
    expect(() => resizeRGB(new Uint8Array(11), 2, 2, 1, 1)).toThrow(RangeError);
    expect(() => resizeRGB(new Uint8Array(12), 2.5, 2, 1, 1)).toThrow(RangeError);
  });
});

describe('quantizeInput', () => {
  const all = new Uint8Array(768);
  for (let i = 0; i < 768; i++) all[i] = Math.floor(i / 3); // every value in every channel

  it('uint8 [-1,1] model (scale 1/127.5, zp 127, mean 127, std 127.5): q = p', () => {
    for (const scale of [1 / 127.5, 0.0078431377 /* float32 value from the manifest */]) {
      const q = quantizeInput(all, { dtype: 'uint8', scale, zeroPoint: 127, normalization: { mean: [127, 127, 127], std: [127.5, 127.5, 127.5] } });
      expect(q).toBeInstanceOf(Uint8Array);
      expect(q).not.toBe(all);
      expect(Array.from(q)).toEqual(Array.from(all));
    }
  });

  it('uint8 raw model (scale 1, zp 0, mean 0, std 1): q = p', () => {
    const q = quantizeInput(all, { dtype: 'uint8', scale: 1, zeroPoint: 0, normalization: { mean: [0, 0, 0], std: [1, 1, 1] } });
    expect(Array.from(q)).toEqual(Array.from(all));
  });

  it('int8 VWW model (scale 1/255, zp -128, mean 0, std 255): q = p - 128', () => {
    for (const scale of [1 / 255, 0.0039215689]) {
      const q = quantizeInput(all, { dtype: 'int8', scale, zeroPoint: -128, normalization: { mean: [0, 0, 0], std: [255, 255, 255] } });
      expect(q).toBeInstanceOf(Int8Array);
      expect(Array.from(q)).toEqual(Array.from(all, (p) => p - 128));
    }
  });

  it('float32 (mean 0, std 255): p / 255 as float32', () => {
    const q = quantizeInput(all, { dtype: 'float32', scale: 1, zeroPoint: 0, normalization: { mean: [0, 0, 0], std: [255, 255, 255] } });
    expect(q).toBeInstanceOf(Float32Array);
    expect(Array.from(q)).toEqual(Array.from(all, (p) => Math.fround(p / 255)));
  });

  it('general mapping: per-channel mean/std, round half away from zero, clamping', () => {
    // uint8 scale 1/128 zp 128 with mean 127.5 std 127.5: p=0 -> -1 -> 0; p=255 -> 1 -> 256 -> 255.
    const q = quantizeInput(new Uint8Array([0, 255, 128]), {
      dtype: 'uint8',
      scale: 1 / 128,
      zeroPoint: 128,
      normalization: { mean: [127.5, 127.5, 127.5], std: [127.5, 127.5, 127.5] },
    });
    expect(Array.from(q)).toEqual([0, 255, 128 + Math.round((0.5 / 127.5) * 128)]);
    // int8, scale 2: real/scale = (p - mean)/2 hits exact halves.
    const h = quantizeInput(new Uint8Array([1, 3, 9, 254, 252, 0]), {
      dtype: 'int8',
      scale: 2,
      zeroPoint: 0,
      normalization: { mean: [0, 0, 10], std: [1, 1, 1] },
    });
    // ch0: 0.5 -> 1; ch1: 1.5 -> 2; ch2: (9-10)/2 = -0.5 -> -1; ch0: 127 -> 127; ch1: 126; ch2: -5
    expect(Array.from(h)).toEqual([1, 2, -1, 127, 126, -5]);
    const clampLow = quantizeInput(new Uint8Array([0, 0, 0]), {
      dtype: 'int8',
      scale: 0.001,
      zeroPoint: 0,
      normalization: { mean: [255, 1, 0], std: [1, 1, 1] },
    });
    expect(Array.from(clampLow)).toEqual([-128, -128, 0]);
    const f = quantizeInput(new Uint8Array([10, 20, 30]), {
      dtype: 'float32',
      scale: 1,
      zeroPoint: 0,
      normalization: { mean: [0, 10, 20], std: [2, 4, 8] },
    });
    expect(Array.from(f)).toEqual([5, 2.5, 1.25]);
  });

  it('validates its arguments', () => {
    const n = { mean: [0, 0, 0] as [number, number, number], std: [1, 1, 1] as [number, number, number] };
    expect(() => quantizeInput(new Uint8Array(4), { dtype: 'uint8', scale: 1, zeroPoint: 0, normalization: n })).toThrow(RangeError);
    expect(() => quantizeInput(new Uint8Array(3), { dtype: 'uint8', scale: 0, zeroPoint: 0, normalization: n })).toThrow(RangeError);
    expect(() =>
      quantizeInput(new Uint8Array(3), { dtype: 'uint8', scale: 1, zeroPoint: 0, normalization: { mean: [0, 0, 0], std: [1, 0, 1] } }),
    ).toThrow(RangeError);
  });
});
