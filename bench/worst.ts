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
const ONLY_SHAPE = process.env['BENCH_SHAPE']
const ONLY_CLASS = process.env['BENCH_CLASS']
/**
 * The API server takes request bodies of at most 3 MiB, so no object it sends is larger; the
 * largest review is an UPDATE that carries two such objects (and a deny on the new one makes the
 * webhook judge the old one too). The last class is that: both objects hostile, different, judged.
 */
const OBJECT_LIMIT = 3 * 1024 * 1024
const CLASSES: [string, number, 'CREATE' | 'UPDATE'][] = [
  ['10 KiB', 10 * 1024, 'CREATE'],
  ['100 KiB', 100 * 1024, 'CREATE'],
  ['1 MiB', 1024 * 1024, 'CREATE'],
  ['3 MiB', OBJECT_LIMIT - 4096, 'CREATE'],
  ['7 MiB', 7 * 1024 * 1024 - 4096, 'UPDATE'],
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

/** A label that changes every review, so that no round is answered from the verdict cache. */
let fresh = 0
function body(containers: Record<string, unknown>[], operation: 'CREATE' | 'UPDATE' = 'CREATE'): string {
  const pod = (c: Record<string, unknown>[]): Record<string, unknown> => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'bench', namespace: 'default', labels: { round: 'r000000' } }, spec: { containers: c } })
  // The old object differs in every container's name, so the two are judged apart; the new one
  // also has a container the policy denies (an image reference no runtime parses), so the webhook
  // judges the old one as well, to tell a new problem from one that was already there.
  const old = operation === 'UPDATE' ? { oldObject: pod(containers.map((c) => ({ ...c, name: `old-${String(c['name'])}` }))) } : {}
  if (operation === 'UPDATE') containers = [...containers, ctr({ image: 'Registry.Example/Not A Reference' }, 'denied')]
  return JSON.stringify({
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: '00000000-0000-0000-0000-000000000001',
      kind: { group: '', version: 'v1', kind: 'Pod' },
      resource: { group: '', version: 'v1', resource: 'pods' },
      namespace: 'default',
      operation,
      userInfo: { username: 'bench' },
      object: pod(containers),
      ...old,
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
for (const [label, bytes, operation] of CLASSES) {
  if (ONLY_CLASS !== undefined && ONLY_CLASS !== label) continue
  let worst = { shape: '', review: 0, parse: 0, ratio: 0 }
  for (const [shape, make] of Object.entries(SHAPES)) {
    if (ONLY_SHAPE !== undefined && ONLY_SHAPE !== shape) continue
    // Scaled down until the body fits the class (the shapes' per-item sizes are estimates).
    let target = bytes
    let payload = body(make(target), operation)
    while (payload.length > bytes) {
      target = Math.floor(target * (bytes / payload.length) * 0.98)
      payload = body(make(target), operation)
    }
    const parse = await best(() => {
      JSON.parse(payload)
    })
    // Same length, another label value each round: every round is judged, none is a cache hit.
    // One body at a time, made outside the timed part.
    let review = Infinity
    for (let r = 0; r < ROUNDS; r++) {
      let unique: string | undefined = payload.replace('"round":"r000000"', `"round":"r${String(++fresh).padStart(6, '0')}"`)
      const t0 = performance.now()
      const res = await app.inject({ method: 'POST', url: '/validate', payload: unique, headers: { 'content-type': 'application/json' } })
      review = Math.min(review, performance.now() - t0)
      unique = undefined
      if (res.statusCode !== 200) throw new Error(`${shape} at ${label}: HTTP ${res.statusCode}`)
    }
    const ratio = review / parse
    if (ratio > worst.ratio) worst = { shape, review, parse, ratio }
  }
  worstRatio = Math.max(worstRatio, worst.ratio)
  console.log(`| ${label} | ${worst.shape} | ${worst.review.toFixed(2)} | ${worst.parse.toFixed(2)} | ${worst.ratio.toFixed(1)}× |`)
}
console.log(`\nworst ratio ${worstRatio.toFixed(1)}× (goal ≤ 3×)`)
await app.close()
