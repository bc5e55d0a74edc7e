/**
 * Field paths as users see them in findings: `spec.template.spec.containers[1].image`.
 * Segments are object keys or array indexes.
 */
export type PathSegment = string | number

export function formatPath(segments: readonly PathSegment[]): string {
  let out = ''
  for (const s of segments) {
    if (typeof s === 'number') out += `[${s}]`
    else if (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(s)) out += out === '' ? s : `.${s}`
    else out += `[${JSON.stringify(s)}]`
  }
  return out
}

/** The inverse of formatPath. Returns undefined for a string that is not a field path. */
export function parsePath(path: string): PathSegment[] | undefined {
  const segments: PathSegment[] = []
  const re = /([A-Za-z_][A-Za-z0-9_-]*)|\[(\d+)\]|\[("(?:[^"\\]|\\.)*")\]|(\.)/gy
  let m: RegExpExecArray | null
  let expectName = true
  while (re.lastIndex < path.length && (m = re.exec(path)) !== null) {
    if (m[1] !== undefined) {
      if (!expectName) return undefined
      segments.push(m[1])
      expectName = false
    } else if (m[2] !== undefined) {
      segments.push(Number(m[2]))
      expectName = false
    } else if (m[3] !== undefined) {
      segments.push(JSON.parse(m[3]) as string)
      expectName = false
    } else {
      if (expectName) return undefined // '..' or a leading '.'
      expectName = true
    }
  }
  return (re.lastIndex === path.length && !(expectName && segments.length > 0)) || path.length === 0 ? segments : undefined
}
