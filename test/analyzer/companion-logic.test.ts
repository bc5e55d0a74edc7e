import t from 'tap'
import { analyze } from '../../src/analyzer/analyze.js'
import { decideReports, emptyTrack, eventMessage, failureTrigger, fieldPathOf, seedFromEvents, type FailureTrack } from '../../src/analyzer/companion-logic.js'
import { readPod, type PodView } from '../../src/analyzer/pod.js'
import type { Diagnosis } from '../../src/analyzer/types.js'
import { crashLoop, jobExit, makePod } from './build.js'

const NOW = new Date('2024-05-13T10:40:00Z')

function view(pod: unknown): PodView {
  const r = readPod(pod)
  if (!r.ok) throw new Error(r.error)
  return r.pod
}

function diagnoses(pod: unknown): Diagnosis[] {
  const a = analyze({ pod, now: NOW })
  if (!a.ok) throw new Error(a.error)
  return a.diagnoses
}

/** One observation of the pod by the companion: the causes it would record. */
function observe(track: FailureTrack, pod: unknown): { recorded: string[]; keys: string[]; track: FailureTrack } {
  const { report, next } = decideReports(track, diagnoses(pod), view(pod))
  return { recorded: report.map((r) => `${r.diagnosis.container ?? ''}:${r.diagnosis.cause}`), keys: report.map((r) => r.key), track: next }
}

const oomAt = (restarts: number, waiting = true) =>
  crashLoop(137, { reason: 'OOMKilled' }, {
    status: {
      restartCount: restarts,
      ...(waiting ? {} : { state: { running: { startedAt: '2024-05-13T10:39:00Z' } } }),
    },
  })

t.test('the trigger: only failing pods are analysed, and only when their failure changes', async (t) => {
  t.equal(failureTrigger(view(makePod({ status: { ready: true } }))), undefined, 'healthy')
  t.equal(failureTrigger(view(makePod({ phase: 'Pending', status: { state: { waiting: { reason: 'ContainerCreating' } } } }))), undefined, 'being created')
  t.equal(failureTrigger(view(jobExit(0))), undefined, 'a Job that completed')
  t.equal(failureTrigger(view(oomAt(3))), 'main:last:137:OOMKilled:3')
  t.equal(failureTrigger(view(oomAt(3, false))), 'main:last:137:OOMKilled:3', 'running again after the same failure: same trigger')
  t.not(failureTrigger(view(oomAt(4))), failureTrigger(view(oomAt(3))), 'a new restart is a new trigger')
  t.equal(failureTrigger(view(makePod({ phase: 'Pending', status: { state: { waiting: { reason: 'ImagePullBackOff' } } } }))), 'main:waiting:ImagePullBackOff')
  t.equal(failureTrigger(view(jobExit(1))), 'main:terminated:1:Error')
  t.equal(failureTrigger(view(makePod({ phase: 'Failed', podStatus: { reason: 'Evicted', containerStatuses: [] } }))), 'pod:evicted')
  t.equal(failureTrigger(view(makePod({ phase: 'Pending', podStatus: { containerStatuses: [], conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable' }] } }))), 'pod:unschedulable')
  t.equal(failureTrigger(view(crashLoop(0, {}, { owner: { kind: 'ReplicaSet', name: 'rs' } }))), 'main:last:0:Completed:4', 'exit 0 in a long-running pod is a failure')
})

t.test('the same cause in a restart loop is recorded once', async (t) => {
  let track = emptyTrack()
  const seen: string[] = []
  for (const pod of [oomAt(1), oomAt(1, false), oomAt(2), oomAt(2, false), oomAt(3), oomAt(7)]) {
    const o = observe(track, pod)
    seen.push(...o.recorded)
    track = o.track
  }
  t.same(seen, ['main:oom-killed'])
})

t.test('a different cause is recorded, and the first again when it comes back', async (t) => {
  let track = emptyTrack()
  const a = observe(track, oomAt(1))
  track = a.track
  t.same(a.recorded, ['main:oom-killed'])
  t.same(a.keys, ['uid-app-1/main/oom-killed/1'], 'the key: pod uid, container, cause, restart generation')
  const b = observe(track, crashLoop(1, {}, { status: { restartCount: 2 } }))
  track = b.track
  t.same(b.recorded, ['main:app-error'])
  t.same(b.keys, ['uid-app-1/main/app-error/2'])
  const c = observe(track, crashLoop(1, {}, { status: { restartCount: 3 } }))
  track = c.track
  t.same(c.recorded, [], 'app-error again: the same streak')
  const d = observe(track, oomAt(5))
  t.same(d.recorded, ['main:oom-killed'])
  t.same(d.keys, ['uid-app-1/main/oom-killed/5'], 'a new generation of the OOM signature')
})

t.test('a pull error that lost its message is not a new failure', async (t) => {
  const notFound = makePod({ phase: 'Pending', status: { state: { waiting: { reason: 'ErrImagePull', message: 'rpc error: code = NotFound desc = failed to pull and unpack image "docker.io/library/nginx:0": not found' } } } })
  const backOff = makePod({ phase: 'Pending', status: { state: { waiting: { reason: 'ImagePullBackOff', message: 'Back-off pulling image "nginx:0"' } } } })
  const a = observe(emptyTrack(), notFound)
  t.same(a.recorded, ['main:image-not-found'])
  t.same(observe(a.track, backOff).recorded, [], 'image-pull-failed (no message) after image-not-found')
  const unauthorized = makePod({ phase: 'Pending', status: { state: { waiting: { reason: 'ErrImagePull', message: 'failed to authorize: 401 Unauthorized' } } } })
  t.same(observe(a.track, unauthorized).recorded, ['main:image-pull-unauthorized'], 'a different specific cause is new')
})

t.test('completed containers are never recorded; pod-level causes are keyed by the pod', async (t) => {
  t.same(observe(emptyTrack(), jobExit(0)).recorded, [])
  const evicted = makePod({ phase: 'Failed', podStatus: { reason: 'Evicted', message: 'The node was low on resource: memory. ', containerStatuses: [] } })
  const first = observe(emptyTrack(), evicted)
  t.same(first.recorded, [':evicted'])
  t.same(observe(first.track, evicted).recorded, [])
})

t.test('a restarted companion does not repeat what its events already say', async (t) => {
  const previous = [{
    apiVersion: 'v1', kind: 'Event', reason: 'PreflightDiagnosis', type: 'Warning', message: '[oom-killed] Container "main" was OOM-killed',
    involvedObject: { kind: 'Pod', name: 'app-1', namespace: 'default', uid: 'uid-app-1', fieldPath: 'spec.containers{main}' },
    lastTimestamp: '2024-05-13T10:30:00Z',
  }, {
    apiVersion: 'v1', kind: 'Event', reason: 'BackOff', type: 'Warning', message: 'Back-off restarting failed container',
    involvedObject: { kind: 'Pod', name: 'app-1', namespace: 'default', uid: 'uid-app-1', fieldPath: 'spec.containers{main}' },
  }]
  const seed = seedFromEvents(previous)
  t.same([...seed], [['main', 'oom-killed']])
  const pod = oomAt(4)
  t.same(decideReports(emptyTrack(), diagnoses(pod), view(pod), seed).report, [])
  const other = crashLoop(1, {}, { status: { restartCount: 5 } })
  t.same(decideReports(emptyTrack(), diagnoses(other), view(other), seed).report.map((r) => r.diagnosis.cause), ['app-error'])
})

t.test('event text and field path', async (t) => {
  const d = diagnoses(oomAt(2))[0]
  if (d === undefined) throw new Error('no diagnosis')
  t.match(eventMessage(d), /^\[oom-killed\] Container "main" was OOM-killed/)
  t.ok(eventMessage({ ...d, summary: 'x'.repeat(5000) }).length <= 1024, 'within the 1 KiB message limit')
  const pod = view(makePod({ spec: { initContainers: [{ name: 'init', image: 'x' }] } }))
  t.equal(fieldPathOf(pod, 'main'), 'spec.containers{main}')
  t.equal(fieldPathOf(pod, 'init'), 'spec.initContainers{init}')
  t.equal(fieldPathOf(pod, undefined), undefined)
})
