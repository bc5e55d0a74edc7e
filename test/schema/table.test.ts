/**
 * The schema check, kind by kind: a misspelt field (with the name suggested), a value of the
 * wrong type and a missing required field, each on a valid object of that kind, at the path
 * given; and the valid object itself stays silent. Run against every shipped version.
 */
import t from 'tap'
import { kubernetesSchemas, SHIPPED_VERSIONS, DEFAULT_KUBERNETES_VERSION, shippedVersion } from '../../src/schema/kubernetes.js'
import { formatPath } from '../../src/input/field-path.js'
import type { SchemaIssue } from '../../src/engine/rule.js'

type Obj = Record<string, unknown>
const podSpec = (): Obj => ({ containers: [{ name: 'app', image: 'registry.example.com/app:1.0', resources: { limits: { memory: '256Mi', cpu: 1 } } }] })
const template = (): Obj => ({ metadata: { labels: { app: 'a' } }, spec: podSpec() })
const selector = { matchLabels: { app: 'a' } }

interface Row {
  kind: string
  valid: () => Obj
  /** A change that introduces one issue, and the issue expected: `path problem [suggestion|expected]`. */
  cases: { what: string; change: (o: Obj) => void; expect: string | string[] }[]
}

function at(o: Obj, path: (string | number)[]): Obj {
  let node: unknown = o
  for (const p of path) node = (node as Record<string | number, unknown>)[p]
  return node as Obj
}
function rename(path: (string | number)[], from: string, to: string) {
  return (o: Obj): void => {
    const parent = at(o, path)
    parent[to] = parent[from]
    delete parent[from]
  }
}
function set(path: (string | number)[], key: string, value: unknown) {
  return (o: Obj): void => {
    at(o, path)[key] = value
  }
}
function remove(path: (string | number)[], key: string) {
  return (o: Obj): void => {
    delete at(o, path)[key]
  }
}

const C = ['spec', 'containers', 0]
const TC = ['spec', 'template', 'spec', 'containers', 0]
const rows: Row[] = [
  {
    kind: 'Pod',
    valid: () => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: podSpec() }),
    cases: [
      { what: 'limts', change: rename([...C, 'resources'], 'limits', 'limts'), expect: 'spec.containers[0].resources.limts unknown-field limits' },
      { what: 'imagePullPolicy misspelt', change: set(C, 'imagePulPolicy', 'Always'), expect: 'spec.containers[0].imagePulPolicy unknown-field imagePullPolicy' },
      { what: 'env value number', change: set(C, 'env', [{ name: 'PORT', value: 8080 }]), expect: 'spec.containers[0].env[0].value wrong-type string' },
      { what: 'command a string', change: set(C, 'command', '/app --serve'), expect: 'spec.containers[0].command wrong-type list' },
      { what: 'container without name', change: remove(C, 'name'), expect: 'spec.containers[0].name missing-field' },
      { what: 'no containers', change: remove(['spec'], 'containers'), expect: 'spec.containers missing-field' },
      { what: 'hostNetwork a string', change: set(['spec'], 'hostNetwork', 'true'), expect: 'spec.hostNetwork wrong-type boolean' },
    ],
  },
  {
    kind: 'Deployment',
    valid: () => ({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd' }, spec: { replicas: 2, selector, template: template() } }),
    cases: [
      { what: 'replicas a string', change: set(['spec'], 'replicas', '2'), expect: 'spec.replicas wrong-type integer' },
      { what: 'no selector', change: remove(['spec'], 'selector'), expect: 'spec.selector missing-field' },
      { what: 'tempalte', change: rename(['spec'], 'template', 'tempalte'), expect: ['spec.tempalte unknown-field template', 'spec.template missing-field'] },
      { what: 'limts', change: rename([...TC, 'resources'], 'limits', 'limts'), expect: 'spec.template.spec.containers[0].resources.limts unknown-field limits' },
      { what: 'containerPort a string', change: set(TC, 'ports', [{ containerPort: '8080' }]), expect: 'spec.template.spec.containers[0].ports[0].containerPort wrong-type integer' },
    ],
  },
  {
    kind: 'StatefulSet',
    valid: () => ({ apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 's' }, spec: { serviceName: 's', selector, template: template() } }),
    cases: [
      { what: 'volumeClaimTemplate', change: set(['spec'], 'volumeClaimTemplate', []), expect: 'spec.volumeClaimTemplate unknown-field volumeClaimTemplates' },
      { what: 'no template', change: remove(['spec'], 'template'), expect: 'spec.template missing-field' },
    ],
  },
  {
    kind: 'DaemonSet',
    valid: () => ({ apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: { name: 'ds' }, spec: { selector, template: template() } }),
    cases: [
      { what: 'replicas on a DaemonSet', change: set(['spec'], 'replicas', 3), expect: 'spec.replicas unknown-field' },
      { what: 'tolerations a map', change: set(['spec', 'template', 'spec'], 'tolerations', { key: 'x' }), expect: 'spec.template.spec.tolerations wrong-type list' },
    ],
  },
  {
    kind: 'Job',
    valid: () => ({ apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'j' }, spec: { backoffLimit: 2, template: { spec: { ...podSpec(), restartPolicy: 'Never' } } } }),
    cases: [
      { what: 'backofLimit', change: rename(['spec'], 'backoffLimit', 'backofLimit'), expect: 'spec.backofLimit unknown-field backoffLimit' },
      { what: 'RestartPolicy', change: rename(['spec', 'template', 'spec'], 'restartPolicy', 'RestartPolicy'), expect: 'spec.template.spec.RestartPolicy unknown-field restartPolicy' },
    ],
  },
  {
    kind: 'CronJob',
    valid: () => ({ apiVersion: 'batch/v1', kind: 'CronJob', metadata: { name: 'c' }, spec: { schedule: '0 * * * *', jobTemplate: { spec: { template: { spec: { ...podSpec(), restartPolicy: 'OnFailure' } } } } } }),
    cases: [
      { what: 'no schedule', change: remove(['spec'], 'schedule'), expect: 'spec.schedule missing-field' },
      { what: 'suspend a string', change: set(['spec'], 'suspend', 'yes'), expect: 'spec.suspend wrong-type boolean' },
    ],
  },
  {
    kind: 'Service',
    valid: () => ({ apiVersion: 'v1', kind: 'Service', metadata: { name: 's' }, spec: { selector: { app: 'a' }, ports: [{ port: 80, targetPort: 'http' }] } }),
    cases: [
      { what: 'targetport', change: rename(['spec', 'ports', 0], 'targetPort', 'targetport'), expect: 'spec.ports[0].targetport unknown-field targetPort' },
      { what: 'no port', change: remove(['spec', 'ports', 0], 'port'), expect: 'spec.ports[0].port missing-field' },
      { what: 'port a string', change: set(['spec', 'ports', 0], 'port', '80'), expect: 'spec.ports[0].port wrong-type integer' },
    ],
  },
  {
    kind: 'ConfigMap',
    valid: () => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: { a: 'b' } }),
    cases: [
      { what: 'data value a number', change: set(['data'], 'port', 8080), expect: 'data.port wrong-type string' },
      { what: 'metdata', change: rename([], 'metadata', 'metdata'), expect: 'metdata unknown-field metadata' },
    ],
  },
  {
    kind: 'Ingress',
    valid: () => ({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'Ingress',
      metadata: { name: 'i' },
      spec: { rules: [{ host: 'a.example.com', http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 's', port: { number: 80 } } } }] } }] },
    }),
    cases: [
      { what: 'no pathType', change: remove(['spec', 'rules', 0, 'http', 'paths', 0], 'pathType'), expect: 'spec.rules[0].http.paths[0].pathType missing-field' },
      { what: 'serviceName (v1beta1)', change: set(['spec', 'rules', 0, 'http', 'paths', 0, 'backend'], 'serviceName', 's'), expect: 'spec.rules[0].http.paths[0].backend.serviceName unknown-field' },
    ],
  },
  {
    kind: 'HorizontalPodAutoscaler',
    valid: () => ({ apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler', metadata: { name: 'h' }, spec: { scaleTargetRef: { kind: 'Deployment', name: 'd' }, maxReplicas: 5 } }),
    cases: [
      { what: 'no maxReplicas', change: remove(['spec'], 'maxReplicas'), expect: 'spec.maxReplicas missing-field' },
      { what: 'minReplica', change: set(['spec'], 'minReplica', 1), expect: 'spec.minReplica unknown-field minReplicas' },
    ],
  },
  {
    kind: 'Role',
    valid: () => ({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: 'r' }, rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get'] }] }),
    cases: [
      { what: 'no verbs', change: remove(['rules', 0], 'verbs'), expect: 'rules[0].verbs missing-field' },
      { what: 'verbs a string', change: set(['rules', 0], 'verbs', 'get'), expect: 'rules[0].verbs wrong-type list' },
    ],
  },
]

function show(i: SchemaIssue): string {
  const extra = i.problem === 'unknown-field' ? (i.suggestion ?? '') : i.problem === 'wrong-type' ? (i.expected ?? '') : ''
  return `${formatPath(i.path)} ${i.problem}${extra !== '' ? ` ${extra}` : ''}`
}

for (const version of SHIPPED_VERSIONS) {
  const schemas = kubernetesSchemas({ version })
  t.test(`Kubernetes ${version}`, async (t) => {
    for (const row of rows) {
      t.test(row.kind, async (t) => {
        const valid = row.valid()
        t.same(schemas.validate(valid, 20)?.issues.map(show), [], 'the valid object has no issue')
        for (const c of row.cases) {
          const o = structuredClone(valid)
          c.change(o)
          t.same(schemas.validate(o, 20)?.issues.map(show).sort(), (Array.isArray(c.expect) ? c.expect : [c.expect]).slice().sort(), c.what)
        }
      })
    }
  })
}

t.test('nulls, quantities and int-or-string read as the API server reads them', async (t) => {
  const s = kubernetesSchemas()
  const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', creationTimestamp: null, labels: null }, spec: { ...podSpec(), nodeSelector: null } }
  t.same(s.validate(pod, 20)?.issues, [])
  const q = structuredClone(pod) as Obj
  at(q, C)['resources'] = { requests: { cpu: 0.5, memory: 1073741824 }, limits: { cpu: '2', memory: '1Gi' } }
  at(q, C)['livenessProbe'] = { httpGet: { port: 'http' }, periodSeconds: 5 }
  at(q, C)['readinessProbe'] = { tcpSocket: { port: 8080 } }
  t.same(s.validate(q, 20)?.issues, [])
  const bad = structuredClone(q) as Obj
  at(bad, C)['livenessProbe'] = { httpGet: { port: true } }
  t.same(s.validate(bad, 20)?.issues.map(show), ['spec.containers[0].livenessProbe.httpGet.port wrong-type integer or string'])
})

t.test('issues are capped per object and the rest counted', async (t) => {
  const s = kubernetesSchemas()
  const containers = Array.from({ length: 500 }, (_, i) => ({ name: `c${i}`, image: 'x', imagePulPolicy: 'Always' }))
  const r = s.validate({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { containers } }, 20)
  t.equal(r?.issues.length, 20)
  t.equal(r?.more, 480)
})

t.test('kinds without a schema are not judged', async (t) => {
  const s = kubernetesSchemas()
  t.equal(s.covers('example.com/v1', 'Widget'), false, 'a custom resource without its CRD')
  t.equal(s.covers('extensions/v1beta1', 'Deployment'), false, 'an apiVersion Kubernetes no longer serves')
  t.equal(s.validate({ apiVersion: 'example.com/v1', kind: 'Widget', spec: { x: 1 } }, 20), undefined)
  t.equal(s.covers('apps/v1', 'Deployment'), true)
})

t.test('versions', async (t) => {
  t.equal(DEFAULT_KUBERNETES_VERSION, SHIPPED_VERSIONS[SHIPPED_VERSIONS.length - 1], 'the newest is the default')
  t.equal(shippedVersion('v1.34.2'), '1.34')
  t.equal(shippedVersion('1.36'), '1.36')
  t.equal(shippedVersion('1.35'), undefined, 'a version not shipped')
  t.equal(shippedVersion('latest'), undefined)
})
