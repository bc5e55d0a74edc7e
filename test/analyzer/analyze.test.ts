import t from 'tap'
import { readFileSync } from 'node:fs'
import { parse } from 'yaml'
import { analyze, isUnhealthy } from '../../src/analyzer/analyze.js'
import type { Diagnosis } from '../../src/analyzer/types.js'
import { crashLoop, event, jobExit, makePod } from './build.js'
import { FIXTURES, NOW, runFixture } from './fixtures.js'

function diagnose(pod: unknown, events: unknown[] = [], extra: Partial<Parameters<typeof analyze>[0]> = {}): Diagnosis[] {
  const a = analyze({ pod, events, now: NOW, ...extra })
  if (!a.ok) throw new Error(a.error)
  return a.diagnoses
}

const first = (ds: Diagnosis[]): Diagnosis => {
  const d = ds[0]
  if (d === undefined) throw new Error('no diagnosis')
  return d
}

t.test('near misses', async (t) => {
  t.same(diagnose(makePod({ phase: 'Pending', status: { state: { waiting: { reason: 'ContainerCreating' } } } })), [], 'a pod being created is not a failure')
  t.same(diagnose(makePod({ phase: 'Pending', podStatus: { containerStatuses: [], conditions: [{ type: 'PodScheduled', status: 'False', reason: 'SchedulingGated', message: 'Scheduling is blocked due to non-empty scheduling gates' }] } })), [], 'scheduling gates hold a pod on purpose')
  const pendingNoMessage = first(diagnose(makePod({ phase: 'Pending', podStatus: { containerStatuses: [], conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable' }] } })))
  t.equal(pendingNoMessage.cause, 'unschedulable')
  t.match(pendingNoMessage.summary, /reason is not in the input/)
  t.same(diagnose(makePod({ status: { ready: true } })), [], 'running and ready')
  t.same(diagnose(makePod({ status: { ready: false, state: { running: { startedAt: '2024-05-13T10:39:30Z' } } }, container: { readinessProbe: { httpGet: { path: '/r', port: 80 } } } })), [], 'not ready 30s after start, no failures yet')
  const stillInGrace = makePod({ meta: { deletionTimestamp: '2024-05-13T10:39:50Z', deletionGracePeriodSeconds: 30 } })
  t.same(diagnose(stillInGrace), [], 'a deletion within its grace period is not stuck')
  const completedInit = makePod({ spec: { initContainers: [{ name: 'init', image: 'busybox' }] }, podStatus: { initContainerStatuses: [{ name: 'init', ready: true, restartCount: 0, state: { terminated: { exitCode: 0, reason: 'Completed' } }, lastState: {} }] }, status: { ready: true } })
  t.same(diagnose(completedInit), [], 'an init container that finished did its job')
  t.notOk(isUnhealthy(diagnose(makePod({ restartPolicy: 'Never', phase: 'Succeeded', owner: { kind: 'Job', name: 'j' }, status: { state: { terminated: { exitCode: 0, reason: 'Completed' } } } }))))
})

t.test('OOMKilled names the limit and the heap setting, and the rule that fits', async (t) => {
  const [oom] = runFixture('pods/oom-killed-jvm.yaml')
  const d = first(oom?.diagnoses ?? [])
  t.ok(d.evidence.includes('spec.containers[0].resources.limits.memory: 768Mi'))
  t.ok(d.evidence.includes('spec.containers[0].args[0]: -Xmx1g (heap 1Gi vs limit 768Mi)'))
  t.ok(d.next.includes('kubectl logs orders-api-7d4b9c8f6d-x2x7k -n shop -c api --previous'))

  const oomWith = (container: Record<string, unknown>) => first(diagnose(crashLoop(137, { reason: 'OOMKilled' }, { container })))
  const headroom = oomWith({ resources: { limits: { memory: '1Gi' } }, env: [{ name: 'JAVA_TOOL_OPTIONS', value: '-XX:MaxRAMPercentage=90.0 -Dfile.encoding=UTF-8' }] })
  t.equal(headroom.preventedBy, 'jvm-heap-no-headroom')
  t.ok(headroom.evidence.some((e) => e === 'spec.containers[0].env[0] (JAVA_TOOL_OPTIONS): -XX:MaxRAMPercentage=90.0 (heap 921.6Mi vs limit 1Gi)'))
  t.equal(oomWith({ resources: { limits: { memory: '512Mi' } }, env: [{ name: 'NODE_OPTIONS', value: '--max-old-space-size=1024' }] }).preventedBy, 'runtime-heap-exceeds-memory-limit')
  t.equal(oomWith({ resources: { limits: { memory: '256Mi' } }, env: [{ name: 'GOMEMLIMIT', value: '300MiB' }] }).preventedBy, 'runtime-heap-exceeds-memory-limit')
  t.equal(oomWith({ resources: { limits: { memory: '512Mi' } }, env: [{ name: 'DOTNET_GCHeapHardLimit', value: '0x40000000' }] }).preventedBy, 'runtime-heap-exceeds-memory-limit')
  t.equal(oomWith({ resources: { limits: { memory: '512m' } } }).preventedBy, 'memory-quantity-suspicious')
  const nolimit = oomWith({})
  t.equal(nolimit.preventedBy, 'memory-limit-missing')
  t.match(nolimit.summary, /no memory limit of its own: the node ran short/)
  const plenty = oomWith({ resources: { limits: { memory: '4Gi' } }, command: ['java', '-Xmx2g', '-jar', 'app.jar'] })
  t.equal(plenty.preventedBy, undefined, 'a heap well under the limit is not blamed')
})

t.test('env values never leak into the output; only the matched flag does', async (t) => {
  const pod = crashLoop(137, { reason: 'OOMKilled' }, { container: { resources: { limits: { memory: '512Mi' } }, env: [{ name: 'JAVA_OPTS', value: '-Xmx1g -Ddb.password=hunter2' }, { name: 'API_TOKEN', value: 's3cr3t-token' }] } })
  const out = JSON.stringify(diagnose(pod))
  t.notMatch(out, /hunter2|s3cr3t/)
  t.match(out, /-Xmx1g/)
})

t.test('liveness kills: probe settings and the rule', async (t) => {
  const liveness = [event('Unhealthy', 'Liveness probe failed: Get "http://10.1.2.3:8080/healthz": context deadline exceeded'), event('Killing', 'Container main failed liveness probe, will be restarted', { type: 'Normal' })]
  const d = first(diagnose(crashLoop(137, {}, { container: { livenessProbe: { httpGet: { path: '/healthz', port: 8080 }, periodSeconds: 10, failureThreshold: 1, timeoutSeconds: 1 } } }), liveness))
  t.equal(d.cause, 'liveness-probe-killed')
  t.equal(d.preventedBy, 'probe-liveness-aggressive')
  t.ok(d.evidence.includes('spec.containers[0].livenessProbe: http-get :8080/healthz initialDelaySeconds=0 timeoutSeconds=1 periodSeconds=10 failureThreshold=1'))
  t.ok(d.next.some((n) => n.startsWith('kubectl port-forward pod/app-1 -n default 8080:8080')))
  const named = first(diagnose(crashLoop(137, {}, { container: { ports: [{ name: 'web', containerPort: 80 }], livenessProbe: { httpGet: { path: '/', port: 'http' } } } }), liveness))
  t.equal(named.preventedBy, 'probe-port-undeclared', 'a probe on a port name the container does not define')
  const described = first(diagnose(crashLoop(137, {}, { container: { livenessProbe: { httpGet: { path: '/', port: 'http' } } } }), liveness, { partialSpec: true }))
  t.not(described.preventedBy, 'probe-port-undeclared', 'describe text has no port names: not judged')
  const startup = first(diagnose(crashLoop(137, {}, { container: { startupProbe: { exec: { command: ['cat', '/ready'] } } } }), [event('Unhealthy', 'Startup probe failed: cat: /ready: No such file'), event('Killing', 'Container main failed startup probe, will be restarted', { type: 'Normal' })]))
  t.equal(startup.cause, 'liveness-probe-killed')
  t.match(startup.summary, /startup probe failed/)
})

t.test('grace period: preStop, shell wrappers', async (t) => {
  const deleting = { meta: { deletionTimestamp: '2024-05-13T10:39:50Z', deletionGracePeriodSeconds: 30 } }
  const sleepAction = first(diagnose(crashLoop(137, {}, { ...deleting, container: { lifecycle: { preStop: { sleep: { seconds: 30 } } } } })))
  t.equal(sleepAction.cause, 'grace-period-exceeded')
  t.equal(sleepAction.preventedBy, 'prestop-exceeds-grace-period')
  const short = first(diagnose(crashLoop(137, {}, { ...deleting, container: { lifecycle: { preStop: { exec: { command: ['sh', '-c', 'sleep 5'] } } } } })))
  t.equal(short.preventedBy, undefined, 'a short preStop is not to blame')
  const wrapped = first(diagnose(crashLoop(137, {}, { ...deleting, container: { command: ['sh', '-c', 'java -jar /app.jar'] } })))
  t.match(wrapped.summary, /runs under a shell/)
  t.ok(wrapped.next.some((n) => n.includes('exec')))
  const timeout = first(diagnose(crashLoop(137), [event('FailedPreStopHook', 'Exec lifecycle hook ([/bin/sh -c sleep 60]) for Container "main" in Pod "app-1_default(uid-app-1)" failed - error: command \'/bin/sh -c sleep 60\' exited with 137: , message: ""')]))
  t.equal(timeout.cause, 'grace-period-exceeded')
  const broken = first(diagnose(crashLoop(143), [event('FailedPreStopHook', 'Exec lifecycle hook ([/drain.sh]) for Container "main" in Pod "app-1_default(uid-app-1)" failed - error: command \'/drain.sh\' exited with 126: , message: "permission denied"')]))
  t.equal(broken.cause, 'hook-failed')
})

t.test('waiting reasons', async (t) => {
  const waiting = (reason: string, message?: string, container: Record<string, unknown> = {}) =>
    makePod({ phase: 'Pending', container, status: { state: { waiting: message ? { reason, message } : { reason } } } })
  const noMsg = first(diagnose(waiting('ImagePullBackOff')))
  t.equal(noMsg.cause, 'image-pull-failed')
  t.match(noMsg.summary, /not in the input/)
  t.equal(first(diagnose(waiting('RegistryUnavailable'))).cause, 'image-pull-failed')
  const secrets = makePod({ phase: 'Pending', spec: { imagePullSecrets: [{ name: 'regcred' }] }, status: { state: { waiting: { reason: 'ErrImagePull', message: 'failed to authorize: failed to fetch anonymous token: unexpected status: 401 Unauthorized' } } } })
  const withSecret = first(diagnose(secrets))
  t.equal(withSecret.cause, 'image-pull-unauthorized')
  t.equal(withSecret.preventedBy, 'image-pull-secret-missing')
  t.ok(withSecret.next.includes('kubectl get secret regcred -n default'))
  const nonRoot = first(diagnose(waiting('CreateContainerConfigError', 'container has runAsNonRoot and image will run as root (pod: "app-1_default(uid)", container: main)')))
  t.equal(nonRoot.cause, 'container-create-failed')
  const cm = first(diagnose(waiting('CreateContainerConfigError', 'configmap "settings" not found', { envFrom: [{ configMapRef: { name: 'settings' } }] })))
  t.equal(cm.cause, 'config-missing')
  t.equal(cm.preventedBy, 'configmap-missing')
  t.ok(cm.evidence.includes('spec.containers[0].envFrom references ConfigMap settings'))
  t.ok(cm.next.includes('kubectl get configmap settings -n default'))
  const key = first(diagnose(waiting('CreateContainerConfigError', "couldn't find key token in Secret default/api")))
  t.ok(key.next.some((n) => n.startsWith('kubectl describe secret api -n default')), 'describe shows the keys without their values')
  t.notOk(key.next.some((n) => /get secret .* -o/.test(n)), 'never suggests printing secret data')
  const mount = first(diagnose(waiting('CreateContainerError', 'Error: failed to generate container spec: mount destination /proc not absolute', { volumeMounts: [{ name: 'x', mountPath: '/proc' }] })))
  t.equal(mount.preventedBy, 'mount-path-forbidden')
  const postStart = first(diagnose(waiting('PostStartHookError', 'Exec lifecycle hook ([/hook.sh]) for Container "main" in Pod "app-1" failed - error: command \'/hook.sh\' exited with 1')))
  t.equal(postStart.cause, 'hook-failed')
  const whitespace = first(diagnose(waiting('RunContainerError', 'exec: "node server.js": executable file not found in $PATH: unknown', { args: ['node server.js'] })))
  t.equal(whitespace.cause, 'command-not-found')
  t.equal(whitespace.preventedBy, 'command-whitespace-in-executable', 'args[0] when there is no command')
})

t.test('pod-level: volumes, sandbox, eviction, quota, Jobs', async (t) => {
  const creating = (events: unknown[]) => diagnose(makePod({ phase: 'Pending', spec: { nodeName: 'worker-1', volumes: [{ name: 'data', persistentVolumeClaim: { claimName: 'data-0' } }] }, status: { state: { waiting: { reason: 'ContainerCreating' } } } }), events)
  const attach = first(creating([event('FailedAttachVolume', 'Multi-Attach error for volume "pvc-1234" Volume is already exclusively attached to one node and can\'t be attached to another', { involvedObject: { kind: 'Pod', name: 'app-1', namespace: 'default' } })]))
  t.equal(attach.cause, 'volume-mount-failed')
  t.ok(attach.next.includes('kubectl describe pvc data-0 -n default'))
  const sandbox = first(creating([event('FailedCreatePodSandBox', 'Failed to create pod sandbox: rpc error: code = Unknown desc = failed to setup network for sandbox: plugin type="calico" failed (add): error getting ClusterInformation: connection is unauthorized', { involvedObject: { kind: 'Pod', name: 'app-1', namespace: 'default' } })]))
  t.equal(sandbox.cause, 'container-create-failed')
  t.equal(sandbox.container, undefined)

  const eph = first(diagnose(makePod({ phase: 'Failed', podStatus: { reason: 'Evicted', message: 'The node was low on resource: ephemeral-storage. Threshold quantity: 10Gi, available: 2Gi. Container main was using 18Gi, which exceeds its request of 0. ' }, status: { state: { terminated: { exitCode: 137, reason: 'ContainerStatusUnknown' } } } })))
  t.equal(eph.cause, 'evicted')
  t.equal(eph.preventedBy, 'ephemeral-storage-limit-missing')
  t.match(eph.summary, /ran short of ephemeral-storage; container main was using 18Gi/)

  const limits = diagnose(makePod({ owner: { kind: 'ReplicaSet', name: 'web-1' }, status: { ready: true } }), [
    { apiVersion: 'v1', kind: 'Event', involvedObject: { kind: 'ReplicaSet', name: 'web-1', namespace: 'default', uid: 'uid-web-1' }, reason: 'FailedCreate', type: 'Warning', message: 'Error creating: pods "web-1-abcde" is forbidden: failed quota: compute: must specify limits.cpu for: main; limits.memory for: main', count: 5 },
  ])
  t.equal(first(limits).cause, 'quota-exceeded')
  t.equal(first(limits).preventedBy, 'quota-requires-limits')

  const job = { apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'job-1', namespace: 'default' }, spec: { activeDeadlineSeconds: 600 }, status: { conditions: [{ type: 'Failed', status: 'True', reason: 'DeadlineExceeded', message: 'Job was active longer than specified deadline' }] } }
  const pod = makePod({ restartPolicy: 'Never', phase: 'Failed', owner: { kind: 'Job', name: 'job-1' }, status: { state: { terminated: { exitCode: 143, reason: 'Error' } } } })
  const dl = diagnose(pod, [], { owner: { kind: 'Job', name: 'job-1', object: job } })
  t.same(dl.map((d) => d.cause), ['deadline-exceeded'], 'the SIGTERM of the deadline is not a second diagnosis')
  t.match(first(dl).summary, /Job job-1 was stopped: it ran longer than its activeDeadlineSeconds \(600s\)/)
})

t.test('sidecars and init containers', async (t) => {
  const sidecar = makePod({
    spec: { initContainers: [{ name: 'proxy', image: 'envoy', restartPolicy: 'Always' }] },
    status: { ready: true },
    podStatus: { initContainerStatuses: [{ name: 'proxy', ready: false, restartCount: 3, state: { waiting: { reason: 'CrashLoopBackOff' } }, lastState: { terminated: { exitCode: 0, reason: 'Completed' } } }] },
  })
  t.same(diagnose(sidecar).map((d) => [d.cause, d.container]), [['exit-no-foreground-process', 'proxy']], 'a native sidecar must keep running')
  const initErr = makePod({
    phase: 'Pending',
    spec: { initContainers: [{ name: 'setup', image: 'alpine', command: ['sh', '-c', 'exit 3'] }] },
    status: { state: { waiting: { reason: 'PodInitializing' } } },
    podStatus: { initContainerStatuses: [{ name: 'setup', ready: false, restartCount: 0, state: { terminated: { exitCode: 3, reason: 'Error' } }, lastState: {} }] },
  })
  const ds = diagnose(initErr)
  t.same(ds.map((d) => [d.cause, d.container]), [['init-container-failed', 'setup'], ['app-error', 'setup']])
  t.match(first(ds).summary, /stuck in Init:Error/)
})

t.test('invalid input is an error, never an exception', async (t) => {
  const error = (v: unknown): string => {
    const a = analyze({ pod: v, now: NOW })
    if (a.ok) throw new Error('expected an error')
    return a.error
  }
  t.match(error(null), /not an object/)
  t.match(error('Pod'), /not an object/)
  t.match(error({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web' } }), /this is a Deployment \(web\), not a Pod/)
  t.match(error({ kind: 'Pod', metadata: { name: 'x' }, spec: { containers: [{ name: 'a' }] }, status: {} }), /has no status.*manifest/)
  t.match(error({ kind: 'Pod', metadata: { name: 'x' }, spec: { containers: [{ name: 'a' }] } }), /has no status/)
  t.match(error({ kind: 'Pod', metadata: { name: 'x' }, spec: {}, status: { phase: 'Running' } }), /no spec.containers/)
  t.match(error({ kind: 'Pod', metadata: {}, spec: {}, status: {} }), /no metadata.name/)
})

t.test('garbled pods never make the analyzer throw', async (t) => {
  const base = parse(readFileSync(`${FIXTURES}pods/liveness-killed.yaml`, 'utf8').split('\n---\n')[0] ?? '') as unknown
  const events = (parse(readFileSync(`${FIXTURES}pods/liveness-killed.yaml`, 'utf8').split('\n---\n')[1] ?? '') as { items: unknown[] }).items
  const junk: unknown[] = [null, 0, -1, 1e308, '', 'x', true, [], {}, [1, 'a'], { a: { b: 1 } }, '2024-13-45T99:99:99Z']
  let seed = 42
  const rand = (n: number): number => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31
    return seed % n
  }
  const paths: string[][] = []
  const walk = (v: unknown, path: string[]): void => {
    paths.push(path)
    if (v !== null && typeof v === 'object') for (const [k, x] of Object.entries(v)) walk(x, [...path, k])
  }
  walk(base, [])
  let ran = 0
  for (let i = 0; i < 400; i++) {
    const copy = structuredClone(base) as Record<string, unknown>
    for (let j = 0; j < 3; j++) {
      const path = paths[rand(paths.length)] ?? []
      if (path.length === 0) continue
      let cur: unknown = copy
      for (const k of path.slice(0, -1)) cur = cur !== null && typeof cur === 'object' ? (cur as Record<string, unknown>)[k] : undefined
      if (cur !== null && typeof cur === 'object') (cur as Record<string, unknown>)[path[path.length - 1] ?? ''] = junk[rand(junk.length)]
    }
    const mutatedEvents = events.map((e, n) => (n === i % events.length ? junk[rand(junk.length)] : e))
    const a = analyze({ pod: copy, events: mutatedEvents, now: NOW })
    if (a.ok) for (const d of a.diagnoses) t.ok(typeof d.summary === 'string' && Array.isArray(d.evidence))
    ran++
  }
  t.equal(ran, 400)
})

t.test('the last state explains a container waiting in RunContainerError or CrashLoopBackOff', async (t) => {
  const [run] = runFixture('describe/current-runcontainererror-last-state.txt')
  const d = first(run?.diagnoses ?? [])
  t.equal(d.cause, 'command-not-executable')
  t.equal(d.exitCode, 128, 'the exit code of the last state, not null')
  t.ok(d.evidence.includes('status.containerStatuses[0].state.waiting.reason: RunContainerError'))
  t.ok(d.evidence.some((e) => e.startsWith('status.containerStatuses[0].lastState.terminated.message: ') && e.includes('permission denied')), 'the runtime message of the last state')
  t.match(d.summary, /"\/opt\/engine\/bin\/start-engine" is not executable/)

  const waitingRun = (lastState: Record<string, unknown>) =>
    first(diagnose(makePod({ status: { restartCount: 3, state: { waiting: { reason: 'RunContainerError' } }, lastState: { terminated: lastState } } })))
  const notFound = waitingRun({ exitCode: 128, reason: 'StartError', message: 'failed to create containerd task: failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process: exec: "wge": executable file not found in $PATH: unknown', startedAt: '1970-01-01T00:00:00Z', finishedAt: '2024-05-13T10:38:00Z' })
  t.equal(notFound.cause, 'command-not-found')
  t.equal(notFound.exitCode, 128)
  t.match(notFound.summary, /"wge" was not found/)
  // A crash before the current RunContainerError is a different story: it does not explain it.
  const earlierCrash = waitingRun({ exitCode: 1, reason: 'Error', message: 'panic: config not loaded', startedAt: '2024-05-13T10:30:00Z', finishedAt: '2024-05-13T10:31:00Z' })
  t.equal(earlierCrash.cause, 'container-create-failed')
  t.equal(earlierCrash.exitCode, undefined)
})

t.test('exit codes are read in the context of whether the process ever ran', async (t) => {
  const [lost, nearMiss] = runFixture('pods/container-lost-node-reboot.yaml')
  const d = first(lost?.diagnoses ?? [])
  t.equal(d.cause, 'container-lost')
  t.equal(d.exitCode, 255)
  t.ok(d.evidence.includes('status.containerStatuses[0].lastState.terminated.reason: Unknown'))
  t.ok(d.evidence.some((e) => /^event Rebooted .*: Node worker-5 has been rebooted/.test(e)), 'the node reboot event')
  t.ok(d.evidence.some((e) => /^event NodeNotReady .*: Node is not ready/.test(e)), 'the NodeNotReady event')
  t.ok(d.evidence.some((e) => /^event SandboxChanged/.test(e)), 'the sandbox event')
  t.ok(d.next.includes('kubectl describe node worker-5'))
  t.match(d.summary, /not an application failure/)
  t.equal(first(nearMiss?.diagnoses ?? []).cause, 'exit-out-of-range', 'exit 255 with reason Error is the program\'s own exit, even on a node that was not ready')
  const unknownNoEvents = first(diagnose(makePod({ status: { restartCount: 1, ready: true, lastState: { terminated: { exitCode: 255, reason: 'Unknown', startedAt: '2024-05-12T10:00:00Z', finishedAt: '2024-05-13T09:00:00Z' } } } })))
  t.equal(unknownNoEvents.cause, 'container-lost')
  t.ok(unknownNoEvents.evidence.some((e) => /read from reason Unknown alone/.test(e)), 'says that no node event was seen')

  const exit125 = (extra: Record<string, unknown>) => first(diagnose(jobExit(125, extra)))
  const ran = exit125({ startedAt: '2024-05-13T10:10:00Z', finishedAt: '2024-05-13T10:12:00Z' })
  t.equal(ran.cause, 'app-error', '125 after two minutes of running is the program\'s choice')
  t.equal(ran.exitCode, 125)
  t.match(ran.summary, /after it had started and run for 2m/)
  const never = exit125({ reason: 'ContainerCannotRun', startedAt: '1970-01-01T00:00:00Z', finishedAt: '2024-05-13T10:12:00Z' })
  t.equal(never.cause, 'container-runtime-failed')
  t.equal(exit125({}).cause, 'container-runtime-failed', 'no start time and no Started event: the runtime\'s code')
  const byEvent = first(diagnose(jobExit(125), [event('Started', 'Started container main', { type: 'Normal', count: 1 })]))
  t.equal(byEvent.cause, 'app-error', 'a Started event says it ran when the times are missing')

  const inner = first(diagnose(crashLoop(127, {}, { container: { command: ['/app/run'] } })))
  t.equal(inner.cause, 'command-not-found')
  t.match(inner.summary, /started, then exited with code 127: a command it ran/)
  const spaced = first(diagnose(crashLoop(127, {}, { container: { command: ['/app/run --fast'] } })))
  t.equal(spaced.preventedBy, undefined, 'an entrypoint that ran was found, whatever its name')
  const neverRan = first(diagnose(crashLoop(127, { startedAt: '1970-01-01T00:00:00Z' }, { container: { command: ['/app/run --fast'] } })))
  t.equal(neverRan.preventedBy, 'command-whitespace-in-executable')
  t.match(neverRan.summary, /could not start/)

  const silent128 = first(diagnose(crashLoop(128, { startedAt: '1970-01-01T00:00:00Z' })))
  t.equal(silent128.cause, 'container-create-failed', '128 from a process that never ran is a start failure')
  t.equal(first(diagnose(crashLoop(128))).cause, 'invalid-exit-code', '128 from a process that ran')
  const sig = first(diagnose(crashLoop(130, { startedAt: '1970-01-01T00:00:00Z' })))
  t.equal(sig.cause, 'container-create-failed', 'no signal reached a process that never ran')
  t.equal(first(diagnose(crashLoop(130))).cause, 'signal')
})
