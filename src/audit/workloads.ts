/**
 * Which objects of a cluster an audit judges, and which pods belong to each of them.
 *
 * A Pod created by a controller is represented by the workload at the top of its owner chain
 * (Pod → ReplicaSet → Deployment, Pod → Job → CronJob, Pod → StatefulSet, DaemonSet or
 * ReplicationController), so that 30 replicas of one Deployment give one verdict, not 31.
 * A ReplicaSet owned by a Deployment, or a Job owned by a CronJob, is likewise represented by
 * its owner. What is judged on its own: every Deployment, StatefulSet, DaemonSet, CronJob and
 * ReplicationController, a ReplicaSet or Job without a listed owner, and a Pod without one.
 * Pods owned by something the audit does not list (an operator's custom resource) are judged
 * once per owner: the first of them by name stands for the rest.
 *
 * Linear in the objects: one index pass, then at most MAX_OWNER_HOPS lookups per object.
 */
import { objectRef } from '../engine/workload.js'
import type { ObjectRef } from '../engine/types.js'
import { byCodeUnits } from '../text/order.js'

/** Kinds an audit lists, in the order they are listed and reported. */
export const WORKLOAD_KINDS = ['Deployment', 'StatefulSet', 'DaemonSet', 'CronJob', 'Job', 'ReplicaSet', 'ReplicationController', 'Pod'] as const
export type WorkloadKind = (typeof WORKLOAD_KINDS)[number]
const KIND_SET: ReadonlySet<string> = new Set(WORKLOAD_KINDS)

/** Longest owner chain followed (Pod → ReplicaSet → Deployment is 2). */
const MAX_OWNER_HOPS = 4

export interface Workload {
  object: ObjectRef
  /** The object as listed, judged by the engine. */
  raw: Record<string, unknown>
  /** Pods represented by this workload (its own object too, for a bare Pod). */
  pods: Record<string, unknown>[]
  /** For a Pod standing for the pods of an unlisted owner: that owner. */
  owner?: { kind: string; name: string }
  /** Jobs between the workload and its pods (a CronJob's), by name: their conditions explain Job failures. */
  jobs: Map<string, Record<string, unknown>>
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

interface OwnerRef {
  kind: string
  name: string
  uid: string | undefined
}

/** The controlling owner reference (controller: true), else the first one. */
export function controllerOf(raw: Record<string, unknown>): OwnerRef | undefined {
  const meta = raw['metadata']
  if (!isRecord(meta)) return undefined
  const refs = meta['ownerReferences']
  if (!Array.isArray(refs) || refs.length === 0) return undefined
  const ref = refs.find((r) => isRecord(r) && r['controller'] === true) ?? refs[0]
  if (!isRecord(ref) || typeof ref['kind'] !== 'string' || typeof ref['name'] !== 'string') return undefined
  return { kind: ref['kind'], name: ref['name'], uid: typeof ref['uid'] === 'string' && ref['uid'] !== '' ? ref['uid'] : undefined }
}

function uidOf(raw: Record<string, unknown>): string | undefined {
  const meta = raw['metadata']
  const uid = isRecord(meta) ? meta['uid'] : undefined
  return typeof uid === 'string' && uid !== '' ? uid : undefined
}

function key(kind: string, namespace: string, name: string): string {
  return `${kind}\u0000${namespace}\u0000${name}`
}

function compareRefs(a: ObjectRef, b: ObjectRef): number {
  const ns = byCodeUnits(a.namespace ?? '', b.namespace ?? '')
  if (ns !== 0) return ns
  const k = WORKLOAD_KINDS.indexOf(a.kind as WorkloadKind) - WORKLOAD_KINDS.indexOf(b.kind as WorkloadKind)
  return k !== 0 ? k : byCodeUnits(a.name, b.name)
}

export interface GroupResult {
  workloads: Workload[]
  /** Objects skipped because they are not objects with a kind, name and namespace. */
  skipped: number
}

/**
 * Groups listed objects into the workloads an audit judges. Objects of other kinds are ignored.
 * The result is sorted by namespace, kind (in WORKLOAD_KINDS order) and name.
 */
export function groupWorkloads(objects: Iterable<unknown>): GroupResult {
  const byUid = new Map<string, Record<string, unknown>>()
  const byKey = new Map<string, Record<string, unknown>>()
  const all: { raw: Record<string, unknown>; ref: ObjectRef }[] = []
  let skipped = 0
  for (const o of objects) {
    if (!isRecord(o)) continue
    const ref = objectRef(o)
    if (!KIND_SET.has(ref.kind)) continue
    if (ref.name === '' || ref.namespace === undefined) {
      skipped++
      continue
    }
    const k = key(ref.kind, ref.namespace, ref.name)
    if (byKey.has(k)) continue // the same object listed twice (two overlapping files): judged once
    byKey.set(k, o)
    const uid = uidOf(o)
    if (uid !== undefined) byUid.set(uid, o)
    all.push({ raw: o, ref })
  }

  /** The listed owner of an object, matched by uid where the reference has one, else by kind and name. */
  const ownerOf = (raw: Record<string, unknown>, namespace: string): Record<string, unknown> | undefined => {
    const ref = controllerOf(raw)
    if (ref === undefined) return undefined
    const found = ref.uid !== undefined ? byUid.get(ref.uid) : undefined
    if (found !== undefined) return found
    const byName = byKey.get(key(ref.kind, namespace, ref.name))
    // A reference with a uid that matches nothing points at an object that is gone, even if a
    // new one took its name.
    if (byName === undefined || (ref.uid !== undefined && uidOf(byName) !== undefined)) return undefined
    return byName
  }

  /** The top of the owner chain among listed objects, with the Jobs passed on the way. */
  const topOf = (raw: Record<string, unknown>, namespace: string): { top: Record<string, unknown>; jobs: Record<string, unknown>[] } => {
    let cur = raw
    const jobs: Record<string, unknown>[] = []
    for (let hop = 0; hop < MAX_OWNER_HOPS; hop++) {
      const next = ownerOf(cur, namespace)
      if (next === undefined || next === raw) break
      if (objectRef(cur).kind === 'Job') jobs.push(cur)
      cur = next
    }
    return { top: cur, jobs }
  }

  const workloads = new Map<Record<string, unknown>, Workload>()
  const foreign = new Map<string, Workload>()
  const ensure = (raw: Record<string, unknown>): Workload => {
    let w = workloads.get(raw)
    if (w === undefined) {
      w = { object: objectRef(raw), raw, pods: [], jobs: new Map() }
      workloads.set(raw, w)
    }
    return w
  }

  // Pods in name order, so that the one standing for an unlisted owner is always the same.
  all.sort((a, b) => compareRefs(a.ref, b.ref))
  for (const { raw, ref } of all) {
    const namespace = ref.namespace ?? ''
    const { top, jobs } = topOf(raw, namespace)
    if (top !== raw) {
      // Represented by its owner; a Pod adds itself to the owner's pods.
      const w = ensure(top)
      if (ref.kind === 'Pod') w.pods.push(raw)
      for (const j of jobs) w.jobs.set(objectRef(j).name, j)
      if (ref.kind === 'Job') w.jobs.set(ref.name, raw)
      continue
    }
    const owner = controllerOf(raw)
    if (owner !== undefined && ref.kind === 'Pod') {
      // Owned by something not listed: one Pod stands for every Pod of that owner.
      const k = owner.uid ?? key(owner.kind, namespace, owner.name)
      let w = foreign.get(k)
      if (w === undefined) {
        w = { object: ref, raw, pods: [], owner: { kind: owner.kind, name: owner.name }, jobs: new Map() }
        foreign.set(k, w)
        workloads.set(raw, w)
      }
      w.pods.push(raw)
      continue
    }
    const w = ensure(raw)
    if (ref.kind === 'Pod') w.pods.push(raw)
    if (ref.kind === 'Job') w.jobs.set(ref.name, raw)
  }
  const list = [...workloads.values()].sort((a, b) => compareRefs(a.object, b.object))
  return { workloads: list, skipped }
}
