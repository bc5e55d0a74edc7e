/**
 * The slowest review per size class (10 KiB, 100 KiB, 1 MiB, 7 MiB, the body limit): hostile
 * shapes (huge env lists with undefined references, undefined-reference arguments, one long
 * `sh -c` script, many containers, one long image string) scaled to each size, each answered
 * through the webhook app (parse, judge with every rule and the default policy, answer), as a
 * ratio to only parsing the same body with JSON.parse. Interleaved in one process, so the
 * ratio holds on a noisy machine. Goal: ≤ 3× in every class. Run: npm run bench:worst
 */
import { performance } from 'node:perf_hooks'
import { buildApp } from '../src/admission/app.js'
import { createLogger } from '../src/admission/logger.js'
import { createMetrics } from '../src/admission/metrics.js'
import { loadDefaultPolicy } from '../src/policy/policy.js'
import { RULES } from '../src/rules/index.js'

const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 5)
const CLASSES: [string, number][] = [
  ['10 KiB', 10 * 1024],
  ['100 KiB', 100 * 1024],
  ['1 MiB', 1024 * 1024],
  ['7 MiB', 7 * 1024 * 1024 - 4096],
]

function ctr(extra: Record<string, unknown>, name = 'app'): Record<string, unknown> {
  return { name, image: 'registry.example/app:1.0', resources: { limits: { memory: '256Mi', cpu: '1' }, requests: { memory: '256Mi', cpu: '100m' } }, ...extra }
}

/** Shapes that fill `bytes` of body. */
const SHAPES: Record<string, (bytes: number) => Record<string, unknown>[]> = {
  'env list + undefined refs': (b) => {
    const n = Math.floor(b / 40)
    return [ctr({ env: Array.from({ length: n }, (_, i) => ({ name: `VAR_${i}`, value: `v${i}` })), args: [Array.from({ length: Math.max(1, n / 30) }, (_, i) => `$(VRA_${i})`).join(' ')] })]
  },
  'undefined-reference args': (b) => [ctr({ args: Array.from({ length: Math.floor(b / 20) }, (_, i) => `$(UNDEFINED_${i})`) })],
  'sh -c script': (b) => [ctr({ command: ['sh', '-c', 'echo start; '.padEnd(b - 400, 'a b "c d" $(X) ; e=1 && f || g | h ')] })],
  'many containers': (b) => Array.from({ length: Math.floor(b / 200) }, (_, i) => ctr({ imagePullPolicy: 'Never' }, `c${i}`)),
  'long image string': (b) => [ctr({ image: `registry.example/${'i'.repeat(b - 500)}:latest` })],
}

function body(containers: Record<string, unknown>[]): string {
  return JSON.stringify({
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: '00000000-0000-0000-0000-000000000001',
      kind: { group: '', version: 'v1', kind: 'Pod' },
      resource: { group: '', version: 'v1', resource: 'pods' },
      namespace: 'default',
      operation: 'CREATE',
      userInfo: { username: 'bench' },
      object: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'bench', namespace: 'default' }, spec: { containers } },
    },
  })
}

const policy = await loadDefaultPolicy(RULES)
const app = await buildApp({ rules: RULES, policy: { current: () => policy }, logger: createLogger('error', { write: () => {} }), metrics: createMetrics(), budgetMs: 60_000 })

async function best(fn: () => Promise<void> | void): Promise<number> {
  let min = Infinity
  for (let r = 0; r < ROUNDS; r++) {
    const t0 = performance.now()
    await fn()
    min = Math.min(min, performance.now() - t0)
  }
  return min
}

console.log('| size class | slowest shape | review (ms) | JSON.parse (ms) | ratio |')
console.log('|---|---|---:|---:|---:|')
let worstRatio = 0
for (const [label, bytes] of CLASSES) {
  let worst = { shape: '', review: 0, parse: 0, ratio: 0 }
  for (const [shape, make] of Object.entries(SHAPES)) {
    // Scaled down until the body fits the class (the shapes' per-item sizes are estimates).
    let target = bytes
    let payload = body(make(target))
    while (payload.length > bytes) {
      target = Math.floor(target * (bytes / payload.length) * 0.98)
      payload = body(make(target))
    }
    const parse = await best(() => {
      JSON.parse(payload)
    })
    const review = await best(async () => {
      const res = await app.inject({ method: 'POST', url: '/validate', payload, headers: { 'content-type': 'application/json' } })
      if (res.statusCode !== 200) throw new Error(`${shape} at ${label}: HTTP ${res.statusCode}`)
    })
    const ratio = review / parse
    if (ratio > worst.ratio) worst = { shape, review, parse, ratio }
  }
  worstRatio = Math.max(worstRatio, worst.ratio)
  console.log(`| ${label} | ${worst.shape} | ${worst.review.toFixed(2)} | ${worst.parse.toFixed(2)} | ${worst.ratio.toFixed(1)}× |`)
}
console.log(`\nworst ratio ${worstRatio.toFixed(1)}× (goal ≤ 3×)`)
await app.close()
