/**
 * `pod-preflight doctor` against the real kube-apiserver (1.20) and an installation made from
 * `install`'s own objects (RBAC, ConfigMap, Service, webhook configuration), the webhook
 * running the shipped policy on loopback: every check passes on the healthy install, and each
 * broken piece fails with its own line and fix: a wrong caBundle, an expired certificate, a
 * Service without ready endpoints, a webhook that is down, missing RBAC.
 */
import t from 'tap'
import { mkdtemp, readFile, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseAllDocuments } from 'yaml'
import { run, startCluster } from './harness/cluster.js'
import { BIN, ROOT, badPod, deniedBy, ensureBuilt, sleep, startWebhook } from './harness/webhook.js'
import { issueCertificates } from '../../src/certs/x509.js'
import { tlsServedCertificate } from '../../src/doctor/checks.js'

type Obj = Record<string, any>

t.setTimeout(600_000)
const cluster = await startCluster()
t.teardown(() => cluster.stop())
await ensureBuilt()

const cli = (command: string, args: string[]) =>
  run(process.execPath, [BIN, command, `--kubeconfig=${cluster.kubeconfigPath}`, ...args], { cwd: ROOT, timeoutMs: 120_000 })

const rendered = await cli('install', [])
if (rendered.code !== 0) throw new Error(`install failed: ${rendered.stderr}`)
const objects = parseAllDocuments(rendered.stdout).map((d) => d.toJS() as Obj)
const byKind = (kind: string): Obj[] => objects.filter((o) => o['kind'] === kind)
// Everything but the webhook configuration, as install renders it.
const list = (items: Obj[]): string => JSON.stringify({ apiVersion: 'v1', kind: 'List', items })
await cluster.applyYaml(list(objects.filter((o) => o['kind'] !== 'ValidatingWebhookConfiguration')))

const dir = await mkdtemp(join(tmpdir(), 'pp-doctor-e2e-'))
const policyFile = join(dir, 'policy.yaml')
await writeFile(policyFile, (byKind('ConfigMap')[0] as Obj)['data']['policy.yaml'] as string)
const webhook = await startWebhook(dir, [`--policy=${policyFile}`])
t.teardown(() => webhook.stop())

const vwc = byKind('ValidatingWebhookConfiguration')[0] as Obj
const urlConfig = { url: `${webhook.url}/validate`, caBundle: Buffer.from(webhook.caPem).toString('base64') }
async function registerWith(clientConfig: Obj): Promise<void> {
  const copy = structuredClone(vwc)
  for (const w of copy['webhooks'] as Obj[]) w['clientConfig'] = clientConfig
  await cluster.applyYaml(JSON.stringify(copy))
}
await registerWith(urlConfig)
for (const deadline = Date.now() + 90_000; ; ) {
  const d = await cluster.kubectl(['apply', '--dry-run=server', '-f', '-'], { input: badPod('default') })
  if (deniedBy(d)) break
  if (Date.now() > deadline) throw new Error(`the API server never called the webhook: ${d.stderr}`)
  await sleep(500)
}

function lineOf(stdout: string, id: string): string {
  return stdout.split('\n').find((l) => new RegExp(`^. ${id}: `).test(l)) ?? ''
}
function fixAfter(stdout: string, id: string): string {
  const lines = stdout.split('\n')
  const i = lines.findIndex((l) => new RegExp(`^. ${id}: `).test(l))
  return i >= 0 && lines[i + 1]?.startsWith('    fix: ') ? (lines[i + 1] as string) : ''
}

t.test('a healthy install passes every check, in text and in JSON', async (t) => {
  const r = await cli('doctor', [])
  t.equal(r.code, 0, `${r.stdout}${r.stderr}`)
  for (const id of ['api-server', 'webhook-configuration', 'kube-version', 'ca-bundle', 'certificate-expiry', 'rbac', 'policy', 'dry-run']) {
    t.match(lineOf(r.stdout, id), /^✓ /, `${id} passes`)
  }
  t.match(lineOf(r.stdout, 'dry-run'), /refused through the API server/)
  t.match(lineOf(r.stdout, 'rbac'), /system:serviceaccount:pod-preflight:pod-preflight has the \d+ permissions/)
  t.notMatch(r.stdout, /^✗/m)
  t.match(r.stdout, /all \d+ checks passed/)
  const j = await cli('doctor', ['-o', 'json'])
  t.equal(j.code, 0, j.stderr)
  const parsed = JSON.parse(j.stdout) as { ok: boolean; checks: { id: string; verdict: string }[] }
  t.equal(parsed.ok, true)
  t.same(parsed.checks.filter((c) => c.verdict !== 'pass'), [], 'no check in the JSON failed or warned')
})

t.test('the README quick start for a cluster: install, doctor, and a dry run that shows a denial', async (t) => {
  const readme = await readFile(join(ROOT, 'README.md'), 'utf8')
  const lines = ['pod-preflight install | kubectl apply -f -', 'pod-preflight doctor', 'kubectl run demo --image=busybox:1.36.1 --dry-run=server']
  for (const l of lines) t.match(readme, new RegExp(`^${l.replace(/[.|]/g, '\\$&')} +#`, 'm'), `the README says: ${l}`)
  // The first two lines ran above (install's objects applied with kubectl apply -f -, doctor passed); the third, as written:
  const r = await cluster.kubectl(['run', 'demo', '--image=busybox:1.36.1', '--dry-run=server'])
  t.ok(deniedBy(r), `refused: ${r.stderr}`)
  t.match(r.stderr, /command-missing/, 'busybox without a command exits at once')
})

t.test('a caBundle of another CA fails the trust check, and the probe shows the API server cannot call', async (t) => {
  const other = await issueCertificates({ hosts: ['127.0.0.1'], notBefore: new Date(Date.now() - 60_000), notAfter: new Date(Date.now() + 86_400_000) })
  await registerWith({ url: urlConfig.url, caBundle: Buffer.from(other.caCert).toString('base64') })
  t.teardown(() => registerWith(urlConfig))
  let r = await cli('doctor', [])
  // The API server reads configuration changes asynchronously: wait until the probe sees it.
  for (let i = 0; i < 30 && !/^✗ dry-run/m.test(r.stdout); i++) {
    await sleep(1_000)
    r = await cli('doctor', [])
  }
  t.equal(r.code, 1, r.stdout)
  t.match(lineOf(r.stdout, 'ca-bundle'), /^✗ ca-bundle: webhook validate\.pod-preflight\.io: the caBundle \(1 certificate\) does not verify the certificate served at 127\.0\.0\.1:\d+/)
  t.match(fixAfter(r.stdout, 'ca-bundle'), /rollout restart deploy\/pod-preflight/)
  // install renders failurePolicy: Ignore, so the call the API server cannot make lets the Pod through.
  t.match(lineOf(r.stdout, 'dry-run'), /^✗ dry-run: a known-bad Pod in default is admitted without a word/)
  t.match(lineOf(r.stdout, 'rbac'), /^✓ /, 'the RBAC check is not affected')
})

t.test('missing RBAC names the verb, resource and namespace that are missing', async (t) => {
  await registerWith(urlConfig)
  const bindings = objects.filter((o) => o['kind'] === 'RoleBinding')
  t.ok(bindings.length > 0, 'install renders a RoleBinding')
  for (const b of bindings) {
    const d = await cluster.kubectl(['-n', b['metadata']['namespace'], 'delete', 'rolebinding', b['metadata']['name']])
    t.equal(d.code, 0, d.stderr)
  }
  t.teardown(() => cluster.applyYaml(list(bindings)))
  const r = await cli('doctor', [])
  t.equal(r.code, 1, r.stdout)
  t.match(lineOf(r.stdout, 'rbac'), /^✗ rbac: system:serviceaccount:pod-preflight:pod-preflight may not .*get secrets\/pod-preflight-tls in pod-preflight/)
  t.match(fixAfter(r.stdout, 'rbac'), /pod-preflight install \| kubectl apply -f -/)
  t.match(lineOf(r.stdout, 'ca-bundle'), /^✓ /)
})

t.test('a Service without ready endpoints says the webhook is down', async (t) => {
  await registerWith({ service: { name: 'pod-preflight', namespace: 'pod-preflight', path: '/validate', port: 443 }, caBundle: urlConfig.caBundle })
  t.teardown(() => registerWith(urlConfig))
  const r = await cli('doctor', ['--probe-namespace=e2e-doctor-absent'])
  t.equal(r.code, 1, r.stdout)
  t.match(lineOf(r.stdout, 'endpoints'), /^✗ endpoints: Service pod-preflight\/pod-preflight has no ready endpoints: the webhook is down/)
  t.match(fixAfter(r.stdout, 'endpoints'), /kubectl -n pod-preflight logs deploy\/pod-preflight/)
  t.match(lineOf(r.stdout, 'dry-run'), /^! dry-run: namespace e2e-doctor-absent does not exist/, 'a probe namespace that is absent is a warning, not a crash')
})

t.test('an expired serving certificate fails the expiry check', async (t) => {
  await registerWith(urlConfig)
  const expired = await issueCertificates({ hosts: ['127.0.0.1', 'localhost'], notBefore: new Date(Date.now() - 3 * 86_400_000), notAfter: new Date(Date.now() - 86_400_000) })
  await registerWith({ url: urlConfig.url, caBundle: Buffer.from(expired.caCert).toString('base64') })
  await writeFile(join(dir, 'tls.key'), expired.key)
  await writeFile(join(dir, 'tls.crt'), expired.cert)
  const want = new (await import('node:crypto')).X509Certificate(expired.cert).fingerprint256
  for (let i = 0; i < 60 && (await tlsServedCertificate('127.0.0.1', webhook.port, '127.0.0.1')).fingerprint256 !== want; i++) await sleep(500)
  const r = await cli('doctor', [])
  t.equal(r.code, 1, r.stdout)
  t.match(lineOf(r.stdout, 'certificate-expiry'), /^✗ certificate-expiry: the certificate served at 127\.0\.0\.1:\d+ expired /)
  t.match(fixAfter(r.stdout, 'certificate-expiry'), /renew/)
  t.match(lineOf(r.stdout, 'ca-bundle'), /^✓ /, 'the caBundle does verify it: only the dates are wrong')
})

t.test('--cluster-view: the webhook\'s /readyz says its cluster view has synced, or why not', async (t) => {
  await registerWith(urlConfig)
  // The webhook without --cluster, checked as if installed with the view.
  const none = await cli('doctor', ['--cluster-view'])
  t.equal(none.code, 1, none.stdout)
  t.match(lineOf(none.stdout, 'cluster-view'), /^✗ cluster-view: the webhook at 127\.0\.0\.1:\d+ does not run the cluster view/)
  t.match(fixAfter(none.stdout, 'cluster-view'), /pod-preflight install --cluster-view \| kubectl apply -f -/)
  t.match(lineOf(none.stdout, 'rbac'), /^✗ rbac: .* may not list namespaces \(cluster-wide\)/, 'nor is the view\'s role bound yet')

  // Installed with the view: its role bound, the webhook run as the service account with it.
  const withView = await cli('install', ['--cluster-view'])
  t.equal(withView.code, 0, withView.stderr)
  const viewRbac = parseAllDocuments(withView.stdout)
    .map((d) => d.toJS() as Obj)
    .filter((o) => (o['kind'] === 'ClusterRole' || o['kind'] === 'ClusterRoleBinding') && o['metadata']['name'] === 'pod-preflight:cluster-view')
  t.equal(viewRbac.length, 2, 'install --cluster-view renders the view\'s role and its binding')
  await cluster.applyYaml(list(viewRbac))
  t.teardown(() => cluster.kubectl(['delete', 'clusterrolebinding', 'pod-preflight:cluster-view', '--ignore-not-found']))
  const sa = await cluster.serviceAccountKubeconfig('pod-preflight', 'pod-preflight')
  const viewDir = await mkdtemp(join(tmpdir(), 'pp-doctor-view-'))
  const viewing = await startWebhook(viewDir, [`--policy=${policyFile}`, '--cluster', `--kubeconfig=${sa.kubeconfigPath}`])
  t.teardown(() => viewing.stop())
  await registerWith({ url: `${viewing.url}/validate`, caBundle: Buffer.from(viewing.caPem).toString('base64') })
  t.teardown(() => registerWith(urlConfig))
  let r = await cli('doctor', ['--cluster-view'])
  for (let i = 0; i < 30 && !/^✓ cluster-view/m.test(r.stdout); i++) {
    await sleep(1_000)
    r = await cli('doctor', ['--cluster-view'])
  }
  t.equal(r.code, 0, r.stdout)
  t.match(lineOf(r.stdout, 'cluster-view'), /^✓ cluster-view: the webhook at 127\.0\.0\.1:\d+: cluster view: synced, state \d+ s old \(Secrets left out, as the shipped role does\)$/)
  t.match(lineOf(r.stdout, 'rbac'), /^✓ rbac: .* has the \d+ permissions the install needs/, 'the view\'s list/watch are among the permissions checked')

  // A view whose role is not bound: every kind is refused; /readyz says so and doctor names it.
  const nobody = await cluster.userKubeconfig('no-view')
  const refusedDir = await mkdtemp(join(tmpdir(), 'pp-doctor-noview-'))
  const refused = await startWebhook(refusedDir, [`--policy=${policyFile}`, '--cluster', `--kubeconfig=${nobody.kubeconfigPath}`], 180_000)
  t.teardown(() => refused.stop())
  await registerWith({ url: `${refused.url}/validate`, caBundle: Buffer.from(refused.caPem).toString('base64') })
  const f = await cli('doctor', ['--cluster-view'])
  t.equal(f.code, 1, f.stdout)
  t.match(lineOf(f.stdout, 'cluster-view'), /^✗ cluster-view: the webhook at 127\.0\.0\.1:\d+: cluster view: synced, state \d+ s old; nodes, resourcequotas, .*pods unavailable \(forbidden\): cluster rules that need these kinds are skipped$/, f.stdout)
  t.notMatch(lineOf(f.stdout, 'cluster-view'), /secrets/, 'Secrets, which the shipped role leaves out, are not held against it')
  t.match(fixAfter(f.stdout, 'cluster-view'), /grant the view its role/)
})

t.test('a webhook that is down fails the handshake with a clear line', async (t) => {
  await webhook.stop()
  const r = await cli('doctor', [])
  t.equal(r.code, 1, r.stdout)
  t.match(lineOf(r.stdout, 'serving-certificate'), /^✗ serving-certificate: webhook validate\.pod-preflight\.io: no TLS handshake with 127\.0\.0\.1:\d+: .*ECONNREFUSED.*the webhook is down/)
})
