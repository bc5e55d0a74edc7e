import t from 'tap'
import { cacheKey, generatedTokenVolume, sharable } from '../../src/admission/verdict-cache.js'
import type { Evaluation } from '../../src/engine/evaluate.js'

/** A Pod as the ServiceAccount admission plugin (1.21+) leaves it, with `value` as an env value. */
function pod(token: string, value = 'v', kind = 'Pod'): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind,
    metadata: { name: `web-${token}`, namespace: 'a' },
    spec: {
      containers: [{ name: 'app', image: 'r.example/a:1', env: [{ name: 'X', value }], volumeMounts: [{ name: token, mountPath: '/var/run/secrets/kubernetes.io/serviceaccount', readOnly: true }] }],
      volumes: [{ name: 'data', emptyDir: {} }, { name: token, projected: { sources: [{ serviceAccountToken: { path: 'token' } }] } }],
    },
  }
}

const keyOf = (o: Record<string, unknown>): string => cacheKey(o, 'a', '', generatedTokenVolume(o))

t.test('the generated token volume: a projected volume named kube-api-access- and 5 characters, of a Pod', async (t) => {
  t.equal(generatedTokenVolume(pod('kube-api-access-x7k2q')), 'kube-api-access-x7k2q')
  t.equal(generatedTokenVolume(pod('kube-api-access-x7k2')), undefined, 'four characters')
  t.equal(generatedTokenVolume(pod('kube-api-access-x7k2qq')), undefined, 'six characters')
  t.equal(generatedTokenVolume(pod('kube-api-access-X7K2Q')), undefined, 'upper case is not generated')
  t.equal(generatedTokenVolume(pod('my-kube-api-access-x7k2q')), undefined)
  t.equal(generatedTokenVolume(pod('kube-api-access-x7k2q', 'v', 'Deployment')), undefined, 'only Pods get one')
  t.equal(generatedTokenVolume({ kind: 'Pod', spec: { volumes: 'no' } }), undefined)
  t.equal(generatedTokenVolume({ kind: 'Pod', spec: { volumes: [null, { name: 'kube-api-access-x7k2q', emptyDir: {} }] } }), undefined, 'not projected')
})

t.test('two Pods that differ only in their token volume names have one key', async (t) => {
  t.equal(keyOf(pod('kube-api-access-x7k2q')), keyOf(pod('kube-api-access-9mzbd')))
  t.not(keyOf(pod('kube-api-access-x7k2q', 'v')), keyOf(pod('kube-api-access-9mzbd', 'w')), 'anything else still counts')
  t.not(cacheKey(pod('kube-api-access-x7k2q'), 'a', ''), cacheKey(pod('kube-api-access-9mzbd'), 'a', ''), 'without the rename they differ')
  // The name is renamed wherever it occurs, consistently: a value naming the Pod's own volume
  // matches a value naming the other Pod's own, and nothing else.
  t.equal(keyOf(pod('kube-api-access-x7k2q', 'kube-api-access-x7k2q')), keyOf(pod('kube-api-access-9mzbd', 'kube-api-access-9mzbd')))
  t.not(keyOf(pod('kube-api-access-x7k2q', 'kube-api-access-x7k2q')), keyOf(pod('kube-api-access-9mzbd', 'kube-api-access-x7k2q')))
  // The placeholder cannot be written in an object: JSON.stringify escapes its NUL.
  t.not(keyOf(pod('kube-api-access-x7k2q', 'kube-api-access-x7k2q')), keyOf(pod('kube-api-access-9mzbd', 'kube-api-access-\u0000')))
})

t.test('an evaluation whose texts name the token volume is not sharable', async (t) => {
  const e = (message: string, path = 'spec.volumes[1]'): Evaluation => ({ findings: [{ rule: 'r', action: 'warn', path, message, fix: 'f' }], problems: [], skipped: [] }) as unknown as Evaluation
  t.ok(sharable(e('volume data'), 'kube-api-access-x7k2q'))
  t.ok(sharable(e('volume kube-api-access-x7k2q'), undefined), 'no token volume: always')
  t.notOk(sharable(e('volume kube-api-access-x7k2q'), 'kube-api-access-x7k2q'))
  t.notOk(sharable(e('m', 'spec.volumes[kube-api-access-x7k2q]'), 'kube-api-access-x7k2q'), 'in a path too')
  t.notOk(sharable({ findings: [], problems: [{ severity: 'warning', message: 'kube-api-access-x7k2q' }], skipped: [] } as unknown as Evaluation, 'kube-api-access-x7k2q'), 'in a problem')
})
