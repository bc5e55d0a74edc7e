// What people paste, read through the same path as `explain -f` and the conformance runner:
// `kubectl get events` tables (narrow, -A -o wide, the old column order), the Events section of
// a describe on its own, and describes cut at various points. Each shape must give the cause the
// text supports, with its evidence, and say what it could not see.
import t from 'tap'
import { readFileSync } from 'node:fs'
import { emptyInputs, explainInputs, readExplainText } from '../../src/analyzer/read-input.js'
import type { ExplainedPod } from '../../src/analyzer/format.js'
import { FIXTURES, NOW } from './fixtures.js'

function read(text: string): { results: ExplainedPod[]; errors: string[] } {
  const inputs = emptyInputs()
  readExplainText(text, 'paste.txt', NOW, inputs)
  return explainInputs(inputs, NOW)
}

function only(text: string): ExplainedPod {
  const r = read(text)
  if (r.errors.length > 0) throw new Error(r.errors.join('\n'))
  if (r.results.length !== 1 || r.results[0] === undefined) throw new Error(`expected one pod, got ${r.results.length}`)
  return r.results[0]
}

/** A table padded as kubectl's tabwriter pads it: each column three spaces past its widest cell. */
function table(rows: string[][]): string {
  const header = rows[0] ?? []
  const widths = header.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)))
  return `${rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd((widths[i] ?? 0) + 3))).join('').trimEnd()).join('\n')}\n`
}

const POD = 'web-5f7c9d8b6-qr8wz'
const IMG = 'registry.example.com/shop/web:1.4.2'
const NOT_FOUND = `Failed to pull image "${IMG}": rpc error: code = NotFound desc = failed to pull and unpack image "${IMG}": failed to resolve reference "${IMG}": ${IMG}: not found`

t.test('kubectl get events, narrow (one namespace): the pod, its namespace from the scheduler, the pull failure', async (t) => {
  const r = only(
    table([
      ['LAST SEEN', 'TYPE', 'REASON', 'OBJECT', 'MESSAGE'],
      ['6m', 'Normal', 'SuccessfulCreate', 'replicaset/web-5f7c9d8b6', `Created pod: ${POD}`],
      ['6m', 'Normal', 'Scheduled', `pod/${POD}`, `Successfully assigned shop/${POD} to worker-2`],
      ['4m', 'Normal', 'Pulling', `pod/${POD}`, `Pulling image "${IMG}"`],
      ['4m', 'Warning', 'Failed', `pod/${POD}`, NOT_FOUND],
      ['4m', 'Warning', 'Failed', `pod/${POD}`, 'Error: ErrImagePull'],
      ['60s', 'Normal', 'BackOff', `pod/${POD}`, `Back-off pulling image "${IMG}"`],
      ['60s', 'Warning', 'Failed', `pod/${POD}`, 'Error: ImagePullBackOff'],
    ]),
  )
  t.same(r.pod, { namespace: 'shop', name: POD }, 'the namespace comes from "Successfully assigned shop/..."')
  t.equal(r.status, 'status not in the input')
  t.same(r.diagnoses.map((d) => d.cause), ['image-not-found'])
  const d = r.diagnoses[0]
  t.ok(d?.evidence.includes(`event Failed (last 4m ago): ${NOT_FOUND}`), 'the registry message is the evidence')
  t.notOk(d?.evidence.some((e) => /^(status|spec)[.[]/.test(e)), 'nothing quoted from the rebuilt pod')
  t.ok(d?.next.includes(`kubectl describe pod ${POD} -n shop`))
  t.same(r.unseen, ['the pod itself: only events were given, so no container states, exit codes, restart counts or spec'])
})

t.test('kubectl get events -A -o wide: namespace, count and first seen columns are read', async (t) => {
  const message = '0/3 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }, 2 Insufficient memory. preemption: 0/3 nodes are available: 1 Preemption is not helpful for scheduling, 2 No preemption victims found for incoming pod.'
  const r = only(
    table([
      ['NAMESPACE', 'LAST SEEN', 'TYPE', 'REASON', 'OBJECT', 'SUBOBJECT', 'SOURCE', 'MESSAGE', 'FIRST SEEN', 'COUNT', 'NAME'],
      ['batch', '2m', 'Warning', 'FailedScheduling', 'pod/report-28581720-x7k2p', '', 'default-scheduler', message, '12m', '7', 'report-28581720-x7k2p.17ce1a2b3c4d5e6f'],
    ]),
  )
  t.same(r.pod, { namespace: 'batch', name: 'report-28581720-x7k2p' })
  const d = r.diagnoses[0]
  t.equal(d?.cause, 'unschedulable')
  t.match(d?.summary ?? '', /0 of 3 nodes fit.*1× a taint the pod does not tolerate.*2× not enough free memory/)
  t.equal(d?.evidence[0], `event FailedScheduling (x7, last 2m ago): ${message}`, 'COUNT is read')
  t.ok(d?.evidence.includes('2 nodes: Insufficient memory'))
  t.equal(d?.preventedBy, 'no-node-fits-requests')
})

t.test('the old get events columns (LAST SEEN, FIRST SEEN, COUNT, NAME, KIND, ...): the node from the kubelet source', async (t) => {
  const r = only(
    table([
      ['LAST SEEN', 'FIRST SEEN', 'COUNT', 'NAME', 'KIND', 'SUBOBJECT', 'TYPE', 'REASON', 'SOURCE', 'MESSAGE'],
      ['1m', '9m', '5', 'api-6c9f8d7b5-m4n2p.15a3f2e1d0c9b8a7', 'Pod', '', 'Warning', 'FailedMount', 'kubelet, worker-1', 'MountVolume.SetUp failed for volume "config" : configmaps "api-config" not found'],
      ['30s', '9m', '4', 'api-6c9f8d7b5-m4n2p.15a3f2e1d0c9b8a8', 'Pod', '', 'Warning', 'FailedMount', 'kubelet, worker-1', 'Unable to mount volumes for pod "api-6c9f8d7b5-m4n2p_shop(5b1c)": timeout expired waiting for volumes to attach or mount for pod "shop"/"api-6c9f8d7b5-m4n2p". list of unmounted volumes=[config]. list of unattached volumes=[config default-token-x1]'],
    ]),
  )
  t.equal(r.pod.name, 'api-6c9f8d7b5-m4n2p', 'the event name suffix is dropped')
  const d = r.diagnoses[0]
  t.equal(d?.cause, 'volume-mount-failed', 'the kubelet of worker-1 reported it, so the pod was on a node')
  t.ok(d?.evidence.includes('event FailedMount (x5, last 1m ago): MountVolume.SetUp failed for volume "config" : configmaps "api-config" not found'))
  t.ok(r.unseen?.includes('the pod\'s namespace: replace NAMESPACE in the commands'), 'no namespace column: said, not guessed')
})

const EVENTS_SECTION = `Events:
  Type     Reason     Age                  From               Message
  ----     ------     ----                 ----               -------
  Normal   Scheduled  3m                   default-scheduler  Successfully assigned shop/cart-7b9c5d4f8-j2k4l to worker-3
  Normal   Pulling    95s (x4 over 3m)     kubelet            Pulling image "registry.example.com/private/cart:2.0"
  Warning  Failed     94s (x4 over 3m)     kubelet            Failed to pull image "registry.example.com/private/cart:2.0": rpc error: code = Unknown desc = failed to pull and unpack image "registry.example.com/private/cart:2.0": failed to resolve reference "registry.example.com/private/cart:2.0": pull access denied, repository does not exist or may require authorization: server message: insufficient_scope: authorization failed
  Warning  Failed     94s (x4 over 3m)     kubelet            Error: ErrImagePull
  Warning  Failed     70s (x6 over 2m58s)  kubelet            Error: ImagePullBackOff
  Normal   BackOff    58s (x7 over 2m58s)  kubelet            Back-off pulling image "registry.example.com/private/cart:2.0"
`

t.test('the Events section of a describe alone', async (t) => {
  const r = only(EVENTS_SECTION)
  t.same(r.pod, { namespace: 'shop', name: 'cart-7b9c5d4f8-j2k4l' })
  const d = r.diagnoses[0]
  t.equal(d?.cause, 'image-pull-unauthorized')
  t.match(d?.evidence[0] ?? '', /^event Failed \(x4, last 1m34s ago\): Failed to pull image .*pull access denied/)
  t.equal(d?.exitCode, undefined, 'no exit code is invented')

  const anonymous = only(EVENTS_SECTION.split('\n').filter((l) => !l.includes('Scheduled')).join('\n'))
  t.equal(anonymous.diagnoses[0]?.cause, 'image-pull-unauthorized', 'the same cause without the line naming the pod')
  t.same(anonymous.pod, { namespace: 'NAMESPACE', name: 'POD' })
  t.ok(anonymous.unseen?.includes("the pod's name and namespace: replace POD and NAMESPACE in the commands"))

  const cut = only(EVENTS_SECTION.replace(/  Warning  Failed     94s \(x4 over 3m\)     kubelet            Error: ErrImagePull\n/, '  [...]\n'))
  t.equal(cut.diagnoses[0]?.cause, 'image-pull-unauthorized')
  t.ok(cut.unseen?.includes('parts of the events, cut out ([...])'))
})

const DESCRIBE = readFileSync(`${FIXTURES}describe/current-runcontainererror-last-state.txt`, 'utf8')
const PERMISSION = 'status.containerStatuses[0].lastState.terminated.message: failed to create containerd task: failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process: exec: "/opt/engine/bin/start-engine": permission denied: unknown'

t.test('a describe cut at various points gives the cause its text supports, and says what is missing', async (t) => {
  const cuts: [string, string, string | undefined][] = [
    ['whole', DESCRIBE, undefined],
    ['cut before Conditions (no events)', DESCRIBE.slice(0, DESCRIBE.indexOf('Conditions:')), 'the Events section'],
    ['cut inside the last state, after its message', DESCRIBE.slice(0, DESCRIBE.indexOf('      Started:')), 'the Events section'],
    ['the middle replaced by [...]', DESCRIBE.replace(/Conditions:[\s\S]*?Events:/, '[...]\nEvents:'), 'parts of the text, cut out ([...])'],
    ['cut in the middle of the last event', DESCRIBE.slice(0, DESCRIBE.indexOf('Back-off restarting') + 10), undefined],
  ]
  for (const [label, text, unseen] of cuts) {
    const r = only(text)
    t.same(r.pod, { namespace: 'pricing', name: 'pricing-engine-5d9c7b8f4-tq6zx' }, label)
    const d = r.diagnoses[0]
    t.equal(d?.cause, 'command-not-executable', `${label}: the last state's message is the cause`)
    t.equal(d?.exitCode, 128, `${label}: the last state's exit code`)
    t.equal(d?.container, 'engine')
    t.ok(d?.evidence.includes(PERMISSION), `${label}: quoted as evidence`)
    if (unseen === undefined) t.equal(r.unseen, undefined, `${label}: nothing reported missing`)
    else t.ok(r.unseen?.includes(unseen), `${label}: says "${unseen}"`)
  }
  const headOnly = read(DESCRIBE.slice(0, DESCRIBE.indexOf('Containers:')))
  t.same(headOnly.results, [])
  t.same(headOnly.errors, ['paste.txt: this `kubectl describe` output (pricing-engine-5d9c7b8f4-tq6zx) is not a Pod\'s: it has no Containers section'], 'cut above Containers, with no events: a clear error, no YAML message')
})

t.test('two describes in one paste: one diagnosis block per pod', async (t) => {
  const other = readFileSync(`${FIXTURES}describe/current-imagepull-denied.txt`, 'utf8')
  const r = read(`${DESCRIBE}\n\n${other}`)
  t.same(r.errors, [])
  t.same(r.results.map((x) => [x.pod.name, x.diagnoses.map((d) => d.cause)]), [
    ['pricing-engine-5d9c7b8f4-tq6zx', ['command-not-executable']],
    [r.results[1]?.pod.name, ['image-pull-unauthorized']],
  ])
  t.not(r.results[1]?.pod.name, 'pricing-engine-5d9c7b8f4-tq6zx')
})
