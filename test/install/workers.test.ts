/**
 * install --workers and --hpa: the Deployment's args and resources follow the worker count, and
 * the autoscaler is rendered in the API version the target server serves.
 */
import t from 'tap'
import { memoryIO } from '../../src/cli/io.js'
import { main } from '../../src/cli/main.js'
import { renderWith } from '../../src/install/generate.js'
import { renderUninstall, type KubeObject } from '../../src/install/render.js'

type Any = Record<string, any>

function find(objects: readonly KubeObject[], kind: string): Any | undefined {
  return objects.find((o) => o.kind === kind) as Any | undefined
}

function container(objects: readonly KubeObject[]): Any {
  return find(objects, 'Deployment')?.['spec']['template']['spec']['containers'][0] as Any
}

t.test('one process by default: no --workers, 100m and 256Mi, no autoscaler', async (t) => {
  const { objects } = await renderWith({})
  const c = container(objects)
  t.notOk((c['args'] as string[]).some((a) => a.startsWith('--workers')))
  t.same(c['resources'], { requests: { cpu: '100m', memory: '256Mi', 'ephemeral-storage': '16Mi' }, limits: { memory: '256Mi', 'ephemeral-storage': '64Mi' } })
  t.equal(find(objects, 'HorizontalPodAutoscaler'), undefined)
  t.equal(find(objects, 'Deployment')?.['spec']['replicas'], 2)
})

t.test('--workers N: serve --workers=N, one core per worker, 256Mi per worker plus 128Mi for the primary', async (t) => {
  for (const [n, memory] of [[2, '640Mi'], [4, '1152Mi']] as const) {
    const { objects, describe } = await renderWith({ workers: n })
    const c = container(objects)
    t.ok((c['args'] as string[]).includes(`--workers=${n}`))
    t.same(c['resources'], { requests: { cpu: String(n), memory, 'ephemeral-storage': '16Mi' }, limits: { memory, 'ephemeral-storage': '64Mi' } })
    t.same(c['env'][0], { name: 'NODE_OPTIONS', value: '--max-old-space-size=96' }, 'the heap cap stays per process')
    t.match(describe, `of ${n} workers`)
  }
})

t.test('--hpa MAX: autoscaling/v2 from Kubernetes 1.23, v2beta2 before; the Deployment leaves its replicas to it', async (t) => {
  for (const [minor, apiVersion] of [[20, 'autoscaling/v2beta2'], [22, 'autoscaling/v2beta2'], [23, 'autoscaling/v2'], [30, 'autoscaling/v2']] as const) {
    const { objects } = await renderWith({ workers: 2, hpaMaxReplicas: 6 }, { major: 1, minor })
    const hpa = find(objects, 'HorizontalPodAutoscaler')
    t.equal(hpa?.['apiVersion'], apiVersion, `1.${minor}`)
    t.same(hpa?.['spec'], {
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'pod-preflight' },
      minReplicas: 2,
      maxReplicas: 6,
      metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } } }],
    })
    t.notOk('replicas' in (find(objects, 'Deployment')?.['spec'] as Any), 'no replica count an apply would reset')
    t.equal(find(renderUninstall({ namespace: 'pod-preflight', kubeVersion: { major: 1, minor }, certificates: 'self-managed', tlsSecretName: 'pod-preflight-tls', deleteNamespace: true }), 'HorizontalPodAutoscaler')?.['apiVersion'], apiVersion, 'uninstall lists it')
  }
  const single = await renderWith({ hpaMaxReplicas: 4 })
  t.equal(container(single.objects)['resources']['requests']['cpu'], '1', 'one process under an autoscaler requests a core, so that 70% means something')
})

t.test('bad values are refused with the flag named', async (t) => {
  for (const [args, message] of [
    [['--workers=0'], /--workers: 0 is outside 1\.\.64/],
    [['--workers=many'], /--workers: "many" is not a whole number/],
    [['--replicas=3', '--hpa=2'], /--hpa: 2 is outside 3\.\.50 \(at least --replicas/],
    [['--hpa=x'], /--hpa: "x" is not a whole number/],
  ] as const) {
    const io = memoryIO()
    t.equal(await main(['install', '--kube-version=1.30', ...args], io), 2, args.join(' '))
    t.match(io.err(), message)
  }
  const help = memoryIO()
  t.equal(await main(['install', '--help'], help), 0)
  t.match(help.out(), /--workers <n>/)
  t.match(help.out(), /--hpa <max>/)
})
