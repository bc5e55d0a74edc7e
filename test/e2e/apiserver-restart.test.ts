/**
 * The webhook's cluster view when the real kube-apiserver is killed and started again on the
 * same port and etcd: `pod-preflight serve --cluster` runs as a ServiceAccount with the README's
 * ClusterRole (no Secrets), its watches break, it retries with the ordinary backoff (a refusal
 * while the restarted server's RBAC cache fills is not taken as a missing permission), logs the
 * recovery, and a node created after the restart changes the verdict within seconds.
 */
import t from 'tap'
import { request } from 'node:https'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startCluster, type TestCluster } from './harness/cluster.js'
import { ensureBuilt, get, sleep, startWebhook, type Webhook } from './harness/webhook.js'

t.setTimeout(600_000)

let cluster: TestCluster
let webhook: Webhook
let dir: string

async function ok(args: string[], input?: string): Promise<string> {
  const r = await cluster.kubectl(args, input === undefined ? {} : { input })
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed (${r.code}): ${r.stderr}${r.stdout}`)
  return r.stdout
}

function node(name: string, disktype: string): string {
  return `apiVersion: v1
kind: Node
metadata:
  name: ${name}
  labels: { kubernetes.io/hostname: ${name}, disktype: ${disktype} }
status:
  allocatable: { cpu: "4", memory: 8Gi, pods: "110" }
  capacity: { cpu: "4", memory: 8Gi, pods: "110" }
  conditions:
  - { type: Ready, status: "True", reason: KubeletReady, message: fake node, lastHeartbeatTime: "2024-01-01T00:00:00Z", lastTransitionTime: "2024-01-01T00:00:00Z" }
`
}

/** A pod for an ssd node; it tolerates every taint, so only the selector decides. */
const POD = {
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'wants-ssd', namespace: 'default' },
  spec: {
    nodeSelector: { disktype: 'ssd' },
    tolerations: [{ operator: 'Exists' }],
    containers: [{ name: 'web', image: 'nginx:1.27.0', resources: { requests: { cpu: '50m', memory: '64Mi' }, limits: { memory: '64Mi' } } }],
  },
}

/** The warnings of the webhook's answer to a CREATE of POD, posted as the API server would. */
function review(): Promise<string[]> {
  const body = JSON.stringify({
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: `u-${Date.now()}`,
      kind: { group: '', version: 'v1', kind: 'Pod' },
      resource: { group: '', version: 'v1', resource: 'pods' },
      namespace: 'default',
      name: 'wants-ssd',
      operation: 'CREATE',
      userInfo: { username: 'e2e' },
      object: POD,
      dryRun: true,
    },
  })
  return new Promise((resolve, reject) => {
    const req = request(`${webhook.url}/validate`, { method: 'POST', ca: webhook.caPem, agent: false, headers: { 'content-type': 'application/json' } }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => {
        try {
          const answer = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { response?: { warnings?: string[] } }
          resolve(answer.response?.warnings ?? [])
        } catch (e) {
          reject(e instanceof Error ? e : new Error(String(e)))
        }
      })
    })
    req.on('error', reject)
    req.end(body)
  })
}

// An admission warning ends with the id of the rule that gave it.
const unsatisfiable = (w: string[]): boolean => w.some((x) => x.endsWith('(node-selector-unsatisfiable)'))

/** Reviews until `done` holds or `ms` pass; returns the last warnings and when `done` first held. */
async function reviewUntil(done: (w: string[]) => boolean, ms: number): Promise<{ warnings: string[]; at: number | undefined }> {
  const deadline = Date.now() + ms
  for (;;) {
    const warnings = await review()
    if (done(warnings)) return { warnings, at: Date.now() }
    if (Date.now() > deadline) return { warnings, at: undefined }
    await sleep(200)
  }
}

t.before(async () => {
  await ensureBuilt()
  dir = await mkdtemp(join(tmpdir(), 'pod-preflight-restart-e2e-'))
  cluster = await startCluster()
  await ok(['apply', '-f', '-'], `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: pod-preflight-cluster-view
rules:
- apiGroups: [""]
  resources: [nodes, resourcequotas, limitranges, serviceaccounts, persistentvolumeclaims, configmaps, services, pods]
  verbs: [list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: pod-preflight-cluster-view
roleRef: { apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: pod-preflight-cluster-view }
subjects:
- { kind: ServiceAccount, name: pod-preflight, namespace: pod-preflight }
`)
  await ok(['apply', '-f', '-'], node('hdd-1', 'hdd'))
  const sa = await cluster.serviceAccountKubeconfig('pod-preflight', 'pod-preflight')
  webhook = await startWebhook(dir, ['--cluster', `--kubeconfig=${sa.kubeconfigPath}`], 120_000)
})

t.teardown(async () => {
  await webhook?.stop()
  await cluster?.stop()
  if (dir !== undefined && process.env['POD_PREFLIGHT_KEEP_E2E'] !== '1') await rm(dir, { recursive: true, force: true })
})

t.test('after kube-apiserver is killed and restarted, the view recovers and a new node changes the verdict within seconds', async (t) => {
  const before = await reviewUntil(unsatisfiable, 30_000)
  t.ok(unsatisfiable(before.warnings), `no ssd node yet: ${before.warnings.join(' | ')}`)
  const metricsBefore = (await get(`${webhook.url}/metrics`, webhook.caPem)).body
  t.match(metricsBefore, /^pod_preflight_cluster_state_age_seconds\{resource="nodes"\} 0$/m, 'fresh while the watch is open')
  t.notMatch(metricsBefore, /pod_preflight_cluster_state_age_seconds\{resource="secrets"\}/, 'no age for the Secrets the role leaves out')

  const killedAt = Date.now()
  await cluster.restartApiServer()
  const upAfterS = Math.round((Date.now() - killedAt) / 1000)
  t.comment(`kube-apiserver ready again ${upAfterS} s after the kill`)

  // Created on the restarted server: the view must see it through a new list/watch.
  await ok(['apply', '-f', '-'], node('ssd-1', 'ssd'))
  const createdAt = Date.now()
  const after = await reviewUntil((w) => !unsatisfiable(w), 60_000)
  t.ok(after.at !== undefined, `the verdict changed (${after.warnings.join(' | ')})`)
  const tookS = ((after.at ?? Date.now()) - createdAt) / 1000
  t.comment(`the new node changed the verdict ${tookS.toFixed(1)} s after it was created`)
  // The backoff is capped at 30 s; a 403 taken as "not granted" waited 5 minutes.
  t.ok(tookS < 35, `within seconds, not minutes (${tookS.toFixed(1)} s)`)

  const logs = await webhook.logs()
  const msgs = logs.map((l) => String(l['msg']))
  t.ok(msgs.some((m) => /^cluster view: nodes list\/watch recovered after \d+ s down$/.test(m)), 'the recovery of the nodes watch is logged with how long it was down')
  const refused = msgs.filter((m) => /^cluster view: (list|watch) nodes refused; retrying/.test(m))
  t.comment(refused.length > 0 ? 'the restarted server refused for a moment (RBAC cache filling): retried' : 'the restarted server did not refuse this time')
  t.notOk(msgs.some((m) => /^cluster view cannot (list|watch) (?!secrets)/.test(m)), 'no kind but Secrets reported as an RBAC problem')

  const ready = await get(`${webhook.url}/readyz`, webhook.caPem)
  t.equal(ready.status, 200)
  t.match(ready.body, /^cluster view: synced, state 0 s old; secrets unavailable \(forbidden: .*; its rules stay silent\)$/m)
  const metricsAfter = (await get(`${webhook.url}/metrics`, webhook.caPem)).body
  t.match(metricsAfter, /^pod_preflight_cluster_state_age_seconds\{resource="nodes"\} 0$/m, 'fresh again')
})
