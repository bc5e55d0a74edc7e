import { get, rec, str } from './narrow.js'
import type { OwnerInfo } from './types.js'

/** Sorting the objects of an input (a mix of Pods, Events, owners) into one analysis per pod. */

export interface SourcedValue {
  value: unknown
  file: string
  line?: number
}

export interface PodInput {
  file: string
  line?: number
  pod: unknown
  events: unknown[]
  owner?: OwnerInfo
  partialSpec?: boolean
  /** The pod was rebuilt from its events alone. */
  eventsOnly?: boolean
  /** What the input does not show that the analysis would have used, for the "could not see" line. */
  unseen?: string[]
  /** Logs of its containers (the previous container's, as `kubectl logs --previous` prints them). */
  logs?: LogInput[]
}

export interface LogInput {
  /** Whose log; undefined when the pod has one container that could be meant. */
  container?: string
  text: string
  /** Where it came from, for the evidence: a file name, or `kubectl logs --previous`. */
  source: string
  /** Bytes were left out before the text (the source was longer than what was read). */
  cut?: boolean
}

export interface AssembleResult {
  pods: PodInput[]
  /** Files that held objects but no Pod, with what they held instead. */
  problems: { file: string; message: string }[]
}

const OWNER_KINDS = new Set(['ReplicaSet', 'Deployment', 'StatefulSet', 'DaemonSet', 'Job', 'ReplicationController', 'CronJob'])

function kindOf(v: unknown): string | undefined {
  return str(get(v, 'kind'))
}

function describeObject(v: unknown): string {
  const kind = kindOf(v) ?? 'object without a kind'
  const name = str(get(v, 'metadata', 'name'))
  return name ? `${kind} ${name}` : kind
}

/**
 * Pairs each Pod with the Events of the whole input (the analyzer keeps those about the pod and
 * its owner) and with its controller when that object is in the input too.
 */
export function assemble(values: readonly SourcedValue[]): AssembleResult {
  const pods = values.filter((v) => kindOf(v.value) === 'Pod')
  const events = values.filter((v) => kindOf(v.value) === 'Event').map((v) => v.value)
  const owners = values.filter((v) => OWNER_KINDS.has(kindOf(v.value) ?? ''))
  const out: AssembleResult = { pods: [], problems: [] }
  for (const p of pods) {
    const input: PodInput = { file: p.file, pod: p.value, events }
    if (p.line !== undefined) input.line = p.line
    const refs = get(p.value, 'metadata', 'ownerReferences')
    const ref = Array.isArray(refs) ? (refs.find((r) => get(r, 'controller') === true) ?? refs[0]) : undefined
    const refKind = str(get(ref, 'kind'))
    const refName = str(get(ref, 'name'))
    if (refKind && refName) {
      const found = owners.find((o) => kindOf(o.value) === refKind && str(get(o.value, 'metadata', 'name')) === refName)
      input.owner = found ? { kind: refKind, name: refName, object: found.value } : { kind: refKind, name: refName }
    }
    out.pods.push(input)
  }
  if (pods.length === 0) {
    const byFile = new Map<string, string[]>()
    for (const v of values) {
      const list = byFile.get(v.file) ?? []
      if (rec(v.value) !== undefined) list.push(describeObject(v.value))
      byFile.set(v.file, list)
    }
    for (const [file, found] of byFile) {
      const summary = summarize(found)
      out.problems.push({
        file,
        message: `no Pod in this input${summary ? ` (found ${summary})` : ''}: give the output of \`kubectl get pod NAME -o yaml\` (with \`kubectl get events -o yaml\` if you like) or of \`kubectl describe pod NAME\``,
      })
    }
  }
  return out
}

function summarize(found: string[]): string {
  if (found.length === 0) return ''
  const events = found.filter((f) => f.startsWith('Event ')).length
  const others = found.filter((f) => !f.startsWith('Event '))
  const parts = others.slice(0, 3)
  if (others.length > 3) parts.push(`${others.length - 3} more`)
  if (events > 0) parts.push(`${events} Event${events === 1 ? '' : 's'}`)
  return parts.join(', ')
}
