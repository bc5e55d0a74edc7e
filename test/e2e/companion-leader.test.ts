// End-to-end: two webhook processes with --companion against a real kube-apiserver: only the
// holder of the companion Lease runs the companion (so one records each event); when it shuts
// down it releases the Lease and the other starts its companion.
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
import { startCluster } from './harness/cluster.js'

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
