// RGB pixels -> model input tensor.
//
//   real = (p - mean[c]) / std[c]
//   int8 / uint8: q = clamp(roundHalfAwayFromZero(real / scale) + zeroPoint, dtype range)
//   float32:      real (stored as float32)
//
// A pixel only takes 256 values per channel, so the mapping is evaluated once per
// (channel, value) into a lookup table (float64 math, in the formula's order) and the
// image is mapped through it. Fast paths on top, detected by checking the table, not by
// comparing parameters (the manifests carry float32-rounded scales such as
// 0.0078431377 for 1/127.5, which still map exactly):
// - uint8 identity (q = p, e.g. scale 1/127.5 zp 127 mean 127 std 127.5, or
//   scale 1 zp 0 mean 0 std 1): a plain copy;
// - int8 q = p - 128 (e.g. scale 1/255 zp -128 mean 0 std 255): p XOR 0x80.

export interface QuantizeSpec {
  dtype: 'int8' | 'uint8' | 'float32';
  scale: number;
  zeroPoint: number;
  normalization: { mean: [number, number, number]; std: [number, number, number] };
}

function roundHalfAwayFromZero(x: number): number {
  return x < 0 ? -Math.round(-x) : Math.round(x);
}

export function quantizeInput(rgb: Uint8Array, spec: QuantizeSpec): Uint8Array | Int8Array | Float32Array {
  const n = rgb.length;
  if (n % 3 !== 0) throw new RangeError('quantizeInput: RGB length must be a multiple of 3');
  const { mean, std } = spec.normalization;
  for (let c = 0; c < 3; c++) {
    if (!Number.isFinite(mean[c]) || !Number.isFinite(std[c]) || std[c] === 0) {
      throw new RangeError('quantizeInput: normalization mean/std must be finite and std non-zero');
    }
  }

  if (spec.dtype === 'float32') {
    const lut = new Float32Array(768);
    for (let c = 0; c < 3; c++) for (let p = 0; p < 256; p++) lut[c * 256 + p] = (p - mean[c]!) / std[c]!;
    const out = new Float32Array(n);
    for (let i = 0; i < n; i += 3) {
      out[i] = lut[rgb[i]!]!;
      out[i + 1] = lut[256 + rgb[i + 1]!]!;
      out[i + 2] = lut[512 + rgb[i + 2]!]!;
    }
    return out;
  }

  const { scale, zeroPoint } = spec;
  if (!(scale > 0) || !Number.isFinite(scale) || !Number.isInteger(zeroPoint)) {
    throw new RangeError('quantizeInput: scale must be finite and > 0, zeroPoint an integer');
  }
  const lo = spec.dtype === 'int8' ? -128 : 0;
  const hi = spec.dtype === 'int8' ? 127 : 255;
  const lut = new Int16Array(768);
  let identity = true; // q === p
  let minus128 = true; // q === p - 128
  for (let c = 0; c < 3; c++) {
    for (let p = 0; p < 256; p++) {
      const real = (p - mean[c]!) / std[c]!;
      let q = roundHalfAwayFromZero(real / scale) + zeroPoint;
      q = q < lo ? lo : q > hi ? hi : q;
      lut[c * 256 + p] = q;
      if (q !== p) identity = false;
      if (q !== p - 128) minus128 = false;
    }
  }

  if (spec.dtype === 'uint8') {
    if (identity) return rgb.slice(0, n);
    const out = new Uint8Array(n);
    mapLut(rgb, out, lut);
    return out;
  }
  const out = new Int8Array(n);
  if (minus128) {
    const u = new Uint8Array(out.buffer);
    for (let i = 0; i < n; i++) u[i] = rgb[i]! ^ 0x80; // two's complement of p - 128
    return out;
  }
  mapLut(rgb, out, lut);
  return out;
}

function mapLut(rgb: Uint8Array, out: Uint8Array | Int8Array, lut: Int16Array): void {
  for (let i = 0, n = rgb.length; i < n; i += 3) {
    out[i] = lut[rgb[i]!]!;
    out[i + 1] = lut[256 + rgb[i + 1]!]!;
    out[i + 2] = lut[512 + rgb[i + 2]!]!;
  }
}
