/**
 * Finds the pod template in every pod-bearing kind, in current and old apiVersions, and turns
 * it into a checked PodView. Anything malformed is reported as an InputProblem with its path.
 */
import { formatPath, type PathSegment } from '../input/field-path.js'
import { objectMetaShape, podSpecShape, type ObjectMeta } from './k8s.js'
import type { ShapeError } from './shape.js'
import type { ContainerKind, ContainerView, InputProblem, ObjectRef, PodView } from './types.js'

interface KindInfo {
  /** API groups this kind is served from (any version), '' for the core group. */
  groups: readonly string[]
  /** The apiVersion to write today. */
  current: string
  /** Path from the object to the pod template (or to the pod spec for Pod). */
  template: readonly PathSegment[]
  longRunning: boolean
}

const KINDS: Record<string, KindInfo> = {
  Pod: { current: 'v1', groups: [''], template: [], longRunning: false },
  Deployment: { current: 'apps/v1', groups: ['apps', 'extensions'], template: ['spec', 'template'], longRunning: true },
  StatefulSet: { current: 'apps/v1', groups: ['apps'], template: ['spec', 'template'], longRunning: true },
  DaemonSet: { current: 'apps/v1', groups: ['apps', 'extensions'], template: ['spec', 'template'], longRunning: true },
  ReplicaSet: { current: 'apps/v1', groups: ['apps', 'extensions'], template: ['spec', 'template'], longRunning: true },
  ReplicationController: { current: 'v1', groups: [''], template: ['spec', 'template'], longRunning: true },
  Job: { current: 'batch/v1', groups: ['batch'], template: ['spec', 'template'], longRunning: false },
  CronJob: { current: 'batch/v1', groups: ['batch'], template: ['spec', 'jobTemplate', 'spec', 'template'], longRunning: false },
}

export const POD_BEARING_KINDS: readonly string[] = Object.keys(KINDS)

/** The kinds that make Pods (or Jobs) from a template: every pod-bearing kind but Pod itself. */
export const CONTROLLER_KINDS: readonly string[] = POD_BEARING_KINDS.filter((k) => (KINDS[k]?.template.length ?? 0) > 0)

/** The API groups a pod-bearing kind is served from ('' for the core group), or undefined for another kind. */
export function servedGroups(kind: string): readonly string[] | undefined {
  return Object.hasOwn(KINDS, kind) ? KINDS[kind]?.groups : undefined
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/** The API group of an apiVersion: 'apps' for apps/v1, '' for v1. */
export function groupOf(apiVersion: string): string {
  const slash = apiVersion.indexOf('/')
  return slash < 0 ? '' : apiVersion.slice(0, slash)
}

/** The identity of any object, as far as it can be told. */
export function objectRef(value: unknown): ObjectRef {
  const v = isRecord(value) ? value : {}
  const meta = isRecord(v['metadata']) ? v['metadata'] : {}
  const ref: ObjectRef = {
    apiVersion: typeof v['apiVersion'] === 'string' ? v['apiVersion'] : '',
    kind: typeof v['kind'] === 'string' ? v['kind'] : '',
    name: typeof meta['name'] === 'string' ? meta['name'] : typeof meta['generateName'] === 'string' ? `${meta['generateName']}*` : '',
  }
  if (typeof meta['namespace'] === 'string') ref.namespace = meta['namespace']
  return ref
}

/**
 * True when the object is a kind that carries a pod template. A built-in kind under the wrong
 * built-in group (`apiVersion: v1` with `kind: Deployment`) still counts, so that it is judged
 * and its apiVersion reported; a kind of a custom group (with a dot, e.g. `example.com/v1`)
 * is someone else's resource and does not.
 */
export function isPodBearing(value: unknown): boolean {
  if (!isRecord(value)) return false
  const kind = value['kind']
  const apiVersion = value['apiVersion']
  if (typeof kind !== 'string' || typeof apiVersion !== 'string') return false
  const info = KINDS[kind]
  if (info === undefined) return false
  const group = groupOf(apiVersion)
  return info.groups.includes(group) || !group.includes('.')
}

/** API versions of pod-bearing kinds that Kubernetes no longer serves, and when they went. */
const REMOVED: Record<string, string> = {
  'extensions/v1beta1': '1.16',
  'apps/v1beta1': '1.16',
  'apps/v1beta2': '1.16',
  'batch/v1beta1': '1.25',
  'batch/v2alpha1': '1.21',
}

function at(root: unknown, path: readonly PathSegment[]): unknown {
  let cur = root
  for (const seg of path) {
    if (typeof seg === 'number') cur = Array.isArray(cur) ? cur[seg] : undefined
    else cur = isRecord(cur) ? cur[seg] : undefined
  }
  return cur
}

export interface ExtractResult {
  pod?: PodView
  problems: InputProblem[]
}

/**
 * Returns the PodView of a pod-bearing object, or problems saying why there is none.
 * Call only for objects where isPodBearing() is true. `servedApiVersion`: the version the
 * cluster is known to serve the object in (admission), never reported as removed.
 */
export function extractPod(value: unknown, servedApiVersion?: string): ExtractResult {
  const problems: InputProblem[] = []
  const ref = objectRef(value)
  if (!isRecord(value)) return { problems: [{ object: ref, message: 'the object is not a map' }] }
  const info = KINDS[ref.kind]
  if (info === undefined) return { problems: [{ object: ref, message: `${ref.kind} does not carry a pod template` }] }

  const group = groupOf(ref.apiVersion)
  if (!info.groups.includes(group)) {
    problems.push({
      object: ref,
      path: 'apiVersion',
      message: `apiVersion ${ref.apiVersion} has no ${ref.kind}: kubectl apply fails with 'no matches for kind "${ref.kind}" in version "${ref.apiVersion}"'; use apiVersion: ${info.current}`,
    })
  } else if (REMOVED[ref.apiVersion] !== undefined && ref.apiVersion !== servedApiVersion) {
    // At admission the API server sent the object in this version: it serves it.
    problems.push({
      object: ref,
      path: 'apiVersion',
      severity: 'warning',
      message: `apiVersion ${ref.apiVersion} of ${ref.kind} is no longer served since Kubernetes ${REMOVED[ref.apiVersion]}; current clusters refuse it: use apiVersion: ${info.current}`,
    })
  }
  const shapeErrors: ShapeError[] = []
  const objectMeta: ObjectMeta = objectMetaShape.check(value['metadata'], ['metadata'], shapeErrors) ?? {}
  const template = info.template.length === 0 ? value : at(value, info.template)
  const specSegments = [...info.template, 'spec']
  const specPath = formatPath(specSegments)
  if (!isRecord(template)) {
    const where = formatPath(info.template)
    problems.push({ object: ref, path: where, message: `${where} is missing: a ${ref.kind} needs a pod template with at least one container` })
    return { problems }
  }
  const rawSpec = template['spec']
  if (!isRecord(rawSpec)) {
    problems.push({ object: ref, path: specPath, message: `${specPath} is missing: the pod template needs a spec with at least one container` })
    return { problems }
  }
  const podMeta: ObjectMeta =
    info.template.length === 0 ? objectMeta : (objectMetaShape.check(template['metadata'], [...info.template, 'metadata'], shapeErrors) ?? {})
  const spec = podSpecShape.check(rawSpec, specSegments, shapeErrors) ?? {}
  for (const e of shapeErrors) problems.push({ object: ref, path: e.path, message: `${e.path} ${e.message}` })

  if (!Array.isArray(rawSpec['containers']) || rawSpec['containers'].length === 0) {
    problems.push({ object: ref, path: `${specPath}.containers`, message: `${specPath}.containers is empty: a pod needs at least one container` })
  }

  const restartPolicy = spec.restartPolicy ?? (ref.kind === 'Job' || ref.kind === 'CronJob' ? 'Never' : 'Always')
  const longRunning = info.longRunning || (ref.kind === 'Pod' && restartPolicy === 'Always')

  const containers: ContainerView[] = []
  const add = (kind: ContainerKind, field: 'initContainers' | 'containers' | 'ephemeralContainers'): void => {
    const list = spec[field] ?? []
    list.forEach((c, index) => {
      const path = `${specPath}.${field}[${index}]`
      if (c.name === undefined || c.name === '') {
        problems.push({ object: ref, path: `${path}.name`, message: `${path}.name is missing: every container needs a name` })
      }
      if (kind !== 'ephemeralContainer' && (c.image === undefined || c.image === '')) {
        problems.push({ object: ref, path: `${path}.image`, message: `${path}.image is missing: the container would never start` })
      }
      containers.push({
        name: c.name ?? `${field}[${index}]`,
        kind,
        index,
        path,
        spec: c,
        longRunning: kind === 'container' ? longRunning : kind === 'initContainer' && c.restartPolicy === 'Always',
      })
    })
  }
  add('initContainer', 'initContainers')
  add('container', 'containers')
  add('ephemeralContainer', 'ephemeralContainers')

  let replicas: number | undefined
  if (ref.kind === 'Pod') replicas = 1
  else if (ref.kind === 'DaemonSet') replicas = undefined
  else if (ref.kind === 'Job') replicas = numberAt(value, ['spec', 'parallelism']) ?? 1
  else if (ref.kind === 'CronJob') replicas = numberAt(value, ['spec', 'jobTemplate', 'spec', 'parallelism']) ?? 1
  else replicas = numberAt(value, ['spec', 'replicas']) ?? 1

  const pod: PodView = {
    object: ref,
    kind: ref.kind,
    specPath,
    spec,
    podMeta,
    objectMeta,
    longRunning,
    replicas,
    containers,
    raw: value,
  }
  return { pod, problems }
}

function numberAt(value: unknown, path: readonly PathSegment[]): number | undefined {
  const v = at(value, path)
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 ? v : undefined
}
