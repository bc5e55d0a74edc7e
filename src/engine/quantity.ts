/**
 * Kubernetes resource quantities, parsed exactly.
 *
 * The grammar is the API server's (k8s.io/apimachinery resource.Quantity):
 *   quantity ::= signedNumber suffix
 *   suffix   ::= binarySI (Ki Mi Gi Ti Pi Ei) | decimalSI (m "" k M G T P E) | ("e"|"E") signedNumber
 * Values are kept as exact fractions of big integers, so `0.1` + `0.2` is `0.3` and
 * `512m` of memory is exactly 0.512 bytes, never a float approximation.
 */

import { ByteBoundedCache, stringBytes } from './bounded-cache.js'

const BINARY: Record<string, bigint> = {
  Ki: 1n << 10n,
  Mi: 1n << 20n,
  Gi: 1n << 30n,
  Ti: 1n << 40n,
  Pi: 1n << 50n,
  Ei: 1n << 60n,
}
const DECIMAL: Record<string, number> = { m: -3, '': 0, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 }

/** The largest decimal exponent we accept; the API server's own limits are far below it. */
const MAX_EXPONENT = 100

const QUANTITY_RE = /^([+-]?)(\d+\.?\d*|\.\d+)(?:(Ki|Mi|Gi|Ti|Pi|Ei)|([mkMGTPE]?)|[eE]([+-]?\d+))$/

/**
 * Parses by text, bounded in bytes as well as entries: objects repeat a few short texts, and a
 * hostile one may carry a megabyte of digits that several rules read (parse it once per review,
 * but never let such texts pile up).
 */
const PARSED = new ByteBoundedCache<string | number, Quantity | null>({
  maxBytes: 8 * 1024 * 1024,
  maxEntryBytes: 3 * 1024 * 1024,
  maxEntries: 1024,
  // The key is also the text the Quantity keeps; its numbers are small (digits are bounded).
  sizeOf: (key) => 160 + (typeof key === 'string' ? stringBytes(key) : 0),
})

function gcd(a: bigint, b: bigint): bigint {
  a = a < 0n ? -a : a
  b = b < 0n ? -b : b
  while (b !== 0n) [a, b] = [b, a % b]
  return a
}

export class Quantity {
  /** numerator and (positive) denominator, reduced */
  readonly n: bigint
  readonly d: bigint
  /** The suffix as written (`Mi`, `m`, `e3`, `''`), for rules that judge how a value was written. */
  readonly suffix: string
  /** The text as written, for messages. */
  readonly text: string

  constructor(n: bigint, d: bigint, suffix = '', text?: string) {
    if (d === 0n) throw new RangeError('zero denominator')
    if (d < 0n) {
      n = -n
      d = -d
    }
    const g = gcd(n, d) || 1n
    this.n = n / g
    this.d = d / g
    this.suffix = suffix
    this.text = text ?? `${this.n}${this.d === 1n ? '' : `/${this.d}`}`
  }

  static readonly ZERO = new Quantity(0n, 1n, '', '0')

  static fromInteger(v: bigint | number): Quantity {
    return new Quantity(BigInt(v), 1n)
  }

  /**
   * Parses a quantity as written in a manifest: a string, or a number that YAML gave us.
   * Returns undefined when it is not a valid quantity.
   */
  static parse(input: unknown): Quantity | undefined {
    if (typeof input !== 'string' && typeof input !== 'number') return undefined
    // Quantities are immutable, and objects carry the same few texts (`256Mi`, `500m`) again
    // and again: parses are memoised, in a bounded map so that hostile input cannot grow it.
    const hit = PARSED.get(input)
    if (hit !== undefined) return hit ?? undefined
    const q = parseQuantity(input)
    PARSED.set(input, q ?? null)
    return q
  }

  cmp(other: Quantity): -1 | 0 | 1 {
    const l = this.n * other.d
    const r = other.n * this.d
    return l < r ? -1 : l > r ? 1 : 0
  }

  lt(o: Quantity): boolean { return this.cmp(o) < 0 }
  lte(o: Quantity): boolean { return this.cmp(o) <= 0 }
  gt(o: Quantity): boolean { return this.cmp(o) > 0 }
  gte(o: Quantity): boolean { return this.cmp(o) >= 0 }
  eq(o: Quantity): boolean { return this.cmp(o) === 0 }

  add(o: Quantity): Quantity {
    return new Quantity(this.n * o.d + o.n * this.d, this.d * o.d)
  }

  sub(o: Quantity): Quantity {
    return new Quantity(this.n * o.d - o.n * this.d, this.d * o.d)
  }

  /** Multiplies by an exact fraction given as numerator and denominator. */
  mul(num: bigint | number, den: bigint | number = 1n): Quantity {
    return new Quantity(this.n * BigInt(num), this.d * BigInt(den))
  }

  static max(a: Quantity, b: Quantity): Quantity {
    return a.gte(b) ? a : b
  }

  /** Approximate value, for display and ratios only; never for comparisons. */
  toNumber(): number {
    return Number(this.n) / Number(this.d)
  }

  isInteger(): boolean {
    return this.d === 1n
  }

  /** Rounds up to a whole number, as the API server does for byte counts. */
  ceil(): bigint {
    const q = this.n / this.d
    return this.n % this.d === 0n || this.n < 0n ? q : q + 1n
  }
}

/** Significant digits kept of the whole part, and digits kept of the fraction. */
const MAX_WHOLE_DIGITS = 120
const MAX_FRACTION_DIGITS = 40

/**
 * The digits a quantity is computed from, with the work bounded whatever the text's length: the
 * API server accepts any number of digits, but big-integer arithmetic on a megabyte of them takes
 * seconds. Leading zeros are dropped (as the API server does). A whole part of more than 120
 * significant digits is a value beyond 10^120, which no comparison with anything a cluster holds
 * can tell apart from another such value: it is kept as its first 120 digits, rounded up, times
 * 10^120 at most. The fraction is cut after 40 digits, rounded up: the API server itself rounds a
 * quantity up to nano units.
 */
function significant(wholeText: string, fracText: string): { whole: string; frac: string; scale: number } {
  let start = 0
  while (start < wholeText.length - 1 && wholeText.charCodeAt(start) === 48) start++
  let whole = start === 0 ? wholeText : wholeText.slice(start)
  if (whole.length > MAX_WHOLE_DIGITS) {
    const rest = whole.slice(MAX_WHOLE_DIGITS)
    const scale = Math.min(rest.length, MAX_WHOLE_DIGITS)
    whole = whole.slice(0, MAX_WHOLE_DIGITS)
    if (/[1-9]/.test(rest) || /[1-9]/.test(fracText)) whole = (BigInt(whole) + 1n).toString()
    return { whole, frac: '', scale }
  }
  if (fracText.length <= MAX_FRACTION_DIGITS) return { whole, frac: fracText, scale: 0 }
  let frac = fracText.slice(0, MAX_FRACTION_DIGITS)
  if (/[1-9]/.test(fracText.slice(MAX_FRACTION_DIGITS))) {
    // Round up in the last kept place; a carry out of the fraction goes to the whole part.
    const up = (BigInt(`${whole || '0'}${frac}`) + 1n).toString().padStart(frac.length + 1, '0')
    return { whole: up.slice(0, up.length - frac.length), frac: up.slice(up.length - frac.length), scale: 0 }
  }
  frac = frac.replace(/0+$/, '')
  return { whole, frac, scale: 0 }
}

function parseQuantity(input: string | number): Quantity | undefined {
  let text: string
  if (typeof input === 'number') {
    if (!Number.isFinite(input)) return undefined
    text = String(input)
  } else if (typeof input === 'string') {
    text = input.trim()
    if (text !== input) return undefined
  } else {
    return undefined
  }
  const m = QUANTITY_RE.exec(text)
  if (m === null) return undefined
  const sign = m[1] === '-' ? -1n : 1n
  const digits = m[2] ?? '0'
  const [wholeText = '', fracText = ''] = digits.split('.')
  const { whole, frac, scale } = significant(wholeText, fracText)
  let n = BigInt((whole || '0') + frac) * sign
  let d = 10n ** BigInt(frac.length)
  if (scale > 0) n *= 10n ** BigInt(scale)
  let suffix = ''
  if (m[3] !== undefined) {
    suffix = m[3]
    n *= BINARY[suffix] ?? 1n
  } else if (m[5] !== undefined) {
    const e = Number(m[5])
    if (!Number.isSafeInteger(e) || Math.abs(e) > MAX_EXPONENT) return undefined
    suffix = `e${e}`
    if (e >= 0) n *= 10n ** BigInt(e)
    else d *= 10n ** BigInt(-e)
  } else {
    suffix = m[4] ?? ''
    const e = DECIMAL[suffix] ?? 0
    if (e >= 0) n *= 10n ** BigInt(e)
    else d *= 10n ** BigInt(-e)
  }
  return new Quantity(n, d, suffix, text)
}

const BYTE_UNITS: ReadonlyArray<readonly [string, bigint, Quantity]> = (
  [['Ei', 1n << 60n], ['Pi', 1n << 50n], ['Ti', 1n << 40n], ['Gi', 1n << 30n], ['Mi', 1n << 20n], ['Ki', 1n << 10n]] as const
).map(([unit, size]) => [unit, size, new Quantity(size, 1n)] as const)

/** A byte count in the unit people write: `768Mi`, `2Gi`, `1.5Gi`, or plain bytes. */
export function formatBytes(q: Quantity): string {
  if (q.n < 0n) return `-${formatBytes(new Quantity(-q.n, q.d))}`
  for (const [unit, size, whole] of BYTE_UNITS) {
    if (q.gte(whole)) {
      const value = q.toNumber() / Number(size)
      const rounded = Math.round(value * 100) / 100
      return `${rounded}${unit}`
    }
  }
  const v = q.toNumber()
  return Number.isInteger(v) ? `${v}` : `${Math.round(v * 1000) / 1000}`
}

/** A CPU amount as people write it: `500m`, `2`, `1.5`. */
export function formatCpu(q: Quantity): string {
  const milli = q.mul(1000)
  if (milli.isInteger() && milli.n % 1000n !== 0n) return `${milli.n}m`
  const v = q.toNumber()
  return `${Math.round(v * 1000) / 1000}`
}

export const MEBIBYTE = Quantity.fromInteger(1n << 20n)
