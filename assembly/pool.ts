// Pooling and spatial reductions: MAX_POOL_2D, AVERAGE_POOL_2D, MEAN over H,W.
// Batch 1, NHWC. `_ref` kernels are the spec; the others are the SIMD versions.

import { mbqm, clampi } from './requant';
import { maxpoolRef, maxpoolSimd, avgpoolRef, roundedAverage } from './pool_ref';

// ---- MAX_POOL_2D int8 ----
export function maxpool_i8_ref(inPtr: usize, inH: i32, inW: i32, c: i32, outPtr: usize, outH: i32, outW: i32,
  fH: i32, fW: i32, sH: i32, sW: i32, padT: i32, padL: i32, actMin: i32, actMax: i32): void {
  maxpoolRef<i8>(inPtr, inH, inW, c, outPtr, outH, outW, fH, fW, sH, sW, padT, padL, actMin, actMax);
}

export function maxpool_i8(inPtr: usize, inH: i32, inW: i32, c: i32, outPtr: usize, outH: i32, outW: i32,
  fH: i32, fW: i32, sH: i32, sW: i32, padT: i32, padL: i32, actMin: i32, actMax: i32): void {
  maxpoolSimd<i8>(inPtr, inH, inW, c, outPtr, outH, outW, fH, fW, sH, sW, padT, padL, actMin, actMax);
}

// ---- AVERAGE_POOL_2D int8 ----
// `offset` is 128 for models that were uint8 (the uint8 reference rounds half up
// on non-negative sums; adding 128 back reproduces it exactly), else 0.

export function avgpool_i8_ref(inPtr: usize, inH: i32, inW: i32, c: i32, outPtr: usize, outH: i32, outW: i32,
  fH: i32, fW: i32, sH: i32, sW: i32, padT: i32, padL: i32, actMin: i32, actMax: i32, offset: i32): void {
  avgpoolRef<i8>(inPtr, inH, inW, c, outPtr, outH, outW, fH, fW, sH, sW, padT, padL, actMin, actMax, offset);
}

// SIMD: sums 4 channels per lane, then the exact rounding division per channel.
export function avgpool_i8(inPtr: usize, inH: i32, inW: i32, c: i32, outPtr: usize, outH: i32, outW: i32,
  fH: i32, fW: i32, sH: i32, sW: i32, padT: i32, padL: i32, actMin: i32, actMax: i32, offset: i32,
  scratchPtr: usize): void {
  const c4 = c & ~3;
  const voff = i32x4.splat(offset);
  for (let oy = 0; oy < outH; oy++) {
    const y0 = oy * sH - padT;
    const fy0 = max(0, -y0), fy1 = min(fH, inH - y0);
    for (let ox = 0; ox < outW; ox++) {
      const x0 = ox * sW - padL;
      const fx0 = max(0, -x0), fx1 = min(fW, inW - x0);
      const count = (fy1 - fy0) * (fx1 - fx0);
      const vcount = i32x4.splat(count);
      for (let ch = 0; ch < c4; ch += 4) {
        let acc = i32x4.splat(0);
        for (let fy = fy0; fy < fy1; fy++) {
          for (let fx = fx0; fx < fx1; fx++) {
            const p = inPtr + ((y0 + fy) * inW + x0 + fx) * c + ch;
            acc = i32x4.add(acc, i32x4.extend_low_i16x8_s(i16x8.extend_low_i8x16_s(v128.load32_zero(p))));
          }
        }
        acc = i32x4.add(acc, i32x4.mul(voff, vcount));
        v128.store(scratchPtr + 4 * ch, acc);
      }
      for (let ch = c4; ch < c; ch++) {
        let acc: i32 = 0;
        for (let fy = fy0; fy < fy1; fy++) {
          for (let fx = fx0; fx < fx1; fx++) {
            acc += <i32>load<i8>(inPtr + ((y0 + fy) * inW + x0 + fx) * c + ch) + offset;
          }
        }
        store<i32>(scratchPtr + 4 * ch, acc);
      }
      const out = outPtr + (oy * outW + ox) * c;
      for (let ch = 0; ch < c; ch++) {
        const avg = count > 0 ? roundedAverage(load<i32>(scratchPtr + 4 * ch), count) - offset : 0;
        store<i8>(out + ch, <i8>clampi(avg, actMin, actMax));
      }
    }
  }
}

// ---- MEAN over H and W, int8 ----
// TFLM (reference_ops::QuantizedMeanOrSum, integer version): the 1/n factor is
// folded into the multiplier at compile time; out = mbqm(sum - inZp*n, M', s') + outZp.
export function mean_hw_i8_ref(inPtr: usize, h: i32, w: i32, c: i32, outPtr: usize,
  inZp: i32, mult: i32, shift: i32, outZp: i32): void {
  const n = h * w;
  for (let ch = 0; ch < c; ch++) {
    let sum: i32 = 0;
    for (let i = 0; i < n; i++) sum += <i32>load<i8>(inPtr + i * c + ch);
    store<i8>(outPtr + ch, <i8>clampi(mbqm(sum - inZp * n, mult, shift) + outZp, -128, 127));
  }
}

export function mean_hw_i8(inPtr: usize, h: i32, w: i32, c: i32, outPtr: usize,
  inZp: i32, mult: i32, shift: i32, outZp: i32, scratchPtr: usize): void {
  const n = h * w;
  const c4 = c & ~3;
  memory.fill(scratchPtr, 0, c * 4);
  for (let i = 0; i < n; i++) {
    const row = inPtr + i * c;
    for (let ch = 0; ch < c4; ch += 4) {
      const p = scratchPtr + 4 * ch;
      v128.store(p, i32x4.add(v128.load(p), i32x4.extend_low_i16x8_s(i16x8.extend_low_i8x16_s(v128.load32_zero(row + ch)))));
    }
    for (let ch = c4; ch < c; ch++) {
      const p = scratchPtr + 4 * ch;
      store<i32>(p, load<i32>(p) + <i32>load<i8>(row + ch));
    }
  }
  for (let ch = 0; ch < c; ch++) {
    store<i8>(outPtr + ch, <i8>clampi(mbqm(load<i32>(scratchPtr + 4 * ch) - inZp * n, mult, shift) + outZp, -128, 127));
  }
}

// ---- float32 pooling / mean ----
export function maxpool_f32(inPtr: usize, inH: i32, inW: i32, c: i32, outPtr: usize, outH: i32, outW: i32,
  fH: i32, fW: i32, sH: i32, sW: i32, padT: i32, padL: i32, actMin: f32, actMax: f32): void {
  for (let oy = 0; oy < outH; oy++) {
    const y0 = oy * sH - padT;
    const fy0 = max(0, -y0), fy1 = min(fH, inH - y0);
    for (let ox = 0; ox < outW; ox++) {
      const x0 = ox * sW - padL;
      const fx0 = max(0, -x0), fx1 = min(fW, inW - x0);
      for (let ch = 0; ch < c; ch++) {
        let m: f32 = -f32.MAX_VALUE;
        for (let fy = fy0; fy < fy1; fy++) {
          for (let fx = fx0; fx < fx1; fx++) {
            const v = load<f32>(inPtr + 4 * (((y0 + fy) * inW + x0 + fx) * c + ch));
            if (v > m) m = v;
          }
        }
        store<f32>(outPtr + 4 * ((oy * outW + ox) * c + ch), Mathf.min(Mathf.max(m, actMin), actMax));
      }
    }
  }
}

export function avgpool_f32(inPtr: usize, inH: i32, inW: i32, c: i32, outPtr: usize, outH: i32, outW: i32,
  fH: i32, fW: i32, sH: i32, sW: i32, padT: i32, padL: i32, actMin: f32, actMax: f32): void {
  for (let oy = 0; oy < outH; oy++) {
    const y0 = oy * sH - padT;
    const fy0 = max(0, -y0), fy1 = min(fH, inH - y0);
    for (let ox = 0; ox < outW; ox++) {
      const x0 = ox * sW - padL;
      const fx0 = max(0, -x0), fx1 = min(fW, inW - x0);
      const count = (fy1 - fy0) * (fx1 - fx0);
      for (let ch = 0; ch < c; ch++) {
        let total: f32 = 0;
        for (let fy = fy0; fy < fy1; fy++) {
          for (let fx = fx0; fx < fx1; fx++) {
            total += load<f32>(inPtr + 4 * (((y0 + fy) * inW + x0 + fx) * c + ch));
          }
        }
        const avg: f32 = count > 0 ? total / <f32>count : 0;
        store<f32>(outPtr + 4 * ((oy * outW + ox) * c + ch), Mathf.min(Mathf.max(avg, actMin), actMax));
      }
    }
  }
}

export function mean_hw_f32(inPtr: usize, h: i32, w: i32, c: i32, outPtr: usize): void {
  const n = h * w;
  for (let ch = 0; ch < c; ch++) {
    let s: f32 = 0;
    for (let i = 0; i < n; i++) s += load<f32>(inPtr + 4 * (i * c + ch));
    store<f32>(outPtr + 4 * ch, s / <f32>n);
  }
}
