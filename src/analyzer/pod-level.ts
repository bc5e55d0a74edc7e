import { formatPath } from '../input/field-path.js'
import { ago, at, eventLine, iso, kubectl, type Ctx } from './context.js'
import type { EventView } from './events.js'
import { arr, get, int, str } from './narrow.js'
import { parseQuantity } from './memory.js'
import { parseEviction, parseFailedScheduling, parseMountFailure, parseQuotaMessage, type SchedulingReason, type SchedulingReasonKind } from './messages.js'
import { condition, graceSeconds, type ContainerView } from './pod.js'
import { runsForever } from './spec-hints.js'
import type { Diagnosis } from './types.js'
import { analyzeContainer, initFailing } from './container.js'

const MAX_EVENT_LINES = 3

function podDiag(cause: Diagnosis['cause'], summary: string): Diagnosis {
  return { cause, summary, evidence: [], next: [] }
}

function addEvents(ctx: Ctx, d: Diagnosis, events: readonly EventView[]): void {
  for (const e of events.slice(0, MAX_EVENT_LINES)) d.evidence.push(eventLine(ctx, e))
}

function podTitle(ctx: Ctx): string {
  return `Pod ${ctx.pod.name}`
}

// ---------------------------------------------------------------- scheduling

const REASON_WORDS: Record<SchedulingReasonKind, string> = {
  'insufficient-cpu': 'not enough free CPU',
  'insufficient-memory': 'not enough free memory',
  'insufficient-other': 'not enough of a resource',
  'selector-mismatch': "labels do not match the pod's nodeSelector/affinity",
  taint: 'a taint the pod does not tolerate',
  'unbound-pvc': 'a PersistentVolumeClaim is not bound',
  'pod-affinity': 'pod affinity not satisfied',
  'pod-anti-affinity': 'pod anti-affinity rules',
  'unschedulable-node': 'node cordoned (unschedulable)',
  'not-ready-node': 'node not ready or unreachable',
  'volume-node-affinity': "the volume is bound to another zone/node (volume node affinity)",
  ports: 'the host port is taken',
  'topology-spread': 'topology spread constraints',
  'volume-limits': 'too many volumes attached',
  'too-many-pods': 'the node has reached its pod limit',
  other: 'other',
}

function ruleForScheduling(ctx: Ctx, r: SchedulingReason): string | undefined {
  switch (r.kind) {
    case 'insufficient-cpu':
    case 'insufficient-memory':
    case 'insufficient-other': {
      const hugeCpu = ctx.pod.containers.some((c) => {
        const q = c.requests['cpu'] ?? c.limits['cpu']
        return q !== undefined && /^\s*\d+(\.\d+)?\s*$/.test(q) && Number(q) > 128
      })
      return r.kind === 'insufficient-cpu' && hugeCpu ? 'cpu-quantity-suspicious' : 'no-node-fits-requests'
    }
    case 'selector-mismatch':
      // With no nodeSelector, the mismatch can only come from required node affinity.
      return Object.keys(ctx.pod.nodeSelector).length > 0 ? 'node-selector-unsatisfiable' : 'node-affinity-unsatisfiable'
    case 'taint':
      return 'taints-not-tolerated'
    case 'unbound-pvc':
      return r.detail !== undefined ? 'pvc-missing' : undefined
    case 'pod-anti-affinity':
      return 'anti-affinity-exceeds-nodes'
    case 'unschedulable-node':
    case 'not-ready-node':
      return 'no-ready-node'
    default:
      return undefined
  }
}

function schedulingNext(ctx: Ctx, kinds: Set<SchedulingReasonKind>, reasons: SchedulingReason[]): string[] {
  const ns = ctx.pod.namespace
  const out: string[] = [kubectl.describePod(ctx)]
  if (kinds.has('insufficient-cpu') || kinds.has('insufficient-memory') || kinds.has('insufficient-other')) {
    out.push(
      'kubectl describe nodes | grep -A 8 "Allocated resources"',
      'Lower the pod\'s requests to what it needs, free capacity, or add nodes (cluster autoscaler); requests count, not actual usage.',
    )
  }
  if (kinds.has('selector-mismatch')) {
    const sel = Object.entries(ctx.pod.nodeSelector).map(([k, v]) => `${k}=${v}`).join(',')
    out.push(sel ? `kubectl get nodes -l ${sel}` : 'kubectl get nodes --show-labels', 'Label a node to match, or fix the nodeSelector / required node affinity of the pod.')
  }
  if (kinds.has('taint')) {
    out.push("kubectl get nodes -o custom-columns=NAME:.metadata.name,TAINTS:.spec.taints", 'Add a matching toleration to the pod, or remove the taint if it is not needed (`kubectl taint nodes NODE KEY-`).')
  }
  if (kinds.has('unbound-pvc')) {
    const claims = new Set([...reasons.flatMap((r) => (r.kind === 'unbound-pvc' && r.detail ? [r.detail] : [])), ...ctx.pod.volumes.flatMap((v) => (v.pvc ? [v.pvc] : []))])
    out.push(`kubectl get pvc -n ${ns}`)
    for (const c of claims) out.push(`kubectl describe pvc ${c} -n ${ns}`)
    out.push('A claim stays Pending when it does not exist, names a StorageClass that does not exist, or no PersistentVolume matches it (and there is no provisioner).')
  }
  if (kinds.has('pod-anti-affinity') || kinds.has('pod-affinity') || kinds.has('topology-spread')) {
    out.push('Required pod (anti-)affinity and topology spread need enough nodes/zones: use preferred rules, fewer replicas, or more nodes.')
  }
  if (kinds.has('unschedulable-node') || kinds.has('not-ready-node')) {
    out.push('kubectl get nodes', 'Uncordon nodes that are done with maintenance (`kubectl uncordon NODE`) and repair NotReady nodes.')
  }
  if (kinds.has('volume-node-affinity')) {
    out.push('kubectl get pv -o custom-columns=NAME:.metadata.name,CLAIM:.spec.claimRef.name,AFFINITY:.spec.nodeAffinity', 'The volume lives in a zone where no eligible node is; use a StorageClass with volumeBindingMode WaitForFirstConsumer.')
  }
  return out
}

function unschedulable(ctx: Ctx): Diagnosis | undefined {
  const pod = ctx.pod
  if (pod.nodeName !== undefined || (pod.phase !== undefined && pod.phase !== 'Pending')) return undefined
  const cond = condition(pod, 'PodScheduled')
  if (cond?.reason === 'SchedulingGated') return undefined // held on purpose by spec.schedulingGates
  const failed = ctx.events.filter((e) => e.reason === 'FailedScheduling')
  if (cond?.status !== 'False' && failed.length === 0) return undefined
  const message = failed[0]?.message ?? cond?.message
  const parsed = message !== undefined ? parseFailedScheduling(message) : undefined
  const reasons = parsed?.reasons ?? []
  const total = parsed?.nodes
  const counted = reasons.map((r) => `${r.count !== undefined ? `${r.count} node${r.count === 1 ? '' : 's'}: ` : ''}${r.text}`)
  const since = ago(ctx, cond?.lastTransitionTime ?? pod.creationTimestamp)
  let summary = `${podTitle(ctx)} is Pending${since ? ` (for ${since})` : ''}: the scheduler finds no node for it`
  if (total !== undefined) summary += ` (0 of ${total} nodes fit)`
  if (reasons.length > 0) summary += `: ${reasons.map((r) => `${r.count !== undefined ? `${r.count}× ` : ''}${REASON_WORDS[r.kind] === 'other' ? r.text : REASON_WORDS[r.kind]}${r.detail && r.kind === 'taint' ? ` {${r.detail}}` : r.kind === 'insufficient-other' && r.detail ? ` (${r.detail})` : ''}`).join(', ')}`
  else if (message === undefined) summary += '; the reason is not in the input (no FailedScheduling event or condition message)'
  const d = podDiag('unschedulable', `${summary}.`)
  if (cond) {
    d.evidence.push(at(['status', 'conditions', cond.index], { type: 'PodScheduled', status: cond.status, ...(cond.reason ? { reason: cond.reason } : {}) }))
    if (cond.message && cond.message !== failed[0]?.message) d.evidence.push(at(['status', 'conditions', cond.index, 'message'], cond.message))
  }
  addEvents(ctx, d, failed.slice(0, 1))
  d.evidence.push(...counted)
  if (reasons.some((r) => r.kind.startsWith('insufficient'))) {
    for (const c of ctx.pod.containers) {
      const req = Object.entries(c.requests)
      if (req.length > 0) d.evidence.push(at([...c.path, 'resources', 'requests'], Object.fromEntries(req)))
    }
  }
  if (reasons.some((r) => r.kind === 'selector-mismatch') && Object.keys(pod.nodeSelector).length > 0) d.evidence.push(at(['spec', 'nodeSelector'], pod.nodeSelector))
  if (parsed?.preemption) d.evidence.push(`preemption: ${parsed.preemption}`)
  // The rule for the reason that excludes the most nodes; a pod-wide reason (no count) excludes all.
  const ranked = [...reasons].sort((a, b) => (b.count ?? total ?? Infinity) - (a.count ?? total ?? Infinity))
  for (const r of ranked) {
    const rule = ruleForScheduling(ctx, r)
    if (rule !== undefined) {
      d.preventedBy = rule
      break
    }
  }
  d.next.push(...schedulingNext(ctx, new Set(reasons.map((r) => r.kind)), reasons))
  return d
}

// ---------------------------------------------------------------- eviction, node loss, deletion

function evicted(ctx: Ctx): Diagnosis | undefined {
  const pod = ctx.pod
  const disruption = condition(pod, 'DisruptionTarget')
  const byKubelet = disruption?.status === 'True' && disruption.reason === 'TerminationByKubelet' && /low on resource|eviction|exceeds/i.test(disruption.message ?? '')
  if (pod.reason !== 'Evicted' && !byKubelet) return undefined
  const message = pod.message ?? disruption?.message ?? ''
  const info = parseEviction(message)
  const node = pod.nodeName ?? 'its node'
  const what =
    info.scope === 'container-limit'
      ? `${info.detail ?? 'a container'} wrote more local data than its ephemeral-storage limit`
      : info.scope === 'pod-limit'
        ? 'the pod wrote more local data than the sum of its ephemeral-storage limits'
        : info.scope === 'emptydir-limit'
          ? 'an emptyDir volume grew past its sizeLimit'
          : info.resource !== undefined
            ? `node ${node} ran short of ${info.resource === 'pids' ? 'process IDs' : info.resource === 'imagefs' ? 'image filesystem space' : info.resource}${info.detail ? `; ${info.detail}` : ''}`
            : 'the kubelet needed to reclaim resources'
  const d = podDiag('evicted', `${podTitle(ctx)} was evicted by the kubelet: ${what}.`)
  if (pod.reason) d.evidence.push(at(['status', 'reason'], pod.reason))
  if (message) d.evidence.push(at(['status', 'message'], message.trim()))
  const appContainers = pod.containers.filter((c) => c.kind !== 'ephemeral')
  if (info.scope === 'node-pressure' && info.resource === 'memory') {
    const noLimit = appContainers.filter((c) => c.limits['memory'] === undefined)
    const below = appContainers.filter((c) => {
      const r = c.requests['memory']
      const l = c.limits['memory']
      const rb = r !== undefined ? parseQuantity(r) : undefined
      const lb = l !== undefined ? parseQuantity(l) : undefined
      return rb === undefined || (lb !== undefined && rb < lb)
    })
    if (noLimit.length > 0) {
      d.preventedBy = 'memory-limit-missing'
      d.evidence.push(...noLimit.map((c) => `${formatPath([...c.path, 'resources', 'limits', 'memory'])}: not set (container ${c.name})`))
    } else if (below.length > 0) {
      d.preventedBy = 'memory-request-below-limit'
      d.evidence.push(...below.map((c) => `${formatPath([...c.path, 'resources'])}: memory request ${c.requests['memory'] ?? 'not set'} below limit ${c.limits['memory'] ?? ''} (container ${c.name})`))
    }
  } else if (info.resource === 'ephemeral-storage' && info.scope === 'node-pressure') {
    const none = appContainers.filter((c) => c.limits['ephemeral-storage'] === undefined)
    if (none.length > 0) {
      d.preventedBy = 'ephemeral-storage-limit-missing'
      d.evidence.push(...none.map((c) => `${formatPath([...c.path, 'resources', 'limits', 'ephemeral-storage'])}: not set (container ${c.name})`))
    }
  }
  d.next.push(...(pod.nodeName ? [kubectl.describeNode(pod.nodeName)] : []))
  if (info.resource === 'memory') d.next.push('Give memory requests equal to limits (Guaranteed QoS pods are evicted last), and size requests to real usage so the node is not overcommitted.')
  else if (info.resource === 'ephemeral-storage' || info.resource === 'imagefs') d.next.push('Set ephemeral-storage requests and limits, give emptyDir volumes a sizeLimit, and keep logs and temp files small (log rotation, a volume for big data).')
  else if (info.resource === 'pids') d.next.push('Find the process that forks without bound (zombie children, thread leaks); the kubelet can cap pids per pod (podPidsLimit).')
  d.next.push(`kubectl delete pod ${pod.name} -n ${pod.namespace}   # evicted pods stay listed until deleted; a controller already replaced it`)
  return d
}

function nodeLost(ctx: Ctx): Diagnosis | undefined {
  const pod = ctx.pod
  const notReady = ctx.events.filter((e) => e.reason === 'NodeNotReady')
  const lost = pod.phase === 'Unknown' || pod.reason === 'NodeLost' || (notReady.length > 0 && condition(pod, 'Ready')?.status === 'False' && pod.deletionTimestamp === undefined)
  if (!lost) return undefined
  const node = pod.nodeName
  const d = podDiag(
    'node-lost',
    `${podTitle(ctx)} is on node ${node ?? '(unknown)'}, which stopped reporting to the API server: the pod's real state is unknown${pod.phase === 'Unknown' ? ' (phase Unknown)' : ''}.`,
  )
  if (pod.phase) d.evidence.push(at(['status', 'phase'], pod.phase))
  if (pod.reason) d.evidence.push(at(['status', 'reason'], pod.reason))
  if (pod.message) d.evidence.push(at(['status', 'message'], pod.message))
  if (node) d.evidence.push(at(['spec', 'nodeName'], node))
  addEvents(ctx, d, notReady)
  if (node) d.next.push(`kubectl get node ${node}`, kubectl.describeNode(node))
  d.next.push(
    'On the node: check the kubelet and the container runtime (`journalctl -u kubelet`, `systemctl status containerd`), disk, memory and network.',
    node
      ? `If the node is gone for good: kubectl delete node ${node}   # its pods are then removed and recreated elsewhere`
      : 'If the node is gone for good, delete the Node object so the pods are recreated elsewhere.',
  )
  return d
}

function stuckTerminating(ctx: Ctx): Diagnosis | undefined {
  const pod = ctx.pod
  const deletion = pod.deletionTimestamp
  if (deletion === undefined) return undefined
  const grace = graceSeconds(pod)
  const overdueMs = ctx.now.getTime() - deletion.getTime()
  if (overdueMs <= grace * 1000) return undefined
  const why: string[] = []
  if (pod.finalizers.length > 0) why.push(`finalizers ${pod.finalizers.join(', ')} have not been removed by their controllers`)
  if (pod.phase === 'Unknown' || pod.reason === 'NodeLost' || ctx.events.some((e) => e.reason === 'NodeNotReady')) {
    why.push(`node ${pod.nodeName ?? '(unknown)'} is not reporting, so no kubelet confirms the containers stopped`)
  }
  const running = pod.containers.filter((c) => c.status?.state.running !== undefined)
  if (running.length > 0 && why.length === 0) {
    why.push(`the kubelet on ${pod.nodeName ?? 'its node'} has not stopped ${running.map((c) => c.name).join(', ')} (a process ignoring SIGTERM is killed at the grace period, so the kubelet or runtime is likely stuck)`)
  }
  if (pod.nodeName === undefined && pod.finalizers.length === 0) why.push('it was never scheduled, yet is still there')
  const d = podDiag(
    'stuck-terminating',
    `${podTitle(ctx)} has been Terminating for ${ago(ctx, deletion)} past its deletion time (grace period ${grace}s)${why.length ? `: ${why.join('; ')}` : ''}.`,
  )
  d.evidence.push(at(['metadata', 'deletionTimestamp'], iso(deletion)))
  d.evidence.push(pod.deletionGracePeriodSeconds !== undefined ? at(['metadata', 'deletionGracePeriodSeconds'], pod.deletionGracePeriodSeconds) : `grace period: ${grace}s`)
  if (pod.finalizers.length > 0) d.evidence.push(at(['metadata', 'finalizers'], pod.finalizers))
  if (pod.nodeName) d.evidence.push(at(['spec', 'nodeName'], pod.nodeName))
  for (const c of running) d.evidence.push(`${formatPath([...(c.status?.path ?? c.path), 'state'])}: running (container ${c.name})`)
  const ns = pod.namespace
  if (pod.finalizers.length > 0) {
    d.next.push(
      `kubectl get pod ${pod.name} -n ${ns} -o jsonpath='{.metadata.finalizers}'`,
      'Find the controller that owns each finalizer and why it is not finishing; remove a finalizer by hand only when that controller is gone for good:',
      `kubectl patch pod ${pod.name} -n ${ns} --type=merge -p '{"metadata":{"finalizers":null}}'`,
    )
  }
  if (pod.nodeName) d.next.push(kubectl.describeNode(pod.nodeName))
  d.next.push(
    `kubectl delete pod ${pod.name} -n ${ns} --grace-period=0 --force   # last resort: the containers may still run on the node`,
  )
  return d
}

// ---------------------------------------------------------------- Jobs and quota

function jobCondition(ctx: Ctx, reason: string): { message?: string; index: number } | undefined {
  const obj = ctx.owner?.object
  if (ctx.owner?.kind !== 'Job' || obj === undefined) return undefined
  const conditions = arr(get(obj, 'status', 'conditions'))
  for (let i = 0; i < conditions.length; i++) {
    const c = conditions[i]
    if ((str(get(c, 'type')) === 'Failed' || str(get(c, 'type')) === 'FailureTarget') && str(get(c, 'status')) === 'True' && str(get(c, 'reason')) === reason) {
      const message = str(get(c, 'message'))
      return message !== undefined ? { message, index: i } : { index: i }
    }
  }
  return undefined
}

function deadlineExceeded(ctx: Ctx): Diagnosis | undefined {
  const pod = ctx.pod
  const job = jobCondition(ctx, 'DeadlineExceeded')
  const jobEvents = ctx.ownerEvents.filter((e) => e.reason === 'DeadlineExceeded')
  if (pod.reason !== 'DeadlineExceeded' && job === undefined && jobEvents.length === 0) return undefined
  const ns = pod.namespace
  if (pod.reason === 'DeadlineExceeded') {
    const d = podDiag('deadline-exceeded', `${podTitle(ctx)} was stopped: it ran longer than its activeDeadlineSeconds${pod.activeDeadlineSeconds !== undefined ? ` (${pod.activeDeadlineSeconds}s)` : ''}.`)
    d.evidence.push(at(['status', 'reason'], pod.reason))
    if (pod.message) d.evidence.push(at(['status', 'message'], pod.message))
    if (pod.activeDeadlineSeconds !== undefined) d.evidence.push(at(['spec', 'activeDeadlineSeconds'], pod.activeDeadlineSeconds))
    d.next.push(...pod.containers.filter((c) => c.kind === 'app').map((c) => kubectl.logs(ctx, c, false)), 'Raise activeDeadlineSeconds if the work legitimately takes longer, or find what made it slow (logs, a dependency that hangs).')
    return d
  }
  const name = ctx.owner?.name ?? '(unknown)'
  const deadline = ctx.owner?.object ? int(get(ctx.owner.object, 'spec', 'activeDeadlineSeconds')) : undefined
  const d = podDiag('deadline-exceeded', `Job ${name} was stopped: it ran longer than its activeDeadlineSeconds${deadline !== undefined ? ` (${deadline}s)` : ''}, and its pods were terminated.`)
  if (job) d.evidence.push(`Job ${name} status.conditions[${job.index}]: Failed, reason DeadlineExceeded${job.message ? `: ${job.message}` : ''}`)
  if (deadline !== undefined) d.evidence.push(`Job ${name} spec.activeDeadlineSeconds: ${deadline}`)
  addEvents(ctx, d, jobEvents)
  d.next.push(`kubectl describe job ${name} -n ${ns}`, `kubectl logs job/${name} -n ${ns}`, 'Raise the Job\'s activeDeadlineSeconds if the work legitimately takes longer, or find what made it slow.')
  return d
}

function backoffLimitExceeded(ctx: Ctx): Diagnosis | undefined {
  const job = jobCondition(ctx, 'BackoffLimitExceeded')
  const events = ctx.ownerEvents.filter((e) => e.reason === 'BackoffLimitExceeded')
  if (job === undefined && events.length === 0) return undefined
  const name = ctx.owner?.name ?? '(unknown)'
  const ns = ctx.pod.namespace
  const limit = ctx.owner?.object ? int(get(ctx.owner.object, 'spec', 'backoffLimit')) : undefined
  const failed = ctx.owner?.object ? int(get(ctx.owner.object, 'status', 'failed')) : undefined
  const d = podDiag(
    'backoff-limit-exceeded',
    `Job ${name} gave up: its pods failed ${failed !== undefined ? `${failed} times` : 'too often'}, reaching backoffLimit ${limit ?? 6}; no new pods will be started. The failures of this pod are below.`,
  )
  if (job) d.evidence.push(`Job ${name} status.conditions[${job.index}]: Failed, reason BackoffLimitExceeded${job.message ? `: ${job.message}` : ''}`)
  if (limit !== undefined) d.evidence.push(`Job ${name} spec.backoffLimit: ${limit}`)
  if (failed !== undefined) d.evidence.push(`Job ${name} status.failed: ${failed}`)
  addEvents(ctx, d, events)
  d.next.push(`kubectl describe job ${name} -n ${ns}`, `kubectl get pods -n ${ns} -l job-name=${name}`, `kubectl logs job/${name} -n ${ns}`, 'Fix the cause of the pod failures, then delete and re-create the Job (a failed Job does not retry).')
  return d
}

function quotaExceeded(ctx: Ctx): Diagnosis | undefined {
  const candidates = [...ctx.ownerEvents, ...ctx.events].filter((e) => e.reason === 'FailedCreate' || /forbidden/i.test(e.message))
  for (const e of candidates) {
    const q = parseQuotaMessage(e.message)
    if (q === undefined) continue
    const owner = ctx.owner ? `${ctx.owner.kind} ${ctx.owner.name}` : 'The controller'
    const ns = ctx.pod.namespace
    const what =
      q.kind === 'quota-exceeded'
        ? `ResourceQuota${q.quota ? ` "${q.quota}"` : ''} in namespace ${ns} is used up (${q.detail})`
        : q.kind === 'quota-requires-limits'
          ? `ResourceQuota${q.quota ? ` "${q.quota}"` : ''} requires every container to declare the quota'd resources: ${q.detail}`
          : `a LimitRange in namespace ${ns} forbids the requested size: ${q.detail}`
    const d = podDiag('quota-exceeded', `${owner} cannot create more pods: ${what}.`)
    d.evidence.push(eventLine(ctx, e))
    d.preventedBy = q.kind
    d.next.push(
      `kubectl describe resourcequota -n ${ns}`,
      ...(q.kind === 'limitrange-violation' ? [`kubectl describe limitrange -n ${ns}`] : []),
      ...(ctx.owner ? [`kubectl describe ${ctx.owner.kind.toLowerCase()} ${ctx.owner.name} -n ${ns}`] : []),
      q.kind === 'quota-requires-limits'
        ? 'Set requests and limits on every container (or add a LimitRange with defaults).'
        : 'Lower the requests per pod or the replica count, free quota by removing unused workloads, or ask for a larger quota.',
    )
    return d
  }
  return undefined
}

// ---------------------------------------------------------------- stuck creating

function stuckCreating(ctx: Ctx): Diagnosis | undefined {
  const pod = ctx.pod
  const creating = pod.containers.some((c) => c.status === undefined || c.status.state.waiting?.reason === 'ContainerCreating' || c.status.state.waiting?.reason === 'PodInitializing')
  if (!creating && pod.phase !== 'Pending') return undefined
  if (pod.nodeName === undefined) return undefined
  const mount = ctx.events.filter((e) => ['FailedMount', 'FailedAttachVolume', 'FailedMapVolume'].includes(e.reason))
  if (mount.length > 0) {
    const parsed = mount.map((e) => parseMountFailure(e.message))
    const missing = parsed.find((m) => m.missing)?.missing
    const volume = parsed.find((m) => m.volume)?.volume
    const attach = mount.some((e) => e.reason === 'FailedAttachVolume')
    const d = podDiag(
      'volume-mount-failed',
      `${podTitle(ctx)} is stuck in ContainerCreating: ${attach ? 'a volume cannot be attached to' : 'a volume cannot be mounted on'} node ${pod.nodeName}${volume ? ` (volume "${volume}")` : ''}${missing ? `: ${missing.kind} "${missing.name}" does not exist` : ''}.`,
    )
    addEvents(ctx, d, mount)
    if (missing) d.preventedBy = missing.kind === 'ConfigMap' ? 'configmap-missing' : missing.kind === 'Secret' ? 'secret-missing' : 'pvc-missing'
    const ns = pod.namespace
    d.next.push(kubectl.describePod(ctx))
    if (missing) d.next.push(`kubectl get ${missing.kind.toLowerCase()} ${missing.name} -n ${ns}`, `Create ${missing.kind} "${missing.name}" in namespace ${ns} (or fix the name in spec.volumes).`)
    const claims = pod.volumes.flatMap((v) => (v.pvc ? [v.pvc] : []))
    for (const c of claims) d.next.push(`kubectl describe pvc ${c} -n ${ns}`)
    if (attach) d.next.push('kubectl get volumeattachments', 'An attach failure is often a volume still attached to another node (Multi-Attach error) or a zone mismatch; it clears when the old node releases the volume.')
    else if (!missing) d.next.push('Check the storage driver (CSI node plugin pods on that node), NFS/iSCSI reachability, and the mount options.')
    return d
  }
  const sandbox = ctx.events.filter((e) => e.reason === 'FailedCreatePodSandBox')
  if (sandbox.length > 0) {
    const d = podDiag('container-create-failed', `${podTitle(ctx)} is stuck in ContainerCreating: the pod sandbox (its network namespace) cannot be created on node ${pod.nodeName}.`)
    addEvents(ctx, d, sandbox)
    d.next.push(kubectl.describeNode(pod.nodeName), 'kubectl get pods -n kube-system -o wide   # the CNI plugin pods on that node', 'Check the CNI plugin on the node (IP pool exhausted, plugin not running, config missing).')
    return d
  }
  return undefined
}

// ---------------------------------------------------------------- init containers

function initStatusLabel(c: ContainerView, index: number, total: number): string {
  const s = c.status
  const w = s?.state.waiting?.reason
  if (w) return `Init:${w}`
  if (s?.state.terminated && s.state.terminated.exitCode !== 0) return 'Init:Error'
  return `Init:${index}/${total}`
}

function initContainers(ctx: Ctx): Diagnosis[] {
  const inits = ctx.pod.containers.filter((c) => c.kind === 'init' && c.restartPolicy !== 'Always')
  const total = inits.length
  for (let i = 0; i < inits.length; i++) {
    const c = inits[i]
    if (c === undefined) continue
    const s = c.status
    if (s === undefined) return []
    if (s.state.terminated?.exitCode === 0) continue
    if (initFailing(c)) {
      const own = analyzeContainer(ctx, c)
      const label = initStatusLabel(c, i, total)
      const first = own[0]
      const d: Diagnosis = {
        cause: 'init-container-failed',
        container: c.name,
        summary: `${podTitle(ctx)} is stuck in ${label}: init container "${c.name}" (${i + 1} of ${total}) fails${first ? ` (${first.cause}${first.exitCode !== undefined ? `, exit ${first.exitCode}` : ''})` : ''}, so the app containers never start.`,
        evidence: [at([...s.path, 'name'], c.name), ...(s.restartCount > 0 ? [at([...s.path, 'restartCount'], s.restartCount)] : [])],
        next: [kubectl.logs(ctx, c, s.restartCount > 0 && s.state.terminated === undefined), kubectl.describePod(ctx)],
      }
      return [d, ...own]
    }
    if (s.state.running) {
      const forever = runsForever(c)
      const started = s.state.running.startedAt
      const runningMs = started ? ctx.now.getTime() - started.getTime() : undefined
      if (forever === undefined && (runningMs === undefined || runningMs < 10 * 60 * 1000)) return []
      const d: Diagnosis = {
        cause: 'init-container-failed',
        container: c.name,
        summary: `${podTitle(ctx)} is stuck in Init:${i}/${total}: init container "${c.name}" has been running${runningMs !== undefined ? ` for ${ago(ctx, started)}` : ''} and ${forever ? `never exits (${forever})` : 'has not exited'}, so the app containers never start.`,
        evidence: [at([...s.path, 'state', 'running'], { startedAt: iso(started) }), ...(c.command.length ? [at([...c.path, 'command'], c.command)] : []), ...(c.args.length ? [at([...c.path, 'args'], c.args)] : [])],
        next: [kubectl.logs(ctx, c, false), kubectl.describePod(ctx)],
      }
      if (forever) {
        d.preventedBy = 'init-container-never-exits'
        d.next.push('An init container must finish: run long-lived helpers as regular containers, or as native sidecars (an init container with restartPolicy: Always).')
      } else {
        d.next.push('It is probably waiting for something (a service, a file, a migration lock): its log says what.')
      }
      return [d]
    }
    return []
  }
  return []
}

export function analyzePodLevel(ctx: Ctx): { before: Diagnosis[]; skipContainers: boolean } {
  const out: Diagnosis[] = []
  const ev = evicted(ctx)
  if (ev) out.push(ev)
  const lost = nodeLost(ctx)
  if (lost) out.push(lost)
  const stuck = stuckTerminating(ctx)
  if (stuck) out.push(stuck)
  const deadline = deadlineExceeded(ctx)
  if (deadline) out.push(deadline)
  const backoff = backoffLimitExceeded(ctx)
  if (backoff) out.push(backoff)
  const quota = quotaExceeded(ctx)
  if (quota) out.push(quota)
  const sched = unschedulable(ctx)
  if (sched) out.push(sched)
  const creating = stuckCreating(ctx)
  if (creating) out.push(creating)
  out.push(...initContainers(ctx))
  return { before: out, skipContainers: ev !== undefined }
}
