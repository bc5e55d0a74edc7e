// End-to-end: two webhooks with --companion against a real kube-apiserver: only the holder of
// the companion Lease runs the companion (so one records each event); when it shuts down it
// releases the Lease and the other starts its companion. Then two `pod-preflight serve
// --companion` processes with the real companion: one PreflightDiagnosis event per failure, not
// two; SIGKILL the one recording and the other records the next failure, once, without
// repeating the first.
import t from 'tap'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startServer, type RunningServer } from '../../src/admission/server.js'
import { createLogger } from '../../src/admission/logger.js'
import type { StartCompanion } from '../../src/admission/seams.js'
import { RULES } from '../../src/rules/index.js'
import { freePort, run, startCluster, type TestCluster } from './harness/cluster.js'
import { ensureBuilt, startWebhook, type Webhook } from './harness/webhook.js'

t.setTimeout(300_000)

const GENERATE = new URL('../../certs/generate.sh', import.meta.url).pathname
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))

t.test('with two replicas running --companion, one runs the companion', async (t) => {
  const cluster = await startCluster()
  t.teardown(() => cluster.stop())
  await cluster.applyYaml('apiVersion: v1\nkind: Namespace\nmetadata:\n  name: pod-preflight\n')
  const dir = await mkdtemp(join(tmpdir(), 'pp-companion-leader-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  await promisify(execFile)('bash', [GENERATE, '--out', dir, '--dev'])

  const running = new Map<string, boolean>()
  const companionFor = (name: string): StartCompanion => () => {
    running.set(name, true)
    return { stop: () => void running.set(name, false) }
  }
  const servers: RunningServer[] = []
  for (const name of ['a', 'b']) {
    servers.push(
      await startServer({
        host: '127.0.0.1',
        port: 0,
        tlsCert: join(dir, 'tls.crt'),
        tlsKey: join(dir, 'tls.key'),
        reloadIntervalMs: 0,
        rules: RULES,
        logger: createLogger('silent'),
        companion: true,
        kubeconfig: cluster.kubeconfigPath,
        companionLease: { namespace: 'pod-preflight', leaseDurationMs: 4000, retryPeriodMs: 500 },
        seams: { companion: companionFor(name) },
      }),
    )
  }
  t.teardown(() => Promise.allSettled(servers.map((s) => s.close())))

  const deadline = Date.now() + 60_000
  while ([...running.values()].filter(Boolean).length === 0 && Date.now() < deadline) await sleep(200)
  for (let i = 0; i < 8; i++) {
    t.equal([...running.values()].filter(Boolean).length, 1, 'exactly one companion runs')
    await sleep(500)
  }
  const holder = await cluster.kubectl(['get', 'lease', 'pod-preflight-companion', '-n', 'pod-preflight', '-o', 'jsonpath={.spec.holderIdentity}'])
  t.not(holder.stdout, '', 'the Lease names the holder')

  // The leader shuts down: it releases the Lease, and the other starts its companion.
  const leaderIndex = running.get('a') === true ? 0 : 1
  await servers[leaderIndex]?.close()
  const other = leaderIndex === 0 ? 'b' : 'a'
  const until = Date.now() + 60_000
  while (running.get(other) !== true && Date.now() < until) await sleep(200)
  t.equal(running.get(other), true, 'the other replica took over the companion')
  t.equal(running.get(leaderIndex === 0 ? 'a' : 'b'), false, 'the stopped replica stopped its companion')
})

const NS = 'e2e-companion-leader'

async function diagnoses(cluster: TestCluster, pod: string): Promise<{ message?: string; reportingComponent?: string }[]> {
  const r = await cluster.kubectl(['get', 'events', '-n', NS, '--field-selector', `involvedObject.name=${pod}`, '-o', 'json'])
  if (r.code !== 0) throw new Error(`kubectl get events: ${r.stderr}`)
  return (JSON.parse(r.stdout) as { items: { reason?: string; message?: string; reportingComponent?: string }[] }).items.filter((e) => e.reason === 'PreflightDiagnosis')
}

function crashLoop(image: string, last: Record<string, unknown>): string {
  return JSON.stringify({
    status: {
      phase: 'Running',
      containerStatuses: [
        {
          name: 'app',
          image,
          imageID: '',
          ready: false,
          restartCount: 2,
          state: { waiting: { reason: 'CrashLoopBackOff', message: 'back-off 20s restarting failed container' } },
          lastState: { terminated: { startedAt: '2026-01-01T10:00:00Z', finishedAt: '2026-01-01T10:01:00Z', ...last } },
        },
      ],
    },
  })
}

const isLeaderLog = (l: Record<string, unknown>): boolean => l['msg'] === 'became the leader' && l['lease'] === 'pod-preflight/pod-preflight-companion'
const diagnosed = async (w: Webhook): Promise<number> => (await w.logs()).filter((l) => l['msg'] === 'diagnosis recorded').length

t.test('two serve --companion processes: one records each failure, and the other takes over when it is killed', async (t) => {
  await ensureBuilt()
  const cluster = await startCluster()
  t.teardown(() => cluster.stop())
  const pod = (name: string, image: string, command: string[]) => `---
apiVersion: v1
kind: Pod
metadata:
  name: ${name}
  namespace: ${NS}
spec:
  nodeName: node-1
  containers:
  - name: app
    image: ${image}
    command: ${JSON.stringify(command)}
    resources:
      limits:
        memory: 768Mi
`
  await cluster.applyYaml(`apiVersion: v1
kind: Namespace
metadata:
  name: pod-preflight
---
apiVersion: v1
kind: Namespace
metadata:
  name: ${NS}
${pod('orders', 'registry.example.com/shop/orders:2.3.1', ['java', '-Xmx1g', '-jar', '/app/orders.jar'])}${pod('worker', 'registry.example.com/shop/worker:1.0.0', ['/worker'])}`)

  const LEASE_MS = 3000
  const replicas: Webhook[] = []
  for (const name of ['a', 'b']) {
    const dir = await mkdtemp(join(tmpdir(), `pp-companion-${name}-`))
    t.teardown(() => rm(dir, { recursive: true, force: true }))
    const w = await startWebhook(dir, ['--companion', `--lease-duration=${LEASE_MS / 1000}s`, '--lease-namespace=pod-preflight', `--metrics-port=${await freePort()}`, `--kubeconfig=${cluster.kubeconfigPath}`])
    t.teardown(() => w.stop())
    replicas.push(w)
  }
  const leaderOf = async (): Promise<Webhook[]> => {
    const out: Webhook[] = []
    for (const w of replicas) if ((await w.logs()).some((l) => l['msg'] === 'companion watching pods')) out.push(w)
    return out
  }
  const until = Date.now() + 60_000
  while ((await leaderOf()).length === 0 && Date.now() < until) await sleep(300)
  const running = await leaderOf()
  t.equal(running.length, 1, 'one replica runs the companion')
  const recorder = running[0]
  const other = replicas.find((w) => w !== recorder)
  if (recorder === undefined || other === undefined) throw new Error('no companion started')
  t.ok((await recorder.logs()).some(isLeaderLog), 'it holds the companion Lease')

  // An OOM kill: one event, though two replicas watch the pod.
  const p1 = await cluster.kubectl(['patch', 'pod', 'orders', '-n', NS, '--subresource=status', '--type=merge', '-p', crashLoop('registry.example.com/shop/orders:2.3.1', { exitCode: 137, reason: 'OOMKilled' })])
  t.equal(p1.code, 0, p1.stderr)
  const deadline = Date.now() + 60_000
  while ((await diagnoses(cluster, 'orders')).length === 0 && Date.now() < deadline) await sleep(300)
  await sleep(3000) // time for a second event, were there a second recorder
  const first = await diagnoses(cluster, 'orders')
  t.equal(first.length, 1, 'one PreflightDiagnosis event for the failure')
  t.match(first[0]?.message ?? '', /^\[oom-killed\]/)
  t.equal(await diagnosed(recorder), 1, 'recorded by the replica holding the Lease')
  t.equal(await diagnosed(other), 0, 'the other replica recorded nothing')
  t.notOk((await other.logs()).some(isLeaderLog), 'and never held the Lease')

  // SIGKILL the recorder's node process: the Lease is not released; the other takes over once it expires.
  const children = (await run('ps', ['-o', 'pid=,args=', '--ppid', String(recorder.proc.pid)])).stdout.split('\n')
  const pid = Number(children.find((l) => l.includes('dist/cli/bin.js serve'))?.trim().split(/\s+/)[0])
  t.ok(pid > 0, `the recorder's process id (${pid})`)
  process.kill(pid, 'SIGKILL')
  t.equal(await recorder.exited, 137, 'the recorder is gone')
  const takeover = Date.now() + 60_000
  while (!(await other.logs()).some((l) => l['msg'] === 'companion watching pods') && Date.now() < takeover) await sleep(200)
  t.ok((await other.logs()).some(isLeaderLog), 'the other replica took the Lease')

  // A new failure: recorded once, by the new holder; the first is not recorded again.
  const p2 = await cluster.kubectl(['patch', 'pod', 'worker', '-n', NS, '--subresource=status', '--type=merge', '-p', crashLoop('registry.example.com/shop/worker:1.0.0', { exitCode: 1, reason: 'Error' })])
  t.equal(p2.code, 0, p2.stderr)
  const deadline2 = Date.now() + 60_000
  while ((await diagnoses(cluster, 'worker')).length === 0 && Date.now() < deadline2) await sleep(300)
  await sleep(3000)
  t.equal((await diagnoses(cluster, 'worker')).length, 1, 'one event for the new failure')
  t.equal((await diagnoses(cluster, 'orders')).length, 1, 'the OOM kill is not recorded again by the new holder')
  t.equal(await diagnosed(other), 1, 'recorded by the new holder')
})
