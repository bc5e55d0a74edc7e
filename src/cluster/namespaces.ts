/**
 * The labels of every Namespace, for policy bindings: an AdmissionReview names the namespace
 * but carries none of its labels. One list-then-watch of Namespace metadata
 * (PartialObjectMetadata: names and labels, nothing else crosses the wire), relisted on 410
 * Gone and retried with backoff after errors, as the cluster view's reflectors do.
 *
 * A namespace the watch has not delivered yet (created a moment before its first Pod) is asked
 * for once, as a list with `fieldSelector=metadata.name=NAME`: that needs `list` only, the verb
 * the role already grants for the watch, never `get`. Concurrent reviews in the same namespace
 * share one request, at most MAX_IN_FLIGHT run at once, and answers are kept in a cache bounded
 * in bytes for a short time (the watch supersedes them when it catches up).
 *
 * RBAC: list and watch on namespaces.
 */
import type { KubeConfig } from '@kubernetes/client-node'
import { ACCEPT_METADATA, ACCEPT_METADATA_LIST, AUTH_TRIES, HttpError, describe, open, readBody, sleep } from './live.js'
import type { LiveLogger } from './live.js'

export type Labels = Readonly<Record<string, string>>

export interface NamespaceLabelsOptions {
  kubeConfig: KubeConfig
  logger?: LiveLogger
  /** The most bytes of names and labels the watched copy keeps (default 32 MiB). */
  maxBytes?: number
  /** The most bytes the cache of fetched namespaces keeps (default 1 MiB). */
  cacheBytes?: number
  /** How long a fetched namespace's labels are trusted when the watch has not delivered it (default 30 s). */
  cacheTtlMs?: number
  /** timeoutSeconds of each watch request (default 300). */
  watchTimeoutSeconds?: number
  /** The longest pause between retries (default 30 s). */
  retryMaxMs?: number
  /** A refusal (401/403) counts as an RBAC problem after AUTH_TRIES tries in a row lasting this long (default 60 s; at once after AUTH_TRIES before the first list). */
  refusalGraceMs?: number
}

export interface NamespaceLabelsHandle {
  /** The labels of a namespace when known now (watched, or fetched a moment ago). */
  labels(namespace: string): Labels | undefined
  /** Asks the API server for one namespace; undefined when it cannot be known within timeoutMs. */
  fetch(namespace: string, timeoutMs: number): Promise<Labels | undefined>
  /** True once the first list has arrived. */
  synced(): boolean
  stop(): Promise<void>
}

const MAX_IN_FLIGHT = 16
const MAX_LABELS_PER_NAMESPACE = 256

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

interface Meta {
  name: string
  labels: Labels
  bytes: number
  resourceVersion: string | undefined
}

/** Name, labels and resourceVersion of a (partial) Namespace object; undefined when it has no name. */
function metaOf(obj: unknown): Meta | undefined {
  if (!isRecord(obj) || !isRecord(obj['metadata'])) return undefined
  const m = obj['metadata']
  const name = m['name']
  if (typeof name !== 'string' || name === '') return undefined
  const labels: Record<string, string> = {}
  let bytes = name.length + 64
  let n = 0
  if (isRecord(m['labels'])) {
    for (const [k, v] of Object.entries(m['labels'])) {
      if (typeof v !== 'string') continue
      if (++n > MAX_LABELS_PER_NAMESPACE) break
      labels[k] = v
      bytes += k.length + v.length + 32
    }
  }
  const rv = m['resourceVersion']
  return { name, labels, bytes, resourceVersion: typeof rv === 'string' ? rv : undefined }
}

/** A map of recent answers bounded in bytes; the oldest go first. */
class ByteBoundedCache {
  private readonly entries = new Map<string, { labels: Labels | undefined; bytes: number; at: number }>()
  private bytes = 0
  constructor(
    private readonly maxBytes: number,
    private readonly ttlMs: number,
  ) {}
  get(name: string, now: number): { labels: Labels | undefined } | undefined {
    const e = this.entries.get(name)
    if (e === undefined) return undefined
    if (now - e.at > this.ttlMs) {
      this.delete(name)
      return undefined
    }
    return e
  }
  set(name: string, labels: Labels | undefined, bytes: number, now: number): void {
    this.delete(name)
    if (bytes > this.maxBytes) return
    while (this.bytes + bytes > this.maxBytes) {
      const oldest = this.entries.keys().next()
      if (oldest.done === true) break
      this.delete(oldest.value)
    }
    this.entries.set(name, { labels, bytes, at: now })
    this.bytes += bytes
  }
  delete(name: string): void {
    const e = this.entries.get(name)
    if (e === undefined) return
    this.entries.delete(name)
    this.bytes -= e.bytes
  }
}

const SILENT: LiveLogger = { info: () => undefined, warn: () => undefined, error: () => undefined }
const PATH = '/api/v1/namespaces'

export function startNamespaceLabels(options: NamespaceLabelsOptions): NamespaceLabelsHandle {
  const log = options.logger ?? SILENT
  const maxBytes = options.maxBytes ?? 32 * 1024 * 1024
  const cacheTtlMs = options.cacheTtlMs ?? 30_000
  const watchTimeout = options.watchTimeoutSeconds ?? 300
  const retryMaxMs = options.retryMaxMs ?? 30_000
  const refusalGraceMs = options.refusalGraceMs ?? 60_000
  const kc = options.kubeConfig
  const stopCtl = new AbortController()
  const watched = new Map<string, Meta>()
  let watchedBytes = 0
  let overLimitLogged = false
  const cache = new ByteBoundedCache(options.cacheBytes ?? 1024 * 1024, cacheTtlMs)
  const inFlight = new Map<string, Promise<Labels | undefined>>()
  let listed = false
  let rv = ''

  const put = (m: Meta): void => {
    const before = watched.get(m.name)
    const delta = m.bytes - (before?.bytes ?? 0)
    if (before === undefined && watchedBytes + delta > maxBytes) {
      // Past the bound the watch keeps no more; such namespaces are fetched one by one.
      if (!overLimitLogged) log.warn({ maxBytes }, 'namespace labels: too many namespaces to keep; others are fetched when needed')
      overLimitLogged = true
      return
    }
    watched.set(m.name, m)
    watchedBytes += delta
    cache.delete(m.name)
  }
  const remove = (name: string): void => {
    const before = watched.get(name)
    if (before === undefined) return
    watched.delete(name)
    watchedBytes -= before.bytes
  }

  const list = async (): Promise<void> => {
    const seen = new Map<string, Meta>()
    let token = ''
    let listRv = ''
    do {
      const p = new URLSearchParams({ limit: '500' })
      if (token !== '') p.set('continue', token)
      const res = await open(kc, `${PATH}?${p.toString()}`, ACCEPT_METADATA_LIST, stopCtl.signal, 60_000)
      const body = await readBody(res)
      const items = isRecord(body) ? body['items'] : undefined
      for (const raw of Array.isArray(items) ? items : []) {
        const m = metaOf(raw)
        if (m !== undefined) seen.set(m.name, m)
      }
      const meta = isRecord(body) && isRecord(body['metadata']) ? body['metadata'] : {}
      token = typeof meta['continue'] === 'string' ? meta['continue'] : ''
      listRv = typeof meta['resourceVersion'] === 'string' ? meta['resourceVersion'] : listRv
    } while (token !== '')
    for (const name of [...watched.keys()]) if (!seen.has(name)) remove(name)
    for (const m of seen.values()) put(m)
    rv = listRv
    if (!listed) log.info({ namespaces: watched.size }, 'namespace labels: listed')
    listed = true
  }

  const watch = async (): Promise<void> => {
    const q = new URLSearchParams({ watch: '1', resourceVersion: rv, allowWatchBookmarks: 'true', timeoutSeconds: String(watchTimeout) })
    const res = await open(kc, `${PATH}?${q.toString()}`, ACCEPT_METADATA, stopCtl.signal, (watchTimeout + 30) * 1000)
    res.setEncoding('utf8')
    let pending = ''
    for await (const chunk of res) {
      pending += chunk as string
      // One event is one line; a line longer than this is not a Namespace's metadata.
      if (pending.length > 4 * 1024 * 1024) throw new Error('watch event larger than 4 MiB')
      let nl: number
      while ((nl = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, nl)
        pending = pending.slice(nl + 1)
        if (line.trim() !== '') event(line)
      }
    }
  }

  const event = (line: string): void => {
    const ev = JSON.parse(line) as unknown
    if (!isRecord(ev)) return
    const obj = ev['object']
    if (ev['type'] === 'ERROR') {
      const code = isRecord(obj) && typeof obj['code'] === 'number' ? obj['code'] : 500
      throw new HttpError(code, isRecord(obj) && typeof obj['message'] === 'string' ? obj['message'] : 'watch error')
    }
    const m = metaOf(obj)
    if (m === undefined) return
    if (ev['type'] === 'ADDED' || ev['type'] === 'MODIFIED') put(m)
    else if (ev['type'] === 'DELETED') {
      remove(m.name)
      cache.delete(m.name)
    }
    if (m.resourceVersion !== undefined && m.resourceVersion !== '') rv = m.resourceVersion
  }

  const loop = (async () => {
    let backoff = 250
    let logged = false
    let refusals = 0
    let refusedSince = 0
    let reported = false
    let downSince: number | undefined
    while (!stopCtl.signal.aborted) {
      try {
        if (rv === '') await list()
        if (downSince !== undefined) {
          log.info({ downSeconds: Math.round((Date.now() - downSince) / 1000) }, `namespace labels: list/watch recovered after ${Math.round((Date.now() - downSince) / 1000)} s down`)
          downSince = undefined
        }
        reported = false
        await watch()
        backoff = 250
        logged = false
        refusals = 0
      } catch (err) {
        if (stopCtl.signal.aborted) break
        if (err instanceof HttpError && err.status === 410) {
          rv = ''
          continue
        }
        downSince ??= Date.now()
        const refused = err instanceof HttpError && (err.status === 401 || err.status === 403)
        if (refused) {
          if (refusals === 0) refusedSince = Date.now()
          refusals++
        } else refusals = 0
        rv = ''
        // Refused right after an API server restart (its RBAC cache filling): retried as any error.
        if (refused && refusals >= AUTH_TRIES && (!listed || Date.now() - refusedSince >= refusalGraceMs)) {
          if (!reported) log.error({ status: (err as HttpError).status, verb: 'list', resource: 'namespaces', reason: (err as HttpError).message }, `namespace labels: cannot list namespaces (refused ${refusals} times in a row); bindings fall back to the policy mode (grant list and watch on namespaces); retrying every ${Math.round(retryMaxMs / 1000)} s`)
          reported = true
          await sleep(retryMaxMs, stopCtl.signal)
          continue
        }
        if (!logged) log.warn({ err: describe(err) }, refused ? 'namespace labels: list/watch refused; retrying (an API server that has just started refuses until its RBAC cache is filled)' : 'namespace labels: list/watch failed; retrying')
        logged = true
        await sleep(backoff, stopCtl.signal)
        backoff = Math.min(backoff * 2, retryMaxMs)
      }
    }
  })()

  const fetchOne = async (name: string, timeoutMs: number): Promise<Labels | undefined> => {
    const signal = AbortSignal.any([stopCtl.signal, AbortSignal.timeout(Math.max(1, timeoutMs))])
    const q = new URLSearchParams({ fieldSelector: `metadata.name=${name}`, limit: '1' })
    try {
      const res = await open(kc, `${PATH}?${q.toString()}`, ACCEPT_METADATA_LIST, signal, Math.max(1, timeoutMs))
      const body = await readBody(res)
      const items = isRecord(body) ? body['items'] : undefined
      const m = Array.isArray(items) ? metaOf(items[0]) : undefined
      const labels = m !== undefined && m.name === name ? m.labels : undefined
      // A namespace that does not exist is remembered too, briefly, so a burst asks once.
      cache.set(name, labels, m?.bytes ?? name.length + 64, Date.now())
      return labels
    } catch (err) {
      log.warn({ namespace: name, err: describe(err) }, 'namespace labels: could not fetch a namespace')
      return undefined
    }
  }

  return {
    labels(namespace) {
      return watched.get(namespace)?.labels ?? cache.get(namespace, Date.now())?.labels
    },
    async fetch(namespace, timeoutMs) {
      const known = watched.get(namespace)?.labels
      if (known !== undefined) return known
      const cached = cache.get(namespace, Date.now())
      if (cached !== undefined) return cached.labels
      let p = inFlight.get(namespace)
      if (p === undefined) {
        if (inFlight.size >= MAX_IN_FLIGHT) return undefined
        p = fetchOne(namespace, timeoutMs).finally(() => inFlight.delete(namespace))
        inFlight.set(namespace, p)
      }
      return p
    },
    synced: () => listed,
    async stop() {
      stopCtl.abort()
      await loop
    },
  }
}
