/**
 * Child process of the hostile-review test: started with the heap flag the Deployment ships,
 * it answers N hostile reviews in a row through the real app and prints the heap in use
 * afterwards (after a full GC) as one JSON line.
 */
import { RULES } from '../../src/rules/index.js'
import { HOSTILE_CASES, hostileReview } from './hostile.js'
import { testApp, testPolicy } from './helpers.js'

const n = Number(process.argv[2] ?? '200')
const { app } = await testApp({ rules: RULES }, testPolicy(RULES))
let failures = 0
for (let i = 0; i < n; i++) {
  const c = HOSTILE_CASES[i % HOSTILE_CASES.length]
  if (c === undefined) continue
  const res = await app.inject({ method: 'POST', url: '/validate', payload: JSON.stringify(hostileReview(c)), headers: { 'content-type': 'application/json' } })
  if (res.statusCode !== 200) failures++
}
const gc = (globalThis as { gc?: () => void }).gc
gc?.()
const heapUsedMiB = Math.round((process.memoryUsage().heapUsed / (1 << 20)) * 10) / 10
process.stdout.write(`${JSON.stringify({ reviews: n, failures, heapUsedMiB })}\n`)
