/**
 * `pod-preflight install` / `uninstall` through their typed entry points: every combination of
 * features renders objects that pass our own rules with no finding; RBAC follows the features
 * turned on; the server version picks the PodDisruptionBudget version and how namespaces are
 * excluded; bad flags are refused saying which and why.
 */
import t from 'tap'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parse, parseAllDocuments } from 'yaml'
import { memoryIO } from '../../src/cli/io.js'
import { UsageError } from '../../src/cli/io.js'
import { defaultInstallOptions, install, uninstall, type InstallCommandOptions } from '../../src/install/command.js'
import { parseKubeVersion, KubeVersionError } from '../../src/install/kube-version.js'
import { parseDocuments } from '../../src/input/documents.js'
import { runCheck } from '../../src/cli/run-check.js'
import { loadDefaultPolicy, parsePolicy } from '../../src/policy/policy.js'
import { RULES } from '../../src/rules/index.js'
import { TIME_BUDGET_MS, TIMEOUT_SECONDS } from '../../src/install/render.js'

type Obj = Record<string, unknown>
const at = (o: unknown, ...path: (string | number)[]): unknown =>
  path.reduce<unknown>((cur, k) => (typeof cur === 'object' && cur !== null ? (cur as Record<string | number, unknown>)[k] : undefined), o)

const NO_CLUSTER = { HOME: '/nonexistent-home' }

async function render(over: Partial<InstallCommandOptions> = {}, kubeVersion = '1.29'): Promise<{ objects: Obj[]; text: string; err: string }> {
  const io = memoryIO('', NO_CLUSTER)
  const code = await install({ ...defaultInstallOptions(), kubeVersion, ...over }, io)
  if (code !== 0) throw new Error(`install exited ${code}: ${io.err()}`)
  const text = io.out()
  const objects = over.output === 'json' ? ((JSON.parse(text) as { items: Obj[] }).items) : parseAllDocuments(text).map((d) => d.toJS() as Obj)
  return { objects, text, err: io.err() }
}

const byKind = (objects: Obj[], kind: string): Obj[] => objects.filter((o) => o['kind'] === kind)
const one = (objects: Obj[], kind: string): Obj => {
  const found = byKind(objects, kind)
  if (found.length !== 1) throw new Error(`${found.length} ${kind}`)
  return found[0] as Obj
}
const container = (objects: Obj[]): Obj => at(one(objects, 'Deployment'), 'spec', 'template', 'spec', 'containers', 0) as Obj

t.test('every combination passes pod-preflight check with no finding', async (t) => {
  const policy = await loadDefaultPolicy(RULES)
  for (const certificates of ['self-managed', 'cert-manager', 'provided'] as const) {
    for (const clusterView of [false, true]) {
      for (const [companion, audit] of [[false, false], [true, false], [false, true], [true, true]] as const) {
        for (const kubeVersion of ['1.20', '1.31']) {
          const flags = { certificates, clusterView, companion, audit, ...(certificates === 'provided' ? { tlsSecretName: 'my-tls' } : {}) }
          const { text } = await render(flags, kubeVersion)
          const read = parseDocuments(text, 'install.yaml')
          t.same(read.errors, [])
          const report = runCheck(read.documents, read.errors, { policy, rules: RULES, namespace: 'default', files: 1 })
          const findings = report.objects.flatMap((o) => o.findings.map((f) => `${f.rule} ${f.path}`))
          t.same(findings, [], `${JSON.stringify(flags)} on ${kubeVersion}`)
          t.same(report.errors, [])
          t.ok(report.objects.some((o) => o.object.kind === 'Deployment'), 'the Deployment is judged')
        }
      }
    }
  }
})

t.test('YAML and JSON give the same objects; JSON is a List', async (t) => {
  const yaml = await render()
  const json = await render({ output: 'json' })
  t.same(json.objects, yaml.objects)
  t.equal((JSON.parse(json.text) as Obj)['kind'], 'List')
  t.match(yaml.text, /^# pod-preflight .* in namespace pod-preflight: 2 replica\(s\), mode enforce, certificates self-managed/)
  t.equal(yaml.objects[0]?.['kind'], 'Namespace', 'the namespace first')
  t.equal(yaml.objects.at(-1)?.['kind'], 'ValidatingWebhookConfiguration', 'the registration last')
})

t.test('namespace, replicas and image', async (t) => {
  const { objects } = await render({ namespace: 'platform-checks', replicas: 3, image: 'registry.example.com/pp:1.2.3' })
  for (const o of objects) {
    const ns = at(o, 'metadata', 'namespace')
    if (ns !== undefined) t.equal(ns, 'platform-checks', `${String(o['kind'])} in the namespace`)
  }
  t.equal(at(one(objects, 'Namespace'), 'metadata', 'name'), 'platform-checks')
  t.equal(at(one(objects, 'Deployment'), 'spec', 'replicas'), 3)
  t.equal(container(objects)['image'], 'registry.example.com/pp:1.2.3')
  const hook = at(one(objects, 'ValidatingWebhookConfiguration'), 'webhooks', 0) as Obj
  t.equal(at(hook, 'clientConfig', 'service', 'namespace'), 'platform-checks')
  t.same(at(hook, 'namespaceSelector', 'matchExpressions', 0, 'values'), ['kube-system', 'platform-checks'])
  for (const b of [...byKind(objects, 'ClusterRoleBinding'), ...byKind(objects, 'RoleBinding')]) t.equal(at(b, 'subjects', 0, 'namespace'), 'platform-checks')

  const single = await render({ replicas: 1 })
  t.same(byKind(single.objects, 'PodDisruptionBudget'), [], 'no budget that would block every drain of a single replica')
})

t.test('mode is written into the shipped policy, which the webhook reads from the ConfigMap', async (t) => {
  for (const mode of ['enforce', 'audit'] as const) {
    const { objects } = await render({ mode })
    const text = at(one(objects, 'ConfigMap'), 'data', 'policy.yaml') as string
    t.equal((parse(text) as Obj)['mode'], mode)
    t.match(text, /# The default policy/, 'comments of the policy file are kept')
  }
  const dir = mkdtempSync(join(tmpdir(), 'pp-install-'))
  const file = join(dir, 'policy.yaml')
  writeFileSync(file, 'apiVersion: pod-preflight/v1\nkind: Policy\nmode: audit\nrules:\n  image-tag-latest: deny\nexemptions:\n  - reason: legacy\n    namespaces: [legacy]\n')
  const kept = await render({ policyFile: file }, '1.20')
  const shipped = parse(at(one(kept.objects, 'ConfigMap'), 'data', 'policy.yaml') as string) as Obj
  t.equal(shipped['mode'], 'audit', "the file's own mode stays without --mode")
  t.same(at(shipped, 'rules'), { 'image-tag-latest': 'deny' })
  t.same((shipped['exemptions'] as Obj[]).map((e) => e['namespaces']), [['kube-system', 'pod-preflight'], ['legacy']], "the user's exemptions are kept")

  const overridden = await render({ policyFile: file, mode: 'enforce' })
  t.equal((parse(at(one(overridden.objects, 'ConfigMap'), 'data', 'policy.yaml') as string) as Obj)['mode'], 'enforce')
  t.match(overridden.err, /says mode: audit; --mode enforce replaces it/)

  writeFileSync(file, 'apiVersion: pod-preflight/v1\nkind: Policy\nrules:\n  image-tag-lastest: deny\n')
  await t.rejects(render({ policyFile: file }), /the policy to ship is not valid:[\s\S]*image-tag-lastest/)
})

t.test('the shipped policy loads as the webhook will load it', async (t) => {
  const { objects } = await render({}, '1.20')
  const text = at(one(objects, 'ConfigMap'), 'data', 'policy.yaml') as string
  const withoutMode = text.replace(/^mode: .*$/m, '')
  const policy = parsePolicy(withoutMode, 'shipped', RULES)
  t.same(policy.exemptions[0]?.namespaces, ['kube-system', 'pod-preflight'])
})

t.test('server version: PodDisruptionBudget and the exclusion of kube-system', async (t) => {
  const old = await render({}, '1.20')
  t.equal(one(old.objects, 'PodDisruptionBudget')['apiVersion'], 'policy/v1beta1')
  const oldHook = at(one(old.objects, 'ValidatingWebhookConfiguration'), 'webhooks', 0) as Obj
  t.same(at(oldHook, 'namespaceSelector'), { matchExpressions: [{ key: 'pod-preflight.io/webhook', operator: 'NotIn', values: ['disabled'] }] }, 'no selector on a label 1.20 does not set')
  t.equal(at(one(old.objects, 'Namespace'), 'metadata', 'labels', 'pod-preflight.io/webhook'), 'disabled', 'the own namespace opts out by label')

  const current = await render({}, 'v1.31.2-eks.1')
  t.equal(one(current.objects, 'PodDisruptionBudget')['apiVersion'], 'policy/v1')
  const hook = at(one(current.objects, 'ValidatingWebhookConfiguration'), 'webhooks', 0) as Obj
  t.same(at(hook, 'namespaceSelector', 'matchExpressions', 0), { key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: ['kube-system', 'pod-preflight'] })
  const policy = parse(at(one(current.objects, 'ConfigMap'), 'data', 'policy.yaml') as string) as Obj
  t.equal(policy['exemptions'], undefined, 'no exemption needed where the selector does it')

  t.same(parseKubeVersion('1.20'), { major: 1, minor: 20 })
  t.same(parseKubeVersion('v1.27.3-gke.100'), { major: 1, minor: 27 })
  t.same(parseKubeVersion('1.22+'), { major: 1, minor: 22 })
  t.throws(() => parseKubeVersion('latest'), KubeVersionError)
  await t.rejects(render({}, '1.18'), /Kubernetes 1\.18 is older than the oldest supported version, 1\.19/)
  await t.rejects(render({}, 'one.two'), /--kube-version: "one.two" is not a Kubernetes version/)
})

t.test('certificate modes', async (t) => {
  const self = await render()
  const selfArgs = container(self.objects)['args'] as string[]
  t.same(selfArgs.filter((a) => /^--(tls|webhook-configuration|service)/.test(a)), ['--tls-secret=pod-preflight-tls', '--webhook-configuration=pod-preflight', '--service=pod-preflight'])
  t.equal(at(one(self.objects, 'ValidatingWebhookConfiguration'), 'webhooks', 0, 'clientConfig', 'caBundle'), undefined, 'the webhook writes its caBundle itself')
  t.equal(at(one(self.objects, 'Deployment'), 'spec', 'template', 'spec', 'automountServiceAccountToken'), true)

  const cm = await render({ certificates: 'cert-manager' })
  t.same(byKind(cm.objects, 'Certificate').map((c) => at(c, 'spec', 'secretName')), ['pod-preflight-ca', 'pod-preflight-tls'])
  t.same(byKind(cm.objects, 'Issuer').map((c) => Object.keys(at(c, 'spec') as Obj)), [['selfSigned'], ['ca']])
  const serving = byKind(cm.objects, 'Certificate')[1]
  t.ok((at(serving, 'spec', 'dnsNames') as string[]).includes('pod-preflight.pod-preflight.svc'))
  t.equal(at(one(cm.objects, 'ValidatingWebhookConfiguration'), 'metadata', 'annotations', 'cert-manager.io/inject-ca-from'), 'pod-preflight/pod-preflight-tls')
  const cmArgs = container(cm.objects)['args'] as string[]
  t.ok(cmArgs.includes('--tls-cert=/etc/pod-preflight/tls/tls.crt') && cmArgs.includes('--tls-key=/etc/pod-preflight/tls/tls.key'))
  t.equal(at((at(one(cm.objects, 'Deployment'), 'spec', 'template', 'spec', 'volumes') as Obj[]).find((v) => v['name'] === 'tls'), 'secret', 'secretName'), 'pod-preflight-tls')
  t.same(byKind(cm.objects, 'Role'), [], 'no Secret access when cert-manager writes it')
  t.equal(at(one(cm.objects, 'Deployment'), 'spec', 'template', 'spec', 'automountServiceAccountToken'), false, 'no token when nothing needs the API')

  const dir = mkdtempSync(join(tmpdir(), 'pp-install-'))
  const ca = join(dir, 'ca.crt')
  writeFileSync(ca, '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n')
  const provided = await render({ certificates: 'provided', tlsSecretName: 'corp-tls', caBundleFile: ca })
  t.equal(at((at(one(provided.objects, 'Deployment'), 'spec', 'template', 'spec', 'volumes') as Obj[]).find((v) => v['name'] === 'tls'), 'secret', 'secretName'), 'corp-tls')
  t.equal(Buffer.from(String(at(one(provided.objects, 'ValidatingWebhookConfiguration'), 'webhooks', 0, 'clientConfig', 'caBundle')), 'base64').toString(), '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n')
  t.same(byKind(provided.objects, 'Secret'), [], 'the Secret is the user\'s; install does not render it')
  const noCa = await render({ certificates: 'provided', tlsSecretName: 'corp-tls' })
  t.match(noCa.err, /no --ca-bundle: the API server checks the webhook certificate against its own trusted roots only/)
})

t.test('RBAC is bound only for the features turned on', async (t) => {
  const names = (objects: Obj[]) => byKind(objects, 'ClusterRoleBinding').map((b) => at(b, 'roleRef', 'name'))
  t.same(names((await render()).objects), ['pod-preflight:webhook-configuration'])
  const both = await render({ clusterView: true, companion: true, certificates: 'cert-manager' })
  t.same(names(both.objects), ['pod-preflight:cluster-view', 'pod-preflight:companion'])
  const view = byKind(both.objects, 'ClusterRole').find((r) => at(r, 'metadata', 'name') === 'pod-preflight:cluster-view')
  const rule = at(view, 'rules', 0) as Obj
  t.ok((rule['resources'] as string[]).includes('namespaces'), 'the view lists Namespaces')
  t.notOk((rule['resources'] as string[]).includes('secrets'), 'never Secrets')
  t.same(rule['verbs'], ['list', 'watch'])
  t.same(byKind(both.objects, 'Role').map((r) => [at(r, 'metadata', 'name'), at(r, 'rules', 0, 'resources')]), [['pod-preflight:leader-election', ['leases']]], 'the companion holds a Lease in its namespace')
  t.same(byKind((await render()).objects, 'Role').map((r) => at(r, 'metadata', 'name')), ['pod-preflight:tls-secret'])
  const args = container(both.objects)['args'] as string[]
  t.ok(args.includes('--cluster') && args.includes('--companion'))
  t.notOk((container((await render()).objects)['args'] as string[]).includes('--cluster'))
})

const BINDINGS_POLICY = [
  'apiVersion: pod-preflight/v1',
  'kind: Policy',
  'mode: audit',
  'bindings:',
  '  - name: prod-enforces',
  '    namespaceSelector: { matchLabels: { env: prod } }',
  '    mode: enforce',
  '',
].join('\n')

t.test('policy bindings by namespace: list/watch on namespaces and a token, in every certificate mode, granted once', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'pp-install-'))
  const file = join(dir, 'bindings.yaml')
  writeFileSync(file, BINDINGS_POLICY)
  const roleNames = (objects: Obj[]) => byKind(objects, 'ClusterRole').map((r) => at(r, 'metadata', 'name'))
  const bound = (objects: Obj[]) => byKind(objects, 'ClusterRoleBinding').map((b) => at(b, 'roleRef', 'name'))
  const namespaceReaders = (objects: Obj[]) =>
    byKind(objects, 'ClusterRole').filter((r) => (r['rules'] as Obj[]).some((x) => (x['resources'] as string[]).includes('namespaces')))
  for (const certificates of ['self-managed', 'cert-manager', 'provided'] as const) {
    const extra = certificates === 'provided' ? { tlsSecretName: 'corp-tls' } : {}
    const what = `--certificates ${certificates}`
    const plain = await render({ certificates, ...extra })
    t.notOk(roleNames(plain.objects).includes('pod-preflight:namespaces'), `${what}, no bindings: no Namespace reads`)
    t.same(namespaceReaders(plain.objects), [], `${what}, no bindings: nothing lists namespaces`)

    const { objects } = await render({ certificates, policyFile: file, ...extra })
    const role = byKind(objects, 'ClusterRole').find((r) => at(r, 'metadata', 'name') === 'pod-preflight:namespaces')
    t.same(at(role, 'rules'), [{ apiGroups: [''], resources: ['namespaces'], verbs: ['list', 'watch'] }], `${what}: list/watch on namespaces, no get`)
    t.ok(bound(objects).includes('pod-preflight:namespaces'), `${what}: and it is bound`)
    const binding = byKind(objects, 'ClusterRoleBinding').find((b) => at(b, 'roleRef', 'name') === 'pod-preflight:namespaces')
    t.same(at(binding, 'subjects'), [{ kind: 'ServiceAccount', name: 'pod-preflight', namespace: 'pod-preflight' }])
    t.equal(at(one(objects, 'Deployment'), 'spec', 'template', 'spec', 'automountServiceAccountToken'), true, `${what}: the pod gets a token to watch with`)
    // Every role bound, and every binding's role rendered: no dangling half.
    t.same([...roleNames(objects)].sort(), [...bound(objects)].sort(), `${what}: roles and bindings pair up`)

    const view = await render({ certificates, policyFile: file, clusterView: true, ...extra })
    t.notOk(roleNames(view.objects).includes('pod-preflight:namespaces'), `${what} --cluster-view: the view's role already lists namespaces`)
    t.equal(namespaceReaders(view.objects).length, 1, `${what} --cluster-view: one role grants Namespace reads`)
    t.same([...roleNames(view.objects)].sort(), [...bound(view.objects)].sort())
  }
  const io = memoryIO('', NO_CLUSTER)
  t.equal(await uninstall({ namespace: 'pod-preflight', certificates: 'provided', tlsSecretName: 'corp-tls', keepNamespace: false, output: 'yaml', kubeVersion: '1.29' }, io), 0)
  const listed = parseAllDocuments(io.out()).map((d) => d.toJS() as Obj)
  t.ok(listed.some((o) => o['kind'] === 'ClusterRoleBinding' && at(o, 'metadata', 'name') === 'pod-preflight:namespaces'), 'uninstall removes it')
})

t.test('every certificate mode, in both policy modes and with bindings, passes check with no finding', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'pp-install-'))
  const file = join(dir, 'bindings.yaml')
  writeFileSync(file, BINDINGS_POLICY)
  const policy = await loadDefaultPolicy(RULES)
  for (const certificates of ['self-managed', 'cert-manager', 'provided'] as const) {
    for (const over of [{ mode: 'enforce' as const }, { mode: 'audit' as const }, { policyFile: file }]) {
      const flags = { certificates, ...over, ...(certificates === 'provided' ? { tlsSecretName: 'my-tls' } : {}) }
      const { text, objects } = await render(flags)
      const read = parseDocuments(text, 'install.yaml')
      const report = runCheck(read.documents, read.errors, { policy, rules: RULES, namespace: 'default', files: 1 })
      t.same(report.objects.flatMap((o) => o.findings.map((f) => `${f.rule} ${f.path}`)), [], JSON.stringify(flags))
      t.same(report.errors, [])
      // And judged by the policy it ships, as the webhook in the cluster would.
      const shipped = parsePolicy(at(one(objects, 'ConfigMap'), 'data', 'policy.yaml') as string, 'shipped', RULES)
      const own = runCheck(read.documents, read.errors, { policy: shipped, rules: RULES, namespace: 'default', files: 1 })
      t.same(own.objects.flatMap((o) => o.findings.map((f) => `${f.rule} ${f.path}`)), [], `${JSON.stringify(flags)}, by the shipped policy`)
    }
  }
})

t.test('--audit: the report CRDs first, the scan\'s least-privilege roles, serve --audit', async (t) => {
  const plain = await render()
  t.same(byKind(plain.objects, 'CustomResourceDefinition'), [], 'no CRD without --audit')
  t.notOk((container(plain.objects)['args'] as string[]).includes('--audit'))
  const { objects, text } = await render({ audit: true })
  t.same(objects.slice(0, 2).map((o) => at(o, 'metadata', 'name')), ['policyreports.wgpolicyk8s.io', 'clusterpolicyreports.wgpolicyk8s.io'], 'both CRDs, before everything else')
  t.same(byKind(objects, 'CustomResourceDefinition').map((c) => [at(c, 'spec', 'scope'), at(c, 'spec', 'versions', 0, 'name')]), [['Namespaced', 'v1alpha2'], ['Cluster', 'v1alpha2']])
  t.match(text, /^# pod-preflight .*background audit/)
  const args = container(objects)['args'] as string[]
  t.ok(args.includes('--audit'), 'serve --audit')
  t.notOk(args.includes('--cluster'), 'the admission webhook itself stays as asked')
  t.equal(at(one(objects, 'Deployment'), 'spec', 'template', 'spec', 'automountServiceAccountToken'), true)
  const bound = byKind(objects, 'ClusterRoleBinding').map((b) => at(b, 'roleRef', 'name'))
  t.same(bound, ['pod-preflight:webhook-configuration', 'pod-preflight:cluster-view', 'pod-preflight:audit'])
  const role = byKind(objects, 'ClusterRole').find((r) => at(r, 'metadata', 'name') === 'pod-preflight:audit') as Obj
  const rules = role['rules'] as { apiGroups: string[]; resources: string[]; verbs: string[] }[]
  for (const r of rules) {
    t.notOk(r.resources.includes('secrets'), 'never Secrets')
    t.notOk(r.verbs.some((v) => ['delete', 'deletecollection', '*', 'update'].includes(v)), `${r.resources.join(',')}: no delete, update or wildcard`)
    if (r.apiGroups[0] !== 'wgpolicyk8s.io') t.same(r.verbs, ['list', 'watch'], `${r.resources.join(',')}: read only`)
  }
  t.same(rules.find((r) => r.apiGroups[0] === 'wgpolicyk8s.io')?.resources, ['policyreports', 'clusterpolicyreports'])
  t.same(byKind(objects, 'Role').map((r) => at(r, 'metadata', 'name')), ['pod-preflight:tls-secret', 'pod-preflight:leader-election'], 'the scan\'s Lease')
  const both = await render({ audit: true, companion: true })
  t.equal(byKind(both.objects, 'Role').filter((r) => at(r, 'metadata', 'name') === 'pod-preflight:leader-election').length, 1, 'one Lease role for the companion and the audit')
  const io = memoryIO('', NO_CLUSTER)
  t.equal(await uninstall({ namespace: 'pod-preflight', certificates: 'self-managed', keepNamespace: false, output: 'yaml', kubeVersion: '1.29' }, io), 0)
  const listed = parseAllDocuments(io.out()).map((d) => d.toJS() as Obj)
  t.ok(listed.some((o) => o['kind'] === 'ClusterRole' && at(o, 'metadata', 'name') === 'pod-preflight:audit'), 'uninstall removes the audit role')
  t.notOk(listed.some((o) => o['kind'] === 'CustomResourceDefinition'), 'but not the report CRDs other tools may share')
})

t.test('pods/log is read only when the companion is asked to read logs', async (t) => {
  const role = (objects: Obj[]) => byKind(objects, 'ClusterRole').find((r) => at(r, 'metadata', 'name') === 'pod-preflight:companion')
  const resources = (objects: Obj[]) => ((role(objects)?.['rules'] as Obj[] | undefined) ?? []).flatMap((r) => r['resources'] as string[])
  const plain = await render({ companion: true })
  t.notOk(resources(plain.objects).includes('pods/log'), 'the companion alone does not read logs')
  t.notOk((container(plain.objects)['args'] as string[]).includes('--companion-logs'))
  const logs = await render({ companion: true, companionLogs: true })
  const rule = ((role(logs.objects)?.['rules'] as Obj[]) ?? []).find((r) => (r['resources'] as string[]).includes('pods/log'))
  t.same(rule, { apiGroups: [''], resources: ['pods/log'], verbs: ['get'] }, 'get only, on pods/log')
  t.ok((container(logs.objects)['args'] as string[]).includes('--companion-logs'))
  t.notOk(resources(logs.objects).includes('secrets'), 'never Secrets')
})

t.test('hardening: PriorityClass, timeout just above the budget, NetworkPolicy', async (t) => {
  const { objects } = await render({ apiserverCidrs: ['172.20.0.0/16', '10.0.0.1/32'] })
  const pc = one(objects, 'PriorityClass')
  t.equal(at(one(objects, 'Deployment'), 'spec', 'template', 'spec', 'priorityClassName'), at(pc, 'metadata', 'name'))
  t.ok((pc['value'] as number) > 0 && (pc['value'] as number) < 1_000_000_000, 'above workloads, below system classes')
  t.equal(pc['globalDefault'], false)
  const hook = at(one(objects, 'ValidatingWebhookConfiguration'), 'webhooks', 0) as Obj
  t.equal(hook['timeoutSeconds'], TIMEOUT_SECONDS)
  t.ok(TIMEOUT_SECONDS * 1000 > TIME_BUDGET_MS && TIMEOUT_SECONDS * 1000 - TIME_BUDGET_MS <= 1000)
  t.ok((container(objects)['args'] as string[]).includes(`--time-budget=${TIME_BUDGET_MS}ms`))
  const np = one(objects, 'NetworkPolicy')
  t.same(at(np, 'spec', 'policyTypes'), ['Ingress'])
  const scraperRule = { ports: [{ protocol: 'TCP', port: 9090 }], from: [{ namespaceSelector: { matchLabels: { 'pod-preflight.io/metrics-scraper': 'allowed' } } }] }
  t.same(at(np, 'spec', 'ingress'), [{ ports: [{ protocol: 'TCP', port: 8443 }], from: [{ ipBlock: { cidr: '172.20.0.0/16' } }, { ipBlock: { cidr: '10.0.0.1/32' } }] }, scraperRule])
  const open = await render()
  t.same(at(one(open.objects, 'NetworkPolicy'), 'spec', 'ingress'), [{ ports: [{ protocol: 'TCP', port: 8443 }] }, scraperRule], 'without ranges the webhook port admits any source; metrics only labelled scraper namespaces')
  // /metrics has a port of its own, named, served plain HTTP, with the scrape annotations.
  const dep = one(open.objects, 'Deployment')
  const webhookContainer = (at(dep, 'spec', 'template', 'spec', 'containers') as Record<string, unknown>[])[0] ?? {}
  t.ok((webhookContainer['args'] as string[]).includes('--metrics-port=9090'), 'serve is told the metrics port')
  t.same(webhookContainer['ports'], [{ name: 'https', containerPort: 8443, protocol: 'TCP' }, { name: 'metrics', containerPort: 9090, protocol: 'TCP' }])
  t.equal((at(dep, 'spec', 'template', 'metadata', 'annotations') as Record<string, string>)['prometheus.io/port'], '9090')
  t.same(at(one(open.objects, 'Service'), 'spec', 'ports'), [
    { name: 'https', port: 443, targetPort: 'https', protocol: 'TCP' },
    { name: 'metrics', port: 9090, targetPort: 'metrics', protocol: 'TCP' },
  ])
  t.same(byKind((await render({ networkPolicy: false })).objects, 'NetworkPolicy'), [])
})

t.test('bad flags are refused with what and where', async (t) => {
  const cases: [Partial<InstallCommandOptions>, RegExp][] = [
    [{ namespace: 'Bad_NS' }, /--namespace: "Bad_NS" is not a valid namespace name/],
    [{ replicas: 0 }, /--replicas: 0 is outside 1\.\.50/],
    [{ image: 'nginx:1.25 ' }, /--image: "nginx:1.25 " is not an image reference/],
    [{ apiserverCidrs: ['10.0.0.0/33'] }, /--apiserver-cidr: "10.0.0.0\/33" is not an address range/],
    [{ apiserverCidrs: ['10.0.0.0/8'], networkPolicy: false }, /--apiserver-cidr needs the NetworkPolicy/],
    [{ caBundleFile: 'ca.crt' }, /--ca-bundle is for --certificates provided/],
    [{ certificates: 'provided' }, /give --tls-secret-name/],
    [{ tlsSecretName: 'no/slash' }, /--tls-secret-name: "no\/slash" is not a valid object name/],
    [{ policyFile: '/nonexistent/policy.yaml' }, /--policy: cannot read \/nonexistent\/policy.yaml \(ENOENT\)/],
  ]
  for (const [flags, message] of cases) {
    const err = await render(flags).then(() => undefined, (e: unknown) => e)
    t.type(err, UsageError, JSON.stringify(flags))
    t.match((err as Error).message, message)
  }
})

t.test('the version comes from the kubeconfig; an unreachable one is an error only when named', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'pp-install-'))
  const kubeconfig = join(dir, 'kubeconfig')
  writeFileSync(kubeconfig, JSON.stringify({
    apiVersion: 'v1', kind: 'Config', 'current-context': 'x',
    clusters: [{ name: 'x', cluster: { server: 'https://127.0.0.1:1' } }],
    users: [{ name: 'x', user: { token: 'not-a-real-token' } }],
    contexts: [{ name: 'x', context: { cluster: 'x', user: 'x' } }],
  }))
  const named = memoryIO('', NO_CLUSTER)
  const { kubeVersion: _omit, ...noVersion } = { ...defaultInstallOptions(), kubeVersion: undefined }
  const err = await install({ ...noVersion, kubeconfig }, named).then(() => undefined, (e: unknown) => e)
  t.type(err, UsageError)
  t.match((err as Error).message, /cannot read the version of https:\/\/127\.0\.0\.1:1: .*give --kube-version/)

  const implicit = memoryIO('', { ...NO_CLUSTER, KUBECONFIG: kubeconfig })
  t.equal(await install(noVersion, implicit), 0)
  t.match(implicit.err(), /cannot read the version of https:\/\/127\.0\.0\.1:1.*rendered for Kubernetes 1\.21 and later/)

  const none = memoryIO('', NO_CLUSTER)
  t.equal(await install(noVersion, none), 0)
  t.match(none.err(), /no kubeconfig to ask the API server's version; rendered for Kubernetes 1\.21 and later/)
  t.match(none.out(), /apiVersion: policy\/v1\n/)
})

t.test('uninstall: the webhook configuration first, what install may have made, never a provided Secret', async (t) => {
  const io = memoryIO('', NO_CLUSTER)
  t.equal(await uninstall({ namespace: 'pod-preflight', certificates: 'self-managed', keepNamespace: false, output: 'yaml', kubeVersion: '1.20' }, io), 0)
  const objects = parseAllDocuments(io.out()).map((d) => d.toJS() as Obj)
  t.equal(objects[0]?.['kind'], 'ValidatingWebhookConfiguration')
  t.equal(objects.at(-1)?.['kind'], 'Namespace')
  t.ok(objects.some((o) => o['kind'] === 'PodDisruptionBudget' && o['apiVersion'] === 'policy/v1beta1'))
  t.ok(objects.some((o) => o['kind'] === 'Secret' && at(o, 'metadata', 'name') === 'pod-preflight-tls'), 'the Secret the webhook made')
  t.ok(objects.some((o) => at(o, 'metadata', 'name') === 'pod-preflight:cluster-view'), 'optional roles too')
  t.match(io.out(), /kubectl delete --ignore-not-found -f -/)

  const kept = memoryIO('', NO_CLUSTER)
  await uninstall({ namespace: 'shared', certificates: 'provided', tlsSecretName: 'corp-tls', keepNamespace: true, output: 'json', kubeVersion: '1.30' }, kept)
  const items = (JSON.parse(kept.out()) as { items: Obj[] }).items
  t.notOk(items.some((o) => o['kind'] === 'Namespace'), 'the namespace stays')
  t.notOk(items.some((o) => o['kind'] === 'Secret'), "the user's Secret stays")
  t.ok(items.every((o) => at(o, 'metadata', 'namespace') === undefined || at(o, 'metadata', 'namespace') === 'shared'))
})
