/**
 * manifests/: what installs the webhook must pass our own rules (no deny, no warn), and its
 * settings must agree with each other and with `serve`'s flags.
 */
import t from 'tap'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseAllDocuments } from 'yaml'
import { main } from '../../src/cli/main.js'
import { memoryIO } from '../../src/cli/io.js'
import { parseServeArgs, parseDuration } from '../../src/cli/commands/serve.js'

const DIR = new URL('../../manifests/', import.meta.url).pathname

type Obj = Record<string, unknown>

function load(): Obj[] {
  const out: Obj[] = []
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name)
      if (e.isDirectory()) walk(p)
      else if (/\.ya?ml$/.test(e.name)) for (const d of parseAllDocuments(readFileSync(p, 'utf8'))) out.push(d.toJS() as Obj)
    }
  }
  walk(DIR)
  return out
}

const objects = load()
const find = (kind: string): Obj => {
  const o = objects.find((x) => x['kind'] === kind)
  if (o === undefined) throw new Error(`no ${kind} in manifests/`)
  return o
}
const at = (o: unknown, ...path: (string | number)[]): unknown =>
  path.reduce<unknown>((cur, k) => (typeof cur === 'object' && cur !== null ? (cur as Record<string | number, unknown>)[k] : undefined), o)

t.test('pod-preflight check manifests/ reports no deny and no warn', async (t) => {
  const io = memoryIO()
  const code = await main(['check', '--fail-on', 'warn', DIR], io)
  t.equal(code, 0, `${io.out()}${io.err()}`)
  t.match(io.out(), /0 denied, 0 warnings/)
})

t.test('everything an install needs is there', async (t) => {
  for (const kind of ['Namespace', 'ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Deployment', 'PodDisruptionBudget', 'Service', 'ValidatingWebhookConfiguration']) {
    t.ok(objects.some((o) => o['kind'] === kind), kind)
  }
})

t.test('the ValidatingWebhookConfiguration', async (t) => {
  const config = find('ValidatingWebhookConfiguration')
  t.equal(config['apiVersion'], 'admissionregistration.k8s.io/v1')
  const hooks = at(config, 'webhooks') as Obj[]
  t.equal(hooks.length, 1)
  const w = hooks[0] as Obj
  t.equal(w['sideEffects'], 'None')
  t.same(w['admissionReviewVersions'], ['v1'])
  t.equal(w['failurePolicy'], 'Ignore')
  t.equal(w['matchPolicy'], 'Equivalent')
  const timeout = w['timeoutSeconds'] as number
  t.ok(timeout >= 1 && timeout <= 10, 'a short timeout')
  const expressions = at(w, 'namespaceSelector', 'matchExpressions') as Obj[]
  const byName = expressions.find((e) => e['key'] === 'kubernetes.io/metadata.name')
  t.equal(byName?.['operator'], 'NotIn')
  t.same([...((byName?.['values'] as string[]) ?? [])].sort(), ['kube-system', 'pod-preflight'])
  const ns = find('Namespace')
  const optOut = expressions.find((e) => e['key'] === 'pod-preflight.io/webhook')
  t.ok((optOut?.['values'] as string[]).includes(String(at(ns, 'metadata', 'labels', 'pod-preflight.io/webhook'))), 'the own namespace carries the opt-out label')

  const covered = new Set<string>()
  for (const r of w['rules'] as Obj[]) {
    t.same(r['operations'], ['CREATE', 'UPDATE'])
    for (const g of r['apiGroups'] as string[]) for (const res of r['resources'] as string[]) covered.add(`${g}/${res}`)
  }
  for (const gr of ['/pods', '/replicationcontrollers', 'apps/deployments', 'apps/statefulsets', 'apps/daemonsets', 'apps/replicasets', 'batch/jobs', 'batch/cronjobs']) {
    t.ok(covered.has(gr), `matches ${gr}`)
  }
  const svc = at(w, 'clientConfig', 'service') as Obj
  const service = find('Service')
  t.equal(svc['name'], at(service, 'metadata', 'name'))
  t.equal(svc['namespace'], at(service, 'metadata', 'namespace'))
  t.equal(svc['path'], '/validate')
  t.equal(svc['port'], (at(service, 'spec', 'ports', 0, 'port') as number))
})

t.test('the Deployment', async (t) => {
  const d = find('Deployment')
  t.ok((at(d, 'spec', 'replicas') as number) >= 2, '2+ replicas')
  const pod = at(d, 'spec', 'template', 'spec') as Obj
  t.equal(at(pod, 'securityContext', 'runAsNonRoot'), true)
  t.equal(pod['automountServiceAccountToken'], false, 'no API token: the webhook needs none')
  const c = at(pod, 'containers', 0) as Obj
  t.equal(at(c, 'securityContext', 'readOnlyRootFilesystem'), true)
  t.equal(at(c, 'securityContext', 'allowPrivilegeEscalation'), false)
  t.same(at(c, 'securityContext', 'capabilities', 'drop'), ['ALL'])
  t.ok(at(c, 'resources', 'limits', 'memory'), 'a memory limit')
  t.ok(at(c, 'resources', 'requests', 'cpu'), 'a cpu request')
  t.equal(at(c, 'livenessProbe', 'httpGet', 'path'), '/healthz')
  t.equal(at(c, 'readinessProbe', 'httpGet', 'path'), '/readyz')

  // The flags are ones serve accepts, and its time budget ends before the webhook times out.
  const args = (c['args'] as string[]).slice(1)
  t.equal((c['args'] as string[])[0], 'serve')
  const cfg = parseServeArgs(args)
  t.ok(cfg, 'serve accepts the flags')
  const webhook = at(find('ValidatingWebhookConfiguration'), 'webhooks', 0) as Obj
  t.ok((cfg?.options.budgetMs ?? Infinity) < (webhook['timeoutSeconds'] as number) * 1000 - 1000, 'budget well below timeoutSeconds')
  t.equal(cfg?.options.host, '0.0.0.0')
  const port = at(c, 'ports', 0, 'containerPort')
  t.equal(cfg?.options.port, port)
  t.equal(at(find('Service'), 'spec', 'ports', 0, 'targetPort'), at(c, 'ports', 0, 'name'))
  const mount = (at(c, 'volumeMounts') as Obj[]).find((m) => m['name'] === 'tls')
  t.ok(cfg?.options.tlsCert.startsWith(`${String(mount?.['mountPath'])}/`), 'the certificate comes from the mounted Secret')
  t.equal(parseDuration('2500ms', 'x'), 2500)
})

t.test('the PodDisruptionBudget keeps one replica through drains', async (t) => {
  const pdb = find('PodDisruptionBudget')
  t.equal(pdb['apiVersion'], 'policy/v1')
  t.equal(at(pdb, 'spec', 'minAvailable'), 1)
  t.same(at(pdb, 'spec', 'selector', 'matchLabels'), at(find('Deployment'), 'spec', 'selector', 'matchLabels'))
})

t.test('RBAC: read-only cluster view without Secrets; the companion may only write Events', async (t) => {
  const roles = objects.filter((o) => o['kind'] === 'ClusterRole')
  const view = roles.find((r) => at(r, 'metadata', 'name') === 'pod-preflight:cluster-view')
  for (const r of at(view, 'rules') as Obj[]) {
    t.same(r['verbs'], ['list', 'watch'])
    t.notOk((r['resources'] as string[]).includes('secrets'))
  }
  const companion = roles.find((r) => at(r, 'metadata', 'name') === 'pod-preflight:companion')
  for (const r of at(companion, 'rules') as Obj[]) {
    const writes = (r['verbs'] as string[]).filter((v) => !['get', 'list', 'watch'].includes(v))
    if (writes.length > 0) t.same(r['resources'], ['events'], 'writes only Events')
  }
  const bindings = objects.filter((o) => o['kind'] === 'ClusterRoleBinding')
  t.same(bindings.map((b) => at(b, 'roleRef', 'name')).sort(), ['pod-preflight:audit', 'pod-preflight:cluster-view', 'pod-preflight:companion'])
  // The background audit (manifests/audit/) lists, and writes only its reports; never Secrets.
  const audit = roles.find((r) => at(r, 'metadata', 'name') === 'pod-preflight:audit')
  for (const r of at(audit, 'rules') as Obj[]) {
    t.notOk((r['resources'] as string[]).includes('secrets'))
    const writes = (r['verbs'] as string[]).filter((v) => !['get', 'list', 'watch'].includes(v))
    if (writes.length > 0) t.same(r['resources'], ['policyreports', 'clusterpolicyreports'], 'the audit writes only policy reports')
  }
  t.equal(find('ServiceAccount')['automountServiceAccountToken'], false)
})
