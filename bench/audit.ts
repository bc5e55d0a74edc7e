/**
 * `pod-preflight audit` of a synthetic cluster (5,000 workloads over 1,000 namespaces, 5,000
 * nodes, a quota per namespace, a ReplicaSet and pods behind each Deployment) vs `check` of
 * the same workloads as manifest files against the same nodes and quotas as a state file.
 * Both read JSON files (as `kubectl get -o json` writes them), interleaved in this process, so
 * the ratio holds on a shared, noisy machine. Then the HTML report of the audit is opened in
 * headless Chromium (Debian's chromium via playwright-core) and its time to first full render
 * is measured. Run: npm run bench:audit
 */
import { performance } from 'node:perf_hooks'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { chromium } from 'playwright-core'
import { RULES } from '../src/rules/index.js'
import { loadDefaultPolicy } from '../src/policy/policy.js'
import { readInputs } from '../src/input/documents.js'
import { loadClusterStateFiles } from '../src/cluster/files.js'
import { runCheck } from '../src/cli/run-check.js'
import { relatedFromObjects } from '../src/engine/related.js'
import { runAudit } from '../src/audit/audit.js'
import { readClusterFiles } from '../src/audit/sources.js'
import { formatAuditHtml } from '../src/audit/html.js'

const WORKLOADS = Number(process.env['BENCH_WORKLOADS'] ?? 5000)
const NAMESPACES = Number(process.env['BENCH_NAMESPACES'] ?? 1000)
const NODES = Number(process.env['BENCH_NODES'] ?? 5000)
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 3)
const CHROMIUM = process.env['POD_PREFLIGHT_CHROMIUM'] ?? '/usr/bin/chromium'

function container(i: number): Record<string, unknown> {
  const jvm = i % 7 === 0
  return {
    name: 'app',
    image: i % 5 === 0 ? 'nginx' : 'nginx:1.27.0',
    ...(jvm ? { command: ['java', '-Xmx2g', '-jar', '/app.jar'] } : {}),
    ports: [{ name: 'http', containerPort: 8080 }],
    readinessProbe: { httpGet: { path: '/ready', port: 'http' } },
    livenessProbe: { httpGet: { path: '/live', port: 'http' }, periodSeconds: 10 },
    resources: { requests: { cpu: '100m', memory: '256Mi' }, limits: { memory: jvm ? '1Gi' : '256Mi' } },
    ...(i % 11 === 0 ? { env: [{ name: 'CFG', valueFrom: { configMapKeyRef: { name: 'missing', key: 'k' } } }] } : {}),
  }
}

function workload(i: number): Record<string, unknown>[] {
  const ns = `team-${i % NAMESPACES}`
  const name = `app-${i}`
  const labels = { app: name }
  const pod = { metadata: { labels }, spec: { containers: [container(i)], ...(i % 13 === 0 ? { nodeSelector: { disktype: 'nvme' } } : {}) } }
  switch (i % 5) {
    case 0:
    case 1: {
      const uid = `d-${i}`
      const rsUid = `rs-${i}`
      return [
        { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name, namespace: ns, uid }, spec: { replicas: 2, selector: { matchLabels: labels }, template: pod } },
        { apiVersion: 'apps/v1', kind: 'ReplicaSet', metadata: { name: `${name}-7c9`, namespace: ns, uid: rsUid, ownerReferences: [{ kind: 'Deployment', name, uid, controller: true }] }, spec: { replicas: 2, selector: { matchLabels: labels }, template: pod } },
        ...[0, 1].map((p) => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name: `${name}-7c9-${p}`, namespace: ns, uid: `p-${i}-${p}`, labels, ownerReferences: [{ kind: 'ReplicaSet', name: `${name}-7c9`, uid: rsUid, controller: true }] }, spec: { ...pod.spec, nodeName: `node-${(i + p) % NODES}` }, status: { phase: 'Running' } })),
      ]
    }
    case 2:
      return [{ apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name, namespace: ns, uid: `s-${i}` }, spec: { serviceName: name, replicas: 1, selector: { matchLabels: labels }, template: pod } }]
    case 3:
      return [{ apiVersion: 'batch/v1', kind: 'CronJob', metadata: { name, namespace: ns, uid: `c-${i}` }, spec: { schedule: '0 * * * *', jobTemplate: { spec: { template: { spec: { ...pod.spec, restartPolicy: 'OnFailure' } } } } } }]
    default:
      return [{ apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: { name, namespace: ns, uid: `ds-${i}` }, spec: { selector: { matchLabels: labels }, template: pod } }]
  }
}

const state: unknown[] = []
for (let n = 0; n < NODES; n++) {
  state.push({
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name: `node-${n}`, labels: { 'kubernetes.io/hostname': `node-${n}`, 'topology.kubernetes.io/zone': `zone-${n % 3}`, ...(n % 2 === 0 ? { disktype: 'ssd' } : {}) } },
    spec: n % 50 === 0 ? { taints: [{ key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }] } : {},
    status: { allocatable: { cpu: '16', memory: '64Gi', pods: '110' }, conditions: [{ type: 'Ready', status: 'True' }] },
  })
}
for (let i = 0; i < NAMESPACES; i++) {
  state.push({ apiVersion: 'v1', kind: 'ResourceQuota', metadata: { name: 'compute', namespace: `team-${i}` }, spec: { hard: { 'requests.cpu': '20', 'limits.memory': '64Gi' } }, status: { hard: { 'requests.cpu': '20', 'limits.memory': '64Gi' }, used: { 'requests.cpu': '2', 'limits.memory': '4Gi' } } })
  state.push({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default', namespace: `team-${i}` } })
}
const workloadsOnly: unknown[] = []
const withOwned: unknown[] = []
for (let i = 0; i < WORKLOADS; i++) {
  const objs = workload(i)
  const [top] = objs
  if (top !== undefined) workloadsOnly.push(top)
  withOwned.push(...objs)
}

const dir = await mkdtemp(join(tmpdir(), 'bench-audit-'))
const list = (items: unknown[]) => JSON.stringify({ apiVersion: 'v1', kind: 'List', items })
const stateFile = join(dir, 'state.json')
const manifestFile = join(dir, 'workloads.json')
const clusterFile = join(dir, 'cluster.json')
await writeFile(stateFile, list(state))
await writeFile(manifestFile, list(workloadsOnly))
await writeFile(clusterFile, list([...state, ...withOwned]))
const policy = await loadDefaultPolicy(RULES)
const io = { cwd: dir, stdin: process.stdin }

async function check(): Promise<number> {
  const { view } = await loadClusterStateFiles([stateFile], io)
  const { documents, errors } = await readInputs([manifestFile], io)
  const report = runCheck(documents, errors, { policy, rules: RULES, namespace: 'default', cluster: view, related: relatedFromObjects(documents, { complete: false, namespace: 'default' }), files: 1 })
  return report.summary.objects
}

let lastAudit: ReturnType<typeof runAudit> | undefined
async function audit(): Promise<number> {
  const input = await readClusterFiles([clusterFile], io)
  lastAudit = runAudit(input.objects, { policy, rules: RULES, cluster: input.view, events: input.events, source: 'bench' })
  return lastAudit.summary.workloads
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN
const times = { check: [] as number[], audit: [] as number[] }
let judged = { check: 0, audit: 0 }
for (let r = 0; r < ROUNDS; r++) {
  for (const which of r % 2 === 0 ? (['check', 'audit'] as const) : (['audit', 'check'] as const)) {
    const t0 = performance.now()
    judged = { ...judged, [which]: which === 'check' ? await check() : await audit() }
    times[which].push(performance.now() - t0)
  }
}
const c = median(times.check)
const a = median(times.audit)
console.log(`${WORKLOADS} workloads (${withOwned.length} objects with ReplicaSets and pods), ${NAMESPACES} namespaces, ${NODES} nodes; ${ROUNDS} rounds, medians`)
console.log(`check (workloads as files + state file): ${c.toFixed(0)} ms for ${judged.check} objects`)
console.log(`audit (the same cluster as one file):    ${a.toFixed(0)} ms for ${judged.audit} workloads`)
console.log(`ratio audit / check: ${(a / c).toFixed(2)}x (target <= 1.2x)`)

if (lastAudit !== undefined) {
  const html = join(dir, 'audit.html')
  const text = formatAuditHtml(lastAudit)
  await writeFile(html, text)
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'], timeout: 120_000 })
  try {
    const renders: number[] = []
    const inPage: number[] = []
    for (let r = 0; r < ROUNDS; r++) {
      const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } })
      const t0 = performance.now()
      await page.goto(pathToFileURL(html).href)
      await page.waitForSelector('body[data-ready="true"]', { timeout: 120_000 })
      // Until the next frame is painted, in the page's clock (from navigation start).
      await page.evaluate('new Promise((resolve) => requestAnimationFrame(() => resolve(undefined)))')
      renders.push(performance.now() - t0)
      inPage.push(Number(await page.getAttribute('body', 'data-ready-ms')))
      await page.close()
    }
    console.log(`HTML report: ${(text.length / 1048576).toFixed(1)} MiB, opened and rendered in Chromium in ${median(renders).toFixed(0)} ms (median, from navigation to the first painted frame; target < 2000 ms); script ready ${median(inPage).toFixed(0)} ms after navigation start`)
  } finally {
    await browser.close()
  }
}
await rm(dir, { recursive: true, force: true })
