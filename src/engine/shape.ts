/**
 * A small declarative checker for the parts of Kubernetes objects the rules read.
 *
 * Input comes from users (manifests) or from the API server; either way a rule must never
 * crash on a field of the wrong type. `sanitize` returns a value that matches the declared
 * type, drops only what does not, and reports every dropped field with its path, so nothing
 * is ignored silently.
 */
import { formatPath, type PathSegment } from '../input/field-path.js'

export interface ShapeError {
  path: string
  message: string
}

export interface Shape<T> {
  readonly describe: string
  check(value: unknown, path: PathSegment[], errors: ShapeError[]): T | undefined
}

function typeName(v: unknown): string {
  if (v === null) return 'null'
  if (Array.isArray(v)) return 'a list'
  if (typeof v === 'object') return 'a map'
  return `a ${typeof v}`
}

function mismatch(path: PathSegment[], expected: string, got: unknown, errors: ShapeError[]): undefined {
  errors.push({ path: formatPath(path), message: `must be ${expected}, got ${typeName(got)}` })
  return undefined
}

export const str: Shape<string> = {
  describe: 'a string',
  check: (v, p, e) => (typeof v === 'string' ? v : v === null ? undefined : mismatch(p, 'a string', v, e)),
}

export const int: Shape<number> = {
  describe: 'an integer',
  check: (v, p, e) => (typeof v === 'number' && Number.isInteger(v) ? v : v === null ? undefined : mismatch(p, 'an integer', v, e)),
}

export const bool: Shape<boolean> = {
  describe: 'true or false',
  check: (v, p, e) => (typeof v === 'boolean' ? v : v === null ? undefined : mismatch(p, 'true or false', v, e)),
}

/** A port: an integer or an IANA name, as in probes and Service targetPorts. */
export const intOrString: Shape<number | string> = {
  describe: 'an integer or a string',
  check: (v, p, e) =>
    (typeof v === 'number' && Number.isInteger(v)) || typeof v === 'string' ? v : v === null ? undefined : mismatch(p, 'an integer or a string', v, e),
}

/** A quantity as written: kept raw here (string or number) and parsed where it is judged. */
export const quantityText: Shape<string | number> = {
  describe: 'a quantity',
  check: (v, p, e) => (typeof v === 'string' || typeof v === 'number' ? v : v === null ? undefined : mismatch(p, 'a quantity such as 500m or 1Gi', v, e)),
}

/** Any JSON value, unchecked: for parts that are only compared as a whole. */
export const anything: Shape<unknown> = { describe: 'anything', check: (v) => v }

// The combinators below share one path array per walk: a segment is pushed before an item
// is checked and popped after, so no path is allocated unless an error is reported (errors
// format the path when they are recorded). The caller's array is left as it was given.

export function list<T>(item: Shape<T>): Shape<T[]> {
  const message = `a list of ${item.describe}s`.replace(/^a list of a /, 'a list of ')
  return {
    describe: `a list of ${item.describe}`,
    check(v, p, e) {
      if (v === null || v === undefined) return undefined
      if (!Array.isArray(v)) return mismatch(p, message, v, e)
      // The result is the input list itself while every item checks to itself (lists of
      // valid strings, say); a copy is made from the first item that differs.
      let out: T[] | undefined
      const n = v.length
      for (let i = 0; i < n; i++) {
        if (!(i in v)) {
          // a hole of a sparse list: skipped, as forEach does
          out ??= v.slice(0, i) as T[]
          continue
        }
        const x: unknown = v[i]
        p.push(i)
        const c = item.check(x, p, e)
        p.pop()
        if (out === undefined) {
          if (c === x && c !== undefined) continue
          out = v.slice(0, i) as T[]
        }
        if (c !== undefined) out.push(c)
      }
      return out ?? (Object.getPrototypeOf(v) === Array.prototype ? (v as T[]) : (v.slice() as T[]))
    },
  }
}

export function record<T>(item: Shape<T>): Shape<Record<string, T>> {
  return {
    describe: `a map of ${item.describe}`,
    check(v, p, e) {
      if (v === null || v === undefined) return undefined
      if (typeof v !== 'object' || Array.isArray(v)) return mismatch(p, 'a map', v, e)
      // As for lists: the input map itself while every value checks to itself, it is a plain
      // object and no key is `__proto__` (which the copy below would not keep as a key).
      let same = Object.getPrototypeOf(v) === Object.prototype
      let out: Record<string, T> | undefined
      const entries = Object.entries(v)
      for (let i = 0; i < entries.length; i++) {
        const [k, x] = entries[i]!
        p.push(k)
        const c = item.check(x, p, e)
        p.pop()
        if (same && (c !== x || c === undefined || k === '__proto__')) same = false
        if (!same) {
          if (out === undefined) {
            out = {}
            for (let j = 0; j < i; j++) {
              const [kj, xj] = entries[j]!
              out[kj] = xj as T
            }
          }
          if (c !== undefined) out[k] = c
        }
      }
      if (out !== undefined) return out
      if (same) return v as Record<string, T>
      return {}
    },
  }
}

type Fields = Record<string, Shape<unknown>>
type FromFields<F extends Fields> = { [K in keyof F]?: F[K] extends Shape<infer T> ? T : never }

/**
 * An object with known fields; unknown fields are kept out of the result (they are not read
 * by any rule) but not reported: Kubernetes objects carry many fields we do not judge.
 *
 * The check is compiled once per shape into a function that names each field in its own
 * statement (as ajv compiles its validators): a loop over the field names shared by every shape
 * made each lookup, each `in` for an absent field and each store into the result a lookup by a
 * varying key, the costliest kind in V8, and reading pod templates took most of a review's
 * extraction time. The field names come from this module's callers, never from input, and are
 * written into the code as JSON string literals.
 */
export function object<F extends Fields>(fields: F): Shape<FromFields<F>> {
  const entries = Object.entries(fields)
  const shapes = entries.map(([, shape]) => shape)
  const body = [
    'return function check(v, p, e) {',
    '  if (v === null || v === undefined) return undefined',
    "  if (typeof v !== 'object' || Array.isArray(v)) return mismatch(p, 'a map', v, e)",
    '  const out = {}',
    '  let x, c',
    // One lookup for a field that is there; `in` only tells an absent field from one set to undefined.
    ...entries.map(([k], i) => {
      const key = JSON.stringify(k)
      return `  x = v[${key}]; if (x !== undefined || ${key} in v) { p.push(${key}); c = shapes[${i}].check(x, p, e); p.pop(); if (c !== undefined) out[${key}] = c }`
    }),
    '  return out',
    '}',
  ].join('\n')
  // Generated from the declared field names only.
  const check = new Function('mismatch', 'shapes', body)(mismatch, shapes) as Shape<FromFields<F>>['check']
  return { describe: 'a map', check }
}

export type ShapeType<S> = S extends Shape<infer T> ? T : never
