import type { PathSegment } from '../input/field-path.js'
import { arr, bool, date, get, int, num, rec, str, stringMap, strings, type Obj } from './narrow.js'

/** The parts of a Pod the analyzer reads, narrowed from untrusted JSON. */

export interface TerminatedView {
  exitCode: number
  signal?: number
  reason?: string
  message?: string
  startedAt?: Date
  finishedAt?: Date
}

export interface StateView {
  waiting?: { reason?: string; message?: string }
  running?: { startedAt?: Date }
  terminated?: TerminatedView
}

export interface ContainerStatusView {
  path: PathSegment[]
  state: StateView
  lastState: StateView
  restartCount: number
  ready: boolean
  started?: boolean
}

export interface EnvVarView {
  name: string
  /** Only literal values; valueFrom references are not resolved. */
  value?: string
  index: number
}

export interface ProbeView {
  path: PathSegment[]
  kind: 'httpGet' | 'tcpSocket' | 'exec' | 'grpc' | 'unknown'
  /** A short description: `http-get :8080/healthz`, `exec [cat /tmp/ok]`. */
  action: string
  port?: string | number
  initialDelaySeconds: number
  timeoutSeconds: number
  periodSeconds: number
  successThreshold: number
  failureThreshold: number
}

export interface HookView {
  path: PathSegment[]
  command: string[]
  /** The `sleep` action (lifecycle.preStop.sleep.seconds). */
  sleepSeconds?: number
  description: string
}

export type ContainerKind = 'init' | 'app' | 'ephemeral'

export interface ContainerView {
  name: string
  kind: ContainerKind
  path: PathSegment[]
  image: string
  imagePullPolicy?: string
  command: string[]
  args: string[]
  env: EnvVarView[]
  envFrom: { kind: 'ConfigMap' | 'Secret'; name: string }[]
  limits: Record<string, string>
  requests: Record<string, string>
  liveness?: ProbeView
  readiness?: ProbeView
  startup?: ProbeView
  ports: { name?: string; containerPort: number }[]
  volumeMounts: { name: string; mountPath: string }[]
  /** `Always` for a native sidecar (an init container that keeps running). */
  restartPolicy?: string
  preStop?: HookView
  postStart?: HookView
  status?: ContainerStatusView
}

export interface ConditionView {
  type: string
  status: string
  reason?: string
  message?: string
  lastTransitionTime?: Date
  index: number
}

export interface OwnerRefView {
  kind: string
  name: string
  uid?: string
  controller: boolean
}

export interface VolumeView {
  name: string
  pvc?: string
  configMap?: string
  secret?: string
}

export interface PodView {
  name: string
  namespace: string
  uid?: string
  creationTimestamp?: Date
  deletionTimestamp?: Date
  deletionGracePeriodSeconds?: number
  finalizers: string[]
  ownerReferences: OwnerRefView[]
  restartPolicy?: string
  terminationGracePeriodSeconds?: number
  activeDeadlineSeconds?: number
  nodeName?: string
  nodeSelector: Record<string, string>
  hasNodeAffinity: boolean
  hasPodAntiAffinity: boolean
  imagePullSecrets: string[]
  volumes: VolumeView[]
  containers: ContainerView[]
  phase?: string
  reason?: string
  message?: string
  conditions: ConditionView[]
  startTime?: Date
  hostIP?: string
}

export type ReadPodResult = { ok: true; pod: PodView } | { ok: false; error: string }

export const DEFAULT_GRACE_SECONDS = 30

function readProbe(v: unknown, path: PathSegment[]): ProbeView | undefined {
  const p = rec(v)
  if (p === undefined) return undefined
  let kind: ProbeView['kind'] = 'unknown'
  let action = 'probe'
  let port: string | number | undefined
  const http = rec(p['httpGet'])
  const tcp = rec(p['tcpSocket'])
  const exec = rec(p['exec'])
  const grpc = rec(p['grpc'])
  if (http) {
    kind = 'httpGet'
    port = portOf(http['port'])
    action = `http-get ${str(http['host']) ?? ''}:${port ?? '?'}${str(http['path']) ?? '/'}`
  } else if (tcp) {
    kind = 'tcpSocket'
    port = portOf(tcp['port'])
    action = `tcp-socket :${port ?? '?'}`
  } else if (exec) {
    kind = 'exec'
    action = `exec [${strings(exec['command']).join(' ')}]`
  } else if (grpc) {
    kind = 'grpc'
    port = portOf(grpc['port'])
    action = `grpc :${port ?? '?'}`
  }
  const view: ProbeView = {
    path,
    kind,
    action,
    initialDelaySeconds: int(p['initialDelaySeconds']) ?? 0,
    timeoutSeconds: int(p['timeoutSeconds']) ?? 1,
    periodSeconds: int(p['periodSeconds']) ?? 10,
    successThreshold: int(p['successThreshold']) ?? 1,
    failureThreshold: int(p['failureThreshold']) ?? 3,
  }
  if (port !== undefined) view.port = port
  return view
}

function portOf(v: unknown): string | number | undefined {
  if (typeof v === 'number' && Number.isInteger(v)) return v
  if (typeof v === 'string' && v !== '') return /^\d+$/.test(v) ? Number(v) : v
  return undefined
}

function readHook(v: unknown, path: PathSegment[]): HookView | undefined {
  const h = rec(v)
  if (h === undefined) return undefined
  const exec = rec(h['exec'])
  const http = rec(h['httpGet'])
  const sleep = rec(h['sleep'])
  if (exec) {
    const command = strings(exec['command'])
    return { path: [...path, 'exec', 'command'], command, description: `exec ${JSON.stringify(command)}` }
  }
  if (sleep) {
    const seconds = int(sleep['seconds'])
    const view: HookView = { path: [...path, 'sleep', 'seconds'], command: [], description: `sleep ${seconds ?? '?'}s` }
    if (seconds !== undefined) view.sleepSeconds = seconds
    return view
  }
  if (http) {
    return { path: [...path, 'httpGet'], command: [], description: `http-get :${String(portOf(http['port']) ?? '?')}${str(http['path']) ?? '/'}` }
  }
  return { path, command: [], description: 'hook' }
}

function readTerminated(v: unknown): TerminatedView | undefined {
  const t = rec(v)
  if (t === undefined) return undefined
  const exitCode = int(t['exitCode'])
  if (exitCode === undefined) return undefined
  const view: TerminatedView = { exitCode }
  const signal = int(t['signal'])
  if (signal !== undefined && signal > 0) view.signal = signal
  const reason = str(t['reason'])
  if (reason) view.reason = reason
  const message = str(t['message'])
  if (message) view.message = message
  const startedAt = date(t['startedAt'])
  if (startedAt) view.startedAt = startedAt
  const finishedAt = date(t['finishedAt'])
  if (finishedAt) view.finishedAt = finishedAt
  return view
}

function readState(v: unknown): StateView {
  const s = rec(v)
  const out: StateView = {}
  if (s === undefined) return out
  const w = rec(s['waiting'])
  if (w) {
    out.waiting = {}
    const reason = str(w['reason'])
    if (reason) out.waiting.reason = reason
    const message = str(w['message'])
    if (message) out.waiting.message = message
  }
  const r = rec(s['running'])
  if (r) {
    out.running = {}
    const startedAt = date(r['startedAt'])
    if (startedAt) out.running.startedAt = startedAt
  }
  const t = readTerminated(s['terminated'])
  if (t) out.terminated = t
  return out
}

function readContainers(spec: Obj, status: Obj | undefined, field: string, statusField: string, kind: ContainerKind): ContainerView[] {
  const out: ContainerView[] = []
  const statuses = arr(status?.[statusField])
  arr(spec[field]).forEach((raw, i) => {
    const c = rec(raw)
    const name = str(c?.['name'])
    if (c === undefined || name === undefined) return
    const path: PathSegment[] = ['spec', field, i]
    const resources = rec(c['resources'])
    const env: EnvVarView[] = []
    arr(c['env']).forEach((e, j) => {
      const ev = rec(e)
      const n = str(ev?.['name'])
      if (n === undefined) return
      const value = str(ev?.['value'])
      env.push(value === undefined ? { name: n, index: j } : { name: n, value, index: j })
    })
    const envFrom: ContainerView['envFrom'] = []
    for (const e of arr(c['envFrom'])) {
      const cm = str(get(e, 'configMapRef', 'name'))
      const sec = str(get(e, 'secretRef', 'name'))
      if (cm) envFrom.push({ kind: 'ConfigMap', name: cm })
      if (sec) envFrom.push({ kind: 'Secret', name: sec })
    }
    const view: ContainerView = {
      name,
      kind,
      path,
      image: str(c['image']) ?? '',
      command: strings(c['command']),
      args: strings(c['args']),
      env,
      envFrom,
      limits: stringMap(resources?.['limits']),
      requests: stringMap(resources?.['requests']),
      ports: arr(c['ports']).flatMap((p) => {
        const port = int(get(p, 'containerPort'))
        if (port === undefined) return []
        const pname = str(get(p, 'name'))
        return pname === undefined ? [{ containerPort: port }] : [{ name: pname, containerPort: port }]
      }),
      volumeMounts: arr(c['volumeMounts']).flatMap((m) => {
        const n = str(get(m, 'name'))
        const mp = str(get(m, 'mountPath'))
        return n !== undefined && mp !== undefined ? [{ name: n, mountPath: mp }] : []
      }),
    }
    const pullPolicy = str(c['imagePullPolicy'])
    if (pullPolicy) view.imagePullPolicy = pullPolicy
    const restartPolicy = str(c['restartPolicy'])
    if (restartPolicy) view.restartPolicy = restartPolicy
    const liveness = readProbe(c['livenessProbe'], [...path, 'livenessProbe'])
    if (liveness) view.liveness = liveness
    const readiness = readProbe(c['readinessProbe'], [...path, 'readinessProbe'])
    if (readiness) view.readiness = readiness
    const startup = readProbe(c['startupProbe'], [...path, 'startupProbe'])
    if (startup) view.startup = startup
    const lifecycle = rec(c['lifecycle'])
    const preStop = readHook(lifecycle?.['preStop'], [...path, 'lifecycle', 'preStop'])
    if (preStop) view.preStop = preStop
    const postStart = readHook(lifecycle?.['postStart'], [...path, 'lifecycle', 'postStart'])
    if (postStart) view.postStart = postStart
    const si = statuses.findIndex((s) => str(get(s, 'name')) === name)
    if (si >= 0) {
      const s = rec(statuses[si])
      if (s) {
        const cs: ContainerStatusView = {
          path: ['status', statusField, si],
          state: readState(s['state']),
          lastState: readState(s['lastState']),
          restartCount: int(s['restartCount']) ?? 0,
          ready: bool(s['ready']) ?? false,
        }
        const started = bool(s['started'])
        if (started !== undefined) cs.started = started
        view.status = cs
      }
    }
    out.push(view)
  })
  return out
}

/**
 * Narrows an unknown value to a Pod with a status. The error names what is wrong in words a user
 * can act on; the caller adds the file name.
 */
export function readPod(value: unknown): ReadPodResult {
  const o = rec(value)
  if (o === undefined) return { ok: false, error: 'not an object; expected a Pod' }
  const kind = str(o['kind'])
  const meta = rec(o['metadata'])
  const name = str(meta?.['name'])
  if (kind !== undefined && kind !== 'Pod') {
    return { ok: false, error: `this is a ${kind}${name ? ` (${name})` : ''}, not a Pod` }
  }
  if (kind === undefined && !('spec' in o && 'status' in o)) return { ok: false, error: 'not a Kubernetes object (no kind); expected a Pod' }
  if (name === undefined || name === '') return { ok: false, error: 'the Pod has no metadata.name (is the input complete?)' }
  const spec = rec(o['spec'])
  if (spec === undefined) return { ok: false, error: `Pod ${name} has no spec (is the input complete?)` }
  if (arr(spec['containers']).length === 0) return { ok: false, error: `Pod ${name} has no spec.containers (is the input complete?)` }
  const status = rec(o['status'])
  if (status === undefined || Object.keys(status).length === 0) {
    return {
      ok: false,
      error: `Pod ${name} has no status, so there is nothing to explain (is this a manifest rather than a pod read from the cluster? use \`kubectl get pod ${name} -o yaml\`)`,
    }
  }
  const conditions: ConditionView[] = []
  arr(status['conditions']).forEach((c, index) => {
    const type = str(get(c, 'type'))
    const st = str(get(c, 'status'))
    if (type === undefined || st === undefined) return
    const view: ConditionView = { type, status: st, index }
    const reason = str(get(c, 'reason'))
    if (reason) view.reason = reason
    const message = str(get(c, 'message'))
    if (message) view.message = message
    const t = date(get(c, 'lastTransitionTime'))
    if (t) view.lastTransitionTime = t
    conditions.push(view)
  })
  const affinity = rec(spec['affinity'])
  const pod: PodView = {
    name,
    namespace: str(meta?.['namespace']) || 'default',
    finalizers: strings(meta?.['finalizers']),
    ownerReferences: arr(meta?.['ownerReferences']).flatMap((r) => {
      const k = str(get(r, 'kind'))
      const n = str(get(r, 'name'))
      if (k === undefined || n === undefined) return []
      const ref: OwnerRefView = { kind: k, name: n, controller: bool(get(r, 'controller')) ?? false }
      const uid = str(get(r, 'uid'))
      if (uid) ref.uid = uid
      return [ref]
    }),
    nodeSelector: stringMap(spec['nodeSelector']),
    hasNodeAffinity: rec(get(affinity, 'nodeAffinity', 'requiredDuringSchedulingIgnoredDuringExecution')) !== undefined,
    hasPodAntiAffinity: arr(get(affinity, 'podAntiAffinity', 'requiredDuringSchedulingIgnoredDuringExecution')).length > 0,
    imagePullSecrets: arr(spec['imagePullSecrets']).flatMap((s) => {
      const n = str(get(s, 'name'))
      return n ? [n] : []
    }),
    volumes: arr(spec['volumes']).flatMap((v) => {
      const n = str(get(v, 'name'))
      if (n === undefined) return []
      const view: VolumeView = { name: n }
      const pvc = str(get(v, 'persistentVolumeClaim', 'claimName'))
      if (pvc) view.pvc = pvc
      const cm = str(get(v, 'configMap', 'name'))
      if (cm) view.configMap = cm
      const sec = str(get(v, 'secret', 'secretName'))
      if (sec) view.secret = sec
      return [view]
    }),
    containers: [
      ...readContainers(spec, status, 'initContainers', 'initContainerStatuses', 'init'),
      ...readContainers(spec, status, 'containers', 'containerStatuses', 'app'),
      ...readContainers(spec, status, 'ephemeralContainers', 'ephemeralContainerStatuses', 'ephemeral'),
    ],
    conditions,
  }
  const uid = str(meta?.['uid'])
  if (uid) pod.uid = uid
  const created = date(meta?.['creationTimestamp'])
  if (created) pod.creationTimestamp = created
  const deletion = date(meta?.['deletionTimestamp'])
  if (deletion) pod.deletionTimestamp = deletion
  const deletionGrace = int(meta?.['deletionGracePeriodSeconds'])
  if (deletionGrace !== undefined) pod.deletionGracePeriodSeconds = deletionGrace
  const restartPolicy = str(spec['restartPolicy'])
  if (restartPolicy) pod.restartPolicy = restartPolicy
  const grace = int(spec['terminationGracePeriodSeconds'])
  if (grace !== undefined) pod.terminationGracePeriodSeconds = grace
  const deadline = num(spec['activeDeadlineSeconds'])
  if (deadline !== undefined) pod.activeDeadlineSeconds = deadline
  const nodeName = str(spec['nodeName'])
  if (nodeName) pod.nodeName = nodeName
  const phase = str(status['phase'])
  if (phase) pod.phase = phase
  const reason = str(status['reason'])
  if (reason) pod.reason = reason
  const message = str(status['message'])
  if (message) pod.message = message
  const startTime = date(status['startTime'])
  if (startTime) pod.startTime = startTime
  const hostIP = str(status['hostIP'])
  if (hostIP) pod.hostIP = hostIP
  return { ok: true, pod }
}

export function condition(pod: PodView, type: string): ConditionView | undefined {
  return pod.conditions.find((c) => c.type === type)
}

/** The controlling owner reference (controller: true), or the only one. */
export function controllerOf(pod: PodView): OwnerRefView | undefined {
  return pod.ownerReferences.find((r) => r.controller) ?? (pod.ownerReferences.length === 1 ? pod.ownerReferences[0] : undefined)
}

export function graceSeconds(pod: PodView): number {
  return pod.deletionGracePeriodSeconds ?? pod.terminationGracePeriodSeconds ?? DEFAULT_GRACE_SECONDS
}
