// The GitHub Action's entry point (action.yml): runs `pod-preflight check` on the workspace
// twice, once with -o github for the annotations in the log and once with -o sarif for the
// SARIF file, writes the counts and the file's path to $GITHUB_OUTPUT and a short summary to
// $GITHUB_STEP_SUMMARY, and exits with check's status (0, 1 at the fail-on level, 2 input or
// usage errors). Inputs come as INPUT_* variables set by action.yml's step.
import { spawnSync } from 'node:child_process'
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs'
import { randomBytes } from 'node:crypto'
import { dirname, isAbsolute, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('../', import.meta.url))
const bin = join(root, 'dist/cli/bin.js')
const env = process.env
const workspace = env.GITHUB_WORKSPACE || process.cwd()

/** A list input: one per line or separated by spaces (paths with spaces are not supported). */
const list = (v) => (v ?? '').split(/\s+/).filter((s) => s !== '')

const paths = list(env.INPUT_PATHS)
const args = ['check', '--fail-on', env.INPUT_FAIL_ON || 'deny']
if (env.INPUT_POLICY) args.push('--policy', env.INPUT_POLICY)
for (const f of list(env.INPUT_CLUSTER_STATE)) args.push('--cluster-state', f)
args.push('--', ...(paths.length > 0 ? paths : ['.']))

const sarifInput = env.INPUT_SARIF_FILE || join(env.RUNNER_TEMP || workspace, 'pod-preflight.sarif')
const sarifFile = isAbsolute(sarifInput) ? sarifInput : resolve(workspace, sarifInput)

/** Bounded: check's reports are a few MiB at most (its own --max-file-size bounds the input). */
const MAX_BUFFER = 256 * 1024 * 1024
const run = (format) =>
  spawnSync(process.execPath, [bin, ...args.slice(0, 1), '-o', format, ...args.slice(1)], { cwd: workspace, env, encoding: 'utf8', maxBuffer: MAX_BUFFER })

const escapeData = (s) => s.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A')

const annotated = run('github')
process.stdout.write(annotated.stdout ?? '')
process.stderr.write(annotated.stderr ?? '')
const status = annotated.status ?? 2
if (status === 2 && annotated.stderr && !/^::error /m.test(annotated.stdout ?? '')) {
  // A usage error (a bad fail-on, a policy that cannot be used) is shown on the run, not only in the log.
  process.stdout.write(`::error title=pod-preflight::${escapeData(annotated.stderr.trim().slice(0, 2000))}\n`)
}

const counts = { deny: 0, warn: 0, info: 0 }
const ACTION = { error: 'deny', warning: 'warn', note: 'info' }
const byRule = new Map()
let errors = 0
let skipped = 0
let sarifWritten = ''
const sarif = run('sarif')
try {
  const log = JSON.parse(sarif.stdout)
  for (const r of log.runs?.[0]?.results ?? []) {
    const action = ACTION[r.level]
    if (action !== undefined) counts[action]++
    byRule.set(r.ruleId, (byRule.get(r.ruleId) ?? 0) + 1)
  }
  // Input errors are the error notifications; notes (files skipped as not Kubernetes objects) are counted apart.
  for (const n of log.runs?.[0]?.invocations?.[0]?.toolExecutionNotifications ?? []) {
    if (n.level === 'error') errors++
    else skipped++
  }
  mkdirSync(dirname(sarifFile), { recursive: true })
  writeFileSync(sarifFile, sarif.stdout)
  sarifWritten = sarifFile
} catch {
  process.stdout.write(`::warning title=pod-preflight::no SARIF file written: check printed no report (status ${sarif.status})\n`)
}
const findings = counts.deny + counts.warn + counts.info

const outputs = { deny: counts.deny, warn: counts.warn, info: counts.info, findings, errors, skipped, 'sarif-file': sarifWritten, 'exit-code': status }
if (env.GITHUB_OUTPUT) {
  // The multi-line form with a delimiter that cannot occur in the value, as the toolkit writes it.
  const text = Object.entries(outputs)
    .map(([k, v]) => {
      const d = `ghadelimiter_${randomBytes(8).toString('hex')}`
      return `${k}<<${d}\n${v}\n${d}\n`
    })
    .join('')
  appendFileSync(env.GITHUB_OUTPUT, text)
}

if (env.GITHUB_STEP_SUMMARY) {
  const verdict = status === 0 ? 'passed' : status === 1 ? `failed (findings at or above ${env.INPUT_FAIL_ON || 'deny'})` : 'failed (input or usage errors)'
  const rows = [...byRule.entries()]
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .slice(0, 20)
    .map(([rule, n]) => `| \`${String(rule).replace(/[^a-z0-9-]/g, '')}\` | ${n} |`)
  const md = [
    `### pod-preflight: ${verdict}`,
    '',
    `${counts.deny} deny, ${counts.warn} warn, ${counts.info} info findings; ${errors} input error${errors === 1 ? '' : 's'}; ${skipped} skipped (not Kubernetes objects).`,
    '',
    ...(rows.length > 0 ? ['| rule | findings |', '| --- | ---: |', ...rows, ''] : []),
    sarifWritten !== '' ? 'The SARIF file is written for code scanning; each finding is annotated on its file and line.' : 'No SARIF file was written.',
    '',
  ]
  appendFileSync(env.GITHUB_STEP_SUMMARY, `${md.join('\n')}\n`)
}

process.exitCode = status
