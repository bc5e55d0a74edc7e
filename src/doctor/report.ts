/**
 * The result of `pod-preflight doctor`: one line per check with its verdict, and for a check
 * that did not pass, what it means and the fix. Every text from the cluster is escaped and
 * shortened before it is shown.
 */
import { jsonForTerminal, safeText } from '../text/sanitize.js'

export type Verdict = 'pass' | 'warn' | 'fail'

export interface CheckResult {
  /** Stable id, e.g. `webhook-configuration`. */
  id: string
  verdict: Verdict
  /** What was found, in one sentence. */
  message: string
  /** What to do about it (for warn and fail). */
  fix?: string
}

export const MAX_MESSAGE = 400
export const MAX_FIX = 400

const MARK: Record<Verdict, string> = { pass: '✓', warn: '!', fail: '✗' }

/** 0 when no check failed (warnings do not fail the run), 1 otherwise. */
export function exitStatus(checks: readonly CheckResult[]): number {
  return checks.some((c) => c.verdict === 'fail') ? 1 : 0
}

export function formatText(checks: readonly CheckResult[]): string {
  const lines: string[] = []
  for (const c of checks) {
    lines.push(`${MARK[c.verdict]} ${c.id}: ${safeText(c.message, MAX_MESSAGE)}`)
    if (c.verdict !== 'pass' && c.fix !== undefined) lines.push(`    fix: ${safeText(c.fix, MAX_FIX)}`)
  }
  const failed = checks.filter((c) => c.verdict === 'fail').length
  const warned = checks.filter((c) => c.verdict === 'warn').length
  lines.push(failed === 0 ? `all ${checks.length} checks passed${warned > 0 ? ` (${warned} with a warning)` : ''}` : `${failed} of ${checks.length} checks failed`)
  return `${lines.join('\n')}\n`
}

export function formatJson(checks: readonly CheckResult[]): string {
  const out = {
    ok: exitStatus(checks) === 0,
    checks: checks.map((c) => ({
      id: c.id,
      verdict: c.verdict,
      message: safeText(c.message, MAX_MESSAGE),
      ...(c.fix !== undefined ? { fix: safeText(c.fix, MAX_FIX) } : {}),
    })),
  }
  return `${jsonForTerminal(JSON.stringify(out, null, 2))}\n`
}
