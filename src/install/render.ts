/**
 * Every object of an installation of the webhook, from a typed set of options: what
 * `pod-preflight install` prints and what manifests/ is generated from. Pure: no I/O.
 *
 * Objects come out in the order `kubectl apply -f -` needs them: the namespace first, the
 * ValidatingWebhookConfiguration last (so the API server is told about the webhook only after
 * everything it calls exists).
 */
import { atLeast, formatKubeVersion, type KubeVersion } from './kube-version.js'
import { NOT_OWNED_CONDITION, notOwnedExpression } from '../admission/owners.js'
import type { PolicyMode } from './policy.js'
import { REPORT_GROUP } from '../audit/policy-report.js'
import { policyReportCrds } from './report-crds.js'

export type CertificateMode = 'self-managed' | 'cert-manager' | 'provided'
export const CERTIFICATE_MODES: readonly CertificateMode[] = ['self-managed', 'cert-manager', 'provided']

export interface InstallOptions {
  namespace: string
  replicas: number
  image: string
  kubeVersion: KubeVersion
  /** Run `serve --cluster` and bind the read-only cluster view role. */
  clusterView: boolean
  /** Run `serve --companion` and bind its role (pods list/watch, events create/patch). */
  companion: boolean
  /**
   * Run `serve --audit`: render the PolicyReport CRDs, the scan's role (list/watch of the
   * workloads, write of its reports) and the cluster view's (the rules judge against it).
   */
  audit: boolean
  /** The companion also reads failed containers' previous logs: serve --companion-logs, and get on pods/log. */
  companionLogs?: boolean
  certificates: CertificateMode
  /** The Secret holding the serving certificate: made by the webhook, by cert-manager, or by the user. */
  tlsSecretName: string
  /** provided mode: the CA (PEM) the API server checks the serving certificate against. */
  caBundlePem?: string
  /** The policy file to ship, with its mode already written in (see shipPolicy). */
  policyText: string
  mode: PolicyMode
  /**
   * The shipped policy has bindings by namespace: the webhook then watches Namespace labels
   * (list/watch on namespaces), with or without the cluster view.
   */
  policyBindings: boolean
  /** Render the NetworkPolicy. */
  networkPolicy: boolean
  /** Source ranges of the API server's calls; empty: the webhook port admits any source. */
  apiserverCidrs: readonly string[]
  /** serve --workers: worker processes per pod (1 or absent: one process). */
  workers?: number
  /** Render a HorizontalPodAutoscaler on CPU from `replicas` up to this many. */
  hpaMaxReplicas?: number
  /**
   * The policy says `ownedObjects: skip` and the API server has `matchConditions` (1.28+): the
   * webhook entry carries a condition so that it is not called for controller-owned objects.
   */
  skipOwnedCondition?: boolean
}

export const NAME = 'pod-preflight'
export const WEBHOOK_NAME = 'validate.pod-preflight.io'
export const POLICY_CONFIGMAP = 'pod-preflight-policy'
export const POLICY_KEY = 'policy.yaml'
export const DEFAULT_TLS_SECRET = 'pod-preflight-tls'
export const OPT_OUT_LABEL = 'pod-preflight.io/webhook'
export const WEBHOOK_PORT = 8443
/** GET /metrics, plain HTTP, apart from the webhook port (serve --metrics-port). */
export const METRICS_PORT = 9090
/**
 * The namespace label that lets a namespace's pods scrape the metrics port through the
 * NetworkPolicy: label the namespace of Prometheus (or any scraper) with it.
 */
export const METRICS_SCRAPER_LABEL = 'pod-preflight.io/metrics-scraper'
export const METRICS_SCRAPER_VALUE = 'allowed'
/** The webhook's own answer deadline; the API server's timeout sits just above it. */
export const TIME_BUDGET_MS = 2500
/** 2.5 s of judging plus the round trip, whole seconds as the API server wants them. */
export const TIMEOUT_SECONDS = 3
/** Above every workload's default (0), below the system-* classes (2,000,000,000 and up). */
export const PRIORITY_VALUE = 1_000_000

const POLICY_DIR = '/etc/pod-preflight/policy'
const TLS_DIR = '/etc/pod-preflight/tls'

export type KubeObject = Record<string, unknown> & { apiVersion: string; kind: string; metadata: Record<string, unknown> }

const LABELS = { 'app.kubernetes.io/name': NAME }

function meta(name: string, namespace?: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { name, ...(namespace !== undefined ? { namespace } : {}), labels: { ...LABELS }, ...extra }
}

/** Whether the ServiceAccount needs a token: any feature that talks to the API server. */
export function needsApiAccess(o: InstallOptions): boolean {
  return o.certificates === 'self-managed' || o.clusterView || o.companion || o.audit || o.policyBindings
}

/**
 * Whether `pod-preflight:namespaces` (list/watch on namespaces) is bound on its own: the
 * policy's bindings need Namespace labels, and the cluster view's role, which lists Namespaces
 * too, is not rendered. Never both: one role grants it.
 */
export function needsNamespacesRole(o: Pick<InstallOptions, 'policyBindings' | 'clusterView' | 'audit'>): boolean {
  return o.policyBindings && !o.clusterView && !o.audit
}

/** The namespace label every namespace carries from Kubernetes 1.21 (NamespaceDefaultLabelName). */
export function hasNamespaceNameLabel(v: KubeVersion): boolean {
  return atLeast(v, 1, 21)
}

/** Namespaces the webhook never judges. */
export function exemptNamespaces(o: Pick<InstallOptions, 'namespace'>): string[] {
  return o.namespace === 'kube-system' ? ['kube-system'] : ['kube-system', o.namespace]
}

function namespaceObject(o: InstallOptions): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: meta(o.namespace, undefined, {
      labels: {
        ...LABELS,
        // Opts the webhook's own namespace out on every version, with or without the name label.
        [OPT_OUT_LABEL]: 'disabled',
        'pod-security.kubernetes.io/enforce': 'restricted',
      },
    }),
  }
}

function priorityClass(): KubeObject {
  return {
    apiVersion: 'scheduling.k8s.io/v1',
    kind: 'PriorityClass',
    metadata: meta(NAME),
    value: PRIORITY_VALUE,
    globalDefault: false,
    description: 'pod-preflight admission webhook: scheduled ahead of ordinary workloads, since it judges their creation.',
  }
}

function serviceAccount(o: InstallOptions): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: meta(NAME, o.namespace),
    automountServiceAccountToken: false,
  }
}

function policyConfigMap(o: InstallOptions): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: meta(POLICY_CONFIGMAP, o.namespace),
    data: { [POLICY_KEY]: o.policyText },
  }
}

function clusterRole(name: string, rules: unknown[]): KubeObject {
  return { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: meta(name), rules }
}

function subjects(o: InstallOptions): unknown[] {
  return [{ kind: 'ServiceAccount', name: NAME, namespace: o.namespace }]
}

function clusterRoleBinding(o: InstallOptions, name: string): KubeObject {
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRoleBinding',
    metadata: meta(name),
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name },
    subjects: subjects(o),
  }
}

/** RBAC for the features turned on, and nothing for those turned off. */
function rbac(o: InstallOptions): KubeObject[] {
  const out: KubeObject[] = []
  if (o.certificates === 'self-managed') {
    // resourceNames cannot restrict create (the name is not known to the authorizer before the
    // object exists), so create is granted on Secrets of this namespace only, and get/update on
    // the one Secret name. Nothing may list or watch Secrets.
    out.push({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: meta(`${NAME}:tls-secret`, o.namespace),
      rules: [
        { apiGroups: [''], resources: ['secrets'], resourceNames: [o.tlsSecretName], verbs: ['get', 'update'] },
        { apiGroups: [''], resources: ['secrets'], verbs: ['create'] },
      ],
    })
    out.push({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: meta(`${NAME}:tls-secret`, o.namespace),
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: `${NAME}:tls-secret` },
      subjects: subjects(o),
    })
    out.push(
      clusterRole(`${NAME}:webhook-configuration`, [
        { apiGroups: ['admissionregistration.k8s.io'], resources: ['validatingwebhookconfigurations'], resourceNames: [NAME], verbs: ['get', 'patch'] },
      ]),
    )
    out.push(clusterRoleBinding(o, `${NAME}:webhook-configuration`))
  }
  if (needsNamespacesRole(o)) {
    // Policy bindings match Namespace labels, which an AdmissionReview does not carry: the
    // webhook watches Namespace metadata (list/watch; a namespace not seen yet is a list
    // filtered by name, so no get).
    out.push(clusterRole(`${NAME}:namespaces`, [{ apiGroups: [''], resources: ['namespaces'], verbs: ['list', 'watch'] }]))
    out.push(clusterRoleBinding(o, `${NAME}:namespaces`))
  }
  if (o.clusterView || o.audit) {
    // Read-only, list/watch only. Secrets are left out: RBAC cannot grant "metadata only".
    // Namespaces: the labels policy bindings match, and what `snapshot` captures.
    out.push(
      clusterRole(`${NAME}:cluster-view`, [
        {
          apiGroups: [''],
          resources: ['namespaces', 'nodes', 'pods', 'resourcequotas', 'limitranges', 'configmaps', 'persistentvolumeclaims', 'serviceaccounts', 'services'],
          verbs: ['list', 'watch'],
        },
      ]),
    )
    out.push(clusterRoleBinding(o, `${NAME}:cluster-view`))
  }
  if (o.companion) {
    out.push(
      clusterRole(`${NAME}:companion`, [
        { apiGroups: [''], resources: ['pods'], verbs: ['list', 'watch'] },
        { apiGroups: [''], resources: ['events'], verbs: ['get', 'list', 'create', 'patch'] },
        // Opt-in: logs can hold anything the application prints, so reading them is asked for.
        ...(o.companionLogs === true ? [{ apiGroups: [''], resources: ['pods/log'], verbs: ['get'] }] : []),
      ]),
    )
    out.push(clusterRoleBinding(o, `${NAME}:companion`))
  }
  if (o.audit) {
    out.push(
      clusterRole(`${NAME}:audit`, [
        // The workloads the scan judges, watched so that a change is judged at once. Never Secrets.
        { apiGroups: ['apps'], resources: ['deployments', 'statefulsets', 'daemonsets', 'replicasets'], verbs: ['list', 'watch'] },
        { apiGroups: ['batch'], resources: ['jobs', 'cronjobs'], verbs: ['list', 'watch'] },
        { apiGroups: [''], resources: ['pods', 'replicationcontrollers', 'events'], verbs: ['list', 'watch'] },
        // Its own reports: server-side apply is a patch that may create.
        { apiGroups: [REPORT_GROUP], resources: ['policyreports', 'clusterpolicyreports'], verbs: ['get', 'list', 'create', 'patch'] },
      ]),
    )
    out.push(clusterRoleBinding(o, `${NAME}:audit`))
  }
  if (o.companion || o.audit) {
    // With several replicas one runs the companion and one the audit: the holders of their
    // Leases in this namespace.
    out.push({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: meta(`${NAME}:leader-election`, o.namespace),
      rules: [{ apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get', 'create', 'update'] }],
    })
    out.push({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: meta(`${NAME}:leader-election`, o.namespace),
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: `${NAME}:leader-election` },
      subjects: subjects(o),
    })
  }
  return out
}

function service(o: InstallOptions): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: meta(NAME, o.namespace),
    spec: {
      type: 'ClusterIP',
      selector: { ...LABELS },
      ports: [
        { name: 'https', port: 443, targetPort: 'https', protocol: 'TCP' },
        { name: 'metrics', port: METRICS_PORT, targetPort: 'metrics', protocol: 'TCP' },
      ],
    },
  }
}

function serveArgs(o: InstallOptions): string[] {
  const args = ['serve', '--host=0.0.0.0', `--port=${WEBHOOK_PORT}`, `--metrics-port=${METRICS_PORT}`]
  if (o.certificates === 'self-managed') {
    args.push(`--tls-secret=${o.tlsSecretName}`, `--webhook-configuration=${NAME}`, `--service=${NAME}`)
  } else {
    args.push(`--tls-cert=${TLS_DIR}/tls.crt`, `--tls-key=${TLS_DIR}/tls.key`)
  }
  // The shutdown values are serve's defaults, written out so the pod's grace period (30 s) is
  // seen to cover them: 5 s of answering during endpoint removal, then at most 10 s to finish.
  args.push(`--policy=${POLICY_DIR}/${POLICY_KEY}`, `--time-budget=${TIME_BUDGET_MS}ms`, '--shutdown-delay=5s', '--shutdown-timeout=10s')
  if (o.clusterView) args.push('--cluster')
  if (o.companion) args.push('--companion')
  if (o.audit) args.push('--audit')
  if (o.companion && o.companionLogs === true) args.push('--companion-logs')
  if ((o.workers ?? 1) > 1) args.push(`--workers=${o.workers ?? 1}`)
  return args
}

/** Memory of one serving process (heap capped by --max-old-space-size=96, plus code and buffers). */
const PROCESS_MEMORY_MI = 256
/** Memory of the primary process of serve --workers, which judges nothing (see README, Performance). */
const PRIMARY_MEMORY_MI = 128
/** The HPA's CPU target, as a share of the pod's request. */
export const HPA_CPU_UTILIZATION = 70

/**
 * The container's resources. One process: 100m of CPU (a webhook mostly waits) and 256Mi.
 * With workers, or with an autoscaler that needs a request to measure against: one core per
 * serving process (bench:webhook:workers: a worker under load uses a whole core), and 256Mi
 * per worker plus 128Mi for the primary (--max-old-space-size applies to each process).
 */
export function containerResources(o: Pick<InstallOptions, 'workers' | 'hpaMaxReplicas'>): Record<string, Record<string, string>> {
  const workers = o.workers ?? 1
  const memory = workers > 1 ? `${workers * PROCESS_MEMORY_MI + PRIMARY_MEMORY_MI}Mi` : `${PROCESS_MEMORY_MI}Mi`
  const cpu = workers > 1 || o.hpaMaxReplicas !== undefined ? String(workers) : '100m'
  return {
    requests: { cpu, memory, 'ephemeral-storage': '16Mi' },
    limits: { memory, 'ephemeral-storage': '64Mi' },
  }
}

/**
 * Scales the Deployment on CPU. autoscaling/v2 is served from 1.23; before, autoscaling/v2beta2
 * (1.12 to 1.25), with the same fields.
 */
function horizontalPodAutoscaler(o: InstallOptions, maxReplicas: number): KubeObject {
  return {
    apiVersion: atLeast(o.kubeVersion, 1, 23) ? 'autoscaling/v2' : 'autoscaling/v2beta2',
    kind: 'HorizontalPodAutoscaler',
    metadata: meta(NAME, o.namespace),
    spec: {
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: NAME },
      minReplicas: o.replicas,
      maxReplicas,
      metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: HPA_CPU_UTILIZATION } } }],
    },
  }
}

function probe(path: string, periodSeconds: number, timeoutSeconds: number, failureThreshold: number): Record<string, unknown> {
  return { httpGet: { path, port: 'https', scheme: 'HTTPS' }, periodSeconds, timeoutSeconds, failureThreshold }
}

function deployment(o: InstallOptions): KubeObject {
  const mountsTls = o.certificates !== 'self-managed'
  const volumeMounts: unknown[] = [{ name: 'policy', mountPath: POLICY_DIR, readOnly: true }]
  const volumes: unknown[] = [{ name: 'policy', configMap: { name: POLICY_CONFIGMAP } }]
  if (mountsTls) {
    volumeMounts.push({ name: 'tls', mountPath: TLS_DIR, readOnly: true })
    volumes.push({ name: 'tls', secret: { secretName: o.tlsSecretName, defaultMode: 0o440 } })
  }
  volumeMounts.push({ name: 'tmp', mountPath: '/tmp' })
  volumes.push({ name: 'tmp', emptyDir: { sizeLimit: '16Mi' } })
  const env: unknown[] = [{ name: 'NODE_OPTIONS', value: '--max-old-space-size=96' }]
  if (needsApiAccess(o)) env.push({ name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } })
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: meta(NAME, o.namespace, { labels: { ...LABELS, 'app.kubernetes.io/component': 'admission-webhook' } }),
    spec: {
      // With an autoscaler, it owns the replica count: an apply must not reset it.
      ...(o.hpaMaxReplicas === undefined ? { replicas: o.replicas } : {}),
      revisionHistoryLimit: 5,
      selector: { matchLabels: { ...LABELS } },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
      template: {
        metadata: {
          labels: { ...LABELS, 'app.kubernetes.io/component': 'admission-webhook' },
          // The convention most Prometheus scrape configurations follow for pods.
          annotations: { 'prometheus.io/scrape': 'true', 'prometheus.io/port': String(METRICS_PORT), 'prometheus.io/path': '/metrics' },
        },
        spec: {
          serviceAccountName: NAME,
          automountServiceAccountToken: needsApiAccess(o),
          enableServiceLinks: false,
          priorityClassName: NAME,
          terminationGracePeriodSeconds: 30,
          securityContext: { runAsNonRoot: true, runAsUser: 65532, runAsGroup: 65532, fsGroup: 65532, seccompProfile: { type: 'RuntimeDefault' } },
          topologySpreadConstraints: [
            { maxSkew: 1, topologyKey: 'kubernetes.io/hostname', whenUnsatisfiable: 'ScheduleAnyway', labelSelector: { matchLabels: { ...LABELS } } },
          ],
          containers: [
            {
              name: 'webhook',
              image: o.image,
              imagePullPolicy: 'IfNotPresent',
              args: serveArgs(o),
              env,
              ports: [
                { name: 'https', containerPort: WEBHOOK_PORT, protocol: 'TCP' },
                { name: 'metrics', containerPort: METRICS_PORT, protocol: 'TCP' },
              ],
              startupProbe: probe('/healthz', 2, 2, 30),
              livenessProbe: probe('/healthz', 10, 3, 3),
              readinessProbe: probe('/readyz', 5, 2, 2),
              resources: containerResources(o),
              securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, runAsNonRoot: true, capabilities: { drop: ['ALL'] } },
              volumeMounts,
            },
          ],
          volumes,
        },
      },
    },
  }
}

function podDisruptionBudget(o: InstallOptions): KubeObject {
  return {
    // policy/v1 from 1.21; policy/v1beta1 is served up to 1.24.
    apiVersion: atLeast(o.kubeVersion, 1, 21) ? 'policy/v1' : 'policy/v1beta1',
    kind: 'PodDisruptionBudget',
    metadata: meta(NAME, o.namespace),
    spec: { minAvailable: 1, selector: { matchLabels: { ...LABELS } } },
  }
}

function networkPolicy(o: InstallOptions): KubeObject {
  const webhookRule: Record<string, unknown> = { ports: [{ protocol: 'TCP', port: WEBHOOK_PORT }] }
  if (o.apiserverCidrs.length > 0) webhookRule['from'] = o.apiserverCidrs.map((cidr) => ({ ipBlock: { cidr } }))
  // Metrics: only from pods of namespaces labelled as scrapers (no namespace is, until you label one).
  const metricsRule = {
    ports: [{ protocol: 'TCP', port: METRICS_PORT }],
    from: [{ namespaceSelector: { matchLabels: { [METRICS_SCRAPER_LABEL]: METRICS_SCRAPER_VALUE } } }],
  }
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: meta(NAME, o.namespace),
    spec: {
      podSelector: { matchLabels: { ...LABELS } },
      policyTypes: ['Ingress'],
      ingress: [webhookRule, metricsRule],
    },
  }
}

function certManagerObjects(o: InstallOptions): KubeObject[] {
  const dns = [NAME, `${NAME}.${o.namespace}`, `${NAME}.${o.namespace}.svc`, `${NAME}.${o.namespace}.svc.cluster.local`]
  const ecdsa = { algorithm: 'ECDSA', size: 256 }
  return [
    { apiVersion: 'cert-manager.io/v1', kind: 'Issuer', metadata: meta(`${NAME}-selfsigned`, o.namespace), spec: { selfSigned: {} } },
    {
      apiVersion: 'cert-manager.io/v1',
      kind: 'Certificate',
      metadata: meta(`${NAME}-ca`, o.namespace),
      spec: {
        isCA: true,
        commonName: 'pod-preflight webhook CA',
        secretName: `${NAME}-ca`,
        duration: '87600h',
        privateKey: ecdsa,
        issuerRef: { name: `${NAME}-selfsigned`, kind: 'Issuer' },
      },
    },
    { apiVersion: 'cert-manager.io/v1', kind: 'Issuer', metadata: meta(`${NAME}-ca`, o.namespace), spec: { ca: { secretName: `${NAME}-ca` } } },
    {
      apiVersion: 'cert-manager.io/v1',
      kind: 'Certificate',
      metadata: meta(o.tlsSecretName, o.namespace),
      spec: {
        secretName: o.tlsSecretName,
        duration: '2160h',
        renewBefore: '360h',
        dnsNames: dns,
        privateKey: { ...ecdsa, rotationPolicy: 'Always' },
        usages: ['server auth', 'digital signature', 'key encipherment'],
        issuerRef: { name: `${NAME}-ca`, kind: 'Issuer' },
      },
    },
  ]
}

function namespaceSelector(o: InstallOptions): Record<string, unknown> {
  const optOut = { key: OPT_OUT_LABEL, operator: 'NotIn', values: ['disabled'] }
  // Before 1.21 namespaces carry no name label: kube-system is exempted in the shipped policy
  // instead (the AdmissionReview names the namespace), and the webhook's own namespace by the
  // opt-out label it is created with.
  if (!hasNamespaceNameLabel(o.kubeVersion)) return { matchExpressions: [optOut] }
  return { matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: exemptNamespaces(o) }, optOut] }
}

function webhookConfiguration(o: InstallOptions): KubeObject {
  const clientConfig: Record<string, unknown> = { service: { name: NAME, namespace: o.namespace, path: '/validate', port: 443 } }
  if (o.certificates === 'provided' && o.caBundlePem !== undefined) clientConfig['caBundle'] = Buffer.from(o.caBundlePem, 'utf8').toString('base64')
  const annotations = o.certificates === 'cert-manager' ? { annotations: { 'cert-manager.io/inject-ca-from': `${o.namespace}/${o.tlsSecretName}` } } : {}
  const rule = (apiGroups: string[], apiVersions: string[], resources: string[]) => ({
    apiGroups,
    apiVersions,
    operations: ['CREATE', 'UPDATE'],
    resources,
    scope: 'Namespaced',
  })
  return {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingWebhookConfiguration',
    metadata: meta(NAME, undefined, annotations),
    webhooks: [
      {
        name: WEBHOOK_NAME,
        admissionReviewVersions: ['v1'],
        sideEffects: 'None',
        timeoutSeconds: TIMEOUT_SECONDS,
        failurePolicy: 'Ignore',
        matchPolicy: 'Equivalent',
        namespaceSelector: namespaceSelector(o),
        ...(o.skipOwnedCondition === true ? { matchConditions: [{ name: NOT_OWNED_CONDITION, expression: notOwnedExpression() }] } : {}),
        rules: [
          rule([''], ['v1'], ['pods', 'replicationcontrollers']),
          rule(['apps'], ['v1'], ['deployments', 'statefulsets', 'daemonsets', 'replicasets']),
          rule(['batch'], ['v1'], ['jobs', 'cronjobs']),
          // Clusters before 1.21 serve CronJobs only as batch/v1beta1.
          rule(['batch'], ['v1beta1'], ['cronjobs']),
        ],
        clientConfig,
      },
    ],
  }
}

/** Every object of the installation, in apply order. */
export function renderInstall(o: InstallOptions): KubeObject[] {
  // The report CRDs first: nothing else refers to them, and they need time to be established.
  const objects: KubeObject[] = [...(o.audit ? policyReportCrds() : []), namespaceObject(o), priorityClass(), serviceAccount(o), policyConfigMap(o), ...rbac(o)]
  if (o.certificates === 'cert-manager') objects.push(...certManagerObjects(o))
  objects.push(service(o), deployment(o))
  if (o.hpaMaxReplicas !== undefined) objects.push(horizontalPodAutoscaler(o, o.hpaMaxReplicas))
  // One replica cannot keep answering through a drain; a budget would only block the drain.
  if (o.replicas > 1) objects.push(podDisruptionBudget(o))
  if (o.networkPolicy) objects.push(networkPolicy(o))
  objects.push(webhookConfiguration(o))
  return objects
}

/** A line for the top of the YAML output: what was rendered, for whom. */
export function describeInstall(o: InstallOptions, version: string): string {
  const features = [
    o.clusterView ? 'cluster view' : '',
    o.companion ? 'companion' : '',
    o.audit ? 'background audit' : '',
    o.skipOwnedCondition === true ? 'controller-owned objects not sent to the webhook (matchConditions)' : '',
  ]
    .filter((s) => s !== '')
    .join(', ')
  return (
    `pod-preflight ${version} in namespace ${o.namespace}: ${o.replicas}${o.hpaMaxReplicas !== undefined ? ` to ${o.hpaMaxReplicas} (autoscaled on CPU)` : ''} replica(s)${(o.workers ?? 1) > 1 ? ` of ${o.workers ?? 1} workers` : ''}, mode ${o.mode}, certificates ${o.certificates}` +
    `${features !== '' ? `, ${features}` : ''}; for Kubernetes ${formatKubeVersion(o.kubeVersion)}${hasNamespaceNameLabel(o.kubeVersion) ? ' and later' : ''}`
  )
}

export interface UninstallOptions {
  namespace: string
  kubeVersion: KubeVersion
  certificates: CertificateMode
  tlsSecretName: string
  /** Also delete the namespace (default: yes, install made it). */
  deleteNamespace: boolean
}

function stub(apiVersion: string, kind: string, name: string, namespace?: string): KubeObject {
  return { apiVersion, kind, metadata: { name, ...(namespace !== undefined ? { namespace } : {}) } }
}

/**
 * What to delete, webhook configuration first: once it is gone the API server stops calling the
 * webhook, so a half-finished removal never leaves a registration pointing at nothing. Lists
 * what any install may have made (every optional role), so it works without the install's flags;
 * `kubectl delete --ignore-not-found -f -` skips what was never there.
 */
export function renderUninstall(o: UninstallOptions): KubeObject[] {
  const ns = o.namespace
  const out: KubeObject[] = [
    stub('admissionregistration.k8s.io/v1', 'ValidatingWebhookConfiguration', NAME),
    stub(atLeast(o.kubeVersion, 1, 23) ? 'autoscaling/v2' : 'autoscaling/v2beta2', 'HorizontalPodAutoscaler', NAME, ns),
    stub('apps/v1', 'Deployment', NAME, ns),
    stub('v1', 'Service', NAME, ns),
    stub(atLeast(o.kubeVersion, 1, 21) ? 'policy/v1' : 'policy/v1beta1', 'PodDisruptionBudget', NAME, ns),
    stub('networking.k8s.io/v1', 'NetworkPolicy', NAME, ns),
    stub('v1', 'ConfigMap', POLICY_CONFIGMAP, ns),
  ]
  if (o.certificates === 'cert-manager') {
    out.push(
      stub('cert-manager.io/v1', 'Certificate', o.tlsSecretName, ns),
      stub('cert-manager.io/v1', 'Issuer', `${NAME}-ca`, ns),
      stub('cert-manager.io/v1', 'Certificate', `${NAME}-ca`, ns),
      stub('cert-manager.io/v1', 'Issuer', `${NAME}-selfsigned`, ns),
      stub('v1', 'Secret', `${NAME}-ca`, ns),
    )
  }
  // The provided Secret belongs to whoever made it; the others were made for this install.
  if (o.certificates !== 'provided') out.push(stub('v1', 'Secret', o.tlsSecretName, ns))
  out.push(
    stub('rbac.authorization.k8s.io/v1', 'RoleBinding', `${NAME}:tls-secret`, ns),
    stub('rbac.authorization.k8s.io/v1', 'Role', `${NAME}:tls-secret`, ns),
    stub('rbac.authorization.k8s.io/v1', 'RoleBinding', `${NAME}:leader-election`, ns),
    stub('rbac.authorization.k8s.io/v1', 'Role', `${NAME}:leader-election`, ns),
    stub('v1', 'ServiceAccount', NAME, ns),
  )
  // The report CRDs stay: deleting them deletes every report, also those of other tools.
  for (const feature of ['webhook-configuration', 'namespaces', 'cluster-view', 'companion', 'audit']) {
    out.push(stub('rbac.authorization.k8s.io/v1', 'ClusterRoleBinding', `${NAME}:${feature}`))
    out.push(stub('rbac.authorization.k8s.io/v1', 'ClusterRole', `${NAME}:${feature}`))
  }
  out.push(stub('scheduling.k8s.io/v1', 'PriorityClass', NAME))
  if (o.deleteNamespace) out.push(stub('v1', 'Namespace', ns))
  return out
}
