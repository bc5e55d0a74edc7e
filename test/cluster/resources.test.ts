import t from 'tap'
import { containerResources, podResources, formatAmount, toUnits, fieldKey } from '../../src/cluster/resources.js'
import { Quantity } from '../../src/engine/quantity.js'
import type { LimitRangeInfo } from '../../src/cluster/view.js'

const q = (s: string): Quantity => {
  const v = Quantity.parse(s)
  if (v === undefined) throw new Error(s)
  return v
}
const lr = (name: string, def: Record<string, string>, defReq: Record<string, string>): LimitRangeInfo => ({
  name,
  namespace: 'ns',
  items: [
    {
      type: 'Container',
      min: new Map(),
      max: new Map(),
      default: new Map(Object.entries(def).map(([k, v]) => [k, q(v)])),
      defaultRequest: new Map(Object.entries(defReq).map(([k, v]) => [k, q(v)])),
      maxLimitRequestRatio: new Map(),
    },
  ],
})
const text = (m: Map<string, Quantity>): Record<string, string> => Object.fromEntries([...m].map(([k, v]) => [k, v.toNumber().toString()]))

t.test('a limit without a request is the request; LimitRange defaults fill what is left, first range wins', async (t) => {
  const r = containerResources({ resources: { limits: { cpu: '2' } } }, [lr('first', { memory: '1Gi' }, { memory: '512Mi', cpu: '9' }), lr('second', { memory: '8Gi', 'ephemeral-storage': '1Gi' }, {})])
  t.same(text(r.requests), { cpu: '2', memory: String(512 * 2 ** 20) })
  t.same(text(r.limits), { cpu: '2', memory: String(2 ** 30), 'ephemeral-storage': String(2 ** 30) })
  t.same(Object.fromEntries(r.defaultedLimits), { memory: 'first', 'ephemeral-storage': 'second' })
  t.same(Object.fromEntries(r.defaultedRequests), { memory: 'first' })
})

t.test('pod aggregate: max of init steps against app sum plus sidecars, plus overhead', async (t) => {
  const c = (kind: 'container' | 'initContainer' | 'ephemeralContainer', cpu: string, sidecar = false) => ({
    kind,
    spec: { resources: { requests: { cpu } }, ...(sidecar ? { restartPolicy: 'Always' } : {}) },
  })
  // sidecar 1, then init 3 runs next to it (4), app 1 + sidecar 1 = 2: max 4.
  let r = podResources([c('initContainer', '1', true), c('initContainer', '3'), c('container', '1')], { cpu: '250m' })
  t.equal(r.requests.get('cpu')?.toNumber(), 4.25)
  // init 3 before the sidecar: 3 alone; app 1 + sidecar 1 = 2: max 3.
  r = podResources([c('initContainer', '3'), c('initContainer', '1', true), c('container', '1')], undefined)
  t.equal(r.requests.get('cpu')?.toNumber(), 3)
  // ephemeral containers never count
  r = podResources([c('container', '1'), c('ephemeralContainer', '50')], undefined)
  t.equal(r.requests.get('cpu')?.toNumber(), 1)
  // overhead is added to limits only where a limit exists
  r = podResources([{ kind: 'container', spec: { resources: { limits: { memory: '1Gi' } } } }], { cpu: '1', memory: '1Gi' })
  t.equal(r.limits.get('cpu'), undefined)
  t.equal(r.limits.get('memory')?.toNumber(), 2 * 2 ** 30)
})

t.test('units and formats', async (t) => {
  t.equal(toUnits('cpu', q('0.0001')), 1, 'millicores round up')
  t.equal(toUnits('memory', q('1.5')), 2, 'bytes round up')
  t.equal(formatAmount('cpu', q('10.5')), '10.5')
  t.equal(formatAmount('requests.cpu', q('3920m')), '3920m')
  t.equal(formatAmount('cpu', q('500m')), '500m')
  t.equal(formatAmount('cpu', q('2')), '2')
  t.equal(formatAmount('limits.memory', q('1536Mi')), '1.5Gi')
  t.equal(formatAmount('pods', q('3')), '3')
  t.equal(fieldKey('cpu'), '.cpu')
  t.equal(fieldKey('nvidia.com/gpu'), '["nvidia.com/gpu"]')
})
