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
 *
 * From Kubernetes 1.21 the ServiceAccount admission plugin gives every Pod its own token volume,
 * `kube-api-access-` and five generated characters, mounted into every container: without more,
 * no two Pods of a ReplicaSet would share a key. The key renames that one volume name, wherever
 * it occurs, to one placeholder, and an evaluation whose texts name it is not kept (it could not
 * be shown for another Pod), so a hit is exactly what judging this Pod would have given.
 */
import { hash } from 'node:crypto'
import { ByteBoundedCache, stringBytes } from '../engine/bounded-cache.js'
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

/** The name the ServiceAccount admission plugin (1.21+) gives a Pod's token volume: a prefix and 5 generated characters. */
const TOKEN_VOLUME = /^kube-api-access-[a-z0-9]{5}$/
/**
 * What the token volume's name becomes in the key. It holds a NUL, which JSON.stringify never
 * leaves unescaped, so it cannot stand for anything else of the object: two keys are equal only
 * when the objects are equal once their token volume names are made the same.
 */
const TOKEN_VOLUME_IN_KEY = 'kube-api-access-\u0000'

/**
 * The generated token volume of a Pod (Kubernetes 1.21+: a projected volume named
 * `kube-api-access-xxxxx`), or undefined. The first such volume only; linear in the volumes.
 */
export function generatedTokenVolume(object: Record<string, unknown>): string | undefined {
  if (object['kind'] !== 'Pod') return undefined
  const spec = object['spec']
  if (!isRecord(spec) || !Array.isArray(spec['volumes'])) return undefined
  for (const v of spec['volumes'] as unknown[]) {
    if (isRecord(v) && typeof v['name'] === 'string' && isRecord(v['projected']) && TOKEN_VOLUME.test(v['name'])) return v['name']
  }
  return undefined
}

/**
 * Whether an evaluation may serve another Pod whose token volume has another name: not when
 * any of its texts names this Pod's (`tokenVolume`). Linear in the evaluation's texts, which
 * the engine's finding caps bound.
 */
export function sharable(e: Evaluation, tokenVolume: string | undefined): boolean {
  if (tokenVolume === undefined) return true
  const names = (s: string | undefined): boolean => s !== undefined && s.includes(tokenVolume)
  for (const f of e.findings) if (names(f.message) || names(f.fix) || names(f.path) || names(f.container)) return false
  for (const p of e.problems) if (names(p.message) || names(p.path)) return false
  for (const k of e.skipped) if (names(k.reason)) return false
  return true
}

/**
 * The cache key of an object: a SHA-256 of everything a rule can read of it, as JSON, with the
 * Pod's generated token volume name (`tokenVolume`, from generatedTokenVolume) replaced by one
 * placeholder. Hashed so that the cache holds 44 bytes per key instead of the object's JSON, and
 * a lookup does not compare kilobytes.
 */
export function cacheKey(object: Record<string, unknown>, namespace: string | undefined, clusterState: string, tokenVolume?: string): string {
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
  const text = JSON.stringify([namespace ?? '', clusterState, kept, rest])
  return hash('sha256', tokenVolume === undefined ? text : text.replaceAll(tokenVolume, TOKEN_VOLUME_IN_KEY), 'base64')
}

/** Bytes of heap the cached evaluations of one policy may hold, estimated. */
export const DEFAULT_CACHE_BYTES = 32 * 1024 * 1024
/** An evaluation larger than this (a hostile object with the most findings) is never kept. */
const MAX_ENTRY_BYTES = 1024 * 1024

/** Estimated heap bytes of an evaluation: its strings at two bytes a unit, plus object overheads. */
export function evaluationBytes(e: Evaluation): number {
  let bytes = 64 + refBytes(e.object)
  for (const f of e.findings) {
    bytes += 96 + stringBytes(f.rule) + stringBytes(f.path) + stringBytes(f.message) + stringBytes(f.fix) + (f.container !== undefined ? stringBytes(f.container) : 0)
    if (f.source !== undefined) bytes += 64 + stringBytes(f.source.file)
  }
  for (const p of e.problems) bytes += 64 + stringBytes(p.message) + (p.path !== undefined ? stringBytes(p.path) : 0)
  for (const s of e.skipped) bytes += 48 + stringBytes(s.rule) + stringBytes(s.reason)
  return bytes
}

function refBytes(ref: Evaluation['object']): number {
  let bytes = 48
  for (const v of Object.values(ref)) if (typeof v === 'string') bytes += stringBytes(v)
  return bytes
}

/**
 * The texts of kept evaluations, one instance of each. A new object's findings bring new copies
 * of texts seen many times before (the same warning about the same container of another copy
 * of a template): kept as they are, every entry would hold its own kilobytes of them, and each
 * would be copied by V8's young-generation collections and promoted to its old generation, to
 * be collected there again once the entry is evicted. With the texts shared, an entry is a few
 * small objects. Bounded like the other caches: texts longer than INTERN_MAX_LENGTH are not
 * shared, and the least recently used give way past INTERN_MAX_TEXTS texts or INTERN_MAX_BYTES
 * estimated bytes.
 */
export const INTERN_MAX_LENGTH = 4_096
export const INTERN_MAX_TEXTS = 8_192
export const INTERN_MAX_BYTES = 2 * 1024 * 1024
const texts = new ByteBoundedCache<string, string>({
  maxBytes: INTERN_MAX_BYTES,
  maxEntryBytes: stringBytes('x'.repeat(INTERN_MAX_LENGTH)),
  maxEntries: INTERN_MAX_TEXTS,
  sizeOf: (text) => stringBytes(text),
})

function intern(s: string): string {
  const known = texts.get(s)
  if (known !== undefined) return known
  texts.set(s, s)
  return s
}

/** How many texts, and their estimated bytes, the shared table holds (for tests and diagnostics). */
export function sharedTexts(): { texts: number; bytes: number } {
  return { texts: texts.size, bytes: texts.bytes }
}

/** Makes an evaluation's texts the shared instances (same values: only which copy is referenced changes). */
function shareTexts(e: Evaluation): void {
  for (const f of e.findings) {
    f.path = intern(f.path)
    f.message = intern(f.message)
    f.fix = intern(f.fix)
    if (f.container !== undefined) f.container = intern(f.container)
  }
  for (const p of e.problems) {
    p.message = intern(p.message)
    if (p.path !== undefined) p.path = intern(p.path)
  }
  for (const k of e.skipped) k.reason = intern(k.reason)
}

/**
 * Evaluations by cache key, least recently used first out, bounded both in entries (`capacity`)
 * and in estimated bytes: an entry count alone bounds nothing when one evaluation of a hostile
 * object holds a hundred long messages.
 */
export class EvaluationCache {
  private readonly entries: ByteBoundedCache<string, Evaluation>
  hits = 0
  misses = 0

  constructor(
    readonly capacity = DEFAULT_CACHE_ENTRIES,
    readonly maxBytes = DEFAULT_CACHE_BYTES,
  ) {
    this.entries = new ByteBoundedCache({
      maxBytes,
      maxEntryBytes: Math.min(MAX_ENTRY_BYTES, maxBytes),
      maxEntries: capacity,
      sizeOf: (key, value) => stringBytes(key) + evaluationBytes(value),
    })
  }

  get(key: string): Evaluation | undefined {
    const e = this.entries.get(key)
    if (e === undefined) this.misses++
    else this.hits++
    return e
  }

  set(key: string, evaluation: Evaluation): void {
    if (this.capacity <= 0) return
    shareTexts(evaluation)
    this.entries.set(key, evaluation)
  }

  get size(): number {
    return this.entries.size
  }

  /** Estimated bytes held. */
  get bytes(): number {
    return this.entries.bytes
  }
}
