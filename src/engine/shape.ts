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

export function list<T>(item: Shape<T>): Shape<T[]> {
  return {
    describe: `a list of ${item.describe}`,
    check(v, p, e) {
      if (v === null || v === undefined) return undefined
      if (!Array.isArray(v)) return mismatch(p, `a list of ${item.describe}s`.replace(/^a list of a /, 'a list of '), v, e)
      const out: T[] = []
      v.forEach((x, i) => {
        const c = item.check(x, [...p, i], e)
        if (c !== undefined) out.push(c)
      })
      return out
    },
  }
}

export function record<T>(item: Shape<T>): Shape<Record<string, T>> {
  return {
    describe: `a map of ${item.describe}`,
    check(v, p, e) {
      if (v === null || v === undefined) return undefined
      if (typeof v !== 'object' || Array.isArray(v)) return mismatch(p, 'a map', v, e)
      const out: Record<string, T> = {}
      for (const [k, x] of Object.entries(v)) {
        const c = item.check(x, [...p, k], e)
        if (c !== undefined) out[k] = c
      }
      return out
    },
  }
}

type Fields = Record<string, Shape<unknown>>
type FromFields<F extends Fields> = { [K in keyof F]?: F[K] extends Shape<infer T> ? T : never }

/**
 * An object with known fields; unknown fields are kept out of the result (they are not read
 * by any rule) but not reported: Kubernetes objects carry many fields we do not judge.
 */
export function object<F extends Fields>(fields: F): Shape<FromFields<F>> {
  return {
    describe: 'a map',
    check(v, p, e) {
      if (v === null || v === undefined) return undefined
      if (typeof v !== 'object' || Array.isArray(v)) return mismatch(p, 'a map', v, e)
      const src = v as Record<string, unknown>
      const out: Record<string, unknown> = {}
      for (const [k, shape] of Object.entries(fields)) {
        if (!(k in src)) continue
        const c = shape.check(src[k], [...p, k], e)
        if (c !== undefined) out[k] = c
      }
      return out as FromFields<F>
    },
  }
}

export type ShapeType<S> = S extends Shape<infer T> ? T : never
