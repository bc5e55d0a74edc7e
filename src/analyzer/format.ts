import { jsonForTerminal, safeText } from '../text/sanitize.js'
import type { Diagnosis, PodRef } from './types.js'

/** Output of `explain`: JSON for programs, text for people. Pure string building. */

export interface ExplainedPod {
  pod: PodRef
  /** The phase, or Terminating. */
  status: string
  diagnoses: Diagnosis[]
  /** What the input did not show that would have made the diagnosis surer. */
  unseen?: string[]
}

/** `{"diagnoses":[...]}` with every key present (null when absent), so consumers see one shape. */
export function toJson(results: readonly ExplainedPod[]): string {
  const diagnoses = results.flatMap((r) =>
    r.diagnoses.map((d) => ({
      cause: d.cause,
      container: d.container ?? null,
      exitCode: d.exitCode ?? null,
      signal: d.signal ?? null,
      summary: d.summary,
      evidence: d.evidence,
      next: d.next,
      preventedBy: d.preventedBy ?? null,
      pod: { namespace: r.pod.namespace, name: r.pod.name },
    })),
  )
  const unseen = results.flatMap((r) => (r.unseen !== undefined && r.unseen.length > 0 ? [{ pod: { namespace: r.pod.namespace, name: r.pod.name }, missing: r.unseen }] : []))
  return `${jsonForTerminal(JSON.stringify({ diagnoses, unseen }, null, 2))}\n`
}

export interface TextStyle {
  color: boolean
}

const CODES = { bold: [1, 22], dim: [2, 22], red: [31, 39], yellow: [33, 39], green: [32, 39], cyan: [36, 39] } as const

function paint(style: TextStyle, s: string, ...names: (keyof typeof CODES)[]): string {
  if (!style.color) return s
  return names.reduce((acc, n) => `\u001b[${CODES[n][0]}m${acc}\u001b[${CODES[n][1]}m`, s)
}

const MILD = new Set(['completed', 'terminated'])

/** Text from the pod (names, messages, log lines, evidence) escaped and shortened before our colours are added. */
const t = (s: string, max = 1_000): string => safeText(s, max)

export function toText(results: readonly ExplainedPod[], style: TextStyle): string {
  const out: string[] = []
  for (const r of results) {
    const title = `Pod ${t(r.pod.namespace, 63)}/${t(r.pod.name, 253)}`
    const unseen = r.unseen !== undefined && r.unseen.length > 0 ? [`  ${paint(style, 'Could not see:', 'dim')} ${r.unseen.map((u) => t(u, 300)).join('; ')}.`] : []
    if (r.diagnoses.length === 0) {
      out.push(`${paint(style, title, 'bold')} (${t(r.status, 100)}): ${paint(style, 'nothing wrong found', 'green')}.`, ...unseen, '')
      continue
    }
    out.push(`${paint(style, title, 'bold')} (${t(r.status, 100)})`)
    for (const d of r.diagnoses) {
      const facts = [d.container !== undefined ? `container ${t(d.container, 253)}` : 'pod']
      if (d.exitCode !== undefined) facts.push(`exit ${d.exitCode}${d.signal ? ` (${t(d.signal, 40)})` : ''}`)
      const colour = d.cause === 'completed' ? 'green' : MILD.has(d.cause) || d.cause === 'not-ready' ? 'yellow' : 'red'
      out.push(`  ${paint(style, `[${t(d.cause, 60)}]`, 'bold', colour)} ${facts.join(', ')}`)
      out.push(`    ${t(d.summary)}`)
      if (d.evidence.length > 0) {
        out.push(`    ${paint(style, 'Evidence:', 'dim')}`)
        for (const e of d.evidence) out.push(`      ${t(e)}`)
      }
      if (d.next.length > 0) {
        out.push(`    ${paint(style, 'Next:', 'dim')}`)
        for (const n of d.next) out.push(`      ${n.startsWith('kubectl ') ? paint(style, t(n), 'cyan') : t(n)}`)
      }
      if (d.preventedBy !== undefined) {
        out.push(`    Would have been caught by: ${paint(style, t(d.preventedBy, 100), 'bold')} (pod-preflight check)`)
      }
    }
    out.push(...unseen, '')
  }
  return `${out.join('\n').replace(/\n+$/, '')}\n`
}
