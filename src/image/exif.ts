// EXIF orientation: read tag 0x0112 from a TIFF structure (JPEG APP1 "Exif\0\0"
// payload or PNG eXIf chunk) and apply the 8 orientations to an RGB buffer.
//
// Note: the golden preprocessing (Pillow open/convert/resize) does NOT apply EXIF
// orientation; none of the shared sample images carries an orientation other than 1,
// so this only matters for real uploads (phones write 6 for portrait photos).

const TAG_ORIENTATION = 0x0112;
const TYPE_SHORT = 3;

/**
 * Orientation from a TIFF header block ("II*\0" or "MM\0*", IFD0 offset, IFD0...).
 * Returns 1 when the structure is absent, malformed or the value is outside 1..8:
 * a broken EXIF block must never make an otherwise valid image undecodable.
 */
export function readTiffOrientation(tiff: Uint8Array): number {
  const n = tiff.length;
  if (n < 8) return 1;
  let little: boolean;
  if (tiff[0] === 0x49 && tiff[1] === 0x49) little = true;
  else if (tiff[0] === 0x4d && tiff[1] === 0x4d) little = false;
  else return 1;
  const u16 = (o: number): number =>
    little ? tiff[o]! | (tiff[o + 1]! << 8) : (tiff[o]! << 8) | tiff[o + 1]!;
  const u32 = (o: number): number =>
    little
      ? (tiff[o]! | (tiff[o + 1]! << 8) | (tiff[o + 2]! << 16) | (tiff[o + 3]! << 24)) >>> 0
      : ((tiff[o]! << 24) | (tiff[o + 1]! << 16) | (tiff[o + 2]! << 8) | tiff[o + 3]!) >>> 0;
  if (u16(2) !== 42) return 1;
  const ifd = u32(4);
  if (ifd < 8 || ifd + 2 > n) return 1;
  const count = u16(ifd);
  for (let i = 0; i < count; i++) {
    const e = ifd + 2 + i * 12;
    if (e + 12 > n) return 1;
    if (u16(e) !== TAG_ORIENTATION) continue;
    // SHORT, count 1: value is left-justified in the 4-byte value field.
    if (u16(e + 2) !== TYPE_SHORT || u32(e + 4) < 1) return 1;
    const v = u16(e + 8);
    return v >= 1 && v <= 8 ? v : 1;
  }
  return 1;
}

/** Orientation from a JPEG APP1 segment payload (after the length field). */
export function readApp1Orientation(payload: Uint8Array): number | null {
  // "Exif\0" followed by a pad byte (normally \0).
  if (
    payload.length < 14 ||
    payload[0] !== 0x45 ||
    payload[1] !== 0x78 ||
    payload[2] !== 0x69 ||
    payload[3] !== 0x66 ||
    payload[4] !== 0
  ) {
    return null;
  }
  return readTiffOrientation(payload.subarray(6));
}

/** True when the orientation transposes the image (5..8): width and height swap. */
export function swapsAxes(orientation: number): boolean {
  return orientation >= 5 && orientation <= 8;
}

/**
 * Apply EXIF orientation to a packed RGB image (3 bytes/pixel). Returns the input
 * unchanged for orientation 1 (or any invalid value). Orientations 2..4 are done in
 * place (the input buffer is modified and returned); 5..8 allocate a new buffer.
 *
 * For output pixel (dx, dy) the source pixel (sx, sy) is, with W x H the source size:
 *   1: (dx, dy)            2 mirror horizontal: (W-1-dx, dy)
 *   3 rotate 180: (W-1-dx, H-1-dy)                  4 mirror vertical: (dx, H-1-dy)
 *   5 transpose: (dy, dx)  6 rotate 90 CW: (dy, H-1-dx)
 *   7 transverse: (W-1-dy, H-1-dx)                   8 rotate 90 CCW: (W-1-dy, dx)
 * (same as Pillow's ImageOps.exif_transpose.)
 */
export function applyOrientation(
  rgb: Uint8Array,
  width: number,
  height: number,
  orientation: number,
): { data: Uint8Array; width: number; height: number } {
  const W = width;
  const H = height;
  switch (orientation) {
    case 2: {
      for (let y = 0; y < H; y++) {
        let a = y * W * 3;
        let b = a + (W - 1) * 3;
        while (a < b) {
          swap3(rgb, a, b);
          a += 3;
          b -= 3;
        }
      }
      return { data: rgb, width: W, height: H };
    }
    case 3: {
      // Reverse the pixel order of the whole buffer.
      let a = 0;
      let b = (W * H - 1) * 3;
      while (a < b) {
        swap3(rgb, a, b);
        a += 3;
        b -= 3;
      }
      return { data: rgb, width: W, height: H };
    }
    case 4: {
      const row = W * 3;
      const tmp = new Uint8Array(row);
      for (let y = 0, z = H - 1; y < z; y++, z--) {
        const a = y * row;
        const b = z * row;
        tmp.set(rgb.subarray(a, a + row));
        rgb.copyWithin(a, b, b + row);
        rgb.set(tmp, b);
      }
      return { data: rgb, width: W, height: H };
    }
    case 5:
    case 6:
    case 7:
    case 8: {
      // Output is H x W. Source pixel index = base + dx*stepX + dy*stepY (in pixels).
      let base: number;
      let stepX: number;
      let stepY: number;
      if (orientation === 5) {
        base = 0; stepX = W; stepY = 1; // (sx, sy) = (dy, dx)
      } else if (orientation === 6) {
        base = (H - 1) * W; stepX = -W; stepY = 1; // (dy, H-1-dx)
      } else if (orientation === 7) {
        base = (H - 1) * W + (W - 1); stepX = -W; stepY = -1; // (W-1-dy, H-1-dx)
      } else {
        base = W - 1; stepX = W; stepY = -1; // (W-1-dy, dx)
      }
      const outW = H;
      const outH = W;
      const out = new Uint8Array(outW * outH * 3);
      let o = 0;
      const sx3 = stepX * 3;
      for (let dy = 0; dy < outH; dy++) {
        let s = (base + dy * stepY) * 3;
        for (let dx = 0; dx < outW; dx++) {
          out[o] = rgb[s]!;
          out[o + 1] = rgb[s + 1]!;
          out[o + 2] = rgb[s + 2]!;
          o += 3;
          s += sx3;
        }
      }
      return { data: out, width: outW, height: outH };
    }
    default:
      return { data: rgb, width: W, height: H };
  }
}

function swap3(a: Uint8Array, i: number, j: number): void {
  const r = a[i]!;
  const g = a[i + 1]!;
  const b = a[i + 2]!;
  a[i] = a[j]!;
  a[i + 1] = a[j + 1]!;
  a[i + 2] = a[j + 2]!;
  a[j] = r;
  a[j + 1] = g;
  a[j + 2] = b;
}
