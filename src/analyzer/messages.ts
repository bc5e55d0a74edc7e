/**
 * Classifiers for the free-text messages kubelet, container runtimes, registries and the
 * scheduler write. Each is tolerant of the wording of several versions (docker, containerd,
 * CRI-O; kube-scheduler before and after the scheduling framework).
 */

export type PullFailure = 'image-not-found' | 'image-pull-unauthorized' | 'image-pull-failed'

export interface PullClassification {
  cause: PullFailure
  /** What the message says, in a few words. */
  detail: string
}

export function classifyPullMessage(message: string): PullClassification | undefined {
  const m = message.toLowerCase()
  if (m === '') return undefined
  if (/no match for platform in manifest|no matching manifest for|image with reference .* was found but does not match the specified platform|exec format error/.test(m)) {
    return { cause: 'image-pull-failed', detail: "the image has no build for this node's OS/CPU architecture" }
  }
  if (/pull access denied|repository does not exist or may require|insufficient_scope|requested access to the resource is denied/.test(m)) {
    return { cause: 'image-pull-unauthorized', detail: 'access denied: the repository is private (or does not exist) and no valid credentials were sent' }
  }
  if (/\b401\b|unauthorized|authentication required|no basic auth credentials|\b403\b|forbidden|denied:|permission .* denied|failed to authorize|incorrect username or password/.test(m)) {
    return { cause: 'image-pull-unauthorized', detail: 'the registry refused the credentials (401/403 or no credentials)' }
  }
  if (/\bnot found\b|manifest unknown|name unknown|notfound|404|does not exist|no such image|requested image not found/.test(m)) {
    return { cause: 'image-not-found', detail: 'the registry has no such repository or tag' }
  }
  if (/toomanyrequests|too many requests|rate limit|\b429\b/.test(m)) {
    return { cause: 'image-pull-failed', detail: 'the registry rate-limited the pull (429 Too Many Requests)' }
  }
  if (/x509|certificate|tls:|server gave http response to https client/.test(m)) {
    return { cause: 'image-pull-failed', detail: 'TLS failed between the node and the registry (certificate or http vs https)' }
  }
  if (/i\/o timeout|deadline exceeded|timeout|timed out/.test(m)) {
    return { cause: 'image-pull-failed', detail: 'the pull timed out (network, proxy, or a very large image)' }
  }
  if (/no such host|connection refused|network is unreachable|no route to host|dial tcp|connection reset|eof/.test(m)) {
    return { cause: 'image-pull-failed', detail: 'the node cannot reach the registry (DNS, firewall, proxy or registry down)' }
  }
  if (/no space left on device/.test(m)) {
    return { cause: 'image-pull-failed', detail: "the node's image filesystem is full" }
  }
  return undefined
}

export interface MissingConfig {
  kind: 'ConfigMap' | 'Secret'
  name: string
  key?: string
}

/** `configmap "app" not found`, `secret "db" not found`, `couldn't find key password in Secret ns/db`. */
export function parseMissingConfig(message: string): MissingConfig | undefined {
  const key = /couldn't find key (\S+) in (ConfigMap|Secret) (?:[^/\s]+\/)?([^\s,:]+)/i.exec(message)
  if (key?.[1] && key[2] && key[3]) {
    return { kind: key[2].toLowerCase() === 'secret' ? 'Secret' : 'ConfigMap', name: key[3], key: key[1] }
  }
  const obj = /\b(configmaps?|secrets?) "([^"]+)" not found/i.exec(message)
  if (obj?.[1] && obj[2]) return { kind: obj[1].toLowerCase().startsWith('secret') ? 'Secret' : 'ConfigMap', name: obj[2] }
  return undefined
}

export type StartFailure = 'command-not-found' | 'command-not-executable'

/**
 * Start errors from runc/crun/docker: `exec: "python app.py": executable file not found in $PATH`,
 * `exec: "/start.sh": permission denied`, `stat /app/run: no such file or directory`.
 */
export function classifyStartMessage(message: string): { cause: StartFailure; executable?: string } | undefined {
  const exe = /exec(?:: |\s+)\\?"([^"\\]+)\\?"/.exec(message)?.[1] ?? /exec (\/\S+?):/.exec(message)?.[1]
  const withExe = <T extends { cause: StartFailure }>(r: T): T & { executable?: string } => (exe ? { ...r, executable: exe } : r)
  if (/executable file not found|no such file or directory|not found in \$path/i.test(message)) return withExe({ cause: 'command-not-found' })
  if (/permission denied/i.test(message)) return withExe({ cause: 'command-not-executable' })
  return undefined
}

export type SchedulingReasonKind =
  | 'insufficient-cpu'
  | 'insufficient-memory'
  | 'insufficient-other'
  | 'selector-mismatch'
  | 'taint'
  | 'unbound-pvc'
  | 'pod-affinity'
  | 'pod-anti-affinity'
  | 'unschedulable-node'
  | 'not-ready-node'
  | 'volume-node-affinity'
  | 'ports'
  | 'topology-spread'
  | 'volume-limits'
  | 'too-many-pods'
  | 'other'

export interface SchedulingReason {
  kind: SchedulingReasonKind
  /** Nodes excluded for this reason; undefined when the scheduler did not count (a pod-wide reason). */
  count?: number
  text: string
  /** The taint, the resource, or the claim involved. */
  detail?: string
}

export interface SchedulingFailure {
  /** Nodes considered, from "0/N nodes are available". */
  nodes?: number
  reasons: SchedulingReason[]
  /** The preemption part, when the scheduler says preemption cannot help. */
  preemption?: string
}

function classifyReason(text: string): Omit<SchedulingReason, 'count' | 'text'> {
  const t = text.trim()
  let m: RegExpExecArray | null
  if ((m = /^Insufficient (\S+)/i.exec(t))) {
    const res = m[1] ?? ''
    if (res === 'cpu') return { kind: 'insufficient-cpu', detail: 'cpu' }
    if (res === 'memory') return { kind: 'insufficient-memory', detail: 'memory' }
    return { kind: 'insufficient-other', detail: res }
  }
  if (/untolerated taint|had taints?\b|taint.*didn't tolerate/i.test(t)) {
    const taint = /\{([^}]*)\}/.exec(t)?.[1]?.trim()
    if (taint && /node\.kubernetes\.io\/unschedulable/.test(taint)) return { kind: 'unschedulable-node', detail: taint }
    if (taint && /node\.kubernetes\.io\/(not-ready|unreachable)/.test(taint)) return { kind: 'not-ready-node', detail: taint }
    return taint ? { kind: 'taint', detail: taint } : { kind: 'taint' }
  }
  if (/didn't match (Pod's )?node (affinity|selector)|node\(s\) didn't match node selector|MatchNodeSelector|node affinity\/selector/i.test(t)) return { kind: 'selector-mismatch' }
  if (/unbound (immediate )?PersistentVolumeClaims|persistentvolumeclaim "[^"]+" not found|didn't find available persistent volumes|unbound PersistentVolumeClaim/i.test(t)) {
    const claim = /persistentvolumeclaim "([^"]+)"/i.exec(t)?.[1]
    return claim ? { kind: 'unbound-pvc', detail: claim } : { kind: 'unbound-pvc' }
  }
  if (/volume node affinity conflict/i.test(t)) return { kind: 'volume-node-affinity' }
  if (/anti-affinity|existing pods anti-affinity/i.test(t)) return { kind: 'pod-anti-affinity' }
  if (/pod affinity/i.test(t)) return { kind: 'pod-affinity' }
  if (/were unschedulable|unschedulable/i.test(t)) return { kind: 'unschedulable-node' }
  if (/not ready|NodeNotReady|network unavailable|node\(s\) had (disk|memory|pid) pressure/i.test(t)) return { kind: 'not-ready-node' }
  if (/free ports/i.test(t)) return { kind: 'ports' }
  if (/topology spread/i.test(t)) return { kind: 'topology-spread' }
  if (/max volume count|exceed max volume/i.test(t)) return { kind: 'volume-limits' }
  if (/too many pods/i.test(t)) return { kind: 'too-many-pods' }
  return { kind: 'other' }
}

/**
 * Parses a FailedScheduling message: "0/3 nodes are available: 1 Insufficient cpu, 2 node(s) had
 * untolerated taint {key: value}. preemption: 0/3 nodes are available: 3 Preemption is not
 * helpful for scheduling." Older schedulers ("had taints that the pod didn't tolerate", no
 * preemption part) and messages with no node count ("pod has unbound immediate
 * PersistentVolumeClaims", `persistentvolumeclaim "data" not found`) are handled too.
 */
export function parseFailedScheduling(message: string): SchedulingFailure {
  const out: SchedulingFailure = { reasons: [] }
  let text = message.trim()
  const pre = /\.?\s*preemption:\s*(.*)$/is.exec(text)
  if (pre) {
    if (pre[1]) out.preemption = pre[1].trim()
    text = text.slice(0, pre.index)
  }
  const head = /^(\d+)\/(\d+) nodes are available:?\s*/i.exec(text)
  if (head?.[2]) {
    out.nodes = Number(head[2])
    text = text.slice(head[0].length)
  } else if (/^no nodes available to schedule pods/i.test(text)) {
    out.nodes = 0
    out.reasons.push({ kind: 'other', text: 'no nodes available to schedule pods' })
    return out
  }
  text = text.replace(/\.\s*$/, '')
  // Split on ", " only before a count or a known reason start, not inside {taint: value} braces.
  const parts: string[] = []
  let depth = 0
  let cur = ''
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]
    if (ch === '{') depth++
    if (ch === '}') depth = Math.max(0, depth - 1)
    if (depth === 0 && (ch === ',' || ch === '.') && text[i + 1] === ' ' && /^\s+(\d+ |pod has|node\(s\)|Insufficient|persistentvolumeclaim)/i.test(text.slice(i + 1))) {
      parts.push(cur)
      cur = ''
      i++
      continue
    }
    cur += ch
  }
  if (cur.trim() !== '') parts.push(cur)
  for (const part of parts) {
    const p = part.trim().replace(/\.$/, '')
    if (p === '') continue
    const counted = /^(\d+)\s+(.*)$/s.exec(p)
    const reasonText = counted?.[2] ?? p
    const reason: SchedulingReason = { ...classifyReason(reasonText), text: reasonText.replace(/,\s*that the pod didn't tolerate$/, " that the pod didn't tolerate") }
    if (counted?.[1]) reason.count = Number(counted[1])
    out.reasons.push(reason)
  }
  return out
}

export interface EvictionInfo {
  resource?: 'memory' | 'ephemeral-storage' | 'pids' | 'nodefs' | 'imagefs'
  /** Which container used how much, when the message says. */
  detail?: string
  scope: 'node-pressure' | 'container-limit' | 'pod-limit' | 'emptydir-limit' | 'unknown'
}

/**
 * Reads the kubelet's eviction message: "The node was low on resource: memory. Threshold
 * quantity: 100Mi, available: 80Mi. Container app was using 1Gi, request is 0, has larger
 * consumption of memory.", "The node had condition: [DiskPressure].", "Pod ephemeral local
 * storage usage exceeds the total limit of containers 1Gi.", "Container app exceeded its local
 * ephemeral storage limit "500Mi".", "Usage of EmptyDir volume "cache" exceeds the limit "1Gi".".
 */
export function parseEviction(message: string): EvictionInfo {
  const low = /low on resource: ([a-z.-]+)/i.exec(message)?.[1]?.replace(/\.$/, '')
  const using = /Container (\S+) was using (\S+?),? (?:request is|which exceeds its request of) ([^,.]+)/i.exec(message)
  const detail = using ? `container ${using[1]} was using ${using[2]} (request ${using[3]?.trim()})` : undefined
  const withDetail = (e: EvictionInfo): EvictionInfo => (detail ? { ...e, detail } : e)
  if (low) {
    const r = low.toLowerCase()
    if (r === 'memory') return withDetail({ resource: 'memory', scope: 'node-pressure' })
    if (r === 'ephemeral-storage' || r === 'nodefs' || r === 'nodefs.available') return withDetail({ resource: 'ephemeral-storage', scope: 'node-pressure' })
    if (r === 'imagefs' || r === 'imagefs.available') return withDetail({ resource: 'imagefs', scope: 'node-pressure' })
    if (r === 'pids' || r === 'pid') return withDetail({ resource: 'pids', scope: 'node-pressure' })
  }
  if (/condition: \[?MemoryPressure/i.test(message)) return { resource: 'memory', scope: 'node-pressure' }
  if (/condition: \[?DiskPressure/i.test(message)) return { resource: 'ephemeral-storage', scope: 'node-pressure' }
  if (/condition: \[?PIDPressure/i.test(message)) return { resource: 'pids', scope: 'node-pressure' }
  if (/ephemeral local storage usage exceeds the total limit/i.test(message)) return { resource: 'ephemeral-storage', scope: 'pod-limit' }
  if (/exceeded its local ephemeral storage limit/i.test(message)) {
    const c = /Container (\S+) exceeded/i.exec(message)?.[1]
    return c ? { resource: 'ephemeral-storage', scope: 'container-limit', detail: `container ${c}` } : { resource: 'ephemeral-storage', scope: 'container-limit' }
  }
  if (/EmptyDir volume .* exceeds the limit/i.test(message)) return { resource: 'ephemeral-storage', scope: 'emptydir-limit' }
  return { scope: 'unknown' }
}

export interface QuotaFailure {
  kind: 'quota-exceeded' | 'quota-requires-limits' | 'limitrange-violation'
  quota?: string
  detail: string
}

/**
 * FailedCreate / Forbidden messages: `exceeded quota: compute, requested: limits.memory=2Gi, used:
 * limits.memory=7Gi, limited: limits.memory=8Gi`, `failed quota: compute: must specify
 * limits.cpu,limits.memory`, `maximum memory usage per Container is 1Gi, but limit is 2Gi`.
 */
export function parseQuotaMessage(message: string): QuotaFailure | undefined {
  const exceeded = /exceeded quota: ([^,\s]+),\s*(requested: .*)$/i.exec(message)
  if (exceeded?.[1] && exceeded[2]) return { kind: 'quota-exceeded', quota: exceeded[1], detail: exceeded[2].trim() }
  if (/exceeded quota/i.test(message)) return { kind: 'quota-exceeded', detail: message.trim() }
  const must = /failed quota: ([^:\s]+): (must specify .*)$/i.exec(message)
  if (must?.[1] && must[2]) return { kind: 'quota-requires-limits', quota: must[1], detail: must[2].trim() }
  if (/must specify (limits|requests)\./i.test(message)) return { kind: 'quota-requires-limits', detail: message.trim() }
  const range = /((?:maximum|minimum) \S+ usage per (?:Container|Pod) is .*?)(?:\]|$)/i.exec(message)
  if (range?.[1]) return { kind: 'limitrange-violation', detail: range[1].trim() }
  if (/(limit to request ratio|maxLimitRequestRatio)/i.test(message)) return { kind: 'limitrange-violation', detail: message.trim() }
  return undefined
}

/** `MountVolume.SetUp failed for volume "config" : configmap "app" not found`, `Unable to attach or mount volumes: ...`. */
export function parseMountFailure(message: string): { volume?: string; missing?: { kind: 'ConfigMap' | 'Secret' | 'PersistentVolumeClaim'; name: string } } {
  const out: { volume?: string; missing?: { kind: 'ConfigMap' | 'Secret' | 'PersistentVolumeClaim'; name: string } } = {}
  const volume = /for volume "([^"]+)"/.exec(message)?.[1] ?? /unmounted volumes=\[([^\]\s]+)/.exec(message)?.[1]
  if (volume) out.volume = volume
  const cfg = parseMissingConfig(message)
  if (cfg) out.missing = { kind: cfg.kind, name: cfg.name }
  const pvc = /persistentvolumeclaim "([^"]+)" not found/i.exec(message)?.[1]
  if (pvc) out.missing = { kind: 'PersistentVolumeClaim', name: pvc }
  return out
}
