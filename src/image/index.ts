// Image pipeline for the Worker: sniff/probe -> decode -> EXIF orientation -> resize
// -> quantize. Web-standard APIs only (runs in workerd and Node 20).
//
//   const img = await decodeImage(bytes);                 // ImageError 415/413/422
//   const rgb = resizeRGB(img.data, img.width, img.height, W, H);
//   const input = quantizeInput(rgb, inputSpec);
//
// Limits: see DEFAULT_IMAGE_LIMITS in errors.ts for the numbers and their reasons.
//
// Fast JPEG path (optional): pass a decoder made by createJpegDecoder (build/jpeg.wasm,
// wasmjpeg.ts) and the size the image will be resized to:
//
//   const img = await decodeImage(bytes, limits, { jpeg: decoder, targetSize: [224, 224] });
//
// Baseline/progressive 8-bit grayscale/YCbCr/RGB JPEGs are then decoded in wasm at the
// largest DCT-domain reduction (1/2, 1/4, 1/8) whose output stays >= targetSize (after
// EXIF orientation), e.g. 1920x1080 -> 480x270 for 224x224; img.width/height are the
// decoded (reduced) size. The 413 memory check then uses that decoder's real needs
// (estimateWasmJpegBytes): a single-scan baseline file streams MCU row by MCU row, so
// its peak is ~ input + 2 x the reduced RGB output + two MCU rows, and 12 MP phone
// photos (4000x3000) fit the default 48 MiB easily (~3.5 MiB at 1/8 with a 2 MB input,
// vs ~230 MiB estimated for jpeg-js); progressive files also keep 136 B per 8x8 block
// (2 B at 1/8), e.g. a 12 MP 4:2:0 progressive file needs ~3.3 MiB at 1/8 and ~43 MiB
// at 1/4 (~56 MiB at 1/2: 413 with the default limits). maxPixels (24 MP) still
// applies. CMYK/YCCK and other files the wasm decoder does not support go to jpeg-js
// with its (much tighter) estimate, as without the option.

import { probeJpeg, estimateJpegDecodeBytes, decodeJpeg, scanJpeg, type JpegHeader } from './jpeg.ts';
import { JpegUnsupportedError, chooseJpegScale, estimateWasmJpegBytes, type JpegDecoder } from './wasmjpeg.ts';
import { probePng, estimatePngDecodeBytes, decodePng, PNG_SIGNATURE, type PngHeader } from './png.ts';
import { applyOrientation, swapsAxes } from './exif.ts';
import {
  DEFAULT_IMAGE_LIMITS,
  ImageError,
  MIB,
  checkLimits,
  tooLarge,
  undecodable,
  unsupported,
  wrapDecoderError,
  type DecodedImage,
  type ImageFormat,
  type ImageInfo,
  type ImageLimits,
} from './errors.ts';

export { DEFAULT_IMAGE_LIMITS, ImageError };
export type { DecodedImage, ImageFormat, ImageInfo, ImageLimits };
export type { ImageErrorCode, ImageErrorStatus } from './errors.ts';
export { resizeRGB } from './resize.ts';
export { quantizeInput, type QuantizeSpec } from './quantize.ts';
export { applyOrientation } from './exif.ts';
export { createJpegDecoder, JpegUnsupportedError, type JpegDecoder } from './wasmjpeg.ts';

/** Options of probeImage / decodeImage (all optional; without them: jpeg-js, full size). */
export interface DecodeOptions {
  /** The wasm JPEG decoder (createJpegDecoder): used for the JPEGs it supports. */
  jpeg?: JpegDecoder;
  /** [height, width] the caller will resize to: a JPEG may be decoded at 1/2..1/8 scale as
   *  long as the result (after EXIF orientation) stays at least this large. */
  targetSize?: readonly [number, number];
}

/** decodeImage's result: the decoded image and, when a JPEG was reduced, the size it has. */
export interface ScaledDecodedImage extends DecodedImage {
  /** Image size after EXIF orientation, before any reduction (= width/height when scale is 1). */
  sourceWidth: number;
  sourceHeight: number;
  /** Reduction applied by the wasm JPEG decoder: 1, 2, 4 or 8 (1 without options.jpeg). */
  scale: number;
}

/** The wasm decoder handles this JPEG (else jpeg-js): 8-bit, 1 or 3 components, SOF0/1/2. */
function wasmJpegApplies(h: JpegHeader, options: DecodeOptions | undefined): boolean {
  return options?.jpeg !== undefined && (h.components.length === 1 || h.components.length === 3) &&
    h.precision === 8 && (h.sof === 0xc0 || h.sof === 0xc1 || h.sof === 0xc2);
}

/** Scale denominator for the wasm decoder: targetSize is after orientation, the decoder works before. */
function wasmJpegScale(h: JpegHeader, options: DecodeOptions | undefined): number {
  const t = options?.targetSize;
  if (!t) return 1;
  const [th, tw] = t;
  if (!(th > 0) || !(tw > 0)) return 1;
  return swapsAxes(h.orientation) ? chooseJpegScale(h.width, h.height, th, tw) : chooseJpegScale(h.width, h.height, tw, th);
}

function wasmJpegEstimate(h: JpegHeader, inputBytes: number, scale: number): number {
  const outBytes = Math.ceil(h.width / scale) * Math.ceil(h.height / scale) * 3;
  // + the rotated copy applyOrientation makes for orientations 2..8
  return estimateWasmJpegBytes(h, inputBytes, scale) + (h.orientation !== 1 ? outBytes : 0);
}

type Probed = { format: 'jpeg'; header: JpegHeader } | { format: 'png'; header: PngHeader };

function sniff(bytes: Uint8Array): ImageFormat {
  const n = bytes.length;
  if (n >= 2 && bytes[0] === 0xff && bytes[1] === 0xd8) return 'jpeg';
  if (n >= 4) {
    let i = 0;
    while (i < 8 && i < n && bytes[i] === PNG_SIGNATURE[i]) i++;
    if (i === 8) return 'png';
    if (i === n) return 'png'; // a truncated PNG signature: probePng reports 422
  }
  if (n === 0) throw unsupported('empty body: expected a JPEG or PNG image');
  throw unsupported('unsupported image format: only JPEG and PNG are accepted');
}

function probeInternal(bytes: Uint8Array, limits: ImageLimits, options?: DecodeOptions): { info: ImageInfo; probed: Probed } {
  if (!(bytes instanceof Uint8Array)) throw new TypeError('probeImage: bytes must be a Uint8Array');
  checkLimits(limits);
  const format = sniff(bytes);
  let probed: Probed;
  let w: number;
  let h: number;
  let orientation: number;
  try {
    if (format === 'jpeg') {
      const header = probeJpeg(bytes);
      probed = { format, header };
      ({ width: w, height: h, orientation } = header);
    } else {
      const header = probePng(bytes);
      probed = { format, header };
      ({ width: w, height: h, orientation } = header);
    }
  } catch (err) {
    throw wrapDecoderError(err, `malformed ${format.toUpperCase()} header`);
  }
  // Only header arithmetic from here (w, h < 2^31: w*h may round above 2^53, which does
  // not matter for the comparison); nothing has been allocated.
  const pixels = w * h;
  if (pixels > limits.maxPixels) {
    throw tooLarge(`image is ${w}x${h} (${pixels} pixels), the limit is ${limits.maxPixels} pixels`);
  }
  const estimate =
    probed.format === 'jpeg'
      ? wasmJpegApplies(probed.header, options)
        ? wasmJpegEstimate(probed.header, bytes.length, wasmJpegScale(probed.header, options))
        : estimateJpegDecodeBytes(probed.header, bytes.length)
      : estimatePngDecodeBytes(probed.header);
  if (estimate > limits.maxMemoryMB * MIB) {
    throw tooLarge(
      `decoding this ${w}x${h} ${format.toUpperCase()} needs ~${Math.ceil(estimate / MIB)} MiB, ` +
        `the limit is ${limits.maxMemoryMB} MiB`,
    );
  }
  const swap = swapsAxes(orientation);
  return {
    info: { format, width: swap ? h : w, height: swap ? w : h, orientation },
    probed,
  };
}

/**
 * Sniff the format from magic bytes (the Content-Type is not trusted) and read the
 * dimensions and EXIF orientation from the header only (JPEG: segments up to SOFn,
 * PNG: IHDR and chunk headers up to the first IDAT). Cheap and allocation-free for any
 * claimed size.
 *
 * width/height are reported AFTER orientation (swapped for EXIF 5..8), like
 * decodeImage's result.
 *
 * Throws ImageError:
 * - 415 if the bytes are not JPEG/PNG (including an empty body);
 * - 422 if the header is malformed/truncated or uses a JPEG coding process, precision
 *   or component count we cannot decode (arithmetic, lossless, 12-bit, 2 components);
 * - 413 if width*height > limits.maxPixels, or if the estimated decode memory (from
 *   the header: jpeg-js block/plane buffers, PNG inflated size, RGB result, rotation
 *   copy) exceeds limits.maxMemoryMB. So every size-based 413 of decodeImage is
 *   already raised here. With options.jpeg the JPEG estimate is the wasm decoder's at
 *   the scale options.targetSize allows (see the top of this file): pass decodeImage's
 *   options here too.
 */
export function probeImage(bytes: Uint8Array, limits: ImageLimits = DEFAULT_IMAGE_LIMITS, options?: DecodeOptions): ImageInfo {
  return probeInternal(bytes, limits, options).info;
}

/**
 * probeImage + decode + EXIF orientation -> packed RGB8. Async because PNG inflate
 * uses DecompressionStream. Throws only ImageError for bad input (every decoder
 * exception is wrapped into 422); a JPEG with more than limits.maxProgressiveScans
 * scans is 413, a truncated JPEG (no EOI) or corrupt PNG data is 422.
 * With options.jpeg / options.targetSize (see the top of this file) a JPEG may come back
 * reduced (1/2..1/8 of its size, never below targetSize); the memory limit is then
 * checked against the wasm decoder's needs.
 */
export async function decodeImage(
  bytes: Uint8Array,
  limits: ImageLimits = DEFAULT_IMAGE_LIMITS,
  options?: DecodeOptions,
): Promise<ScaledDecodedImage> {
  const { info, probed } = probeInternal(bytes, limits, options);
  let rgb: Uint8Array;
  let w: number;
  let h: number;
  let scale = 1;
  try {
    if (probed.format === 'jpeg') {
      const header = probed.header;
      w = header.width;
      h = header.height;
      let fast: { data: Uint8Array; width: number; height: number; scale: number } | null = null;
      if (wasmJpegApplies(header, options)) {
        // Same stream checks (scan count 413, EOI, one frame) and messages as the jpeg-js path.
        scanJpeg(bytes, header, limits);
        try {
          fast = options!.jpeg!.decode(bytes, {
            scale: wasmJpegScale(header, options),
            maxPixels: limits.maxPixels,
            maxMemoryMB: limits.maxMemoryMB,
            maxScans: limits.maxProgressiveScans,
          });
        } catch (err) {
          if (!(err instanceof JpegUnsupportedError)) throw err;
          // found out past the header (e.g. arithmetic-coding tables): jpeg-js, with its own estimate
          const est = estimateJpegDecodeBytes(header, bytes.length);
          if (est > limits.maxMemoryMB * MIB) {
            throw tooLarge(`decoding this ${w}x${h} JPEG needs ~${Math.ceil(est / MIB)} MiB, the limit is ${limits.maxMemoryMB} MiB`);
          }
        }
      }
      if (fast !== null) {
        rgb = fast.data;
        w = fast.width;
        h = fast.height;
        scale = fast.scale;
      } else {
        rgb = decodeJpeg(bytes, header, limits);
      }
    } else {
      rgb = await decodePng(bytes, probed.header);
      w = probed.header.width;
      h = probed.header.height;
    }
  } catch (err) {
    if (err instanceof RangeError) {
      // Allocation failure despite the estimate: still a size problem, not a bad file.
      throw tooLarge(`out of memory while decoding: ${err.message}`);
    }
    throw wrapDecoderError(err, `undecodable ${info.format.toUpperCase()}`);
  }
  if (rgb.length !== w * h * 3) throw undecodable('decoder returned an unexpected buffer size');
  const o = applyOrientation(rgb, w, h, info.orientation);
  return { format: info.format, width: o.width, height: o.height, data: o.data, sourceWidth: info.width, sourceHeight: info.height, scale };
}
