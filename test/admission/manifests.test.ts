/**
 * manifests/base/ (the kustomize base, generated from `pod-preflight install` defaults): what
 * installs the webhook must pass our own rules (no deny, no warn), and its settings must agree
 * with each other and with `serve`'s flags.
 */
import t from 'tap'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseAllDocuments } from 'yaml'
import { main } from '../../src/cli/main.js'
import { memoryIO } from '../../src/cli/io.js'
import { parseServeArgs, parseDuration } from '../../src/cli/commands/serve.js'

const DIR = new URL('../../manifests/base/', import.meta.url).pathname

type Obj = Record<string, unknown>

function load(): Obj[] {
  const out: Obj[] = []
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name)
      if (e.isDirectory()) walk(p)
      else if (/\.ya?ml$/.test(e.name) && e.name !== 'kustomization.yaml') for (const d of parseAllDocuments(readFileSync(p, 'utf8'))) out.push(d.toJS() as Obj)
    }
  }
  walk(DIR)
  // The background audit's CRDs and role, applied next to the base when serve --audit is used.
  walk(new URL('../../manifests/audit/', import.meta.url).pathname)
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

t.test('pod-preflight check manifests/base/ reports no deny and no warn', async (t) => {
  const io = memoryIO()
  const code = await main(['check', '--fail-on', 'warn', DIR], io)
  t.equal(code, 0, `${io.out()}${io.err()}`)
  t.match(io.out(), /0 objects denied, 0 warnings/)
})

t.test('everything an install needs is there', async (t) => {
  for (const kind of ['Namespace', 'PriorityClass', 'ServiceAccount', 'ConfigMap', 'Role', 'RoleBinding', 'ClusterRole', 'ClusterRoleBinding', 'Deployment', 'PodDisruptionBudget', 'Service', 'NetworkPolicy', 'ValidatingWebhookConfiguration']) {
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
  t.equal(pod['automountServiceAccountToken'], true, 'a token: self-managed certificates need the API')
  t.equal(pod['priorityClassName'], at(find('PriorityClass'), 'metadata', 'name'))
  const c = at(pod, 'containers', 0) as Obj
  t.equal(at(c, 'securityContext', 'readOnlyRootFilesystem'), true)
  t.equal(at(c, 'securityContext', 'allowPrivilegeEscalation'), false)
  t.same(at(c, 'securityContext', 'capabilities', 'drop'), ['ALL'])
  t.ok(at(c, 'resources', 'limits', 'memory'), 'a memory limit')
  t.ok(at(c, 'resources', 'requests', 'cpu'), 'a cpu request')
  t.equal(at(c, 'livenessProbe', 'httpGet', 'path'), '/healthz')
  t.equal(at(c, 'readinessProbe', 'httpGet', 'path'), '/readyz')

  // Self-managed certificates: the webhook finds or creates them itself, nothing is mounted.
  const all = c['args'] as string[]
  t.equal(all[0], 'serve')
  for (const flag of ['--tls-secret=pod-preflight-tls', '--webhook-configuration=pod-preflight', '--service=pod-preflight']) t.ok(all.includes(flag), flag)
  t.notOk((at(c, 'volumeMounts') as Obj[]).some((m) => m['name'] === 'tls'), 'no certificate mounted')
  // The other flags are ones serve accepts, and its time budget ends before the webhook times out.
  const selfManaged = /^--(tls-secret|webhook-configuration|service)=/
  const cfg = parseServeArgs([...all.slice(1).filter((a) => !selfManaged.test(a)), '--tls-cert=/x', '--tls-key=/y'])
  t.ok(cfg, 'serve accepts the flags')
  const webhook = at(find('ValidatingWebhookConfiguration'), 'webhooks', 0) as Obj
  const timeoutMs = (webhook['timeoutSeconds'] as number) * 1000
  t.ok((cfg?.options.budgetMs ?? Infinity) < timeoutMs, 'budget below timeoutSeconds')
  t.ok(timeoutMs - (cfg?.options.budgetMs ?? 0) <= 1000, 'timeoutSeconds no longer than needed above the budget')
  t.equal(cfg?.options.host, '0.0.0.0')
  const port = at(c, 'ports', 0, 'containerPort')
  t.equal(cfg?.options.port, port)
  t.equal(at(find('Service'), 'spec', 'ports', 0, 'targetPort'), at(c, 'ports', 0, 'name'))
  // The policy comes from the mounted ConfigMap.
  const policyMount = (at(c, 'volumeMounts') as Obj[]).find((m) => m['name'] === 'policy')
  t.ok(cfg?.options.policyFile?.startsWith(`${String(policyMount?.['mountPath'])}/`), 'the policy is the mounted file')
  const volume = (at(pod, 'volumes') as Obj[]).find((v) => v['name'] === 'policy')
  const cm = find('ConfigMap')
  t.equal(at(volume, 'configMap', 'name'), at(cm, 'metadata', 'name'))
  t.ok(at(cm, 'data', String(cfg?.options.policyFile?.split('/').pop())), 'the file is a key of the ConfigMap')
  t.equal(parseDuration('2500ms', 'x'), 2500)
})

t.test('the PodDisruptionBudget keeps one replica through drains', async (t) => {
  const pdb = find('PodDisruptionBudget')
  t.equal(pdb['apiVersion'], 'policy/v1')
  t.equal(at(pdb, 'spec', 'minAvailable'), 1)
  t.same(at(pdb, 'spec', 'selector', 'matchLabels'), at(find('Deployment'), 'spec', 'selector', 'matchLabels'))
})

t.test('RBAC: only what self-managed certificates need, nothing for features that are off', async (t) => {
  const role = find('Role')
  const rules = at(role, 'rules') as Obj[]
  t.same(rules, [
    { apiGroups: [''], resources: ['secrets'], resourceNames: ['pod-preflight-tls'], verbs: ['get', 'update'] },
    { apiGroups: [''], resources: ['secrets'], verbs: ['create'] },
  ])
  t.equal(at(role, 'metadata', 'namespace'), 'pod-preflight', 'a namespaced Role: create only in its own namespace')
  const roles = objects.filter((o) => o['kind'] === 'ClusterRole')
  // manifests/audit/ adds the audit's role and the cluster view it judges against.
  const addOn = ['pod-preflight:audit', 'pod-preflight:cluster-view']
  t.same(roles.map((r) => at(r, 'metadata', 'name')).filter((n) => !addOn.includes(String(n))), ['pod-preflight:webhook-configuration'])
  t.same(at(roles.find((r) => at(r, 'metadata', 'name') === 'pod-preflight:webhook-configuration'), 'rules'), [
    { apiGroups: ['admissionregistration.k8s.io'], resources: ['validatingwebhookconfigurations'], resourceNames: ['pod-preflight'], verbs: ['get', 'patch'] },
  ])
  const bindings = objects.filter((o) => o['kind'] === 'ClusterRoleBinding')
  t.same(bindings.map((b) => at(b, 'roleRef', 'name')).sort(), ['pod-preflight:audit', 'pod-preflight:cluster-view', 'pod-preflight:webhook-configuration'])
  // The background audit (manifests/audit/) lists, and writes only its reports; never Secrets.
  const audit = objects.find((r) => r['kind'] === 'ClusterRole' && at(r, 'metadata', 'name') === 'pod-preflight:audit')
  for (const r of at(audit, 'rules') as Obj[]) {
    t.notOk((r['resources'] as string[]).includes('secrets'))
    const writes = (r['verbs'] as string[]).filter((v) => !['get', 'list', 'watch'].includes(v))
    if (writes.length > 0) t.same(r['resources'], ['policyreports', 'clusterpolicyreports'], 'the audit writes only policy reports')
  }
  t.equal(find('ServiceAccount')['automountServiceAccountToken'], false, 'only the Deployment that needs it mounts a token')
})
