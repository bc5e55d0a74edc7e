import { existsSync } from 'node:fs'
import { delimiter, join } from 'node:path'
import { AppsV1Api, BatchV1Api, CoreV1Api, KubeConfig } from '@kubernetes/client-node'
import { get, str } from './narrow.js'
import type { LogInput, PodInput } from './input.js'
import { MAX_LOG_BYTES, MAX_LOG_LINES } from './log-signatures.js'

/**
 * Reads pods, their events and their owner from the live cluster for `explain POD` and
 * `explain --all`. The only module of the analyzer besides the companion that does I/O.
 */

export class ClusterError extends Error {
  override readonly name = 'ClusterError'
}

export interface ClusterOptions {
  kubeconfig?: string
  context?: string
  namespace?: string
  /** The environment to read KUBECONFIG from (the process environment by default). */
  env?: Record<string, string | undefined>
  /**
   * A server in a pod (serve): the pod's service account before ~/.kube/config, as controllers
   * read it (--kubeconfig and KUBECONFIG still come first; --context asks for a kubeconfig file).
   */
  inClusterFirst?: boolean
  /** A directory the service account files are looked for under, instead of / (tests). */
  serviceAccountRoot?: string
}

export interface ClusterSource {
  namespace: string
  context: string
  fetchPod(name: string): Promise<PodInput>
  fetchNamespace(): Promise<PodInput[]>
  /**
   * The logs of the pod's containers that ended in failure: the previous container's for one
   * that restarted, else the terminated one's. At most MAX_LOGGED_CONTAINERS containers, each
   * read as its last MAX_LOG_LINES lines and at most MAX_LOG_BYTES bytes. Needs `get` on
   * `pods/log`; a refusal costs only the log (a warning).
   */
  fetchLogs(pod: unknown): Promise<LogInput[]>
}

const MAX_LOGGED_CONTAINERS = 8

/**
 * Reads the logs of a pod's failed containers (see failedContainers), each as its last
 * MAX_LOG_LINES lines and at most MAX_LOG_BYTES bytes, through GET pods/log; a container whose
 * log cannot be read is said through `warn` and skipped. Shared by `explain --previous-logs`
 * and the companion.
 */
export async function readFailedLogs(core: CoreV1Api, pod: unknown, warn: (message: string) => void): Promise<LogInput[]> {
  const name = str(get(pod, 'metadata', 'name'))
  const namespace = str(get(pod, 'metadata', 'namespace'))
  if (name === undefined || namespace === undefined) return []
  const out: LogInput[] = []
  for (const { container, previous } of failedContainers(pod)) {
    try {
      const text: unknown = await core.readNamespacedPodLog({ name, namespace, container, previous, tailLines: MAX_LOG_LINES, limitBytes: MAX_LOG_BYTES })
      out.push({ container, text: typeof text === 'string' ? text : '', source: `kubectl logs ${name} -c ${container}${previous ? ' --previous' : ''}` })
    } catch (err) {
      warn(`cannot read the ${previous ? 'previous ' : ''}log of ${namespace}/${name} container ${container} (${apiErrorMessage(err)}); explaining without it`)
    }
  }
  return out
}

/** Containers whose log can say why they failed, and whether that log is the previous container's. */
export function failedContainers(pod: unknown): { container: string; previous: boolean }[] {
  const out: { container: string; previous: boolean }[] = []
  for (const list of ['initContainerStatuses', 'containerStatuses']) {
    const statuses = get(pod, 'status', list)
    if (!Array.isArray(statuses)) continue
    for (const st of statuses) {
      const name = str(get(st, 'name'))
      if (name === undefined) continue
      const last = get(st, 'lastState', 'terminated')
      const now = get(st, 'state', 'terminated')
      if (last !== undefined && last !== null) out.push({ container: name, previous: true })
      else if (now !== undefined && now !== null && get(now, 'exitCode') !== 0) out.push({ container: name, previous: false })
      if (out.length >= MAX_LOGGED_CONTAINERS) return out
    }
  }
  return out
}

/** The in-cluster service account token, as client-node and kubectl look for it. */
export const SERVICE_ACCOUNT_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token'

/**
 * The kubeconfig as kubectl would pick it: --kubeconfig, else KUBECONFIG, else ~/.kube/config,
 * else the in-cluster service account. Without any of them it says so, where it looked and how to
 * point at one, instead of falling back (as client-node's loadFromDefault does) to
 * http://localhost:8080, which would only surface later as a confusing connection error.
 */
export function loadKubeConfig(opts: ClusterOptions): KubeConfig {
  const env = opts.env ?? process.env
  const kc = new KubeConfig()
  const fromEnv = env['KUBECONFIG']?.split(delimiter).filter((f) => f !== '') ?? []
  const home = env['HOME'] ?? env['USERPROFILE']
  const homeConfig = home !== undefined && home !== '' ? join(home, '.kube', 'config') : undefined
  let file = opts.kubeconfig ?? fromEnv[0] ?? homeConfig
  const root = opts.serviceAccountRoot ?? ''
  const token = `${root}${SERVICE_ACCOUNT_TOKEN}`
  const inPod = env['KUBERNETES_SERVICE_HOST'] !== undefined && existsSync(token)
  try {
    if (opts.kubeconfig !== undefined) kc.loadFromFile(opts.kubeconfig)
    else if (opts.inClusterFirst === true && opts.context === undefined && fromEnv.length === 0 && inPod) {
      file = token
      kc.loadFromCluster(root)
    }
    else if (fromEnv.length > 0) {
      // As kubectl does: the files of KUBECONFIG merged, the first one's current context winning.
      for (const [i, f] of fromEnv.entries()) {
        file = f
        if (i === 0) kc.loadFromFile(f)
        else {
          const other = new KubeConfig()
          other.loadFromFile(f)
          kc.mergeConfig(other, true)
        }
      }
    } else if (homeConfig !== undefined && existsSync(homeConfig)) kc.loadFromFile(homeConfig)
    else if (inPod) {
      file = token
      kc.loadFromCluster(root)
    } else {
      throw new ClusterError(
        `no kubeconfig found: --kubeconfig not given, KUBECONFIG not set, ${homeConfig ?? '~/.kube/config (HOME not set)'} does not exist, ` +
          'and not running in a pod (no service account token). Point at one with --kubeconfig FILE or KUBECONFIG=FILE ' +
          '(kubectl config view --minify shows the one kubectl uses)',
      )
    }
  } catch (err) {
    if (err instanceof ClusterError) throw err
    throw new ClusterError(`cannot load the kubeconfig${file !== undefined ? ` ${file}` : ''}: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`)
  }
  if (opts.context !== undefined) {
    if (kc.getContextObject(opts.context) === null) {
      const known = kc.getContexts().map((c) => c.name)
      throw new ClusterError(`no context "${opts.context}" in the kubeconfig${known.length ? ` (contexts: ${known.join(', ')})` : ''}`)
    }
    kc.setCurrentContext(opts.context)
  }
  if (kc.getCurrentCluster() === null) throw new ClusterError('no cluster configured: set KUBECONFIG, pass --kubeconfig, or run inside a cluster')
  return kc
}

/** A one-line reason from a client-node error: the API's Status message, or the network error. */
export function apiErrorMessage(err: unknown): string {
  if (typeof err === 'object' && err !== null) {
    const code = (err as { code?: unknown }).code
    const body = (err as { body?: unknown }).body
    let message: string | undefined
    if (typeof body === 'string') {
      try {
        const parsed: unknown = JSON.parse(body)
        message = str(get(parsed, 'message'))
      } catch {
        message = undefined
      }
    } else {
      message = str(get(body, 'message'))
    }
    if (message !== undefined) return typeof code === 'number' ? `${message} (HTTP ${code})` : message
    if (err instanceof Error) {
      const cause = (err as { cause?: unknown }).cause
      const causeText = cause instanceof Error ? `: ${cause.message}` : ''
      return `${err.message.split('\n')[0] ?? err.message}${causeText}`
    }
  }
  return String(err)
}

function statusCode(err: unknown): number | undefined {
  const code = typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined
  return typeof code === 'number' ? code : undefined
}

export function clusterSource(opts: ClusterOptions, warn: (message: string) => void): ClusterSource {
  const kc = loadKubeConfig(opts)
  const context = kc.getCurrentContext()
  const namespace = opts.namespace ?? kc.getContextObject(context)?.namespace ?? 'default'
  const core = kc.makeApiClient(CoreV1Api)
  const apps = kc.makeApiClient(AppsV1Api)
  const batch = kc.makeApiClient(BatchV1Api)
  const server = kc.getCurrentCluster()?.server ?? 'the cluster'

  const wrap = (what: string, err: unknown): ClusterError => {
    const code = statusCode(err)
    if (code === 404) return new ClusterError(`${what}: not found in namespace ${namespace} (context ${context})`)
    if (code === 401 || code === 403) return new ClusterError(`${what}: access denied (${apiErrorMessage(err)})`)
    return new ClusterError(`${what}: cannot reach ${server}: ${apiErrorMessage(err)}`)
  }

  const events = async (selector: string): Promise<unknown[]> => {
    try {
      return (await core.listNamespacedEvent({ namespace, fieldSelector: selector })).items
    } catch (err) {
      warn(`cannot read events (${apiErrorMessage(err)}); explaining without them`)
      return []
    }
  }

  /** The controller, one level up; a failure to read it only costs detail. */
  const owner = async (pod: unknown, wantObject: (kind: string) => boolean): Promise<{ owner?: PodInput['owner']; events: unknown[] }> => {
    const refs = get(pod, 'metadata', 'ownerReferences')
    const ref = Array.isArray(refs) ? (refs.find((r) => get(r, 'controller') === true) ?? refs[0]) : undefined
    const kind = str(get(ref, 'kind'))
    const name = str(get(ref, 'name'))
    const uid = str(get(ref, 'uid'))
    if (kind === undefined || name === undefined) return { events: [] }
    let object: unknown
    if (wantObject(kind)) {
      try {
        if (kind === 'ReplicaSet') object = await apps.readNamespacedReplicaSet({ name, namespace })
        else if (kind === 'StatefulSet') object = await apps.readNamespacedStatefulSet({ name, namespace })
        else if (kind === 'DaemonSet') object = await apps.readNamespacedDaemonSet({ name, namespace })
        else if (kind === 'Job') object = await batch.readNamespacedJob({ name, namespace })
        else if (kind === 'ReplicationController') object = await core.readNamespacedReplicationController({ name, namespace })
      } catch (err) {
        if (statusCode(err) !== 404) warn(`cannot read ${kind} ${name} (${apiErrorMessage(err)})`)
      }
    }
    const ownerEvents = uid ? await events(`involvedObject.uid=${uid}`) : []
    const o: NonNullable<PodInput['owner']> = { kind, name }
    if (object !== undefined) o.object = { ...(object as object), kind, apiVersion: kind === 'Job' ? 'batch/v1' : kind === 'ReplicationController' ? 'v1' : 'apps/v1' }
    return { owner: o, events: ownerEvents }
  }

  return {
    namespace,
    context,
    fetchLogs: (pod: unknown) => readFailedLogs(core, pod, warn),
    async fetchPod(name: string): Promise<PodInput> {
      let pod: unknown
      try {
        pod = { ...(await core.readNamespacedPod({ name, namespace })), kind: 'Pod', apiVersion: 'v1' }
      } catch (err) {
        throw wrap(`pod ${name}`, err)
      }
      const uid = str(get(pod, 'metadata', 'uid'))
      const podEvents = await events(uid ? `involvedObject.uid=${uid}` : `involvedObject.name=${name}`)
      const o = await owner(pod, () => true)
      const input: PodInput = { file: `pod/${name}`, pod, events: [...podEvents, ...o.events] }
      if (o.owner) input.owner = o.owner
      return input
    },
    async fetchNamespace(): Promise<PodInput[]> {
      let pods: unknown[]
      try {
        pods = (await core.listNamespacedPod({ namespace })).items.map((p) => ({ ...p, kind: 'Pod', apiVersion: 'v1' }))
      } catch (err) {
        throw wrap(`pods`, err)
      }
      let all: unknown[] = []
      try {
        all = (await core.listNamespacedEvent({ namespace })).items
      } catch (err) {
        warn(`cannot read events (${apiErrorMessage(err)}); explaining without them`)
      }
      const out: PodInput[] = []
      const jobs = new Map<string, Awaited<ReturnType<typeof owner>>>()
      for (const pod of pods) {
        const name = str(get(pod, 'metadata', 'name')) ?? '?'
        const input: PodInput = { file: `pod/${name}`, pod, events: all }
        // Only Jobs carry conditions the analysis needs; other owners are known from the reference.
        const refs = get(pod, 'metadata', 'ownerReferences')
        const ref = Array.isArray(refs) ? refs.find((r) => get(r, 'controller') === true) : undefined
        const kind = str(get(ref, 'kind'))
        const refName = str(get(ref, 'name'))
        if (kind === 'Job' && refName !== undefined) {
          let o = jobs.get(refName)
          if (o === undefined) {
            o = await owner(pod, (k) => k === 'Job')
            jobs.set(refName, o)
          }
          if (o.owner) input.owner = o.owner
        } else if (kind !== undefined && refName !== undefined) {
          input.owner = { kind, name: refName }
        }
        out.push(input)
      }
      return out
    },
  }
}
