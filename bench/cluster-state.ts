/**
 * The cluster-aware rules at scale: 5,000 Nodes (labels, taints, allocatable, some NotReady or
 * cordoned), 2,000 namespaces each with a ResourceQuota (with status) and a LimitRange, and
 * pods bound to the nodes. Reviews are realistic workloads judged with ALL rules, as the webhook
 * does (evaluateObject per object, nothing cached between reviews), against the loaded view
 * and against an empty view, interleaved in the same process.
 *
 * Memory is measured in separate processes, after a forced GC, against a baseline that has
 * loaded the same code and prepared the same reviews:
 *   files: the view loaded with --cluster-state from a state file;
 *   live:  the informers (src/cluster/live.ts) syncing from a fake API server in a third process.
 * The measuring processes run compiled JavaScript with plain node, as the webhook does (the
 * bench compiles itself with tsc into node_modules/.cache/pod-preflight-bench first), so the
 * RSS is not inflated by the TypeScript loader. BENCH_RUNTIME=tsx skips that step.
 *
 * Run: npm run bench:cluster   (node --expose-gc --import=tsx bench/cluster-state.ts)
 * Env: BENCH_NODES (5000), BENCH_NAMESPACES (2000), BENCH_PODS (30000), BENCH_REVIEWS (2000),
 *      BENCH_ROUNDS (5), BENCH_RUNTIME (compiled | tsx), BENCH_MODE (all; files, live, serve: internal).
 */
import { performance } from 'node:perf_hooks'
import { spawn } from 'node:child_process'
import { mkdtemp, mkdir, writeFile, rm, readFile, symlink } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createServer } from 'node:http'
import { fileURLToPath } from 'node:url'
import { parse } from 'yaml'

const NODES = Number(process.env['BENCH_NODES'] ?? 5000)
const NAMESPACES = Number(process.env['BENCH_NAMESPACES'] ?? 2000)
const PODS = Number(process.env['BENCH_PODS'] ?? 30000)
const REVIEWS = Number(process.env['BENCH_REVIEWS'] ?? 2000)
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 5)
const MODE = process.env['BENCH_MODE'] ?? 'all'
const RUNTIME = process.env['BENCH_RUNTIME'] ?? 'compiled'
const SELF = fileURLToPath(import.meta.url)
const STATE_FILE = process.env['BENCH_STATE_FILE'] ?? ''

const ZONES = ['eu-west-1a', 'eu-west-1b', 'eu-west-1c']
const TYPES: [string, string, string][] = [
  ['m5.xlarge', '3920m', '14Gi'],
  ['m5.2xlarge', '7910m', '29Gi'],
  ['m5.4xlarge', '15890m', '59Gi'],
  ['r5.2xlarge', '7910m', '61Gi'],
  ['c5.4xlarge', '15890m', '29Gi'],
]

type Obj = Record<string, unknown>

/** The cluster state, as `kubectl get -A -o json` would print it (item lists per kind). */
function generate(): Record<string, Obj[]> {
  const nodes: Obj[] = []
  for (let i = 0; i < NODES; i++) {
    const [type, cpu, memory] = TYPES[i % TYPES.length] ?? TYPES[0] ?? ['', '', '']
    const gpu = i % 50 === 0
    const taints: Obj[] = []
    if (gpu) taints.push({ key: 'nvidia.com/gpu', value: 'present', effect: 'NoSchedule' })
    if (i % 97 === 0) taints.push({ key: 'dedicated', value: 'ingress', effect: 'NoSchedule' })
    if (i % 101 === 0) taints.push({ key: 'node.kubernetes.io/not-ready', effect: 'NoSchedule' })
    nodes.push({
      apiVersion: 'v1',
      kind: 'Node',
      metadata: {
        name: `ip-10-${(i >> 8) & 255}-${i & 255}.eu-west-1.compute.internal`,
        labels: {
          'kubernetes.io/hostname': `node-${i}`,
          'kubernetes.io/os': 'linux',
          'kubernetes.io/arch': i % 10 === 0 ? 'arm64' : 'amd64',
          'topology.kubernetes.io/zone': ZONES[i % 3] ?? '',
          'topology.kubernetes.io/region': 'eu-west-1',
          'node.kubernetes.io/instance-type': type,
          'eks.amazonaws.com/nodegroup': `ng-${i % 40}`,
          'eks.amazonaws.com/capacityType': i % 4 === 0 ? 'SPOT' : 'ON_DEMAND',
          ...(gpu ? { 'nvidia.com/gpu.present': 'true' } : {}),
          ...(i % 7 === 0 ? { disktype: 'ssd' } : {}),
        },
        annotations: { 'node.alpha.kubernetes.io/ttl': '0', 'volumes.kubernetes.io/controller-managed-attach-detach': 'true' },
      },
      spec: { providerID: `aws:///eu-west-1a/i-${i.toString(16).padStart(17, '0')}`, taints, ...(i % 113 === 0 ? { unschedulable: true } : {}) },
      status: {
        capacity: { cpu: cpu.replace(/\d+m$/, (m) => String(Math.ceil(Number(m.slice(0, -1)) / 1000))), memory, pods: '110', 'ephemeral-storage': '100Gi', ...(gpu ? { 'nvidia.com/gpu': '4' } : {}) },
        allocatable: { cpu, memory, pods: '110', 'ephemeral-storage': '95Gi', ...(gpu ? { 'nvidia.com/gpu': '4' } : {}) },
        conditions: ['MemoryPressure', 'DiskPressure', 'PIDPressure'].map((type) => ({ type, status: 'False', reason: `KubeletHas${type}`, message: 'ok' })).concat([
          { type: 'Ready', status: i % 101 === 0 ? 'Unknown' : 'True', reason: 'KubeletReady', message: 'kubelet is posting ready status' },
        ]),
        nodeInfo: { kubeletVersion: 'v1.29.3-eks', containerRuntimeVersion: 'containerd://1.7.11', osImage: 'Amazon Linux 2' },
        images: Array.from({ length: 20 }, (_, j) => ({ names: [`registry.example.com/image-${j}@sha256:${'ab'.repeat(32)}`, `registry.example.com/image-${j}:1.${j}`], sizeBytes: 100_000_000 + j })),
      },
    })
  }
  const quotas: Obj[] = []
  const limitRanges: Obj[] = []
  const serviceAccounts: Obj[] = []
  const configMaps: Obj[] = []
  for (let n = 0; n < NAMESPACES; n++) {
    const ns = `team-${n}`
    quotas.push({
      apiVersion: 'v1',
      kind: 'ResourceQuota',
      metadata: { name: 'compute', namespace: ns },
      spec: { hard: { 'requests.cpu': '40', 'requests.memory': '80Gi', 'limits.memory': '160Gi', pods: '200' } },
      status: {
        hard: { 'requests.cpu': '40', 'requests.memory': '80Gi', 'limits.memory': '160Gi', pods: '200' },
        used: { 'requests.cpu': n % 10 === 0 ? '39500m' : `${n % 30}`, 'requests.memory': `${n % 60}Gi`, 'limits.memory': `${n % 100}Gi`, pods: String(n % 150) },
      },
    })
    if (n % 3 === 0) {
      quotas.push({
        apiVersion: 'v1',
        kind: 'ResourceQuota',
        metadata: { name: 'gpu', namespace: ns },
        spec: { hard: { 'requests.nvidia.com/gpu': '4' }, scopeSelector: { matchExpressions: [{ scopeName: 'PriorityClass', operator: 'In', values: ['high'] }] } },
        status: { hard: { 'requests.nvidia.com/gpu': '4' }, used: { 'requests.nvidia.com/gpu': String(n % 5) } },
      })
    }
    limitRanges.push({
      apiVersion: 'v1',
      kind: 'LimitRange',
      metadata: { name: 'defaults', namespace: ns },
      spec: { limits: [{ type: 'Container', default: { memory: '512Mi', cpu: '500m' }, defaultRequest: { memory: '256Mi', cpu: '100m' }, max: { memory: '16Gi' } }] },
    })
    serviceAccounts.push({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default', namespace: ns } })
    configMaps.push({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'kube-root-ca.crt', namespace: ns }, data: { 'ca.crt': '-----BEGIN CERTIFICATE-----\n' + 'A'.repeat(1100) + '\n-----END CERTIFICATE-----\n' } })
    configMaps.push({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'app-config', namespace: ns }, data: { url: 'https://example.com', mode: 'production', 'settings.json': '{"a":1}'.repeat(50) } })
  }
  const pods: Obj[] = []
  for (let p = 0; p < PODS; p++) {
    const ns = `team-${p % NAMESPACES}`
    pods.push({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: `app-${p}-7d9f8c6b5-x${p % 97}`, namespace: ns, labels: { app: `app-${p % 500}`, 'pod-template-hash': '7d9f8c6b5' }, ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: `app-${p}-7d9f8c6b5`, uid: 'u', controller: true }] },
      spec: {
        nodeName: `ip-10-${((p % NODES) >> 8) & 255}-${p % NODES & 255}.eu-west-1.compute.internal`,
        serviceAccountName: 'default',
        containers: [
          {
            name: 'app',
            image: `registry.example.com/team/app-${p % 500}:1.2.3`,
            ports: [{ name: 'http', containerPort: 8080, protocol: 'TCP' }],
            env: [{ name: 'LOG_LEVEL', value: 'info' }],
            resources: { requests: { cpu: '250m', memory: '512Mi' }, limits: { memory: '1Gi' } },
            readinessProbe: { httpGet: { path: '/ready', port: 'http' } },
          },
        ],
      },
      status: { phase: 'Running', podIP: `10.1.${(p >> 8) & 255}.${p & 255}`, conditions: [{ type: 'Ready', status: 'True' }] },
    })
  }
  return { nodes, resourcequotas: quotas, limitranges: limitRanges, serviceaccounts: serviceAccounts, configmaps: configMaps, pods, secrets: [], persistentvolumeclaims: [], services: [] }
}

/** Workloads as a webhook would see them: a mix of what the rules judge, in namespaces with quotas. */
async function reviews(): Promise<Obj[]> {
  const { manifest } = await import('./manifests.js')
  const out: Obj[] = []
  for (let i = 0; i < 200; i++) {
    const ns = `team-${(i * 37) % NAMESPACES}`
    const base = parse(manifest(i)) as Obj
    ;(base['metadata'] as Obj)['namespace'] = ns
    out.push(base)
    const gpu = i % 10 === 0
    out.push({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: `svc-${i}`, namespace: ns },
      spec: {
        replicas: 1 + (i % 6),
        selector: { matchLabels: { app: `svc-${i}` } },
        template: {
          metadata: { labels: { app: `svc-${i}` } },
          spec: {
            ...(i % 3 === 0 ? { nodeSelector: { 'topology.kubernetes.io/zone': ZONES[i % 3] ?? '', ...(i % 9 === 0 ? { disktype: 'nvme' } : {}) } } : {}),
            ...(gpu ? { priorityClassName: 'high', tolerations: [{ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }] } : {}),
            ...(i % 4 === 0
              ? { affinity: { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: { app: `svc-${i}` } }, topologyKey: 'topology.kubernetes.io/zone' }] } } }
              : {}),
            containers: [
              {
                name: 'app',
                image: `registry.example.com/team/svc-${i}:2.0.${i}`,
                envFrom: [{ configMapRef: { name: i % 5 === 0 ? 'missing-config' : 'app-config' } }],
                ports: [{ name: 'http', containerPort: 8080 }],
                resources: {
                  requests: { cpu: i % 13 === 0 ? '32' : '500m', memory: '1Gi', ...(gpu ? { 'nvidia.com/gpu': '1' } : {}) },
                  limits: { memory: '2Gi', ...(gpu ? { 'nvidia.com/gpu': '1' } : {}) },
                },
                readinessProbe: { httpGet: { path: '/ready', port: 'http' } },
              },
            ],
          },
        },
      },
    })
  }
  return out
}

function gc(): void {
  const g = (globalThis as { gc?: () => void }).gc
  if (g !== undefined) for (let i = 0; i < 3; i++) g()
}

function mem(): { rssMB: number; heapMB: number } {
  gc()
  const m = process.memoryUsage()
  return { rssMB: Math.round(m.rss / 1048576), heapMB: Math.round(m.heapUsed / 1048576) }
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN
}

interface Latency {
  reviewsPerSecond: number
  p50ms: number
  p99ms: number
  findings: number
}

/** Loads the code every mode needs, so that the baseline includes it. */
async function engine() {
  const { evaluateObject } = await import('../src/engine/evaluate.js')
  const { RULES } = await import('../src/rules/index.js')
  const { loadDefaultPolicy } = await import('../src/policy/policy.js')
  const { ClusterStore } = await import('../src/cluster/store.js')
  const policy = await loadDefaultPolicy(RULES)
  return { evaluateObject, RULES, policy, ClusterStore }
}

type Engine = Awaited<ReturnType<typeof engine>>
type View = import('../src/cluster/view.js').ClusterView

function measure(e: Engine, objects: Obj[], views: { name: string; view: View }[]): Record<string, Latency> {
  const times = new Map<string, number[]>(views.map((v) => [v.name, []]))
  const findings = new Map<string, number>(views.map((v) => [v.name, 0]))
  const total = new Map<string, number>(views.map((v) => [v.name, 0]))
  // Warm-up (JIT), then interleave the views review by review so both see the same machine noise.
  for (let i = 0; i < 300; i++) for (const v of views) e.evaluateObject(objects[i % objects.length], { policy: e.policy, rules: e.RULES, cluster: v.view })
  for (let r = 0; r < ROUNDS; r++) {
    for (let i = 0; i < REVIEWS; i++) {
      const obj = objects[i % objects.length]
      for (const v of views) {
        const t0 = performance.now()
        const res = e.evaluateObject(obj, { policy: e.policy, rules: e.RULES, cluster: v.view })
        const dt = performance.now() - t0
        times.get(v.name)?.push(dt)
        total.set(v.name, (total.get(v.name) ?? 0) + dt)
        if (r === 0) findings.set(v.name, (findings.get(v.name) ?? 0) + res.findings.length)
      }
    }
  }
  const out: Record<string, Latency> = {}
  for (const v of views) {
    const ts = (times.get(v.name) ?? []).sort((a, b) => a - b)
    out[v.name] = {
      reviewsPerSecond: Math.round((ts.length / (total.get(v.name) ?? 1)) * 1000),
      p50ms: Math.round(percentile(ts, 50) * 1000) / 1000,
      p99ms: Math.round(percentile(ts, 99) * 1000) / 1000,
      findings: findings.get(v.name) ?? 0,
    }
  }
  return out
}

/** files mode: load the state file as --cluster-state does; measure memory and latency. */
async function filesMode(): Promise<Obj> {
  const e = await engine()
  const { loadClusterStateFiles } = await import('../src/cluster/files.js')
  const objects = await reviews()
  const fileMB = Math.round(((await readFile(STATE_FILE)).length / 1048576) * 10) / 10
  const before = mem()
  const t0 = performance.now()
  const { view, errors } = await loadClusterStateFiles([STATE_FILE])
  const loadMs = Math.round(performance.now() - t0)
  if (errors.length > 0) throw new Error(errors.map((x) => x.message).join('\n'))
  const after = mem()
  const empty = new e.ClusterStore({ source: 'empty' })
  const latency = measure(e, objects, [
    { name: 'loaded', view },
    { name: 'empty', view: empty },
  ])
  const afterReviews = mem()
  return { mode: 'files', stateFileMB: fileMB, loadMs, nodes: view.nodes().length, baseline: before, loaded: after, afterReviews, viewMB: { rss: after.rssMB - before.rssMB, heap: after.heapMB - before.heapMB }, latency }
}

/** serve mode (child process): a fake API server that pages the generated lists and holds watches open. */
async function serveMode(): Promise<void> {
  const state = JSON.parse(await readFile(STATE_FILE, 'utf8')) as { items: Obj[] }
  const bodies = new Map<string, Obj[]>()
  const plural: Record<string, string> = { Node: 'nodes', ResourceQuota: 'resourcequotas', LimitRange: 'limitranges', ServiceAccount: 'serviceaccounts', ConfigMap: 'configmaps', Pod: 'pods', Secret: 'secrets', PersistentVolumeClaim: 'persistentvolumeclaims', Service: 'services' }
  for (const o of state.items) {
    const key = plural[String(o['kind'])] ?? ''
    const list = bodies.get(key) ?? []
    list.push(o)
    bodies.set(key, list)
  }
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x')
    const resource = url.pathname.replace('/api/v1/', '')
    res.writeHead(200, { 'content-type': 'application/json' })
    if (url.searchParams.get('watch') === '1') {
      res.flushHeaders()
      return // held open, as a quiet watch is
    }
    const all = bodies.get(resource) ?? []
    const limit = Number(url.searchParams.get('limit') ?? 500)
    const start = Number(url.searchParams.get('continue') ?? 0)
    const next = start + limit < all.length ? String(start + limit) : undefined
    let items = all.slice(start, start + limit)
    if (String(req.headers.accept).includes('PartialObjectMetadataList')) items = items.map((o) => ({ apiVersion: 'meta.k8s.io/v1', kind: 'PartialObjectMetadata', metadata: o['metadata'] }))
    res.end(JSON.stringify({ kind: 'List', metadata: { resourceVersion: '1000', ...(next !== undefined ? { continue: next } : {}) }, items }))
  })
  server.listen(0, '127.0.0.1', () => {
    const a = server.address()
    process.stdout.write(`${typeof a === 'object' && a !== null ? a.port : 0}\n`)
  })
  process.on('SIGTERM', () => process.exit(0))
  process.stdin.on('end', () => process.exit(0)) // the parent went away
  process.stdin.resume()
}

/** live mode: the informers sync from the fake API server (another process); memory and latency. */
async function liveMode(): Promise<Obj> {
  const e = await engine()
  const { startLiveClusterView } = await import('../src/cluster/live.js')
  const { KubeConfig } = await import('@kubernetes/client-node')
  const objects = await reviews()
  const child = spawn(process.execPath, [...process.execArgv, SELF], { env: { ...process.env, BENCH_MODE: 'serve' }, stdio: ['pipe', 'pipe', 'inherit'] })
  child.stdin.on('error', () => undefined)
  try {
    const port = await new Promise<number>((resolve, reject) => {
      child.stdout.once('data', (d: Buffer) => resolve(Number(d.toString().trim())))
      child.once('exit', (c) => reject(new Error(`fake API server exited with ${c ?? '?'}`)))
    })
    const kc = new KubeConfig()
    kc.loadFromOptions({
      clusters: [{ name: 'bench', server: `http://127.0.0.1:${port}`, skipTLSVerify: true }],
      users: [{ name: 'bench', token: 'x' }],
      contexts: [{ name: 'bench', cluster: 'bench', user: 'bench' }],
      currentContext: 'bench',
    })
    const before = mem()
    const t0 = performance.now()
    const live = startLiveClusterView({ kubeConfig: kc, resyncAfterMs: 0 })
    await live.ready
    const syncMs = Math.round(performance.now() - t0)
    const after = mem()
    const latency = measure(e, objects, [{ name: 'live', view: live.view }])
    const afterReviews = mem()
    await live.stop()
    return { mode: 'live', syncMs, nodes: live.view.nodes().length, baseline: before, synced: after, afterReviews, viewMB: { rss: after.rssMB - before.rssMB, heap: after.heapMB - before.heapMB }, latency }
  } finally {
    child.kill('SIGTERM')
  }
}

function runChild(script: string, execArgv: string[], mode: string, env: Record<string, string>): Promise<Obj> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...execArgv, script], { env: { ...process.env, ...env, BENCH_MODE: mode }, stdio: ['ignore', 'pipe', 'inherit'] })
    let out = ''
    child.stdout.on('data', (d: Buffer) => (out += d.toString()))
    child.on('exit', (code) => {
      if (code !== 0) reject(new Error(`${mode} exited with ${code ?? '?'}`))
      else resolve(JSON.parse(out.trim().split('\n').pop() ?? '{}') as Obj)
    })
  })
}

/** Compiles this file (and what it imports) with tsc, next to node_modules so packages resolve. */
async function compileSelf(): Promise<string> {
  const root = join(fileURLToPath(new URL('..', import.meta.url)))
  const out = join(root, 'node_modules', '.cache', 'pod-preflight-bench')
  const config = join(out, 'tsconfig.json')
  await mkdir(out, { recursive: true })
  await writeFile(
    config,
    JSON.stringify({ extends: join(root, 'tsconfig.json'), compilerOptions: { outDir: join(out, 'dist'), rootDir: root, sourceMap: false, noEmitOnError: false }, files: [SELF], include: [] }),
  )
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc')
  await new Promise<void>((resolve) => {
    // Type errors elsewhere in a tree under construction do not stop the emit.
    const c = spawn(process.execPath, [tsc, '-p', config], { stdio: 'ignore' })
    c.on('exit', () => resolve())
  })
  // The engine finds the built-in policy relative to itself.
  await rm(join(out, 'dist', 'policies'), { force: true, recursive: true })
  await symlink(join(root, 'policies'), join(out, 'dist', 'policies'))
  return join(out, 'dist', 'bench', 'cluster-state.js')
}

if (MODE === 'serve') {
  await serveMode()
} else if (MODE === 'files') {
  process.stdout.write(`${JSON.stringify(await filesMode())}\n`)
} else if (MODE === 'live') {
  process.stdout.write(`${JSON.stringify(await liveMode())}\n`)
} else {
  if ((globalThis as { gc?: unknown }).gc === undefined) process.stderr.write('note: run with node --expose-gc for steady memory numbers\n')
  const dir = await mkdtemp(join(tmpdir(), 'pp-bench-'))
  try {
    const stateFile = join(dir, 'state.json')
    const state = generate()
    await writeFile(stateFile, JSON.stringify({ apiVersion: 'v1', kind: 'List', items: Object.values(state).flat() }))
    let script = SELF
    let execArgv = process.execArgv
    if (RUNTIME === 'compiled') {
      script = await compileSelf()
      execArgv = ['--expose-gc']
    }
    const env = { BENCH_STATE_FILE: stateFile, BENCH_RUNTIME: RUNTIME }
    const files = await runChild(script, execArgv, 'files', env)
    const live = await runChild(script, execArgv, 'live', env)
    report(files, live)
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

function report(files: Obj, live: Obj): void {
  const result = { nodes: NODES, namespaces: NAMESPACES, pods: PODS, reviews: REVIEWS * ROUNDS, node: process.version, runtime: RUNTIME, files, live, target: { p99ms: 5, rssMB: 200 } }
  process.stdout.write(`${JSON.stringify(result)}\n\n`)
  const l = files['latency'] as Record<string, Latency>
  const lv = live['latency'] as Record<string, Latency>
  const rss = (o: unknown): number => (o as { rssMB: number }).rssMB
  const heap = (o: unknown): number => (o as { heapMB: number }).heapMB
  const row = (name: string, x: Latency | undefined, m: unknown, extra: string): string =>
    `| ${name} | ${x?.reviewsPerSecond ?? '?'} | ${x?.p50ms ?? '?'} ms | ${x?.p99ms ?? '?'} ms | ${rss(m)} MB | ${heap(m)} MB | ${extra} |`
  process.stdout.write(
    [
      `${NODES} nodes, ${NAMESPACES} namespaces each with a ResourceQuota and a LimitRange, ${PODS} pods; every review runs all rules (${RUNTIME === 'compiled' ? 'compiled JS' : 'tsx'}, Node ${process.version}).`,
      '',
      '| cluster view | reviews/s | p50 | p99 | RSS | heap used | notes |',
      '|---|---|---|---|---|---|---|',
      row('empty', l?.['empty'], files['baseline'], 'the same process, before loading the state'),
      row('state file (`--cluster-state`)', l?.['loaded'], files['afterReviews'], `loaded in ${files['loadMs'] as number} ms from ${files['stateFileMB'] as number} MB of JSON; view +${heap(files['loaded']) - heap(files['baseline'])} MB heap`),
      row('live informers', lv?.['live'], live['afterReviews'], `synced in ${live['syncMs'] as number} ms; view +${heap(live['synced']) - heap(live['baseline'])} MB heap, +${rss(live['synced']) - rss(live['baseline'])} MB RSS`),
      '',
      `Targets: p99 under ${result.target.p99ms} ms and RSS under ${result.target.rssMB} MB with ${NODES} nodes.`,
      '',
    ].join('\n'),
  )
}
