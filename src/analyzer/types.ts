import type { CauseId } from './causes.js'

/** One explained failure: of a container, or of the pod as a whole (no `container`). */
export interface Diagnosis {
  cause: CauseId
  container?: string
  /** The exit status as a shell sees it (0–255); a runtime-reported code outside that range is converted. */
  exitCode?: number
  /** The signal name, for exits by signal (128+n) or a runtime-reported signal. */
  signal?: string
  /** One line, for people: what happened and why. */
  summary: string
  /** What the summary rests on: field paths with their values, and event messages. */
  evidence: string[]
  /** What to do next: exact kubectl commands first, then concrete advice. */
  next: string[]
  /** The pod-preflight rule that would have caught this before it ran, where one exists. */
  preventedBy?: string
}

export interface PodRef {
  namespace: string
  name: string
}

/** The controller that owns the pod, one level up (ReplicaSet, StatefulSet, Job, ...). */
export interface OwnerInfo {
  kind: string
  name: string
  /** The owner object itself when known (a Job gives its conditions: BackoffLimitExceeded, ...). */
  object?: unknown
}

export interface AnalyzerInput {
  /** A Pod as the API returns it (`kubectl get pod -o yaml|json`); validated here. */
  pod: unknown
  /** Events (core/v1 or events.k8s.io/v1) about the pod and, optionally, about its owner. Others are ignored. */
  events?: readonly unknown[]
  owner?: OwnerInfo
  /** The time ages are measured against; a parameter so that results are reproducible. */
  now: Date
  /**
   * The pod was rebuilt from `kubectl describe` text, which omits port names, restartPolicy,
   * affinity and hooks: spec checks that need them are skipped instead of guessed.
   */
  partialSpec?: boolean
}

export type Analysis =
  | {
      ok: true
      pod: PodRef
      /** What `kubectl get pod` would show as its status: the phase, or Terminating. */
      status: string
      diagnoses: Diagnosis[]
    }
  | { ok: false; error: string }
