// float32 CONV_2D / DEPTHWISE_CONV_2D (FULLY_CONNECTED runs as a 1x1 conv).
// `_ref` kernels read TFLite's natural layouts and follow the reference loop
// order; the fast kernels read weights packed as [K][CoutPad4] (conv) or
// [KH*KW][CPad4] (depthwise) and work on 4 output channels per f32x4.

export function conv_f32_ref(inPtr: usize, inH: i32, inW: i32, inC: i32,
  wPtr: usize, biasPtr: usize, outPtr: usize, outH: i32, outW: i32, outC: i32, actMin: f32, actMax: f32,
  kH: i32, kW: i32, sH: i32, sW: i32, dH: i32, dW: i32, padT: i32, padL: i32): void {
  for (let oy = 0; oy < outH; oy++) {
    for (let ox = 0; ox < outW; ox++) {
      for (let co = 0; co < outC; co++) {
        let total: f32 = 0;
        for (let ky = 0; ky < kH; ky++) {
          const iy = oy * sH - padT + ky * dH;
          if (iy < 0 || iy >= inH) continue;
          for (let kx = 0; kx < kW; kx++) {
            const ix = ox * sW - padL + kx * dW;
            if (ix < 0 || ix >= inW) continue;
            for (let ci = 0; ci < inC; ci++) {
              total += load<f32>(inPtr + 4 * ((iy * inW + ix) * inC + ci)) *
                load<f32>(wPtr + 4 * (((co * kH + ky) * kW + kx) * inC + ci));
            }
          }
        }
        const b: f32 = biasPtr ? load<f32>(biasPtr + 4 * co) : 0;
        store<f32>(outPtr + 4 * ((oy * outW + ox) * outC + co), Mathf.min(Mathf.max(total + b, actMin), actMax));
      }
    }
  }
}

// packed: w[k][coPad] with coPad = round up outC to 4, k = (ky*kW + kx)*inC + ci; bias padded to coPad
export function conv_f32(inPtr: usize, inH: i32, inW: i32, inC: i32,
  pwPtr: usize, biasPtr: usize, outPtr: usize, outH: i32, outW: i32, outC: i32, actMin: f32, actMax: f32,
  kH: i32, kW: i32, sH: i32, sW: i32, dH: i32, dW: i32, padT: i32, padL: i32, scratchPtr: usize): void {
  const coPad = (outC + 3) & ~3;
  const rowStride = coPad * 4;
  const vmin = f32x4.splat(actMin), vmax = f32x4.splat(actMax);
  for (let oy = 0; oy < outH; oy++) {
    for (let ox = 0; ox < outW; ox++) {
      // accumulators for all output channels of this pixel live in scratch
      for (let co = 0; co < coPad; co += 4) v128.store(scratchPtr + 4 * co, f32x4.splat(0));
      for (let ky = 0; ky < kH; ky++) {
        const iy = oy * sH - padT + ky * dH;
        if (iy < 0 || iy >= inH) continue;
        for (let kx = 0; kx < kW; kx++) {
          const ix = ox * sW - padL + kx * dW;
          if (ix < 0 || ix >= inW) continue;
          const src = inPtr + 4 * ((iy * inW + ix) * inC);
          const wk = pwPtr + <usize>((ky * kW + kx) * inC) * rowStride;
          for (let ci = 0; ci < inC; ci++) {
            const x = f32x4.splat(load<f32>(src + 4 * ci));
            const wrow = wk + ci * rowStride;
            let co = 0;
            for (; co + 16 <= coPad; co += 16) {
              const a = scratchPtr + 4 * co;
              v128.store(a, f32x4.add(v128.load(a), f32x4.mul(x, v128.load(wrow + 4 * co))));
              v128.store(a + 16, f32x4.add(v128.load(a + 16), f32x4.mul(x, v128.load(wrow + 4 * co + 16))));
              v128.store(a + 32, f32x4.add(v128.load(a + 32), f32x4.mul(x, v128.load(wrow + 4 * co + 32))));
              v128.store(a + 48, f32x4.add(v128.load(a + 48), f32x4.mul(x, v128.load(wrow + 4 * co + 48))));
            }
            for (; co < coPad; co += 4) {
              const a = scratchPtr + 4 * co;
              v128.store(a, f32x4.add(v128.load(a), f32x4.mul(x, v128.load(wrow + 4 * co))));
            }
          }
        }
      }
      const out = outPtr + 4 * ((oy * outW + ox) * outC);
      let co = 0;
      for (; co + 4 <= outC; co += 4) {
        const v = f32x4.add(v128.load(scratchPtr + 4 * co), v128.load(biasPtr + 4 * co));
        v128.store(out + 4 * co, f32x4.pmin(f32x4.pmax(v, vmin), vmax));
      }
      for (; co < outC; co++) {
        const v = load<f32>(scratchPtr + 4 * co) + load<f32>(biasPtr + 4 * co);
        store<f32>(out + 4 * co, Mathf.min(Mathf.max(v, actMin), actMax));
      }
    }
  }
}

export function dw_f32_ref(inPtr: usize, inH: i32, inW: i32, inC: i32, wPtr: usize, depthMult: i32,
  biasPtr: usize, outPtr: usize, outH: i32, outW: i32, outC: i32, actMin: f32, actMax: f32,
  kH: i32, kW: i32, sH: i32, sW: i32, dH: i32, dW: i32, padT: i32, padL: i32): void {
  for (let oy = 0; oy < outH; oy++) {
    for (let ox = 0; ox < outW; ox++) {
      for (let ic = 0; ic < inC; ic++) {
        for (let m = 0; m < depthMult; m++) {
          const oc = ic * depthMult + m;
          let total: f32 = 0;
          for (let ky = 0; ky < kH; ky++) {
            const iy = oy * sH - padT + ky * dH;
            if (iy < 0 || iy >= inH) continue;
            for (let kx = 0; kx < kW; kx++) {
              const ix = ox * sW - padL + kx * dW;
              if (ix < 0 || ix >= inW) continue;
              total += load<f32>(inPtr + 4 * ((iy * inW + ix) * inC + ic)) *
                load<f32>(wPtr + 4 * ((ky * kW + kx) * outC + oc));
            }
          }
          const b: f32 = biasPtr ? load<f32>(biasPtr + 4 * oc) : 0;
          store<f32>(outPtr + 4 * ((oy * outW + ox) * outC + oc), Mathf.min(Mathf.max(total + b, actMin), actMax));
        }
      }
    }
  }
}

// depth multiplier 1; packed w[tap][cPad4], bias padded to cPad4; scratch >= cPad4 floats
export function dw_f32(inPtr: usize, inH: i32, inW: i32, c: i32, pwPtr: usize,
  biasPtr: usize, outPtr: usize, outH: i32, outW: i32, actMin: f32, actMax: f32,
  kH: i32, kW: i32, sH: i32, sW: i32, dH: i32, dW: i32, padT: i32, padL: i32, scratchPtr: usize): void {
  const cPad = (c + 3) & ~3;
  const vmin = f32x4.splat(actMin), vmax = f32x4.splat(actMax);
  for (let oy = 0; oy < outH; oy++) {
    for (let ox = 0; ox < outW; ox++) {
      const out = outPtr + 4 * ((oy * outW + ox) * c);
      for (let ch = 0; ch < cPad; ch += 4) {
        let acc = f32x4.splat(0);
        for (let ky = 0; ky < kH; ky++) {
          const iy = oy * sH - padT + ky * dH;
          if (iy < 0 || iy >= inH) continue;
          for (let kx = 0; kx < kW; kx++) {
            const ix = ox * sW - padL + kx * dW;
            if (ix < 0 || ix >= inW) continue;
            acc = f32x4.add(acc, f32x4.mul(v128.load(inPtr + 4 * ((iy * inW + ix) * c + ch)),
              v128.load(pwPtr + 4 * ((ky * kW + kx) * cPad + ch))));
          }
        }
        const v = f32x4.pmin(f32x4.pmax(f32x4.add(acc, v128.load(biasPtr + 4 * ch)), vmin), vmax);
        if (ch + 4 <= c) v128.store(out + 4 * ch, v);
        else {
          v128.store(scratchPtr, v);
          for (let j = ch; j < c; j++) store<f32>(out + 4 * j, load<f32>(scratchPtr + 4 * (j - ch)));
        }
      }
    }
  }
}
