import t from 'tap'
import { container, pod, post, review, testApp, workload } from './helpers.js'
import { Registry } from '../../src/admission/metrics.js'

t.test('/healthz answers while the process lives', async (t) => {
  const { app } = await testApp({}, null)
  const res = await app.inject({ method: 'GET', url: '/healthz' })
  t.equal(res.statusCode, 200)
  t.equal(res.body, 'ok\n')
})

t.test('/readyz waits for the policy and every other check', async (t) => {
  let clusterReady = false
  const { app } = await testApp({ readiness: [{ name: 'cluster view', ready: () => clusterReady }] }, null)
  const a = await app.inject({ method: 'GET', url: '/readyz' })
  t.equal(a.statusCode, 503)
  t.equal(a.body, 'not ready: waiting for policy, cluster view\n')

  const withPolicy = await testApp({ readiness: [{ name: 'cluster view', ready: () => clusterReady }] })
  const b = await withPolicy.app.inject({ method: 'GET', url: '/readyz' })
  t.equal(b.statusCode, 503)
  t.equal(b.body, 'not ready: waiting for cluster view\n')
  clusterReady = true
  const c = await withPolicy.app.inject({ method: 'GET', url: '/readyz' })
  t.equal(c.statusCode, 200)
  t.equal(c.body, 'ok\n')
})

t.test('/metrics in the Prometheus text format', async (t) => {
  const { app } = await testApp()
  await post(app, review(pod()))
  await post(app, review(pod([container({ pullPolicy: 'Never' })])))
  await post(app, review(workload('Deployment', [container({ image: 'r.example/a:broken' }), container({ name: 'b', image: 'r.example/b:broken' })])))
  await post(app, review(workload('Deployment'), { operation: 'UPDATE', oldObject: workload('Deployment') }))
  await post(app, review({ apiVersion: 'example.com/v1', kind: 'Gadget', metadata: { name: 'g' } }))
  await app.inject({ method: 'POST', url: '/validate', payload: 'nope', headers: { 'content-type': 'application/json' } })

  const res = await app.inject({ method: 'GET', url: '/metrics' })
  t.equal(res.statusCode, 200)
  t.equal(res.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8')
  const text = res.body
  const has = (line: string): void => {
    t.ok(text.split('\n').includes(line), line)
  }
  has('# TYPE pod_preflight_admission_reviews_total counter')
  has('pod_preflight_admission_reviews_total{kind="Pod",operation="CREATE",verdict="allowed"} 1')
  has('pod_preflight_admission_reviews_total{kind="Pod",operation="CREATE",verdict="warned"} 1')
  has('pod_preflight_admission_reviews_total{kind="Deployment",operation="CREATE",verdict="denied"} 1')
  has('pod_preflight_admission_reviews_total{kind="Deployment",operation="UPDATE",verdict="allowed"} 1')
  has('pod_preflight_admission_reviews_total{kind="other",operation="CREATE",verdict="unjudged"} 1')
  has('pod_preflight_admission_findings_total{rule="image-pull-policy-never",action="warn"} 1')
  has('pod_preflight_admission_findings_total{rule="test-broken-tag",action="deny"} 2')
  has('# TYPE pod_preflight_admission_review_duration_seconds histogram')
  has('pod_preflight_admission_review_duration_seconds_count 5')
  has('pod_preflight_admission_review_duration_seconds_bucket{le="+Inf"} 5')
  has('pod_preflight_admission_bad_requests_total{code="PP_ADM_NOT_JSON"} 1')
  has('pod_preflight_admission_budget_exceeded_total 0')
  has('pod_preflight_ready 1')
  t.match(text, /^process_resident_memory_bytes \d+$/m)
  t.match(text, /^process_cpu_seconds_total [\d.]+$/m)
  // Every sample line is NAME{LABELS} VALUE or NAME VALUE.
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue
    t.match(line, /^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\\n]|\\.)*",?)*\})? -?[0-9.e+Inf-]+$|NaN$/, `sample: ${line}`)
  }
  // Buckets are cumulative and end at the count.
  const buckets = [...text.matchAll(/^pod_preflight_admission_review_duration_seconds_bucket\{le="[^"]+"\} (\d+)$/gm)].map((m) => Number(m[1]))
  t.same([...buckets].sort((a, b) => a - b), buckets, 'cumulative')
})

t.test('label values are escaped', async (t) => {
  const r = new Registry()
  const c = r.counter('x_total', 'help with \\ and\nnewline', ['a'])
  c.inc({ a: 'quote " backslash \\ newline \n' })
  t.equal(r.render(), '# HELP x_total help with \\\\ and\\nnewline\n# TYPE x_total counter\nx_total{a="quote \\" backslash \\\\ newline \\n"} 1\n')
})
