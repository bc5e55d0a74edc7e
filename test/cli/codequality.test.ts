/**
 * `check -o codequality`: GitLab Code Quality JSON, validated against the shape GitLab
 * documents for `artifacts: reports: codequality:` (an array of issues with description,
 * check_name, fingerprint, severity and location.path / location.lines.begin).
 */
import t, { type Test } from 'tap'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Ajv } from 'ajv'
import { main } from '../../src/cli/main.js'
import { memoryIO } from '../../src/cli/io.js'

const examples = new URL('../../examples/', import.meta.url).pathname

/** GitLab's documented report: every field it reads is required, severity one of its five. */
const SCHEMA = {
  type: 'array',
  items: {
    type: 'object',
    required: ['description', 'check_name', 'fingerprint', 'severity', 'location'],
    properties: {
      type: { const: 'issue' },
      description: { type: 'string', minLength: 1 },
      check_name: { type: 'string', minLength: 1 },
      fingerprint: { type: 'string', pattern: '^[0-9a-f]{32}$' },
      severity: { enum: ['info', 'minor', 'major', 'critical', 'blocker'] },
      categories: { type: 'array', items: { type: 'string' } },
      location: {
        type: 'object',
        required: ['path', 'lines'],
        additionalProperties: false,
        properties: {
          path: { type: 'string', minLength: 1, not: { pattern: '^(/|\\./)' } },
          lines: { type: 'object', required: ['begin'], additionalProperties: false, properties: { begin: { type: 'integer', minimum: 1 } } },
        },
      },
    },
    additionalProperties: false,
  },
} as const

const validate = new Ajv({ allErrors: true, strict: true }).compile(SCHEMA)

interface Issue {
  description: string
  check_name: string
  fingerprint: string
  severity: string
  location: { path: string; lines: { begin: number } }
}

interface JsonFinding {
  rule: string
  action: string
  path: string
  object: { name: string }
  source: { file: string; line: number }
}

async function check(args: string[], cwd = examples, stdin = ''): Promise<{ code: number; out: string; err: string }> {
  const io = memoryIO(stdin, {}, cwd)
  const code = await main(['check', ...args], io)
  return { code, out: io.out(), err: io.err() }
}

function issues(t: Test, out: string): Issue[] {
  const parsed: unknown = JSON.parse(out)
  t.ok(validate(parsed), `the documented shape: ${JSON.stringify(validate.errors)}`)
  return parsed as Issue[]
}

t.test('one issue per finding, in the documented shape, severity from the action', async (t) => {
  const r = await check(['-o', 'codequality', '.'])
  t.equal(r.code, 1, 'the deny findings fail the run as in every format')
  const list = issues(t, r.out)
  const findings = (JSON.parse((await check(['-o', 'json', '.'])).out) as { findings: JsonFinding[] }).findings
  t.equal(list.length, findings.length, 'every finding, info included')
  t.ok(list.length >= 8)
  const severity: Record<string, string> = { deny: 'critical', warn: 'minor', info: 'info' }
  findings.forEach((f, i) => {
    const issue = list[i]
    if (issue === undefined) return t.fail(`issue ${i}`)
    t.equal(issue.check_name, f.rule, 'check_name is the rule id')
    t.equal(issue.severity, severity[f.action], `${f.action} is ${severity[f.action] ?? '?'}`)
    t.equal(issue.location.path, f.source.file)
    t.equal(issue.location.lines.begin, f.source.line, 'the line of the field')
    t.ok(issue.description.includes('Fix: '), 'the description carries the fix')
  })
  t.ok(list.some((i) => i.severity === 'critical') && list.some((i) => i.severity === 'minor') && list.some((i) => i.severity === 'info'))
  t.equal(new Set(list.map((i) => i.fingerprint)).size, list.length, 'fingerprints are unique in a report')
  const cmd = list.find((i) => i.check_name === 'command-missing')
  t.match(cmd?.description, /^Pod shop\/broken: container "shell" sets no command/, 'the object, then the message')
  t.equal(cmd?.location.path, 'broken-pod.yaml')
})

t.test('a clean run is an empty array and exits 0', async (t) => {
  const r = await check(['-o', 'codequality', 'web-deployment.yaml'])
  t.equal(r.code, 0)
  t.same(issues(t, r.out), [])
})

t.test('fingerprints are stable: the same across runs and after lines above move, new when the object changes', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ppf-cq-'))
  const original = readFileSync(join(examples, 'broken-pod.yaml'), 'utf8')
  writeFileSync(join(dir, 'pod.yaml'), original)
  const first = issues(t, (await check(['-o', 'codequality', 'pod.yaml'], dir)).out)
  const again = issues(t, (await check(['-o', 'codequality', 'pod.yaml'], dir)).out)
  t.same(again.map((i) => i.fingerprint), first.map((i) => i.fingerprint), 'the same run, the same fingerprints')

  writeFileSync(join(dir, 'pod.yaml'), `# owned by the shop team\n# reviewed\n${original}`)
  const moved = issues(t, (await check(['-o', 'codequality', 'pod.yaml'], dir)).out)
  t.same(moved.map((i) => i.fingerprint), first.map((i) => i.fingerprint), 'two comment lines above change no fingerprint')
  t.same(moved.map((i) => i.location.lines.begin), first.map((i) => i.location.lines.begin + 2), 'while every line moved by two')

  writeFileSync(join(dir, 'pod.yaml'), original.replace('name: broken', 'name: broken-2'))
  const renamed = issues(t, (await check(['-o', 'codequality', 'pod.yaml'], dir)).out)
  t.equal(renamed.length, first.length)
  for (const fp of renamed.map((i) => i.fingerprint)) t.notOk(first.some((i) => i.fingerprint === fp), 'another object, other fingerprints')

  writeFileSync(join(dir, 'other.yaml'), original)
  const elsewhere = issues(t, (await check(['-o', 'codequality', 'other.yaml'], dir)).out)
  for (const fp of elsewhere.map((i) => i.fingerprint)) t.notOk(first.some((i) => i.fingerprint === fp), 'another file, other fingerprints')
})

t.test('the same finding twice in one file still gets two fingerprints', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ppf-cq-'))
  const pod = 'apiVersion: v1\nkind: Pod\nmetadata: {name: twin, namespace: shop}\nspec:\n  containers:\n    - name: c\n      image: busybox:1.36\n'
  writeFileSync(join(dir, 'twins.yaml'), `${pod}---\n${pod}`)
  const list = issues(t, (await check(['-o', 'codequality', 'twins.yaml'], dir)).out)
  const missing = list.filter((i) => i.check_name === 'command-missing')
  t.equal(missing.length, 2, 'the same Pod written twice')
  t.not(missing[0]?.fingerprint, missing[1]?.fingerprint)
  t.same(missing.map((i) => i.location.lines.begin), [6, 14], 'each at its own container line')
})

t.test('absolute and ./ paths are written relative to the working directory, as GitLab places them', async (t) => {
  const abs = issues(t, (await check(['-o', 'codequality', join(examples, 'broken-pod.yaml')])).out)
  const dot = issues(t, (await check(['-o', 'codequality', './broken-pod.yaml'])).out)
  t.ok(abs.length > 0)
  for (const i of [...abs, ...dot]) t.equal(i.location.path, 'broken-pod.yaml')
  t.same(dot.map((i) => i.fingerprint), abs.map((i) => i.fingerprint), 'one file, one identity, however it was named')
})

t.test('input errors go to stderr with exit 2; stdout stays a valid report', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ppf-cq-'))
  writeFileSync(join(dir, 'bad.yaml'), 'apiVersion: v1\nkind: Pod\nmetadata: {name: x\n')
  writeFileSync(join(dir, 'pod.yaml'), readFileSync(join(examples, 'broken-pod.yaml'), 'utf8'))
  const r = await check(['-o', 'codequality', 'bad.yaml', 'pod.yaml'], dir)
  t.equal(r.code, 2)
  t.match(r.err, /^bad\.yaml:\d+/m, 'the error names the file and line')
  t.ok(issues(t, r.out).length > 0, 'the other file is still reported')
})
