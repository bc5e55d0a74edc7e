/**
 * "Did you mean": the known field name closest to a misspelt one (`limts` → `limits`,
 * `ContainerPort` → `containerPort`, `imagePullPolicy` for `imagePulPolicy`).
 *
 * Bounded: a name longer than MAX_NAME is not matched, at most MAX_CANDIDATES names are compared,
 * and each comparison is an edit distance over two names of at most MAX_NAME characters that stops
 * once every cell of a row is past the limit.
 */
export const MAX_NAME = 64
export const MAX_CANDIDATES = 200

/** Edits allowed: one for short names, two from 5 characters on, three from 12. */
function allowed(length: number): number {
  return length <= 4 ? 1 : length < 12 ? 2 : 3
}

/**
 * Optimal string alignment distance (insertions, deletions, substitutions and swaps of two
 * neighbours), or `limit + 1` as soon as it is known to exceed `limit`.
 */
export function editDistance(a: string, b: string, limit: number): number {
  if (Math.abs(a.length - b.length) > limit) return limit + 1
  let prev2: number[] = []
  let prev: number[] = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const row: number[] = [i]
    let best = i
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      let d = Math.min((prev[j] ?? 0) + 1, (row[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + cost)
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, (prev2[j - 2] ?? 0) + 1)
      row.push(d)
      if (d < best) best = d
    }
    if (best > limit) return limit + 1
    prev2 = prev
    prev = row
  }
  return prev[b.length] ?? limit + 1
}

/** The candidate closest to `name` within the allowed edits (case differences are free), or undefined. */
export function closestName(name: string, candidates: readonly string[]): string | undefined {
  if (name.length === 0 || name.length > MAX_NAME) return undefined
  const lower = name.toLowerCase()
  const limit = allowed(name.length)
  let best: string | undefined
  let bestDistance = limit + 1
  for (const c of candidates.slice(0, MAX_CANDIDATES)) {
    if (c.length > MAX_NAME) continue
    const d = editDistance(lower, c.toLowerCase(), limit)
    if (d < bestDistance) {
      best = c
      bestDistance = d
    }
  }
  return best
}
