import type { LabelSelector } from './k8s.js'

/**
 * Label selector semantics as the API server applies them: matchLabels and matchExpressions
 * are ANDed; In/NotIn/Exists/DoesNotExist. An empty selector matches everything; a selector
 * with an unknown operator matches nothing (the API server would have rejected it).
 */
export function selectorMatches(selector: LabelSelector | undefined, labels: Record<string, string> | undefined): boolean {
  if (selector === undefined) return true
  const l = labels ?? {}
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) {
    if (l[k] !== v) return false
  }
  for (const expr of selector.matchExpressions ?? []) {
    const key = expr.key ?? ''
    const has = Object.prototype.hasOwnProperty.call(l, key)
    const values = expr.values ?? []
    switch (expr.operator) {
      case 'In':
        if (!has || !values.includes(l[key] ?? '')) return false
        break
      case 'NotIn':
        if (has && values.includes(l[key] ?? '')) return false
        break
      case 'Exists':
        if (!has) return false
        break
      case 'DoesNotExist':
        if (has) return false
        break
      default:
        return false
    }
  }
  return true
}

/** A Service-style selector (a plain map): every pair must match; an empty map matches nothing. */
export function mapSelectorMatches(selector: Record<string, string>, labels: Record<string, string> | undefined): boolean {
  const entries = Object.entries(selector)
  if (entries.length === 0) return false
  const l = labels ?? {}
  return entries.every(([k, v]) => l[k] === v)
}
