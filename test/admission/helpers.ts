/**
 * Shared pieces of the admission tests: a small rule set (one real rule, plus test rules with
 * fixed behaviour so that these tests do not move when the catalogue's texts change), object
 * and review builders, and an app whose log lines are captured.
 */
import { randomUUID } from 'node:crypto'
import { defineRule, NO_PARAMS, type PodRule } from '../../src/engine/rule.js'
import { rule as imagePullPolicyNever } from '../../src/rules/image-pull-policy-never.js'
import { buildPolicy, type Policy } from '../../src/policy/policy.js'
import { buildApp, type AppDeps, type WebhookApp } from '../../src/admission/app.js'
import { createLogger } from '../../src/admission/logger.js'
import { createMetrics, type WebhookMetrics } from '../../src/admission/metrics.js'

/** Denies any container whose image tag is `broken`. */
export const denyBrokenTag = defineRule({
  id: 'test-broken-tag',
  title: 'test rule: broken tag',
  defaultAction: 'deny',
  scope: ['static'],
  params: NO_PARAMS,
  docs: { summary: 'test', description: 'test rule', failure: 'test failure', fix: 'test fix' },
  check(pod) {
    return pod.containers
      .filter((c) => (c.spec.image ?? '').endsWith(':broken'))
      .map((c) => ({
        path: `${c.path}.image`,
        container: c.name,
        message: `container "${c.name}" uses the broken tag and will crash at start (exit 1)`,
        fix: 'use a released tag',
      }))
  },
})

/** Denies containers whose memory limit is written with the milli suffix (a miniature of the real rule). */
export const denyMilliMemory = defineRule({
  id: 'test-milli-memory',
  title: 'test rule: milli memory',
  defaultAction: 'deny',
  scope: ['static'],
  params: NO_PARAMS,
  docs: { summary: 'test', description: 'test rule', failure: 'test failure', fix: 'test fix' },
  check(pod) {
    return pod.containers
      .filter((c) => /m$/.test(String(c.spec.resources?.limits?.['memory'] ?? '')))
      .map((c) => ({
        path: `${c.path}.resources.limits.memory`,
        container: c.name,
        message: `container "${c.name}" asks for ${String(c.spec.resources?.limits?.['memory'])} of memory, a fraction of a byte`,
        fix: 'write Mi, e.g. 512Mi',
      }))
  },
})

/** A cluster-scoped rule: it runs only with a synced cluster view. */
export const clusterOnly = defineRule({
  id: 'test-cluster-only',
  title: 'test rule: cluster only',
  defaultAction: 'warn',
  scope: ['cluster'],
  params: NO_PARAMS,
  docs: { summary: 'test', description: 'test rule', failure: 'test failure', fix: 'test fix' },
  check(pod) {
    return [{ path: pod.specPath, message: 'cluster rule ran', fix: 'none' }]
  },
})

export const TEST_RULES: readonly PodRule<unknown>[] = [
  imagePullPolicyNever as PodRule<unknown>,
  denyBrokenTag as PodRule<unknown>,
  denyMilliMemory as PodRule<unknown>,
]

export function testPolicy(rules: readonly PodRule<unknown>[] = TEST_RULES, settings: Record<string, unknown> = {}): Policy {
  return buildPolicy({ apiVersion: 'pod-preflight/v1', kind: 'Policy', metadata: { name: 'test' }, rules: settings }, 'test policy', rules)
}

export interface ContainerOptions {
  name?: string
  image?: string
  pullPolicy?: string
  memory?: string
  env?: { name: string; value: string }[]
}

export function container(o: ContainerOptions = {}): Record<string, unknown> {
  const c: Record<string, unknown> = { name: o.name ?? 'app', image: o.image ?? 'registry.example/app:1.2.3' }
  if (o.pullPolicy !== undefined) c['imagePullPolicy'] = o.pullPolicy
  if (o.memory !== undefined) c['resources'] = { limits: { memory: o.memory } }
  if (o.env !== undefined) c['env'] = o.env
  return c
}

export function pod(containers: Record<string, unknown>[] = [container()], meta: Record<string, unknown> = {}): Record<string, unknown> {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web', namespace: 'team-a', ...meta }, spec: { containers } }
}

const TEMPLATE_KINDS: Record<string, { apiVersion: string; wrap: (template: Record<string, unknown>) => Record<string, unknown> }> = {
  Deployment: { apiVersion: 'apps/v1', wrap: (t) => ({ replicas: 2, selector: { matchLabels: { app: 'web' } }, template: t }) },
  StatefulSet: { apiVersion: 'apps/v1', wrap: (t) => ({ serviceName: 'web', selector: { matchLabels: { app: 'web' } }, template: t }) },
  DaemonSet: { apiVersion: 'apps/v1', wrap: (t) => ({ selector: { matchLabels: { app: 'web' } }, template: t }) },
  ReplicaSet: { apiVersion: 'apps/v1', wrap: (t) => ({ selector: { matchLabels: { app: 'web' } }, template: t }) },
  ReplicationController: { apiVersion: 'v1', wrap: (t) => ({ selector: { app: 'web' }, template: t }) },
  Job: { apiVersion: 'batch/v1', wrap: (t) => ({ template: t }) },
  CronJob: { apiVersion: 'batch/v1', wrap: (t) => ({ schedule: '*/5 * * * *', jobTemplate: { spec: { template: t } } }) },
}

export const WORKLOAD_KINDS = Object.keys(TEMPLATE_KINDS)

export function workload(kind: string, containers: Record<string, unknown>[] = [container()], meta: Record<string, unknown> = {}): Record<string, unknown> {
  const info = TEMPLATE_KINDS[kind]
  if (info === undefined) throw new Error(`no template kind ${kind}`)
  const restartPolicy = kind === 'Job' || kind === 'CronJob' ? { restartPolicy: 'Never' } : {}
  const template = { metadata: { labels: { app: 'web' } }, spec: { containers, ...restartPolicy } }
  return { apiVersion: info.apiVersion, kind, metadata: { name: 'web', namespace: 'team-a', ...meta }, spec: info.wrap(template) }
}

export interface ReviewOptions {
  operation?: 'CREATE' | 'UPDATE' | 'DELETE' | 'CONNECT'
  oldObject?: Record<string, unknown>
  dryRun?: boolean
  subResource?: string
  uid?: string
}

function gvk(object: Record<string, unknown>): { group: string; version: string; kind: string } {
  const apiVersion = typeof object['apiVersion'] === 'string' ? object['apiVersion'] : 'v1'
  const slash = apiVersion.indexOf('/')
  return {
    group: slash < 0 ? '' : apiVersion.slice(0, slash),
    version: slash < 0 ? apiVersion : apiVersion.slice(slash + 1),
    kind: typeof object['kind'] === 'string' ? object['kind'] : 'Pod',
  }
}

/** An AdmissionReview as the API server sends it. */
export function review(object: Record<string, unknown> | undefined, o: ReviewOptions = {}): Record<string, unknown> {
  const ref = object ?? o.oldObject ?? pod()
  const meta = (ref['metadata'] ?? {}) as Record<string, unknown>
  const kind = gvk(ref)
  const request: Record<string, unknown> = {
    uid: o.uid ?? randomUUID(),
    kind,
    resource: { group: kind.group, version: kind.version, resource: `${kind.kind.toLowerCase()}s` },
    requestKind: kind,
    name: meta['name'],
    namespace: meta['namespace'],
    operation: o.operation ?? 'CREATE',
    userInfo: { username: 'alice', groups: ['developers', 'system:authenticated'] },
    object: object ?? null,
    oldObject: o.oldObject ?? null,
    dryRun: o.dryRun ?? false,
    options: { apiVersion: 'meta.k8s.io/v1', kind: 'CreateOptions' },
  }
  if (o.subResource !== undefined) request['subResource'] = o.subResource
  return { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request }
}

export interface TestApp {
  app: WebhookApp
  metrics: WebhookMetrics
  logs: () => Record<string, unknown>[]
  logText: () => string
}

/** `policy` null: no policy loaded (not ready). */
export async function testApp(deps: Partial<AppDeps> = {}, policy: Policy | null = testPolicy(deps.rules ?? TEST_RULES)): Promise<TestApp> {
  let text = ''
  const logger = createLogger('info', { write: (s: string) => { text += s } })
  const metrics = deps.metrics ?? createMetrics()
  const app = await buildApp({ rules: TEST_RULES, policy: { current: () => policy ?? undefined }, logger, metrics, ...deps })
  return {
    app,
    metrics,
    logText: () => text,
    logs: () =>
      text
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  }
}

export interface ReviewAnswer {
  status: number
  uid?: string
  allowed?: boolean
  warnings?: string[]
  message?: string
  code?: number
  body: Record<string, unknown>
}

/** POSTs a review and reads the answer. */
export async function post(app: WebhookApp, body: unknown, headers: Record<string, string> = {}): Promise<ReviewAnswer> {
  const payload = typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body)
  const res = await app.inject({ method: 'POST', url: '/validate', payload, headers: { 'content-type': 'application/json', ...headers } })
  const parsed = JSON.parse(res.body) as Record<string, unknown>
  const response = (parsed['response'] ?? {}) as Record<string, unknown>
  const status = (response['status'] ?? {}) as Record<string, unknown>
  const answer: ReviewAnswer = { status: res.statusCode, body: parsed }
  if (typeof response['uid'] === 'string') answer.uid = response['uid']
  if (typeof response['allowed'] === 'boolean') answer.allowed = response['allowed']
  if (Array.isArray(response['warnings'])) answer.warnings = response['warnings'] as string[]
  if (typeof status['message'] === 'string') answer.message = status['message']
  if (typeof status['code'] === 'number') answer.code = status['code']
  return answer
}
