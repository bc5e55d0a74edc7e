/**
 * The cluster-aware rules at admission, end to end: a real etcd + kube-apiserver, `pod-preflight
 * serve --cluster` watching it with the admin kubeconfig, registered with the
 * ValidatingWebhookConfiguration from manifests/, and the real kubectl creating Nodes and quotas
 * and applying workloads with --dry-run=server. The verdicts follow the cluster as kubectl
 * changes it, without restarting the webhook.
 */
import t from 'tap'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startCluster, type KubectlResult, type TestCluster } from './harness/cluster.js'
import { WEBHOOK, deniedBy, ensureBuilt, badPod, registerWebhook, sleep, startWebhook, type Webhook } from './harness/webhook.js'

t.setTimeout(600_000)

const NS = 'e2e-webhook-cluster'
const QUOTA_NS = 'e2e-webhook-quota'
/** The rules that judge a pod against the nodes; none of them must speak about a schedulable pod. */
const SCHEDULING_RULES = ['node-selector-unsatisfiable', 'taints-not-tolerated', 'no-ready-node', 'no-node-fits-requests', 'no-node-has-free-capacity', 'node-affinity-unsatisfiable']

/** A Node as a kubelet would register it: labels, allocatable cpu 4 / memory 8Gi / pods 110, Ready. */
function node(name: string, labels: Record<string, string>, taints = '  taints: []'): string {
  const lines = Object.entries({ 'kubernetes.io/hostname': name, ...labels })
    .map(([k, v]) => `    ${k}: "${v}"`)
    .join('\n')
  return `apiVersion: v1
kind: Node
metadata:
  name: ${name}
  labels:
${lines}
spec:
${taints}
status:
  capacity:
    cpu: "4"
    memory: 8Gi
    pods: "110"
  allocatable:
    cpu: "4"
    memory: 8Gi
    pods: "110"
  conditions:
  - type: Ready
    status: "True"
    reason: KubeletReady
    message: fake node
    lastHeartbeatTime: "2024-01-01T00:00:00Z"
    lastTransitionTime: "2024-01-01T00:00:00Z"
`
}

const GPU_TAINT = '  taints:\n  - key: dedicated\n    value: gpu\n    effect: NoSchedule'

/** A container nothing static warns about (webhook.test.ts accepts it silently), asking for `cpu`. */
function container(cpu: string, indent: string): string {
  return `${indent}- name: web
${indent}  image: nginx:1.27.0
${indent}  ports: [{ name: http, containerPort: 80 }]
${indent}  resources:
${indent}    requests: { cpu: ${cpu}, memory: 64Mi, ephemeral-storage: 64Mi }
${indent}    limits: { memory: 64Mi, ephemeral-storage: 64Mi }`
}

function deployment(name: string, o: { ns?: string; replicas?: number; cpu?: string; nodeSelector?: Record<string, string> } = {}): string {
  const selector =
    o.nodeSelector === undefined
      ? ''
      : `      nodeSelector:\n${Object.entries(o.nodeSelector).map(([k, v]) => `        ${k}: "${v}"`).join('\n')}\n`
  return `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
  namespace: ${o.ns ?? NS}
spec:
  replicas: ${o.replicas ?? 2}
  selector: { matchLabels: { app: ${name} } }
  template:
    metadata: { labels: { app: ${name} } }
    spec:
${selector}      containers:
${container(o.cpu ?? '50m', '        ')}
`
}

const BAD_POD = badPod(NS)

const warningsOf = (r: KubectlResult): string[] => r.stderr.split('\n').filter((l) => l.startsWith('Warning: '))
/** The text of a rule's warning: `rule: message` when it fits, else a short form ending with ` (rule)`. */
const warningFor = (r: KubectlResult, rule: string): string | undefined => {
  const w = warningsOf(r).find((l) => l.startsWith(`Warning: ${rule}: `) || l.endsWith(` (${rule})`))
  return w === undefined ? undefined : w.startsWith(`Warning: ${rule}: `) ? w.slice(`Warning: ${rule}: `.length) : w.slice('Warning: '.length, -` (${rule})`.length)
}

let cluster: TestCluster
let webhook: Webhook
let dir: string

async function ok(args: string[], input?: string): Promise<string> {
  const r = await cluster.kubectl(args, input === undefined ? {} : { input })
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed (${r.code}): ${r.stderr}${r.stdout}`)
  return r.stdout
}

const dryRun = (yaml: string): Promise<KubectlResult> => cluster.kubectl(['apply', '--dry-run=server', '-f', '-'], { input: yaml })

/**
 * Repeats a dry run until `done` holds of kubectl's answer or `ms` pass (the webhook's view
 * follows the API server's watch, a moment behind kubectl), and returns the last answer: the
 * caller asserts on it, so a condition never reached fails there.
 */
async function dryRunUntil(yaml: string, done: (r: KubectlResult) => boolean, ms = 30_000): Promise<KubectlResult> {
  const deadline = Date.now() + ms
  for (;;) {
    const r = await dryRun(yaml)
    if (done(r) || Date.now() > deadline) return r
    await sleep(500)
  }
}

/** The rule ids of the webhook's last review of kind/name (its log line is written just after the answer). */
async function reviewed(kind: string, name: string, namespace = NS): Promise<Record<string, unknown> | undefined> {
  const deadline = Date.now() + 5_000
  for (;;) {
    const line = (await webhook.logs()).filter((l) => l['msg'] === 'review' && l['kind'] === kind && l['name'] === name && l['namespace'] === namespace).at(-1)
    if (line !== undefined || Date.now() > deadline) return line
    await sleep(100)
  }
}

const rulesOf = (line: Record<string, unknown> | undefined): string[] => (Array.isArray(line?.['rules']) ? (line['rules'] as string[]) : [])

/** Waits until kubectl shows the node without taints other than `keep`. */
async function untaint(name: string, keep = 0): Promise<void> {
  // TaintNodesByCondition gives every new node the not-ready taint; the node lifecycle controller
  // would take it off a Ready node, and no controller runs here.
  await cluster.kubectl(['taint', 'nodes', name, 'node.kubernetes.io/not-ready:NoSchedule-'])
  const deadline = Date.now() + 30_000
  for (;;) {
    const n = JSON.parse(await ok(['get', 'node', name, '-o', 'json'])) as { spec?: { taints?: { key: string }[] } }
    const taints = n.spec?.taints ?? []
    if (taints.length === keep && !taints.some((x) => x.key === 'node.kubernetes.io/not-ready')) return
    if (Date.now() > deadline) throw new Error(`node ${name} still has taints ${JSON.stringify(taints)}`)
    await cluster.kubectl(['taint', 'nodes', name, 'node.kubernetes.io/not-ready:NoSchedule-'])
    await sleep(300)
  }
}

t.before(async () => {
  await ensureBuilt()
  dir = await mkdtemp(join(tmpdir(), 'pod-preflight-webhook-cluster-e2e-'))
  cluster = await startCluster()
  // Ready only once the cluster view has synced.
  webhook = await startWebhook(dir, ['--cluster', `--kubeconfig=${cluster.kubeconfigPath}`], 120_000)
  await cluster.applyYaml(`apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${NS}\n`)
  await registerWebhook(cluster, webhook, BAD_POD)
})

t.teardown(async () => {
  await webhook?.stop()
  await cluster?.stop()
  if (dir !== undefined && process.env['POD_PREFLIGHT_KEEP_E2E'] !== '1') await rm(dir, { recursive: true, force: true })
})

t.test('the webhook runs with the live cluster view', async (t) => {
  const lines = await webhook.logs()
  t.ok(lines.some((l) => l['msg'] === 'cluster view synced'), 'the live view synced before the webhook was ready')
  const denied = await reviewed('Pod', 'bad-pod')
  t.equal(denied?.['verdict'], 'denied', 'the API server calls it')
})

t.test('nodes: selector, requests and taints are judged against the nodes kubectl created', async (t) => {
  await ok(['apply', '-f', '-'], [
    node('n1', { disktype: 'hdd', 'topology.kubernetes.io/zone': 'a' }),
    node('n2', { disktype: 'hdd', 'topology.kubernetes.io/zone': 'b' }),
    node('gpu-1', { accelerator: 't4' }, GPU_TAINT),
  ].join('---\n'))
  await untaint('n1')
  await untaint('n2')
  await untaint('gpu-1', 1)

  // A workload that fits: no scheduling rule speaks (the baseline the warnings below differ from).
  const fits = await dryRunUntil(deployment('fits'), (r) => r.code === 0 && warningsOf(r).length === 0)
  t.equal(fits.code, 0, fits.stderr)
  t.same(warningsOf(fits), [], 'a workload two nodes can run is accepted without warnings')
  t.same(rulesOf(await reviewed('Deployment', 'fits')), [], 'and the webhook found nothing')

  const ssd = deployment('ssd', { nodeSelector: { disktype: 'ssd' } })
  const s = await dryRunUntil(ssd, (r) => (warningFor(r, 'node-selector-unsatisfiable') ?? '').includes('0/3 nodes'))
  t.equal(s.code, 0, `only warned (${s.stderr})`)
  t.match(s.stdout, /deployment\.apps\/ssd created \(server dry run\)/)
  t.match(warningFor(s, 'node-selector-unsatisfiable') ?? s.stderr, /^0\/3 nodes eligible: 3 missing label disktype=ssd/)
  for (const w of warningsOf(s)) t.ok(w.length - 'Warning: '.length <= 120, `at most 120 characters: ${w}`)
  t.ok(rulesOf(await reviewed('Deployment', 'ssd')).includes('node-selector-unsatisfiable'), 'logged with the rule id')

  const big = await dryRunUntil(deployment('big', { cpu: '32' }), (r) => warningFor(r, 'no-node-fits-requests') !== undefined)
  t.equal(big.code, 0, `only warned (${big.stderr})`)
  t.match(warningFor(big, 'no-node-fits-requests') ?? big.stderr, /cpu 32|No eligible node is big enough for the pod's requests$/)
  t.ok(rulesOf(await reviewed('Deployment', 'big')).includes('no-node-fits-requests'), 'logged with the rule id')

  // Only the tainted node carries accelerator=t4, and the pod tolerates nothing.
  const gpu = await dryRunUntil(deployment('gpu', { nodeSelector: { accelerator: 't4' } }), (r) => warningFor(r, 'taints-not-tolerated') !== undefined)
  t.equal(gpu.code, 0, `only warned (${gpu.stderr})`)
  t.match(warningFor(gpu, 'taints-not-tolerated') ?? gpu.stderr, /^0\/3 nodes eligible: /)
  t.notOk(warningFor(gpu, 'node-selector-unsatisfiable'), 'the selector itself is satisfiable')
  const gpuRules = rulesOf(await reviewed('Deployment', 'gpu'))
  t.ok(gpuRules.includes('taints-not-tolerated'), `logged with the rule id (${gpuRules.join(', ')})`)
})

t.test('quota: a workload over the ResourceQuota is warned about, a bare Pod over it is denied', async (t) => {
  await ok(['create', 'namespace', QUOTA_NS])
  await ok(['apply', '-f', '-'], `apiVersion: v1
kind: ResourceQuota
metadata:
  name: compute
  namespace: ${QUOTA_NS}
spec:
  hard:
    requests.cpu: "1"
    pods: "4"
`)
  // No quota controller runs: give the quota its status, as the controller would.
  await ok(['patch', 'resourcequota', 'compute', '-n', QUOTA_NS, '--subresource=status', '--type=merge', '-p',
    JSON.stringify({ status: { hard: { 'requests.cpu': '1', pods: '4' }, used: { 'requests.cpu': '0', pods: '0' } } })])

  const over = await dryRunUntil(deployment('over', { ns: QUOTA_NS, replicas: 3, cpu: '500m' }), (r) => warningFor(r, 'quota-exceeded') !== undefined)
  t.equal(over.code, 0, `a Deployment is only warned about (${over.stderr})`)
  t.match(warningFor(over, 'quota-exceeded') ?? over.stderr, /^requests\.cpu would reach 1\.5 of 1 in ResourceQuota "compute" of namespace "e2e-webhook-quota" \(0 used|^spec\.containers\[0\]\.resources\.requests\.cpu: The pods would exceed a ResourceQuota$/)
  t.ok(rulesOf(await reviewed('Deployment', 'over', QUOTA_NS)).includes('quota-exceeded'), 'logged with the rule id')
  // The quota is known to the view by now: what stays within it is not warned about.
  const within = await dryRun(deployment('within', { ns: QUOTA_NS, replicas: 2, cpu: '250m' }))
  t.equal(within.code, 0, within.stderr)
  t.notOk(warningFor(within, 'quota-exceeded'), `2 × 250m stays within the quota (${within.stderr})`)
  t.notOk(rulesOf(await reviewed('Deployment', 'within', QUOTA_NS)).includes('quota-exceeded'), 'nor in the log')

  const pod = `apiVersion: v1
kind: Pod
metadata:
  name: greedy
  namespace: ${QUOTA_NS}
spec:
  containers:
${container('1500m', '    ')}
`
  const r = await dryRun(pod)
  t.not(r.code, 0, 'kubectl fails')
  if (deniedBy(r)) {
    t.match(r.stderr, `admission webhook "${WEBHOOK}" denied the request: pod-preflight: Pod ${QUOTA_NS}/greedy would fail at run time`)
    t.match(r.stderr, /- \[quota-exceeded\] spec\.containers\[0\]\.resources\.requests\.cpu: requests\.cpu would reach 1\.5 of 1 in ResourceQuota "compute" of namespace "e2e-webhook-quota" \(0 used, 1\.5 more\)/)
    t.match(r.stderr, /the API server rejects the pod \(Forbidden: exceeded quota\)/)
    const line = await reviewed('Pod', 'greedy', QUOTA_NS)
    t.equal(line?.['verdict'], 'denied')
    t.same(line?.['denied'], ['quota-exceeded'], 'denied for the quota alone')
  } else {
    // The API server's own ResourceQuota admission runs after the webhooks in 1.20, so it should
    // not get there first; if it ever does, the pod is still refused, for the same reason.
    t.match(r.stderr, /exceeded quota: compute/, `refused by the API server's quota admission instead (${r.stderr})`)
    t.comment('the API server rejected the pod before calling the webhook')
  }
})

t.test('a node added or deleted with kubectl changes the verdict without restarting the webhook', async (t) => {
  const ssd = deployment('ssd', { nodeSelector: { disktype: 'ssd' } })
  const pid = webhook.proc.pid
  await ok(['apply', '-f', '-'], node('fast', { disktype: 'ssd' }))
  await untaint('fast')
  const schedulable = (r: KubectlResult): boolean => r.code === 0 && !warningsOf(r).some((w) => SCHEDULING_RULES.some((rule) => w.startsWith(`Warning: ${rule}: `) || w.endsWith(` (${rule})`)))
  const after = await dryRunUntil(ssd, schedulable)
  t.equal(after.code, 0, after.stderr)
  t.notOk(warningFor(after, 'node-selector-unsatisfiable'), `the warning is gone (${after.stderr})`)
  t.ok(schedulable(after), `no scheduling warning at all: the ssd node is Ready and untainted (${after.stderr})`)
  t.notOk(rulesOf(await reviewed('Deployment', 'ssd')).some((r) => SCHEDULING_RULES.includes(r)), 'nor in the log')

  await ok(['delete', 'node', 'fast'])
  const back = await dryRunUntil(ssd, (r) => warningFor(r, 'node-selector-unsatisfiable') !== undefined)
  t.equal(back.code, 0, back.stderr)
  t.match(warningFor(back, 'node-selector-unsatisfiable') ?? back.stderr, /^0\/3 nodes eligible: 3 missing label disktype=ssd/)
  t.ok(rulesOf(await reviewed('Deployment', 'ssd')).includes('node-selector-unsatisfiable'), 'logged again')

  t.equal(webhook.proc.pid, pid, 'the same webhook process')
  const exitedMeanwhile = await Promise.race([webhook.exited.then(() => true), sleep(0).then(() => false)])
  t.equal(exitedMeanwhile, false, 'still running')
})
