import t from 'tap'
import { exitStatus, formatJson, formatText, MAX_MESSAGE, type CheckResult } from '../../src/doctor/report.js'
import { rulesFromObjects } from '../../src/doctor/checks.js'
import type { KubeObject } from '../../src/install/render.js'

const pass: CheckResult = { id: 'rbac', verdict: 'pass', message: 'has the 4 permissions the install needs', fix: 'never shown for a pass' }
const fail: CheckResult = { id: 'ca-bundle', verdict: 'fail', message: 'the caBundle does not verify the served certificate', fix: 'kubectl -n pod-preflight rollout restart deploy/pod-preflight' }
const warn: CheckResult = { id: 'certificate-expiry', verdict: 'warn', message: 'expires in 3 days', fix: 'renew it' }

t.test('text: one line per check with its mark, a fix under each that did not pass, and a summary', async (t) => {
  t.equal(
    formatText([pass, fail, warn]),
    '✓ rbac: has the 4 permissions the install needs\n' +
      '✗ ca-bundle: the caBundle does not verify the served certificate\n' +
      '    fix: kubectl -n pod-preflight rollout restart deploy/pod-preflight\n' +
      '! certificate-expiry: expires in 3 days\n' +
      '    fix: renew it\n' +
      '1 of 3 checks failed\n',
  )
  t.equal(formatText([pass, warn]).split('\n').at(-2), 'all 2 checks passed (1 with a warning)')
  t.equal(formatText([pass]).split('\n').at(-2), 'all 1 checks passed')
})

t.test('exit status: 1 only when a check failed; a warning alone is 0', async (t) => {
  t.equal(exitStatus([pass, warn]), 0)
  t.equal(exitStatus([pass, fail]), 1)
  t.equal(exitStatus([]), 0)
})

t.test('text from the cluster is escaped and shortened, in text and JSON', async (t) => {
  const hostile: CheckResult = { id: 'policy', verdict: 'fail', message: `bad\u001b[31m red\nDENY ${'x'.repeat(5000)}`, fix: 'edit\rit' }
  const text = formatText([hostile])
  t.notMatch(text, /\u001b/, 'no raw escape reaches the terminal')
  t.equal(text.split('\n').length, 4, 'the message stays on its line (check, fix, summary, end)')
  t.ok((text.split('\n')[0] ?? '').length <= MAX_MESSAGE + 20, 'shortened')
  const j = JSON.parse(formatJson([hostile])) as { ok: boolean; checks: { message: string; fix: string }[] }
  t.equal(j.ok, false)
  t.notMatch(j.checks[0]?.message ?? '', /[\u0000-\u001f]/)
  t.notMatch(j.checks[0]?.fix ?? '', /\r/)
})

t.test('json: ok, and every check with id, verdict, message and fix when given', async (t) => {
  const j = JSON.parse(formatJson([pass, fail])) as unknown
  t.same(j, {
    ok: false,
    checks: [
      { id: 'rbac', verdict: 'pass', message: pass.message, fix: pass.fix },
      { id: 'ca-bundle', verdict: 'fail', message: fail.message, fix: fail.fix },
    ],
  })
  t.same((JSON.parse(formatJson([pass])) as { ok: boolean }).ok, true)
})

t.test('rulesFromObjects: the permissions of roles bound to the service account, and nothing else', async (t) => {
  const meta = (name: string, namespace?: string) => ({ name, ...(namespace !== undefined ? { namespace } : {}) })
  const objects: KubeObject[] = [
    { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: meta('certs', 'pp'), rules: [{ apiGroups: [''], resources: ['secrets'], resourceNames: ['pp-tls'], verbs: ['get', 'update'] }] },
    { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: meta('certs', 'pp'), roleRef: { kind: 'Role', name: 'certs' }, subjects: [{ kind: 'ServiceAccount', name: 'sa', namespace: 'pp' }] },
    { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: meta('vwc'), rules: [{ apiGroups: ['admissionregistration.k8s.io'], resources: ['validatingwebhookconfigurations'], verbs: ['patch'] }] },
    { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: meta('vwc'), roleRef: { kind: 'ClusterRole', name: 'vwc' }, subjects: [{ kind: 'ServiceAccount', name: 'sa', namespace: 'pp' }] },
    // Near misses: a role bound to another account, and a role bound to nobody.
    { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: meta('other'), rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['list'] }] },
    { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: meta('other'), roleRef: { kind: 'ClusterRole', name: 'other' }, subjects: [{ kind: 'ServiceAccount', name: 'sa', namespace: 'elsewhere' }] },
    { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: meta('lonely', 'pp'), rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get'] }] },
  ]
  t.same(rulesFromObjects(objects, 'pp', 'sa'), [
    { verb: 'get', group: '', resource: 'secrets', name: 'pp-tls', namespace: 'pp' },
    { verb: 'update', group: '', resource: 'secrets', name: 'pp-tls', namespace: 'pp' },
    { verb: 'patch', group: 'admissionregistration.k8s.io', resource: 'validatingwebhookconfigurations' },
  ])
})
