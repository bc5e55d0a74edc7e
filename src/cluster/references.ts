/**
 * References from a pod to the objects it depends on (ConfigMaps, Secrets, PVCs, the
 * ServiceAccount), and the one place that decides whether such an object exists.
 *
 * Never a guess: an object counts as missing only when the run holds it not and
 *   - the cluster state knows that kind in that namespace (live, or state files that captured it), or
 *   - the user declared the run complete (`--complete`).
 * Otherwise the answer is "unknown" and the rules stay silent.
 */
import type { RuleContext } from '../engine/rule.js'
import type { PodView } from '../engine/types.js'
import type { StateKind } from './view.js'

export type DependencyKind = 'ConfigMap' | 'Secret' | 'PersistentVolumeClaim' | 'ServiceAccount'

export type Presence =
  | {
      state: 'found'
      /** The keys of a ConfigMap or Secret, when they can be known (a Secret in the cluster: never). */
      keys: ReadonlySet<string> | undefined
      from: 'run' | 'cluster'
      /** The object as written in the run, when it is there. */
      raw?: Record<string, unknown>
    }
  | { state: 'missing'; where: string }
  | { state: 'unknown' }

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

function keysOf(raw: Record<string, unknown>, fields: readonly string[]): Set<string> {
  const keys = new Set<string>()
  for (const f of fields) {
    const v = raw[f]
    if (isRecord(v)) for (const k of Object.keys(v)) keys.add(k)
  }
  return keys
}

export function lookup(kind: DependencyKind, namespace: string, name: string, ctx: RuleContext<unknown>): Presence {
  const inRun = ctx.related?.get(kind, namespace, name)
  if (inRun !== undefined) {
    const keys = kind === 'ConfigMap' ? keysOf(inRun, ['data', 'binaryData']) : kind === 'Secret' ? keysOf(inRun, ['data', 'stringData']) : undefined
    return { state: 'found', keys, from: 'run', raw: inRun }
  }
  const cluster = ctx.cluster
  if (cluster !== undefined && cluster.knows(kind as StateKind, namespace)) {
    switch (kind) {
      case 'ConfigMap': {
        const cm = cluster.configMap(namespace, name)
        if (cm !== undefined) return { state: 'found', keys: cm.keys, from: 'cluster' }
        break
      }
      case 'Secret':
        if (cluster.secret(namespace, name) !== undefined) return { state: 'found', keys: undefined, from: 'cluster' }
        break
      case 'PersistentVolumeClaim':
        if (cluster.persistentVolumeClaim(namespace, name) !== undefined) return { state: 'found', keys: undefined, from: 'cluster' }
        break
      case 'ServiceAccount':
        if (cluster.serviceAccount(namespace, name) !== undefined) return { state: 'found', keys: undefined, from: 'cluster' }
        break
    }
    return { state: 'missing', where: ctx.related !== undefined ? `in this run or in the cluster (${cluster.source})` : `in the cluster` }
  }
  if (ctx.related?.complete === true) return { state: 'missing', where: 'in this run (declared complete with --complete)' }
  return { state: 'unknown' }
}

export interface KeyedReference {
  /** Where the reference is: the field holding the name. */
  path: string
  name: string
  optional: boolean
  /** The container that reads it (env, envFrom), or undefined for a volume. */
  container?: string
  how: 'env' | 'envFrom' | 'volume' | 'projected'
  /** The env variable (env) or the volume (volume, projected) the reference belongs to. */
  via?: string
  /** Keys read: env key (with its path), or volume items. */
  keys: { key: string; path: string }[]
}

function mountedVolumes(pod: PodView): Set<string> {
  const names = new Set<string>()
  for (const c of pod.containers) {
    for (const m of c.spec.volumeMounts ?? []) if (m.name !== undefined) names.add(m.name)
    for (const d of c.spec.volumeDevices ?? []) if (d.name !== undefined) names.add(d.name)
  }
  return names
}

/**
 * Every reference to a ConfigMap or Secret. Volumes no container mounts are left out: the
 * kubelet never mounts them, so a missing object there blocks nothing.
 */
export function keyedReferences(pod: PodView, kind: 'ConfigMap' | 'Secret'): KeyedReference[] {
  const refs: KeyedReference[] = []
  for (const c of pod.containers) {
    ;(c.spec.env ?? []).forEach((e, i) => {
      const ref = kind === 'ConfigMap' ? e.valueFrom?.configMapKeyRef : e.valueFrom?.secretKeyRef
      if (ref?.name === undefined || ref.name === '') return
      const base = `${c.path}.env[${i}].valueFrom.${kind === 'ConfigMap' ? 'configMapKeyRef' : 'secretKeyRef'}`
      refs.push({
        path: `${base}.name`,
        name: ref.name,
        optional: ref.optional === true,
        container: c.name,
        how: 'env',
        via: e.name,
        keys: ref.key === undefined ? [] : [{ key: ref.key, path: `${base}.key` }],
      })
    })
    ;(c.spec.envFrom ?? []).forEach((e, i) => {
      const ref = kind === 'ConfigMap' ? e.configMapRef : e.secretRef
      if (ref?.name === undefined || ref.name === '') return
      const field = kind === 'ConfigMap' ? 'configMapRef' : 'secretRef'
      refs.push({ path: `${c.path}.envFrom[${i}].${field}.name`, name: ref.name, optional: ref.optional === true, container: c.name, how: 'envFrom', keys: [] })
    })
  }
  const mounted = mountedVolumes(pod)
  ;(pod.spec.volumes ?? []).forEach((v, i) => {
    if (v.name === undefined || !mounted.has(v.name)) return
    const base = `${pod.specPath}.volumes[${i}]`
    if (kind === 'ConfigMap' && v.configMap?.name !== undefined && v.configMap.name !== '') {
      refs.push({
        path: `${base}.configMap.name`,
        name: v.configMap.name,
        optional: v.configMap.optional === true,
        how: 'volume',
        via: v.name,
        keys: (v.configMap.items ?? []).flatMap((it, j) => (it.key === undefined ? [] : [{ key: it.key, path: `${base}.configMap.items[${j}].key` }])),
      })
    }
    if (kind === 'Secret' && v.secret?.secretName !== undefined && v.secret.secretName !== '') {
      refs.push({
        path: `${base}.secret.secretName`,
        name: v.secret.secretName,
        optional: v.secret.optional === true,
        how: 'volume',
        via: v.name,
        keys: (v.secret.items ?? []).flatMap((it, j) => (it.key === undefined ? [] : [{ key: it.key, path: `${base}.secret.items[${j}].key` }])),
      })
    }
    ;(v.projected?.sources ?? []).forEach((src, j) => {
      const s = kind === 'ConfigMap' ? src.configMap : src.secret
      if (s?.name === undefined || s.name === '') return
      const field = kind === 'ConfigMap' ? 'configMap' : 'secret'
      const sbase = `${base}.projected.sources[${j}].${field}`
      refs.push({
        path: `${sbase}.name`,
        name: s.name,
        optional: s.optional === true,
        how: 'projected',
        via: v.name,
        keys: (s.items ?? []).flatMap((it, k) => (it.key === undefined ? [] : [{ key: it.key, path: `${sbase}.items[${k}].key` }])),
      })
    })
  })
  return refs
}

export function namespaceOf(pod: PodView): string {
  return pod.object.namespace ?? 'default'
}

export interface DependencyFinding {
  path: string
  container?: string
  message: string
  fix: string
}

function quoted(names: Iterable<string>, max = 5): string {
  const all = [...names].sort()
  const shown = all.slice(0, max).map((k) => `"${k}"`)
  return all.length === 0 ? 'none' : `${shown.join(', ')}${all.length > max ? `, +${all.length - max} more` : ''}`
}

/** The findings of configmap-missing and secret-missing: missing objects, then missing keys. */
export function keyedFindings(pod: PodView, ctx: RuleContext<unknown>, kind: 'ConfigMap' | 'Secret'): DependencyFinding[] {
  const ns = namespaceOf(pod)
  const out: DependencyFinding[] = []
  const seen = new Map<string, Presence>()
  const create =
    kind === 'ConfigMap'
      ? (name: string) => `kubectl create configmap ${name} -n ${ns} --from-file=...`
      : (name: string) => `kubectl create secret generic ${name} -n ${ns} --from-literal=...`
  for (const ref of keyedReferences(pod, kind)) {
    if (ref.optional) continue
    let p = seen.get(ref.name)
    if (p === undefined) {
      p = lookup(kind, ns, ref.name, ctx)
      seen.set(ref.name, p)
    }
    const who = ref.container !== undefined ? `container "${ref.container}"` : `volume "${ref.via ?? ''}"`
    const reads = ref.how === 'env' ? `reads env ${ref.via ?? ''} from` : ref.how === 'envFrom' ? 'imports all keys of' : 'mounts'
    const outcome =
      ref.container !== undefined
        ? `the container never starts (CreateContainerConfigError: ${kind.toLowerCase()} "${ref.name}" not found)`
        : `the pod stays in ContainerCreating (FailedMount: ${kind.toLowerCase()} "${ref.name}" not found)`
    if (p.state === 'missing') {
      const finding: DependencyFinding = {
        path: ref.path,
        message: `${who} ${reads} ${kind} "${ref.name}", which does not exist in namespace "${ns}" ${p.where}: ${outcome}`,
        fix: `create ${kind} "${ref.name}" in namespace "${ns}" before the workload (${create(ref.name)}), correct the name, or set optional: true if the pod can run without it`,
      }
      if (ref.container !== undefined) finding.container = ref.container
      out.push(finding)
      continue
    }
    if (p.state !== 'found' || p.keys === undefined) continue
    for (const k of ref.keys) {
      if (p.keys.has(k.key)) continue
      const keyOutcome =
        ref.container !== undefined
          ? `the container never starts (CreateContainerConfigError: couldn't find key ${k.key} in ${kind} ${ns}/${ref.name})`
          : `the pod stays in ContainerCreating (FailedMount: ${kind.toLowerCase()} references non-existent key ${k.key})`
      const finding: DependencyFinding = {
        path: k.path,
        message: `${who} ${reads} key "${k.key}" of ${kind} "${ref.name}" (${p.from === 'run' ? 'in this run' : 'in the cluster'}), which has no such key (keys: ${quoted(p.keys)}): ${keyOutcome}`,
        fix: `add key "${k.key}" to ${kind} "${ref.name}", or use one of its keys, or set optional: true if the pod can run without it`,
      }
      if (ref.container !== undefined) finding.container = ref.container
      out.push(finding)
    }
  }
  return out
}
