/**
 * Plain YAML scalars read as kubectl reads them.
 *
 * kubectl turns YAML into JSON with sigs.k8s.io/yaml, which decodes with its fork of go-yaml v2
 * (YAML 1.1 rules). An unquoted `yes`, `on`, `n` or `Off` is a boolean there, `0755` and `0o17`
 * are octal integers, `0x1F` hexadecimal, `1_000` a thousand, `~` null. The API server then
 * sees the JSON: an env `value: yes` arrives as `true` and the object is refused. Reading the
 * same scalars the same way lets `check` report what the API server will refuse.
 *
 * The table below follows go-yaml v2's resolve(): a first-character hint, an exact-match map,
 * then Go's integer parsing (strconv.ParseInt/ParseUint with base 0, after removing every `_`)
 * and a YAML-style float. go-yaml also recognises timestamps (`2001-12-14`), but decodes them
 * into an untyped value as the original string, and none of them is an integer or a float, so
 * they are strings here too. Base-60 numbers (`1:30`) are not numbers to go-yaml v2: strings.
 * Quoted and block scalars are always strings; only plain scalars go through this table.
 */
import jsyaml from 'js-yaml'
import type { ScalarTag } from 'yaml'

const MAP = new Map<string, unknown>()
for (const s of ['y', 'Y', 'yes', 'Yes', 'YES', 'true', 'True', 'TRUE', 'on', 'On', 'ON']) MAP.set(s, true)
for (const s of ['n', 'N', 'no', 'No', 'NO', 'false', 'False', 'FALSE', 'off', 'Off', 'OFF']) MAP.set(s, false)
for (const s of ['', '~', 'null', 'Null', 'NULL']) MAP.set(s, null)
for (const s of ['.nan', '.NaN', '.NAN']) MAP.set(s, Number.NaN)
for (const s of ['.inf', '.Inf', '.INF', '+.inf', '+.Inf', '+.INF']) MAP.set(s, Number.POSITIVE_INFINITY)
for (const s of ['-.inf', '-.Inf', '-.INF']) MAP.set(s, Number.NEGATIVE_INFINITY)

/** The longest word of the map. */
const MAX_MAP_WORD = Math.max(...[...MAP.keys()].map((k) => k.length))

/** go-yaml's hint by first character: S sign, D digit, M in the map, . float. */
function hint(c: number): 'S' | 'D' | 'M' | '.' | undefined {
  if (c === 43 || c === 45) return 'S'
  if (c >= 48 && c <= 57) return 'D'
  if (c === 46) return '.'
  // y Y n N t T f F o O ~
  if (c === 121 || c === 89 || c === 110 || c === 78 || c === 116 || c === 84 || c === 102 || c === 70 || c === 111 || c === 79 || c === 126) return 'M'
  return undefined
}

/** Go's strconv.ParseInt(s, 0, 64), widened to ParseUint and big integers as go-yaml does. */
const GO_INT = /^([-+]?)(?:0[xX]([0-9a-fA-F]+)|0[oO]([0-7]+)|0[bB]([01]+)|0([0-7]*)|([1-9][0-9]*))$/
/** go-yaml v2's yamlStyleFloat. */
const YAML_FLOAT = /^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$/
const DOT_FLOAT = /^\.[0-9]+(?:[eE][-+]?[0-9]+)?$/

/** Plain decimal integers this long or shorter are exact as numbers and need no BigInt. */
const MAX_SHORT_DECIMAL = 15

function goInt(plain: string): number | undefined {
  // The common case (a port, a count: 1-9 then digits, no sign) without the regular expression.
  const n0 = plain.length
  if (n0 > 0 && n0 <= MAX_SHORT_DECIMAL) {
    let c = plain.charCodeAt(0)
    if (c >= 49 && c <= 57) {
      let i = 1
      for (; i < n0; i++) {
        c = plain.charCodeAt(i)
        if (c < 48 || c > 57) break
      }
      if (i === n0) return Number(plain)
    }
  }
  const m = GO_INT.exec(plain)
  if (m === null) return undefined
  const [, sign, hex, oct, bin, lead0, dec] = m
  let n: bigint
  if (hex !== undefined) n = BigInt(`0x${hex}`)
  else if (oct !== undefined) n = BigInt(`0o${oct}`)
  else if (bin !== undefined) n = BigInt(`0b${bin}`)
  else if (lead0 !== undefined) n = lead0 === '' ? 0n : BigInt(`0o${lead0}`)
  else n = BigInt(dec ?? '0')
  // Decimal integers above the 64-bit range are floats to go-yaml (ParseUint fails, the float
  // form matches); the same number either way once it is a JavaScript number.
  return Number(sign === '-' ? -n : n)
}

/**
 * Whether a plain scalar starting with the character `first` and `length` long is certainly
 * read as text (resolvePlain gives it back), without looking at the rest: no hint character,
 * or a hint of the map only and longer than any word in it.
 */
export function plainIsText(first: number, length: number): boolean {
  if (length === 0) return false
  const h = hint(first)
  return h === undefined || (h === 'M' && length > MAX_MAP_WORD)
}

/** The value kubectl reads for a plain (unquoted) scalar: null, a boolean, a number, or the text itself. */
export function resolvePlain(s: string): unknown {
  const h = s === '' ? 'M' : hint(s.charCodeAt(0))
  if (h === undefined) return s
  const mapped = MAP.get(s)
  if (mapped !== undefined || MAP.has(s)) return mapped
  if (h === 'M') return s
  if (h === '.') return DOT_FLOAT.test(s) ? Number(s) : s
  const plain = s.includes('_') ? s.replaceAll('_', '') : s
  const i = goInt(plain)
  if (i !== undefined) return i
  if (YAML_FLOAT.test(plain)) {
    const f = Number(plain)
    // Out of float64's range: strconv.ParseFloat fails, and go-yaml keeps the text.
    if (Number.isFinite(f)) return f
  }
  return s
}

/** A number JSON cannot carry (NaN, ±Infinity): kubectl fails on it when it turns YAML into JSON. */
export function notJsonNumber(v: unknown): v is number {
  return typeof v === 'number' && !Number.isFinite(v)
}

export function notJsonMessage(s: string): string {
  return `the unquoted value ${s} is ${s.includes('nan') || s.includes('NaN') || s.includes('NAN') ? 'NaN' : 'infinity'} to kubectl, which JSON cannot carry: kubectl refuses the file; quote it ("${s}") if it is meant as text`
}

/**
 * For js-yaml: the failsafe schema (maps, sequences, strings) with every plain scalar resolved
 * as above. Other tags than !!str, !!seq and !!map are unknown to it; the caller reads such a
 * file with the exact reader instead.
 */
// js-yaml asks `resolve` whether the type takes a scalar, then at once `construct` for its value:
// the value found by the first is kept for the second (the same text), not worked out twice.
let resolvedText: string | undefined
let resolvedValue: unknown
const k8sPlain = new jsyaml.Type('tag:yaml.org,2002:kubectl-plain', {
  kind: 'scalar',
  resolve: (data: string) => {
    const v = resolvePlain(data)
    if (typeof v === 'string') return false
    resolvedText = data
    resolvedValue = v
    return true
  },
  construct: (data: string) => {
    const v = data === resolvedText ? resolvedValue : resolvePlain(data)
    if (notJsonNumber(v)) throw new Error(notJsonMessage(data))
    return v
  },
})
export const JS_YAML_SCHEMA = jsyaml.FAILSAFE_SCHEMA.extend({ implicit: [k8sPlain] })

/** For the yaml package, with schema 'failsafe': the same resolution, errors at the scalar. */
export const YAML_PLAIN_TAG: ScalarTag = {
  tag: 'tag:yaml.org,2002:kubectl-plain',
  default: true,
  test: /^(?:[-+0-9.yYnNtTfFoO~].*)?$/s,
  resolve(str: string, onError: (message: string) => void): unknown {
    const v = resolvePlain(str)
    if (notJsonNumber(v)) {
      onError(notJsonMessage(str))
      return str
    }
    return v
  },
}

/**
 * For a field that must be a string but holds a boolean, number or null: when it was written
 * unquoted and YAML 1.1 made it so, the words that say why and how to fix it.
 */
export function quoteHint(written: string | undefined, value: unknown): string | undefined {
  if (written === undefined || written.length > 40) return undefined
  const v = resolvePlain(written)
  if (typeof v === 'string' || !Object.is(v, value)) return undefined
  return `kubectl reads the unquoted ${written} as ${JSON.stringify(v)} (YAML 1.1), and the API server refuses the object; quote it: "${written}"`
}
