// Image pipeline for the Worker: sniff/probe -> decode -> EXIF orientation -> resize
// -> quantize. Web-standard APIs only (runs in workerd and Node 20).
//
//   const img = await decodeImage(bytes);                 // ImageError 415/413/422
//   const rgb = resizeRGB(img.data, img.width, img.height, W, H);
//   const input = quantizeInput(rgb, inputSpec);
//
// Limits: see DEFAULT_IMAGE_LIMITS in errors.ts for the numbers and their reasons.

import { probeJpeg, estimateJpegDecodeBytes, decodeJpeg, type JpegHeader } from './jpeg.ts';
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

function probeInternal(bytes: Uint8Array, limits: ImageLimits): { info: ImageInfo; probed: Probed } {
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
      ? estimateJpegDecodeBytes(probed.header, bytes.length)
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
 *   already raised here.
 */
export function probeImage(bytes: Uint8Array, limits: ImageLimits = DEFAULT_IMAGE_LIMITS): ImageInfo {
  return probeInternal(bytes, limits).info;
}

/**
 * probeImage + decode + EXIF orientation -> packed RGB8. Async because PNG inflate
 * uses DecompressionStream. Throws only ImageError for bad input (every decoder
 * exception is wrapped into 422); a JPEG with more than limits.maxProgressiveScans
 * scans is 413, a truncated JPEG (no EOI) or corrupt PNG data is 422.
 */
export async function decodeImage(bytes: Uint8Array, limits: ImageLimits = DEFAULT_IMAGE_LIMITS): Promise<DecodedImage> {
  const { info, probed } = probeInternal(bytes, limits);
  let rgb: Uint8Array;
  let w: number;
  let h: number;
  try {
    if (probed.format === 'jpeg') {
      rgb = decodeJpeg(bytes, probed.header, limits);
    } else {
      rgb = await decodePng(bytes, probed.header);
    }
    w = probed.header.width;
    h = probed.header.height;
  } catch (err) {
    if (err instanceof RangeError) {
      // Allocation failure despite the estimate: still a size problem, not a bad file.
      throw tooLarge(`out of memory while decoding: ${err.message}`);
    }
    throw wrapDecoderError(err, `undecodable ${info.format.toUpperCase()}`);
  }
  if (rgb.length !== w * h * 3) throw undecodable('decoder returned an unexpected buffer size');
  const o = applyOrientation(rgb, w, h, info.orientation);
  return { format: info.format, width: o.width, height: o.height, data: o.data };
}
