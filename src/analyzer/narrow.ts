/** Small helpers to read untrusted JSON without casts: each returns undefined for the wrong shape. */

export type Obj = Record<string, unknown>

export function rec(v: unknown): Obj | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Obj) : undefined
}

export function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined
}

export function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined
}

export function int(v: unknown): number | undefined {
  const n = num(v)
  return n !== undefined && Number.isInteger(n) ? n : undefined
}

export function bool(v: unknown): boolean | undefined {
  return typeof v === 'boolean' ? v : undefined
}

export function arr(v: unknown): unknown[] {
  return Array.isArray(v) ? v : []
}

export function strings(v: unknown): string[] {
  return arr(v).map((x) => (typeof x === 'number' || typeof x === 'boolean' ? String(x) : x)).filter((x): x is string => typeof x === 'string')
}

export function stringMap(v: unknown): Record<string, string> {
  const out: Record<string, string> = {}
  const o = rec(v)
  if (o === undefined) return out
  for (const [k, x] of Object.entries(o)) {
    if (typeof x === 'string') out[k] = x
    else if (typeof x === 'number') out[k] = String(x)
  }
  return out
}

/** A timestamp: an RFC 3339 string (as in JSON) or a Date (as YAML may give). */
export function date(v: unknown): Date | undefined {
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? undefined : v
  if (typeof v !== 'string' || v === '') return undefined
  const d = new Date(v)
  return Number.isNaN(d.getTime()) ? undefined : d
}

export function get(v: unknown, ...path: string[]): unknown {
  let cur: unknown = v
  for (const p of path) {
    const o = rec(cur)
    if (o === undefined) return undefined
    cur = o[p]
  }
  return cur
}
