// Pooling kernels generic over the element type (i8 and i16): the reference (spec) pools and the SIMD
// max pool, one definition for both activation widths. Not exported from the module's entry point
// (generic functions cannot be wasm exports); pool.ts and int16.ts wrap them.

import { clampi } from './requant';

// AVERAGE_POOL's rounding: half away from zero (TFLite reference_integer_ops::AveragePool)
// @ts-ignore: decorator
@inline
export function roundedAverage(acc: i32, count: i32): i32 {
  return acc > 0 ? (acc + count / 2) / count : (acc - count / 2) / count;
}

// The reference pools are generic over the element type (i8, i16): one spec for both widths.
export function maxpoolRef<T>(inPtr: usize, inH: i32, inW: i32, c: i32, outPtr: usize, outH: i32, outW: i32,
  fH: i32, fW: i32, sH: i32, sW: i32, padT: i32, padL: i32, actMin: i32, actMax: i32): void {
  const lowest: i32 = sizeof<T>() == 1 ? -128 : -32768;
  for (let oy = 0; oy < outH; oy++) {
    const y0 = oy * sH - padT;
    const fy0 = max(0, -y0), fy1 = min(fH, inH - y0);
    for (let ox = 0; ox < outW; ox++) {
      const x0 = ox * sW - padL;
      const fx0 = max(0, -x0), fx1 = min(fW, inW - x0);
      for (let ch = 0; ch < c; ch++) {
        let m: i32 = lowest;
        for (let fy = fy0; fy < fy1; fy++) {
          for (let fx = fx0; fx < fx1; fx++) {
            const v = <i32>load<T>(inPtr + <usize>(((y0 + fy) * inW + x0 + fx) * c + ch) * sizeof<T>());
            if (v > m) m = v;
          }
        }
        store<T>(outPtr + <usize>((oy * outW + ox) * c + ch) * sizeof<T>(), <T>clampi(m, actMin, actMax));
      }
    }
  }
}

// SIMD MAX_POOL_2D: 16 (i8) or 8 (i16) channels per vector, the remaining channels scalar.
export function maxpoolSimd<T>(inPtr: usize, inH: i32, inW: i32, c: i32, outPtr: usize, outH: i32, outW: i32,
  fH: i32, fW: i32, sH: i32, sW: i32, padT: i32, padL: i32, actMin: i32, actMax: i32): void {
  const B = sizeof<T>() == 1;
  const lanes = 16 / <i32>sizeof<T>();
  const lowest: i32 = B ? -128 : -32768;
  const vmin = B ? i8x16.splat(<i8>actMin) : i16x8.splat(<i16>actMin);
  const vmax = B ? i8x16.splat(<i8>actMax) : i16x8.splat(<i16>actMax);
  const vlow = B ? i8x16.splat(-128) : i16x8.splat(-32768);
  const cv = c & -lanes;
  for (let oy = 0; oy < outH; oy++) {
    const y0 = oy * sH - padT;
    const fy0 = max(0, -y0), fy1 = min(fH, inH - y0);
    for (let ox = 0; ox < outW; ox++) {
      const x0 = ox * sW - padL;
      const fx0 = max(0, -x0), fx1 = min(fW, inW - x0);
      const out = outPtr + <usize>((oy * outW + ox) * c) * sizeof<T>();
      for (let ch = 0; ch < cv; ch += lanes) {
        let m = vlow;
        for (let fy = fy0; fy < fy1; fy++) {
          for (let fx = fx0; fx < fx1; fx++) {
            const v = v128.load(inPtr + <usize>(((y0 + fy) * inW + x0 + fx) * c + ch) * sizeof<T>());
            m = B ? i8x16.max_s(m, v) : i16x8.max_s(m, v);
          }
        }
        v128.store(out + <usize>ch * sizeof<T>(), B ? i8x16.min_s(i8x16.max_s(m, vmin), vmax) : i16x8.min_s(i16x8.max_s(m, vmin), vmax));
      }
      for (let ch = cv; ch < c; ch++) {
        let m: i32 = lowest;
        for (let fy = fy0; fy < fy1; fy++) {
          for (let fx = fx0; fx < fx1; fx++) {
            const v = <i32>load<T>(inPtr + <usize>(((y0 + fy) * inW + x0 + fx) * c + ch) * sizeof<T>());
            if (v > m) m = v;
          }
        }
        store<T>(out + <usize>ch * sizeof<T>(), <T>clampi(m, actMin, actMax));
      }
    }
  }
}

export function avgpoolRef<T>(inPtr: usize, inH: i32, inW: i32, c: i32, outPtr: usize, outH: i32, outW: i32,
  fH: i32, fW: i32, sH: i32, sW: i32, padT: i32, padL: i32, actMin: i32, actMax: i32, offset: i32): void {
  for (let oy = 0; oy < outH; oy++) {
    const y0 = oy * sH - padT;
    const fy0 = max(0, -y0), fy1 = min(fH, inH - y0);
    for (let ox = 0; ox < outW; ox++) {
      const x0 = ox * sW - padL;
      const fx0 = max(0, -x0), fx1 = min(fW, inW - x0);
      const count = (fy1 - fy0) * (fx1 - fx0);
      for (let ch = 0; ch < c; ch++) {
        let acc: i32 = 0;
        for (let fy = fy0; fy < fy1; fy++) {
          for (let fx = fx0; fx < fx1; fx++) {
            acc += <i32>load<T>(inPtr + <usize>(((y0 + fy) * inW + x0 + fx) * c + ch) * sizeof<T>()) + offset;
          }
        }
        const avg = count > 0 ? roundedAverage(acc, count) - offset : 0;
        store<T>(outPtr + <usize>((oy * outW + ox) * c + ch) * sizeof<T>(), <T>clampi(avg, actMin, actMax));
      }
    }
  }
}

