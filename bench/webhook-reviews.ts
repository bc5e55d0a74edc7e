/**
 * Realistic AdmissionReview bodies for the webhook benchmark, shaped like what a kube-apiserver
 * sends: objects as `kubectl apply` leaves them (last-applied-configuration annotation,
 * managedFields), UPDATEs with the old object, and, the most common review in a busy cluster,
 * Pods created by a ReplicaSet. The mix holds good, warned and denied objects.
 */
import { randomUUID } from 'node:crypto'

type Obj = Record<string, unknown>

/** A fixed-width token in every template; the load generator may overwrite it with a sequence number. */
export const REVISION_PLACEHOLDER = 'rev-0000000000'
/**
 * The token volume a Kubernetes 1.21+ API server's ServiceAccount admission plugin adds to every
 * Pod, `kube-api-access-` and 5 generated characters, here a fixed 5 that the load generator may
 * overwrite per request, as each Pod of a rollout has its own.
 */
export const TOKEN_VOLUME_PLACEHOLDER = 'kube-api-access-zzzzz'
/** The characters Kubernetes generates names from (no vowels, no 0, 1, 3). */
export const GENERATED_NAME_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789'

function container(name: string, image: string, extra: Obj = {}): Obj {
  return {
    name,
    image,
    imagePullPolicy: 'IfNotPresent',
    ports: [{ name: 'http', containerPort: 8080, protocol: 'TCP' }],
    env: [
      { name: 'LOG_LEVEL', value: 'info' },
      // Rewritten per request in the "unique" mode, so that no two reviews share a template.
      { name: 'RELEASE', value: REVISION_PLACEHOLDER },
      { name: 'POD_NAME', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.name' } } },
      { name: 'DB_PASSWORD', valueFrom: { secretKeyRef: { name: 'db', key: 'password' } } },
    ],
    envFrom: [{ configMapRef: { name: `${name}-config` } }],
    resources: { requests: { cpu: '250m', memory: '256Mi' }, limits: { memory: '256Mi', 'ephemeral-storage': '1Gi' } },
    startupProbe: { httpGet: { path: '/healthz', port: 'http', scheme: 'HTTP' }, periodSeconds: 5, failureThreshold: 24, timeoutSeconds: 1, successThreshold: 1 },
    livenessProbe: { httpGet: { path: '/healthz', port: 'http', scheme: 'HTTP' }, periodSeconds: 10, failureThreshold: 3, timeoutSeconds: 2, successThreshold: 1 },
    readinessProbe: { httpGet: { path: '/ready', port: 'http', scheme: 'HTTP' }, periodSeconds: 5, failureThreshold: 3, timeoutSeconds: 2, successThreshold: 1 },
    volumeMounts: [
      { name: 'config', mountPath: '/etc/app', readOnly: true },
      { name: 'tmp', mountPath: '/tmp' },
    ],
    securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, runAsNonRoot: true, capabilities: { drop: ['ALL'] } },
    terminationMessagePath: '/dev/termination-log',
    terminationMessagePolicy: 'File',
    ...extra,
  }
}

function podSpec(containers: Obj[]): Obj {
  return {
    containers,
    initContainers: [
      { name: 'migrate', image: 'registry.example.com/shop/api:2.14.1', command: ['/app/migrate', '--wait'], resources: { limits: { memory: '128Mi' }, requests: { cpu: '50m', memory: '128Mi' } } },
    ],
    volumes: [
      { name: 'config', configMap: { name: 'api-config', defaultMode: 420 } },
      { name: 'tmp', emptyDir: { sizeLimit: '64Mi' } },
    ],
    restartPolicy: 'Always',
    terminationGracePeriodSeconds: 30,
    dnsPolicy: 'ClusterFirst',
    serviceAccountName: 'api',
    securityContext: { runAsUser: 10001, fsGroup: 10001, seccompProfile: { type: 'RuntimeDefault' } },
    schedulerName: 'default-scheduler',
    nodeSelector: { 'kubernetes.io/os': 'linux' },
    tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'shop', effect: 'NoSchedule' }],
    affinity: {
      podAntiAffinity: {
        preferredDuringSchedulingIgnoredDuringExecution: [
          { weight: 100, podAffinityTerm: { topologyKey: 'kubernetes.io/hostname', labelSelector: { matchLabels: { app: 'api' } } } },
        ],
      },
    },
  }
}

function managedFields(manager: string): Obj[] {
  // The shape of a real FieldsV1 entry: nested maps of f:/k: keys, several levels deep.
  const containerFields: Obj = {
    '.': {},
    'f:env': { '.': {}, 'k:{"name":"LOG_LEVEL"}': { '.': {}, 'f:name': {}, 'f:value': {} } },
    'f:image': {},
    'f:imagePullPolicy': {},
    'f:livenessProbe': { '.': {}, 'f:httpGet': { '.': {}, 'f:path': {}, 'f:port': {}, 'f:scheme': {} }, 'f:periodSeconds': {} },
    'f:ports': { '.': {}, 'k:{"containerPort":8080,"protocol":"TCP"}': { '.': {}, 'f:containerPort': {}, 'f:name': {}, 'f:protocol': {} } },
    'f:resources': { '.': {}, 'f:limits': { '.': {}, 'f:memory': {} }, 'f:requests': { '.': {}, 'f:cpu': {}, 'f:memory': {} } },
  }
  return [
    {
      manager,
      operation: 'Update',
      apiVersion: 'apps/v1',
      time: '2024-05-01T10:00:00Z',
      fieldsType: 'FieldsV1',
      fieldsV1: {
        'f:metadata': { 'f:annotations': { '.': {}, 'f:kubectl.kubernetes.io/last-applied-configuration': {} }, 'f:labels': { '.': {}, 'f:app': {} } },
        'f:spec': { 'f:replicas': {}, 'f:template': { 'f:spec': { 'f:containers': { 'k:{"name":"api"}': containerFields } } } },
      },
    },
  ]
}

function applied(object: Obj): Obj {
  const meta = object['metadata'] as Obj
  const lastApplied = JSON.stringify({ apiVersion: object['apiVersion'], kind: object['kind'], metadata: { name: meta['name'], namespace: meta['namespace'], labels: meta['labels'] }, spec: object['spec'] })
  return {
    ...object,
    metadata: {
      ...meta,
      uid: randomUUID(),
      resourceVersion: '123456',
      generation: 3,
      creationTimestamp: '2024-05-01T10:00:00Z',
      annotations: { 'kubectl.kubernetes.io/last-applied-configuration': lastApplied, 'deployment.kubernetes.io/revision': '3' },
      managedFields: managedFields('kubectl-client-side-apply'),
    },
  }
}

function deployment(name: string, containers: Obj[], replicas = 3): Obj {
  return applied({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: 'shop', labels: { app: name, 'app.kubernetes.io/part-of': 'shop' } },
    spec: {
      replicas,
      revisionHistoryLimit: 10,
      progressDeadlineSeconds: 600,
      selector: { matchLabels: { app: name } },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: 0 } },
      template: { metadata: { labels: { app: name }, annotations: { 'prometheus.io/scrape': 'true' } }, spec: podSpec(containers) },
    },
    status: { observedGeneration: 2, replicas: 3, updatedReplicas: 3, readyReplicas: 3, availableReplicas: 3 },
  })
}

/** A Pod's spec as the API server's admission plugins leave it: the token volume mounted into every container. */
function admittedPodSpec(containers: Obj[]): Obj {
  const token = { name: TOKEN_VOLUME_PLACEHOLDER, readOnly: true, mountPath: '/var/run/secrets/kubernetes.io/serviceaccount' }
  const mounted = (c: Obj): Obj => ({ ...c, volumeMounts: [...((c['volumeMounts'] as Obj[] | undefined) ?? []), token] })
  const spec = podSpec(containers.map(mounted))
  return {
    ...spec,
    initContainers: (spec['initContainers'] as Obj[]).map(mounted),
    volumes: [
      ...(spec['volumes'] as Obj[]),
      {
        name: TOKEN_VOLUME_PLACEHOLDER,
        projected: {
          defaultMode: 420,
          sources: [
            { serviceAccountToken: { expirationSeconds: 3607, path: 'token' } },
            { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
            { downwardAPI: { items: [{ path: 'namespace', fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } }] } },
          ],
        },
      },
    ],
  }
}

function controllerPod(name: string, containers: Obj[]): Obj {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      generateName: `${name}-7d4b9c6f5-`,
      namespace: 'shop',
      labels: { app: name, 'pod-template-hash': '7d4b9c6f5' },
      annotations: { 'prometheus.io/scrape': 'true' },
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: `${name}-7d4b9c6f5`, uid: randomUUID(), controller: true, blockOwnerDeletion: true }],
      managedFields: managedFields('kube-controller-manager'),
    },
    spec: { ...admittedPodSpec(containers), enableServiceLinks: true, preemptionPolicy: 'PreemptLowerPriority', priority: 0 },
    status: { phase: 'Pending', qosClass: 'Burstable' },
  }
}

function review(object: Obj, operation: 'CREATE' | 'UPDATE', oldObject?: Obj): Obj {
  const apiVersion = String(object['apiVersion'])
  const slash = apiVersion.indexOf('/')
  const group = slash < 0 ? '' : apiVersion.slice(0, slash)
  const version = slash < 0 ? apiVersion : apiVersion.slice(slash + 1)
  const kind = String(object['kind'])
  const meta = object['metadata'] as Obj
  const resource = { group, version, resource: `${kind.toLowerCase()}s` }
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: randomUUID(),
      kind: { group, version, kind },
      resource,
      requestKind: { group, version, kind },
      requestResource: resource,
      name: meta['name'] ?? '',
      namespace: 'shop',
      operation,
      userInfo: { username: 'system:serviceaccount:kube-system:replicaset-controller', uid: randomUUID(), groups: ['system:serviceaccounts', 'system:serviceaccounts:kube-system', 'system:authenticated'] },
      object,
      oldObject: oldObject ?? null,
      dryRun: false,
      options: { apiVersion: 'meta.k8s.io/v1', kind: operation === 'CREATE' ? 'CreateOptions' : 'UpdateOptions', fieldManager: 'kubectl-client-side-apply' },
    },
  }
}

export interface BenchReview {
  name: string
  body: Buffer
}

/** The good Pod's containers: the shop's API and an Envoy sidecar, from a private and a public registry. */
function apiContainers(): Obj[] {
  return [container('api', 'registry.example.com/shop/api:2.14.1'), container('proxy', 'envoyproxy/envoy:v1.30.1', { ports: [{ name: 'admin', containerPort: 9901, protocol: 'TCP' }], livenessProbe: undefined, readinessProbe: undefined, startupProbe: undefined })]
}

/** The review mix, in the order the load generator cycles through it. */
export function benchReviews(): BenchReview[] {
  const api = apiContainers()
  const warned = [container('api', 'registry.example.com/shop/api:latest', { imagePullPolicy: 'Never' })]
  const denied = [container('api', 'busybox:1.36.1', { command: ['python app.py'], resources: { limits: { memory: '512m' } } })]
  const before = deployment('api', api, 3)
  const after = deployment('api', api, 5)
  const list: [string, Obj][] = [
    ['Pod CREATE (ReplicaSet-owned)', review(controllerPod('api', api), 'CREATE')],
    ['Deployment CREATE (good)', review(deployment('api', api), 'CREATE')],
    ['Pod CREATE (ReplicaSet-owned)', review(controllerPod('api', api), 'CREATE')],
    ['Deployment UPDATE (scale)', review(after, 'UPDATE', before)],
    ['Pod CREATE (ReplicaSet-owned)', review(controllerPod('api', api), 'CREATE')],
    ['Deployment CREATE (warned)', review(deployment('web', warned), 'CREATE')],
    ['Pod CREATE (ReplicaSet-owned)', review(controllerPod('api', api), 'CREATE')],
    ['Deployment CREATE (denied)', review(deployment('worker', denied), 'CREATE')],
  ]
  return list.map(([name, body]) => ({ name, body: Buffer.from(JSON.stringify(body)) }))
}

/**
 * A ReplicaSet's Pod answered with a plain yes: the mix's Pod with a pull secret for its private
 * registry, so no rule warns. Not in the mix; `bench:webhook:cpu` measures it as a class of its own
 * (what a review costs when nothing is found, and with `--review-log warned` not logged).
 */
export function quietPodReview(): Buffer {
  const pod = controllerPod('api', apiContainers())
  pod['spec'] = { ...(pod['spec'] as Obj), imagePullSecrets: [{ name: 'registry-example-com' }] }
  return Buffer.from(JSON.stringify(review(pod, 'CREATE')))
}

/** The body of the bench review of that name; throws when there is none. */
export function benchReview(name: string): Buffer {
  const r = benchReviews().find((x) => x.name === name)
  if (r === undefined) throw new Error(`no bench review named ${name}`)
  return r.body
}
