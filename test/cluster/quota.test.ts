import t from 'tap'
import { quotaMatches, podQuotaUsage, quotaExcesses, requiredValues, isExtendedResource } from '../../src/cluster/quota.js'
import { quotaInfo } from '../../src/cluster/objects.js'
import { Quantity } from '../../src/engine/quantity.js'
import { bare, pod, view } from './helpers.js'

const facts = { terminating: false, bestEffort: false, priorityClassName: undefined as string | undefined, crossNamespaceAffinity: false }
const quota = (spec: Record<string, unknown>, status: Record<string, unknown> = {}) => {
  const q = quotaInfo({ metadata: { name: 'q', namespace: 'default' }, spec, status })
  if (q === undefined) throw new Error('quota')
  return q
}

t.test('scopes and scopeSelector', async (t) => {
  t.equal(quotaMatches(quota({ hard: {} }), facts), true, 'no scope: every pod')
  t.equal(quotaMatches(quota({ hard: {}, scopes: ['Terminating'] }), facts), false)
  t.equal(quotaMatches(quota({ hard: {}, scopes: ['Terminating'] }), { ...facts, terminating: true }), true)
  t.equal(quotaMatches(quota({ hard: {}, scopes: ['NotTerminating', 'NotBestEffort'] }), facts), true)
  t.equal(quotaMatches(quota({ hard: {}, scopes: ['BestEffort'] }), facts), false)
  const sel = (operator: string, values: string[] = []) => quota({ hard: {}, scopeSelector: { matchExpressions: [{ scopeName: 'PriorityClass', operator, values }] } })
  t.equal(quotaMatches(sel('In', ['high']), { ...facts, priorityClassName: 'high' }), true)
  t.equal(quotaMatches(sel('In', ['high']), facts), false)
  t.equal(quotaMatches(sel('NotIn', ['high']), facts), true)
  t.equal(quotaMatches(sel('Exists'), facts), false)
  t.equal(quotaMatches(sel('DoesNotExist'), facts), true)
  t.equal(quotaMatches(quota({ hard: {}, scopes: ['CrossNamespacePodAffinity'] }), { ...facts, crossNamespaceAffinity: true }), true)
  t.equal(quotaMatches(quota({ hard: {}, scopes: ['SomethingNew'] }), facts), false, 'an unknown scope matches nothing')
})

t.test('what one pod adds, by quota resource name', async (t) => {
  const q = (s: string) => Quantity.parse(s) ?? Quantity.ZERO
  const u = podQuotaUsage(new Map([['cpu', q('1')], ['memory', q('1Gi')], ['nvidia.com/gpu', q('1')], ['hugepages-2Mi', q('2Mi')]]), new Map([['memory', q('2Gi')]]))
  t.same([...u.keys()].sort(), ['count/pods', 'cpu', 'limits.memory', 'memory', 'pods', 'requests.cpu', 'requests.hugepages-2Mi', 'requests.memory', 'requests.nvidia.com/gpu'])
  t.equal(isExtendedResource('example.com/foo'), true)
  t.equal(isExtendedResource('kubernetes.io/foo'), false)
})

t.test('excess: used + replicas × per pod, minus the pods the object replaces', async (t) => {
  const v = view([
    {
      apiVersion: 'v1',
      kind: 'ResourceQuota',
      metadata: { name: 'compute', namespace: 'default' },
      spec: { hard: { 'requests.cpu': '10', pods: '5' } },
      status: { hard: { 'requests.cpu': '10', pods: '5' }, used: { 'requests.cpu': '8', pods: '2' } },
    },
    ...['a', 'b'].map((n) => ({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: `web-${n}`, namespace: 'default', labels: { app: 'web' } },
      spec: { containers: [{ name: 'w', image: 'w', resources: { requests: { cpu: '2' } } }] },
      status: { phase: 'Running' },
    })),
  ])
  const deploy = (app: string, replicas: number) =>
    pod({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: app, namespace: 'default' },
      spec: { replicas, selector: { matchLabels: { app } }, template: { metadata: { labels: { app } }, spec: { containers: [{ name: 'c', image: 'c', resources: { requests: { cpu: '1' } } }] } } },
    })
  const fresh = quotaExcesses(deploy('api', 3), v, 3)
  t.same(fresh.map((e) => [e.resource, e.projected.toNumber(), e.released.toNumber()]), [['requests.cpu', 11, 0]])
  const update = quotaExcesses(deploy('web', 3), v, 3)
  t.same(update, [], '8 - 4 (own pods) + 3 = 7 CPUs, 2 - 2 + 3 = 3 pods')
  const big = quotaExcesses(deploy('web', 6), v, 6)
  t.same(big.map((e) => [e.resource, e.projected.toNumber()]), [['pods', 6]], 'only pods exceed: 8 - 4 + 6 = 10 CPUs is at the limit, 2 - 2 + 6 = 6 pods is over')
})

t.test('required values per container: requests.cpu and limits.memory, filled by defaults', async (t) => {
  const v = view([
    { apiVersion: 'v1', kind: 'ResourceQuota', metadata: { name: 'a', namespace: 'default' }, spec: { hard: { cpu: '10', 'limits.memory': '10Gi', 'requests.storage': '1Ti' } } },
    { apiVersion: 'v1', kind: 'ResourceQuota', metadata: { name: 'b', namespace: 'default' }, spec: { hard: { 'requests.cpu': '10' } } },
  ])
  const req = requiredValues(bare({ containers: [{ name: 'a', image: 'a' }] }), v)
  t.same(req.map((r) => [r.name, r.quotas.map((q) => q.name)]), [['requests.cpu', ['a', 'b']], ['limits.memory', ['a']]])
})
