import type { Container, ObjectMeta, PodSpec } from './k8s.js'
import type { SourceLocation } from '../input/documents.js'

/** What a finding does: `deny` rejects (admission) or fails the run (CLI); `warn` and `info` only report. */
export type Action = 'deny' | 'warn' | 'info' | 'off'
export type ReportAction = Exclude<Action, 'off'>
export const ACTIONS: readonly Action[] = ['deny', 'warn', 'info', 'off']

/**
 * Where a rule can judge: `static` from the object alone, `batch` with the other objects of a
 * CLI run, `cluster` with the live (or saved) cluster state.
 */
export type Scope = 'static' | 'batch' | 'cluster'

export interface ObjectRef {
  apiVersion: string
  kind: string
  namespace?: string
  name: string
}

export interface Finding {
  rule: string
  action: ReportAction
  object: ObjectRef
  /** The container's name, for findings about one container. */
  container?: string
  /** The full field path in the object, e.g. `spec.template.spec.containers[1].livenessProbe.periodSeconds`. */
  path: string
  message: string
  fix: string
  source?: SourceLocation
}

/** A problem with the input itself (not a rule finding): malformed object, unknown field type... */
export interface InputProblem {
  /** An error makes the input invalid (exit 2 in the CLI); a warning is a note. Default: error. */
  severity?: 'error' | 'warning'
  object?: ObjectRef
  path?: string
  message: string
  source?: SourceLocation
}

export type ContainerKind = 'container' | 'initContainer' | 'ephemeralContainer'

export interface ContainerView {
  name: string
  kind: ContainerKind
  index: number
  /** Full path of the container, e.g. `spec.template.spec.initContainers[0]`. */
  path: string
  spec: Container
  /**
   * True for containers that run for the life of the pod: app containers of a long-running
   * workload, and init containers with `restartPolicy: Always` (native sidecars).
   */
  longRunning: boolean
}

export interface PodView {
  object: ObjectRef
  /** The kind of the top-level object that carries the pod template. */
  kind: string
  /** Path of the pod spec in the object: `spec`, `spec.template.spec`, `spec.jobTemplate.spec.template.spec`. */
  specPath: string
  spec: PodSpec
  /** The pod's metadata: the template's for workloads, the object's for a Pod. */
  podMeta: ObjectMeta
  /** The top-level object's metadata. */
  objectMeta: ObjectMeta
  /** Deployment, StatefulSet, DaemonSet, ReplicaSet, ReplicationController, or a Pod with restartPolicy Always. */
  longRunning: boolean
  /** How many pods the object asks for at once (replicas, or parallelism); undefined for a DaemonSet. */
  replicas: number | undefined
  /** Every container: init containers first, then app containers, then ephemeral containers. */
  containers: ContainerView[]
  /** The raw object as given, for rules that need a field no shape covers. */
  raw: Record<string, unknown>
}
