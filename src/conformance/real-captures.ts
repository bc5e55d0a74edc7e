/**
 * Scores `explain` on real captures of failing pods (`kubectl describe pod` text and `kubectl
 * get pod -o yaml` recorded on real clusters), each with the cause ids a diagnosis must name,
 * strings its summary, evidence or next steps must contain, and the exit code it must report.
 * The captures are read through the same path as `explain -f`.
 */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { emptyInputs, explainInputs, readExplainText } from '../analyzer/read-input.js'
import type { Score } from './image-vectors.js'

interface Case {
  file: string
  expect_cause?: string[]
  expect_mention?: string[]
  expect_exit?: number
  kind?: string
  now?: string
}

export async function scoreRealCaptures(dir: string): Promise<Score> {
  const cases = JSON.parse(await readFile(join(dir, 'cases.json'), 'utf8')) as Case[]
  const failures: string[] = []
  let passed = 0
  for (const c of Array.isArray(cases) ? cases : []) {
    const problems: string[] = []
    try {
      const now = c.now !== undefined ? new Date(c.now) : new Date()
      const inputs = emptyInputs()
      readExplainText(await readFile(join(dir, c.file), 'utf8'), c.file, now, inputs)
      const { results, errors } = explainInputs(inputs, now)
      const diagnoses = results.flatMap((r) => r.diagnoses)
      if (errors.length > 0) problems.push(`explain reported: ${errors.join('; ')}`)
      if (c.kind === 'control') {
        if (diagnoses.length > 0) problems.push(`a healthy pod, but explain found ${diagnoses.map((d) => d.cause).join(', ')}`)
      } else {
        const want = c.expect_cause ?? []
        const matching = diagnoses.filter((d) => want.includes(d.cause))
        if (matching.length === 0) problems.push(`expected ${want.join(' or ')}, got ${diagnoses.map((d) => d.cause).join(', ') || 'no diagnosis'}`)
        const text = matching.map((d) => [d.summary, ...d.evidence, ...d.next].join('\n')).join('\n').toLowerCase()
        for (const m of c.expect_mention ?? []) if (matching.length > 0 && !text.includes(m.toLowerCase())) problems.push(`"${m}" is not mentioned`)
        if (c.expect_exit !== undefined && matching.length > 0 && !matching.some((d) => d.exitCode === c.expect_exit)) {
          problems.push(`expected exit code ${c.expect_exit}, got ${matching.map((d) => String(d.exitCode ?? null)).join(', ')}`)
        }
      }
    } catch (err) {
      problems.push(`crashed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`)
    }
    if (problems.length === 0) passed++
    else failures.push(`real-captures ${c.file}: ${problems.join('; ')}`)
  }
  return { passed, total: Array.isArray(cases) ? cases.length : 0, failures }
}
