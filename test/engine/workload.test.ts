import t from 'tap'
import { extractPod, isPodBearing } from '../../src/engine/workload.js'

const tpl = { metadata: { labels: { a: 'b' } }, spec: { containers: [{ name: 'c', image: 'nginx:1.27' }] } }

t.test('pod templates of every kind, at the right path, with replicas', async (t) => {
  const cases: Array<[unknown, string, boolean, number | undefined]> = [
    [{ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: tpl.spec }, 'spec', true, 1],
    [{ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { ...tpl.spec, restartPolicy: 'Never' } }, 'spec', false, 1],
    [{ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd' }, spec: { replicas: 3, template: tpl } }, 'spec.template.spec', true, 3],
    [{ apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 's' }, spec: { template: tpl } }, 'spec.template.spec', true, 1],
    [{ apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: { name: 'ds' }, spec: { template: tpl } }, 'spec.template.spec', true, undefined],
    [{ apiVersion: 'v1', kind: 'ReplicationController', metadata: { name: 'rc' }, spec: { replicas: 2, template: tpl } }, 'spec.template.spec', true, 2],
    [{ apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'j' }, spec: { parallelism: 4, template: tpl } }, 'spec.template.spec', false, 4],
    [{ apiVersion: 'batch/v1', kind: 'CronJob', metadata: { name: 'cj' }, spec: { jobTemplate: { spec: { template: tpl } } } }, 'spec.jobTemplate.spec.template.spec', false, 1],
  ]
  for (const [obj, specPath, longRunning, replicas] of cases) {
    const { pod, problems } = extractPod(obj)
    t.same(problems, [])
    t.equal(pod?.specPath, specPath)
    t.equal(pod?.longRunning, longRunning, `${pod?.kind} long-running`)
    t.equal(pod?.replicas, replicas, `${pod?.kind} replicas`)
    t.equal(pod?.containers[0]?.path, `${specPath}.containers[0]`)
  }
})

t.test('wrong and removed apiVersions are recognised and reported', async (t) => {
  t.ok(isPodBearing({ apiVersion: 'v1', kind: 'Deployment' }), 'a built-in kind under the wrong group is still judged')
  t.notOk(isPodBearing({ apiVersion: 'example.com/v1', kind: 'Deployment' }), 'a custom resource named Deployment is not ours')
  const wrong = extractPod({ apiVersion: 'v1', kind: 'Deployment', metadata: { name: 'd' }, spec: { template: tpl } })
  t.ok(wrong.pod, 'still judged')
  t.match(wrong.problems[0]?.message ?? '', /apiVersion v1 has no Deployment: .*use apiVersion: apps\/v1/)
  t.equal(wrong.problems[0]?.severity, undefined, 'an error')
  const old = extractPod({ apiVersion: 'extensions/v1beta1', kind: 'Deployment', metadata: { name: 'd' }, spec: { template: tpl } })
  t.equal(old.problems[0]?.severity, 'warning')
  t.match(old.problems[0]?.message ?? '', /no longer served since Kubernetes 1\.16/)
})

t.test('native sidecars are long-running, other init containers are not', async (t) => {
  const { pod } = extractPod({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'p' },
    spec: { initContainers: [{ name: 'i', image: 'x:1' }, { name: 's', image: 'x:1', restartPolicy: 'Always' }], containers: [{ name: 'c', image: 'x:1' }] },
  })
  t.same(pod?.containers.map((c) => `${c.kind}:${c.name}:${c.longRunning}`), ['initContainer:i:false', 'initContainer:s:true', 'container:c:true'])
})
