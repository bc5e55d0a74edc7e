/**
 * Every hostile review is answered, without a 5xx, with an answer of bounded size and a bounded
 * number of findings; the time budget stops a rule that meets a huge input.
 */
import t from 'tap'
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { RULES } from '../../src/rules/index.js'
import { MAX_FINDINGS_PER_OBJECT } from '../../src/engine/evaluate.js'
import { MAX_DENY_MESSAGE } from '../../src/admission/verdict.js'
import { MAX_WARNING_LENGTH } from '../../src/admission/warnings.js'
import { HOSTILE_CASES, hostileReview } from './hostile.js'
import { post, testApp, testPolicy } from './helpers.js'

const RAW_UNSAFE = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/

t.test('each hostile review is answered with a bounded answer', async (t) => {
  // The shipped budget on a real clock: the answer is a verdict or "over budget", never a 5xx.
  const { app, logs } = await testApp({ rules: RULES }, testPolicy(RULES))
  for (const c of HOSTILE_CASES) {
    const body = JSON.stringify(hostileReview(c))
    const res = await app.inject({ method: 'POST', url: '/validate', payload: body, headers: { 'content-type': 'application/json' } })
    t.equal(res.statusCode, 200, `${c.name}: answered (${(body.length / 1024).toFixed(0)} KiB)`)
    t.ok(res.body.length <= 64 * 1024, `${c.name}: answer of ${res.body.length} bytes within 64 KiB`)
    const response = (JSON.parse(res.body) as { response: { allowed: boolean; warnings?: string[]; status?: { message?: string } } }).response
    t.type(response.allowed, 'boolean')
    const warnings = response.warnings ?? []
    t.ok(warnings.length <= 10, `${c.name}: ${warnings.length} warnings`)
    for (const w of warnings) {
      t.ok(w.length <= MAX_WARNING_LENGTH, `${c.name}: warning within ${MAX_WARNING_LENGTH}`)
      t.notMatch(w, RAW_UNSAFE, `${c.name}: warning escaped`)
    }
    const message = response.status?.message ?? ''
    t.ok(message.length <= MAX_DENY_MESSAGE, `${c.name}: deny message within ${MAX_DENY_MESSAGE}`)
    t.notMatch(message.split('\n').slice(1).join('\n'), /^DENY/m, `${c.name}: no forged line`)
    t.notMatch(message.replace(/\n/g, ' '), RAW_UNSAFE, `${c.name}: deny message escaped`)
    const line = logs().at(-1) ?? {}
    t.ok(JSON.stringify(line).length <= 4 * 1024, `${c.name}: log line of ${JSON.stringify(line).length} bytes`)
    t.ok(['allowed', 'warned', 'denied', 'over_budget', 'unjudged'].includes(String(line['verdict'])), `${c.name}: verdict ${String(line['verdict'])}`)
  }
})

t.test('findings are capped per rule and per object, the rest counted', async (t) => {
  const { evaluateObject } = await import('../../src/engine/evaluate.js')
  const policy = testPolicy(RULES)
  for (const c of HOSTILE_CASES.filter((h) => /100,000|2,000 containers/.test(h.name))) {
    const e = evaluateObject(c.object(), { policy, rules: RULES })
    t.ok(e.findings.length <= MAX_FINDINGS_PER_OBJECT, `${c.name}: ${e.findings.length} findings`)
    const perRule = new Map<string, number>()
    for (const f of e.findings) perRule.set(f.rule, (perRule.get(f.rule) ?? 0) + 1)
    for (const [rule, n] of perRule) t.ok(n <= 20, `${c.name}: ${rule} ${n}`)
    t.ok(e.findings.some((f) => /…and [\d,]+ more/.test(f.message)), `${c.name}: the rest is summarised`)
  }
  const e = evaluateObject(HOSTILE_CASES[2]?.object(), { policy, rules: RULES })
  const summary = e.findings.find((f) => f.rule === 'command-env-reference-undefined' && f.message.startsWith('…and'))
  t.match(summary?.message ?? '', /^…and 99,981 more command-env-reference-undefined findings/, 'the count of the 100,000 is exact')
})

t.test('the time budget stops a rule inside its loop', async (t) => {
  // A clock that advances with every look: only checks inside the rule's own loops can see
  // the deadline pass while the one rule that reads the 1 MB script runs.
  const scriptRule = RULES.filter((r) => r.id === 'command-env-reference-undefined')
  let clock = 0
  const { app, logs } = await testApp({ rules: scriptRule, budgetMs: 1_000, now: () => (clock += 10) }, testPolicy(scriptRule))
  const c = HOSTILE_CASES.find((h) => h.name.startsWith('100,000'))
  const a = await post(app, hostileReview(c ?? HOSTILE_CASES[0]!))
  t.equal(a.allowed, true)
  t.match(a.warnings?.[0] ?? '', /ran out of its 1000 ms time budget/)
  t.equal(logs().at(-1)?.['verdict'], 'over_budget')
})

t.test('200 hostile reviews in a row under the shipped heap flag', async (t) => {
  const worker = fileURLToPath(new URL('./hostile-heap.ts', import.meta.url))
  const out = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, ['--max-old-space-size=96', '--expose-gc', '--import=tsx', worker, '200'], { stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    child.on('close', (code) => resolve({ code, stdout, stderr }))
  })
  t.equal(out.code, 0, `the process lives (${out.stderr.slice(-2000)})`)
  const result = JSON.parse(out.stdout.trim().split('\n').at(-1) ?? '{}') as { reviews?: number; heapUsedMiB?: number; failures?: number }
  t.equal(result.reviews, 200)
  t.equal(result.failures, 0, 'every review answered with 200')
  t.ok((result.heapUsedMiB ?? Infinity) <= 48, `heap after the run and a GC: ${result.heapUsedMiB} MiB (bound 48 MiB)`)
})
