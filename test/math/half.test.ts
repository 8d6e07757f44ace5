import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  bfloat16ToFloat32, float16ToFloat32, float32ToBfloat16, float32ToFloat16, fromBfloat16, fromFloat16, toBfloat16, toFloat16,
} from '../../src/math/half.js';
import { mulberry32 } from '../../src/runtime/feeds.js';

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
const fromBits = (bits: number): number => { u32[0] = bits >>> 0; return f32[0]!; };
const bitsOf = (x: number): number => { f32[0] = x; return u32[0]!; };

/** float16 value from its fields, by arithmetic (independent of the implementation's bit shuffling). */
function float16Reference(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0x1f) return mant ? NaN : sign * Infinity;
  return sign * (exp === 0 ? mant * 2 ** -24 : (1 + mant / 1024) * 2 ** (exp - 15));
}

/**
 * Nearest representable value by exact float64 distances between the two candidates that bracket x; ties go
 * to the even bit pattern; a value past the last finite one rounds like a step to the next power of two.
 */
function nearest(x: number, below: (a: number) => { bits: number; value: number }, step: (bits: number) => number, infBits: number, beyond: number): number {
  if (Number.isNaN(x)) return -1;
  const sign = x < 0 || Object.is(x, -0) ? 1 : 0;
  const a = Math.abs(x);
  const lo = below(a);
  const hiBits = lo.bits + 1;
  const hiValue = hiBits === infBits ? beyond : step(hiBits);
  const dLo = a - lo.value, dHi = hiValue - a;
  const bits = dLo < dHi || (dLo === dHi && (lo.bits & 1) === 0) ? lo.bits : hiBits;
  return bits | (sign ? 0x8000 : 0);
}

const float16Values = Array.from({ length: 0x7c00 }, (_, h) => float16Reference(h));
function float16Below(a: number): { bits: number; value: number } {
  if (a >= 65504) return { bits: 0x7bff, value: 65504 };
  let lo = 0, hi = 0x7bff;
  while (lo < hi) { const mid = (lo + hi + 1) >> 1; if (float16Values[mid]! <= a) lo = mid; else hi = mid - 1; }
  return { bits: lo, value: float16Values[lo]! };
}
const float16Nearest = (x: number) => (Math.abs(x) === Infinity ? (x < 0 ? 0xfc00 : 0x7c00) : nearest(x, float16Below, (b) => float16Values[b]!, 0x7c00, 65536));

function bfloat16Below(a: number): { bits: number; value: number } {
  const bits = bitsOf(a) >>> 16;
  return { bits, value: fromBits(bits << 16) };
}
const bfloat16Nearest = (x: number) => (Math.abs(x) === Infinity ? (x < 0 ? 0xff80 : 0x7f80) : nearest(x, bfloat16Below, (b) => fromBits(b << 16), 0x7f80, 2 ** 128));

/** Random float32 bit patterns over every exponent, plus the halfway points of float16 and their neighbours. */
function probes(): Float32Array {
  const rand = mulberry32(7);
  const out: number[] = [];
  for (let i = 0; i < 200000; i++) out.push(fromBits(Math.floor(rand() * 2 ** 32)));
  for (let h = 0; h < 0x7bff; h++) {
    const mid = (float16Values[h]! + float16Values[h + 1]!) / 2;
    const b = bitsOf(mid);
    out.push(mid, -mid, fromBits(b - 1), fromBits(b + 1));
  }
  out.push(65504, 65519.996, 65520, 65536, 1e10, 2 ** -24, 2 ** -25, 2 ** -25 * 1.0000001, 2 ** -26, 0, -0);
  return Float32Array.from(out);
}

describe('float16', () => {
  it('decodes all 65536 bit patterns exactly', () => {
    for (let h = 0; h < 0x10000; h++) {
      const want = float16Reference(h);
      const got = fromFloat16(h);
      if (Number.isNaN(want)) assert.ok(Number.isNaN(got), `0x${h.toString(16)}`);
      else assert.ok(Object.is(got, want), `0x${h.toString(16)}: ${got} != ${want}`);
    }
  });

  it('encodes every float16 value back to its own bits', () => {
    for (let h = 0; h < 0x10000; h++) {
      if ((h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0) continue;
      assert.equal(toFloat16(fromFloat16(h)), h, `0x${h.toString(16)}`);
    }
  });

  it('rounds to nearest even like an exact reference, subnormals and overflow included', () => {
    const xs = probes();
    const bits = float32ToFloat16(xs);
    for (let i = 0; i < xs.length; i++) {
      const x = xs[i]!;
      if (Number.isNaN(x)) { assert.ok((bits[i]! & 0x7c00) === 0x7c00 && (bits[i]! & 0x3ff) !== 0, 'NaN stays NaN'); continue; }
      assert.equal(bits[i], float16Nearest(x), `x=${x} (0x${bitsOf(x).toString(16)})`);
    }
  });

  it('names the edge values', () => {
    assert.equal(toFloat16(65504), 0x7bff);
    assert.equal(toFloat16(65519.99), 0x7bff);
    assert.equal(toFloat16(65520), 0x7c00, 'halfway to 2^16 overflows');
    assert.equal(toFloat16(1e9, { saturate: true }), 0x7bff);
    assert.equal(toFloat16(-3.4e38, { saturate: true }), 0xfbff);
    assert.equal(toFloat16(-Infinity, { saturate: true }), 0xfc00, 'Inf stays Inf when saturating');
    assert.equal(toFloat16(2 ** -24), 0x0001);
    assert.equal(toFloat16(2 ** -25), 0x0000, 'tie with zero goes to even');
    assert.equal(toFloat16(-(2 ** -25) * 1.5), 0x8001);
    assert.equal(toFloat16(-0), 0x8000);
    assert.equal(toFloat16(2 ** -14 - 2 ** -25), 0x0400, 'the largest subnormal rounds up into the smallest normal');
    const nan = toFloat16(NaN);
    assert.ok((nan & 0x7e00) === 0x7e00, 'quiet NaN');
  });

  it('converts arrays, views with an offset included, both ways', () => {
    const backing = Float32Array.from([9, 1.5, -2.25, 1e-6, 70000]);
    const view = backing.subarray(1);
    const bits = float32ToFloat16(view);
    assert.deepEqual([...bits], [...view].map((x) => toFloat16(x)));
    assert.deepEqual([...float16ToFloat32(bits)], [...bits].map(fromFloat16));
  });
});

describe('bfloat16', () => {
  it('rounds to nearest even like an exact reference', () => {
    const xs = probes();
    const bits = float32ToBfloat16(xs);
    for (let i = 0; i < xs.length; i++) {
      const x = xs[i]!;
      if (Number.isNaN(x)) { assert.ok((bits[i]! & 0x7f80) === 0x7f80 && (bits[i]! & 0x7f) !== 0, 'NaN stays NaN'); continue; }
      assert.equal(bits[i], bfloat16Nearest(x), `x=${x} (0x${bitsOf(x).toString(16)})`);
    }
  });

  it('keeps every bfloat16 value, NaN, Inf and signed zero', () => {
    for (let h = 0; h < 0x10000; h++) {
      const x = fromBfloat16(h);
      if (Number.isNaN(x)) { assert.ok(Number.isNaN(fromBfloat16(toBfloat16(x)))); continue; }
      assert.equal(toBfloat16(x), h, `0x${h.toString(16)}`);
    }
    assert.equal(toBfloat16(3.4e38, { saturate: true }), 0x7f7f);
    assert.equal(toBfloat16(3.4e38), 0x7f80, 'rounds past the largest finite value to Inf');
    assert.equal(toBfloat16(NaN) & 0x7fc0, 0x7fc0, 'quiet NaN');
  });

  it('converts arrays both ways', () => {
    const xs = Float32Array.from([1, -1.00390625, 3.14159, 1e-40, -65504]);
    const bits = float32ToBfloat16(xs);
    assert.deepEqual([...bits], [...xs].map((x) => toBfloat16(x)));
    assert.deepEqual([...bfloat16ToFloat32(bits)], [...bits].map(fromBfloat16));
  });
});
