/**
 * JUnit XML as CI test reporters read it (Jenkins, GitLab, GitHub test-reporter actions): one
 * testsuite per file, one testcase per judged object. Denied findings are failures; warnings
 * go to the testcase's system-out; input errors are testcases with an error; inputs that are
 * not Kubernetes objects (kustomization.yaml, values.yaml...) are skipped testcases.
 */
import type { CheckReport } from '../report.js'
import { objectLabel } from '../report.js'
import { escapeControlsKeepNewlines } from '../../text/sanitize.js'

function esc(s: string): string {
  // XML 1.0 cannot carry most control characters at all, even as references: they are written
  // as visible escapes (`\x1b`), as are C1 and bidi controls, so nothing is dropped silently.
  return escapeControlsKeepNewlines(s)
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
}

interface Counts {
  tests: number
  failures: number
  errors: number
  skipped: number
}

export function formatJunit(report: CheckReport): string {
  const suites = new Map<string, string[]>()
  const counts = new Map<string, Counts>()
  const suite = (file: string): { cases: string[]; c: Counts } => {
    let cases = suites.get(file)
    let c = counts.get(file)
    if (cases === undefined || c === undefined) {
      cases = []
      c = { tests: 0, failures: 0, errors: 0, skipped: 0 }
      suites.set(file, cases)
      counts.set(file, c)
    }
    return { cases, c }
  }
  for (const o of report.objects) {
    const { cases, c } = suite(o.source.file)
    c.tests++
    const name = `${objectLabel(o.object)}${o.source.line !== undefined ? ` (line ${o.source.line})` : ''}`
    const denied = o.findings.filter((f) => f.action === 'deny')
    const other = o.findings.filter((f) => f.action !== 'deny')
    let body = ''
    if (denied.length > 0) {
      c.failures++
      const text = denied.map((f) => `[${f.rule}] ${f.path}: ${f.message}\nfix: ${f.fix}`).join('\n\n')
      body += `<failure message="${esc(`${denied.length} denied: ${denied.map((f) => f.rule).join(', ')}`)}" type="deny">${esc(text)}</failure>`
    }
    if (other.length > 0) {
      body += `<system-out>${esc(other.map((f) => `${f.action.toUpperCase()} [${f.rule}] ${f.path}: ${f.message}\nfix: ${f.fix}`).join('\n\n'))}</system-out>`
    }
    cases.push(`    <testcase classname="${esc(o.source.file)}" name="${esc(name)}">${body}</testcase>`)
  }
  for (const e of report.errors) {
    const { cases, c } = suite(e.file)
    c.tests++
    c.errors++
    const where = e.line !== undefined ? ` line ${e.line}` : ''
    cases.push(`    <testcase classname="${esc(e.file)}" name="${esc(`input${where}`)}"><error message="${esc(e.message)}" type="input">${esc(e.message)}</error></testcase>`)
  }
  for (const k of report.skipped) {
    const { cases, c } = suite(k.file)
    c.tests++
    c.skipped++
    const where = k.line !== undefined ? ` line ${k.line}` : ''
    cases.push(`    <testcase classname="${esc(k.file)}" name="${esc(`not a Kubernetes object${where}`)}"><skipped message="${esc(k.reason)}"/></testcase>`)
  }
  let tests = 0
  let failures = 0
  let errors = 0
  let skipped = 0
  const body: string[] = []
  for (const [file, cases] of suites) {
    const c = counts.get(file) ?? { tests: 0, failures: 0, errors: 0, skipped: 0 }
    tests += c.tests
    failures += c.failures
    errors += c.errors
    skipped += c.skipped
    body.push(`  <testsuite name="${esc(file)}" tests="${c.tests}" failures="${c.failures}" errors="${c.errors}" skipped="${c.skipped}">`)
    body.push(...cases)
    body.push('  </testsuite>')
  }
  return `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="pod-preflight" tests="${tests}" failures="${failures}" errors="${errors}" skipped="${skipped}">\n${body.join('\n')}${body.length > 0 ? '\n' : ''}</testsuites>\n`
}
