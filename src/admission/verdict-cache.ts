/**
 * A small LRU cache of engine evaluations, keyed by what the rules can see of an object.
 *
 * Evaluation is pure (same object, policy and cluster state give the same findings), and the
 * API server asks about the same pod template many times: a Deployment's rollout brings one
 * review per Pod its ReplicaSet creates, identical but for names and uids, and deploy
 * pipelines repeat `kubectl apply --dry-run=server` on unchanged manifests. The key leaves out
 * exactly the fields that differ between such copies and that no rule reads: name, uid,
 * generateName, resourceVersion, generation, timestamps, ownerReferences, managedFields,
 * status, and the last-applied-configuration annotation. Everything else of the object goes
 * into the key, with the namespace and, when a cluster view is used, its revision. The cache
 * belongs to one policy: a reloaded policy gets a new cache.
 */
import { hash } from 'node:crypto'
import type { Evaluation } from '../engine/evaluate.js'

export const DEFAULT_CACHE_ENTRIES = 1_000

/** Metadata fields that differ between copies of one template and that no rule judges. */
const VOLATILE_METADATA = new Set([
  'name',
  'generateName',
  'uid',
  'resourceVersion',
  'generation',
  'creationTimestamp',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
  'ownerReferences',
  'managedFields',
  'selfLink',
])
const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration'

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/**
 * The cache key of an object: a SHA-256 of everything a rule can read of it, as JSON. Hashed
 * so that the cache holds 44 bytes per key instead of the object's JSON, and a lookup does not
 * compare kilobytes.
 */
export function cacheKey(object: Record<string, unknown>, namespace: string | undefined, clusterState: string): string {
  const meta = isRecord(object['metadata']) ? object['metadata'] : {}
  const kept: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(meta)) {
    if (VOLATILE_METADATA.has(k)) continue
    if (k === 'annotations' && isRecord(v) && LAST_APPLIED in v) {
      const { [LAST_APPLIED]: _dropped, ...rest } = v
      kept[k] = rest
    } else {
      kept[k] = v
    }
  }
  const rest: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(object)) if (k !== 'metadata' && k !== 'status') rest[k] = v
  return hash('sha256', JSON.stringify([namespace ?? '', clusterState, kept, rest]), 'base64')
}

export class EvaluationCache {
  private readonly entries = new Map<string, Evaluation>()
  hits = 0
  misses = 0

  constructor(readonly capacity = DEFAULT_CACHE_ENTRIES) {}

  get(key: string): Evaluation | undefined {
    const e = this.entries.get(key)
    if (e === undefined) {
      this.misses++
      return undefined
    }
    this.hits++
    // Most recently used last: Map keeps insertion order.
    this.entries.delete(key)
    this.entries.set(key, e)
    return e
  }

  set(key: string, evaluation: Evaluation): void {
    if (this.capacity <= 0) return
    this.entries.delete(key)
    this.entries.set(key, evaluation)
    if (this.entries.size > this.capacity) {
      const oldest = this.entries.keys().next()
      if (oldest.done !== true) this.entries.delete(oldest.value)
    }
  }

  get size(): number {
    return this.entries.size
  }
}
