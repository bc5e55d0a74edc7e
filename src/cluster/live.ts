/**
 * The live cluster view: one list-then-watch reflector per kind, in the informer pattern of
 * client-go and @kubernetes/client-node (list, watch from the list's resourceVersion, relist on
 * 410 Gone, restart with backoff after errors and after the API server goes away), feeding the
 * same compact store as the files source.
 *
 * Why not client-node's makeInformer/ListWatch: its cache keeps every object whole (a Node with
 * its image list is tens of kilobytes; 5,000 of them are hundreds of megabytes), its lists are not
 * paginated, and its Watch cannot send the Accept header that asks for metadata only. Here every
 * object is compacted the moment it arrives (objects.ts), lists are paged, and Secrets are read
 * as PartialObjectMetadata only: their data never crosses the wire. Authentication and TLS
 * still come from client-node's KubeConfig (applyToHTTPSOptions: certificates, tokens, exec
 * and auth-provider plugins, proxies), so any kubeconfig or in-cluster config works.
 *
 * RBAC: list and watch on every kind read (see README, "RBAC of the cluster view"); no get.
 * A refusal (401 or 403) is retried with the ordinary backoff first: an API server that has
 * just restarted refuses everyone for a moment while its RBAC cache fills. Only a refusal that
 * persists (AUTH_TRIES tries in a row, and for a kind listed before also refusalGraceMs long) is
 * reported as an RBAC problem, logged once with the verb and resource; the kind then counts as
 * synced-but-unknown (`knows()` is false, so its rules stay silent), and it is still retried at
 * the capped backoff, so it heals as soon as the permission appears. A kind not served (404) is
 * unknown at once.
 *
 * Staleness: each kind knows since when its list/watch has been down; status() gives its age,
 * `stateAgeMs()` of the view the age of the oldest state in use, and a recovery is logged with
 * how long the kind was down.
 */
import { request as httpsRequest, type RequestOptions } from 'node:https'
import { request as httpRequest, type IncomingMessage } from 'node:http'
import type { KubeConfig } from '@kubernetes/client-node'
import { ClusterStore } from './store.js'
import { toStateInfo, namespaceOf, nameOfRaw, type StateInfo } from './objects.js'
import { STATE_KINDS, type ClusterView, type StateKind } from './view.js'
import { safeText } from '../text/sanitize.js'

/** The pino methods the view uses (object first, message second). */
export interface LiveLogger {
  info(obj: object, msg: string): void
  warn(obj: object, msg: string): void
  error(obj: object, msg: string): void
  debug?(obj: object, msg: string): void
}

export interface LiveClusterViewOptions {
  kubeConfig: KubeConfig
  logger?: LiveLogger
  /** Relist every kind this often, to heal anything a watch may have missed (default 30 min; 0: never). */
  resyncAfterMs?: number
  /** A kind whose watch has been down this long makes the view stale: synced turns false (default 60 s). */
  staleAfterMs?: number
  /** Kinds to leave out, e.g. `{ Secret: false }` when the ClusterRole grants nothing on Secrets. */
  kinds?: Partial<Record<StateKind, boolean>>
  /** The longest pause between retries after errors (default 30 s; the first retry is after 250 ms). */
  retryMaxMs?: number
  /** timeoutSeconds of each watch request (default 300); the server closes it, and it is reopened at once. */
  watchTimeoutSeconds?: number
  /** Items per list page (default 500). */
  pageSize?: number
  /** A kind listed before that is refused (401/403) this long, and AUTH_TRIES times in a row, is reported as an RBAC problem (default 60 s). */
  refusalGraceMs?: number
}

/** Refusals (401/403) in a row before one can be an RBAC problem rather than an API server still starting. */
export const AUTH_TRIES = 5

export interface KindStatus {
  kind: StateKind
  /** Listed at least once (or found forbidden): counts towards `ready`. */
  listed: boolean
  /** Listed or watching without error right now. */
  healthy: boolean
  /** Refused by RBAC (403) or not served (404): its rules stay silent. */
  unavailable: string | undefined
  objects: number
  lastError: string | undefined
  /** Since when it has been unhealthy (ms since epoch). */
  unhealthySince: number | undefined
  /** The resource as RBAC names it (`nodes`, `configmaps`...). */
  resource: string
  /** How old its state may be, in seconds: 0 while its list/watch is healthy, else the time since it broke (or since start, before the first list). */
  ageSeconds: number
}

export interface LiveClusterViewHandle {
  view: ClusterView
  /** Resolves once every kind has been listed; rejects only if stop() comes first. */
  ready: Promise<void>
  stop(): Promise<void>
  /** Per kind: listed, healthy, unavailable, object count, last error, age of its state. */
  status(): KindStatus[]
  /** One line for /readyz: synced, or which kinds are down or refused and for how long. */
  detail(): string
}

interface ResourceDef {
  path: string
  /** Ask for PartialObjectMetadata: the data of the objects is never sent. */
  metadataOnly?: boolean
  fieldSelector?: string
}

const RESOURCES: Record<StateKind, ResourceDef> = {
  Node: { path: '/api/v1/nodes' },
  ResourceQuota: { path: '/api/v1/resourcequotas' },
  LimitRange: { path: '/api/v1/limitranges' },
  ConfigMap: { path: '/api/v1/configmaps' },
  Secret: { path: '/api/v1/secrets', metadataOnly: true },
  PersistentVolumeClaim: { path: '/api/v1/persistentvolumeclaims' },
  ServiceAccount: { path: '/api/v1/serviceaccounts' },
  Service: { path: '/api/v1/services' },
  // Finished pods hold no resources; the server sends DELETED when a pod leaves the selection.
  Pod: { path: '/api/v1/pods', fieldSelector: 'status.phase!=Succeeded,status.phase!=Failed' },
}

const ACCEPT_JSON = 'application/json'
export const ACCEPT_METADATA_LIST = 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1'
export const ACCEPT_METADATA = 'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1'
const MAX_BODY_BYTES = 1024 * 1024 * 1024

/** A non-200 answer of the API server: its status and the message of its Status object. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message)
  }
}

class Stopped extends Error {}

export function describe(err: unknown): string {
  if (err instanceof HttpError) return `HTTP ${err.status}: ${err.message}`
  if (err instanceof Error) {
    const code = (err as NodeJS.ErrnoException).code
    return code !== undefined && !err.message.includes(code) ? `${code}: ${err.message}` : err.message
  }
  return String(err)
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

function resourceVersionOf(v: unknown): string | undefined {
  if (!isRecord(v)) return undefined
  const meta = v['metadata']
  if (!isRecord(meta)) return undefined
  const rv = meta['resourceVersion']
  return typeof rv === 'string' ? rv : undefined
}

/** Opens a GET with the kubeconfig's credentials; resolves with the response once its headers arrive. */
export async function open(kc: KubeConfig, path: string, accept: string, signal: AbortSignal, idleMs: number): Promise<IncomingMessage> {
  const cluster = kc.getCurrentCluster()
  if (cluster === null) throw new Error('the kubeconfig has no current cluster')
  const url = new URL(cluster.server.replace(/\/+$/, '') + path)
  const opts: RequestOptions = { method: 'GET', headers: {} }
  await kc.applyToHTTPSOptions(opts)
  opts.headers = { ...(opts.headers as Record<string, string>), Accept: accept }
  opts.signal = signal
  return new Promise<IncomingMessage>((resolve, reject) => {
    const send = url.protocol === 'http:' ? httpRequest : httpsRequest
    const req = send(url, opts, (res) => {
      const status = res.statusCode ?? 0
      if (status === 200) {
        resolve(res)
        return
      }
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (c: string) => {
        if (body.length < 4096) body += c
      })
      res.on('end', () => {
        let message = res.statusMessage ?? 'error'
        try {
          const s = JSON.parse(body) as { message?: unknown }
          if (typeof s.message === 'string') message = s.message
        } catch {
          // not a Status object
        }
        reject(new HttpError(status, message))
      })
      res.on('error', reject)
    })
    req.on('socket', (s) => {
      s.setKeepAlive(true, 30_000)
    })
    // No byte for this long: the connection is dead (a half-open socket never errors on its own).
    req.setTimeout(idleMs, () => req.destroy(new Error(`no data from the API server for ${Math.round(idleMs / 1000)} s`)))
    req.on('error', reject)
    req.end()
  })
}

export async function readBody(res: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of res) {
    const b = chunk as Buffer
    size += b.length
    if (size > MAX_BODY_BYTES) throw new Error('list response larger than 1 GiB')
    chunks.push(b)
  }
  return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown
}

export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) {
      resolve()
      return
    }
    const timer = setTimeout(done, ms)
    function done(): void {
      clearTimeout(timer)
      signal.removeEventListener('abort', done)
      resolve()
    }
    signal.addEventListener('abort', done, { once: true })
  })
}

class Reflector {
  readonly status: KindStatus
  private rv = ''
  private needList = true
  /** Aborts the current request (a resync, or stop). */
  private current: AbortController | undefined

  constructor(
    readonly kind: StateKind,
    private readonly def: ResourceDef,
    private readonly kc: KubeConfig,
    private readonly store: ClusterStore,
    private readonly opts: Required<Omit<LiveClusterViewOptions, 'kubeConfig' | 'logger' | 'kinds'>>,
    private readonly log: LiveLogger,
    private readonly stopSignal: AbortSignal,
    private readonly onListed: () => void,
  ) {
    const resource = def.path.split('/').pop() ?? kind
    this.status = { kind, listed: false, healthy: false, unavailable: undefined, objects: 0, lastError: undefined, unhealthySince: Date.now(), resource, ageSeconds: 0 }
  }

  /** Listed for real at least once (not merely found refused). */
  private everListed = false
  /** What the current request does, for messages: list or watch. */
  private verb: 'list' | 'watch' = 'list'
  /** Since when the kind has been failing (cleared on recovery), for the recovery log. */
  private downSince: number | undefined

  /** Drops the current watch and relists (periodic resync); a list in progress is left to finish. */
  resync(): void {
    this.needList = true
    if (this.watching) this.current?.abort()
  }

  private watching = false

  private query(extra: Record<string, string>): string {
    const p = new URLSearchParams(extra)
    if (this.def.fieldSelector !== undefined) p.set('fieldSelector', this.def.fieldSelector)
    return `${this.def.path}?${p.toString()}`
  }

  private healthy(): void {
    if (this.downSince !== undefined) {
      const downS = Math.round((Date.now() - this.downSince) / 1000)
      this.log.info({ kind: this.kind, resource: this.status.resource, downSeconds: downS }, `cluster view: ${this.status.resource} list/watch recovered after ${downS} s down`)
      this.downSince = undefined
    }
    this.status.healthy = true
    this.status.unhealthySince = undefined
    this.status.lastError = undefined
    this.status.unavailable = undefined
  }

  private unhealthy(err: string): void {
    if (this.status.healthy || this.status.unhealthySince === undefined) this.status.unhealthySince = Date.now()
    this.status.healthy = false
    this.status.lastError = err
    this.downSince ??= Date.now()
  }

  async run(): Promise<void> {
    let backoff = 250
    let logged = false
    let refusals = 0
    let refusedSince = 0
    while (!this.stopSignal.aborted) {
      try {
        if (this.needList || this.rv === '') {
          this.verb = 'list'
          await this.list()
        }
        this.verb = 'watch'
        await this.watch()
        backoff = 250
        logged = false
        refusals = 0
      } catch (err) {
        if (this.stopSignal.aborted || err instanceof Stopped) break
        if (err instanceof HttpError && err.status === 410) {
          // The resourceVersion is too old: start over from a fresh list, at once.
          this.log.debug?.({ kind: this.kind }, 'watch expired (410 Gone); relisting')
          this.needList = true
          continue
        }
        const refused = err instanceof HttpError && (err.status === 401 || err.status === 403)
        if (refused) {
          if (refusals === 0) refusedSince = Date.now()
          refusals++
        } else refusals = 0
        // A refusal right after an API server restart is its RBAC cache filling: retried as any
        // error. Persistent: several tries in a row, and for a kind listed before a minute long.
        const persistent = refused && refusals >= AUTH_TRIES && (!this.everListed || Date.now() - refusedSince >= this.opts.refusalGraceMs)
        if (err instanceof HttpError && (persistent || err.status === 404)) {
          this.giveUp(err, refusals, refusedSince)
          await sleep(this.opts.retryMaxMs, this.stopSignal)
          continue
        }
        const text = describe(err)
        this.unhealthy(text)
        this.needList ||= refused
        if (!logged) {
          const expected = refused && this.kind === 'Secret' && !this.everListed
          const msg = refused ? `cluster view: ${this.verb} ${this.status.resource} refused; retrying (an API server that has just started refuses until its RBAC cache is filled)` : 'cluster view: list/watch failed; retrying'
          // The shipped ClusterRole leaves Secrets out: their first refusals are expected.
          if (expected) this.log.info({ kind: this.kind, verb: this.verb, err: text }, msg)
          else this.log.warn({ kind: this.kind, verb: this.verb, err: text }, msg)
          logged = true
        }
        await sleep(backoff, this.stopSignal)
        backoff = Math.min(backoff * 2, this.opts.retryMaxMs)
      }
    }
  }

  /** A persistent refusal (or a kind not served): known to be unknown, logged once, retried at the capped backoff. */
  private giveUp(err: HttpError, refusals: number, refusedSince: number): void {
    const reason = err.status === 404 ? `not served: ${err.message}` : `${err.status === 401 ? 'unauthorized' : 'forbidden'}: ${err.message}`
    if (this.status.unavailable === undefined) {
      const resource = this.status.resource
      const tries = err.status === 404 ? '' : ` (HTTP ${err.status} ${refusals} times in a row over ${Math.round((Date.now() - refusedSince) / 1000)} s)`
      const msg = `cluster view cannot ${this.verb} ${resource}${tries}; the rules that need ${this.kind}s stay silent (grant list and watch on ${resource} to enable them); retrying every ${Math.round(this.opts.retryMaxMs / 1000)} s`
      const fields = { kind: this.kind, resource, verb: this.verb, status: err.status, reason: err.message }
      // The shipped ClusterRole leaves Secrets out on purpose (list would expose their data): not an error.
      if (this.kind === 'Secret' && err.status === 403) this.log.info(fields, msg)
      else this.log.error(fields, msg)
    }
    // Known to be unknown: the kind counts as synced, and its rules are not judged.
    this.status.unavailable = reason
    this.status.healthy = true
    this.status.unhealthySince = undefined
    this.status.lastError = undefined
    this.downSince ??= Date.now()
    this.needList = true
    if (!this.status.listed) {
      this.status.listed = true
      this.onListed()
    }
  }

  private async list(): Promise<void> {
    const items: { item: StateInfo; namespace: string }[] = []
    let token = ''
    let rv = ''
    const accept = this.def.metadataOnly === true ? ACCEPT_METADATA_LIST : ACCEPT_JSON
    do {
      const ctl = this.controller()
      const params: Record<string, string> = { limit: String(this.opts.pageSize) }
      if (token !== '') params['continue'] = token
      let body: unknown
      try {
        const res = await open(this.kc, this.query(params), accept, ctl.signal, 60_000)
        body = await readBody(res)
      } finally {
        this.done()
      }
      // An empty list may come with items null (PartialObjectMetadataList does).
      const list = isRecord(body) ? body['items'] : undefined
      if (!isRecord(body) || (list !== null && list !== undefined && !Array.isArray(list))) throw new Error(`unexpected list response for ${this.kind}`)
      for (const raw of Array.isArray(list) ? list : []) {
        const info = toStateInfo(this.kind, raw)
        if (info !== undefined) items.push({ item: info, namespace: namespaceOf(raw) })
      }
      const meta = isRecord(body['metadata']) ? body['metadata'] : {}
      token = typeof meta['continue'] === 'string' ? meta['continue'] : ''
      rv = typeof meta['resourceVersion'] === 'string' ? meta['resourceVersion'] : rv
    } while (token !== '')
    this.store.replace(this.kind, items)
    this.rv = rv
    this.needList = false
    this.status.objects = this.store.count(this.kind)
    this.healthy()
    this.everListed = true
    if (!this.status.listed) {
      this.status.listed = true
      this.log.info({ kind: this.kind, objects: this.status.objects }, 'cluster view: listed')
      this.onListed()
    }
  }

  /** A controller for one request: aborted by a resync, or by stop(). Call done() when the request is over. */
  private controller(): AbortController {
    if (this.stopSignal.aborted) throw new Stopped()
    const ctl = new AbortController()
    const onStop = (): void => ctl.abort()
    this.stopSignal.addEventListener('abort', onStop, { once: true })
    this.release = () => this.stopSignal.removeEventListener('abort', onStop)
    this.current = ctl
    return ctl
  }

  private release: () => void = () => undefined

  private done(): void {
    this.release()
    this.release = () => undefined
    this.current = undefined
  }

  private async watch(): Promise<void> {
    const ctl = this.controller()
    const accept = this.def.metadataOnly === true ? ACCEPT_METADATA : ACCEPT_JSON
    const timeout = this.opts.watchTimeoutSeconds
    const path = this.query({ watch: '1', resourceVersion: this.rv, allowWatchBookmarks: 'true', timeoutSeconds: String(timeout) })
    let res: IncomingMessage
    try {
      res = await open(this.kc, path, accept, ctl.signal, (timeout + 30) * 1000)
    } catch (err) {
      this.done()
      if (ctl.signal.aborted && !this.stopSignal.aborted) return // a resync
      throw err
    }
    this.healthy()
    this.watching = true
    let pending = ''
    let failure: unknown
    try {
      res.setEncoding('utf8')
      for await (const chunk of res) {
        pending += chunk as string
        let nl: number
        while ((nl = pending.indexOf('\n')) >= 0) {
          const line = pending.slice(0, nl)
          pending = pending.slice(nl + 1)
          if (line.trim() !== '') this.event(line)
        }
      }
    } catch (err) {
      failure = err
    } finally {
      this.watching = false
      this.done()
    }
    if (failure !== undefined) {
      if (failure instanceof HttpError) throw failure
      if (ctl.signal.aborted && !this.stopSignal.aborted) return // a resync
      throw failure
    }
  }

  private event(line: string): void {
    let ev: unknown
    try {
      ev = JSON.parse(line)
    } catch {
      throw new Error('malformed watch event')
    }
    if (!isRecord(ev)) return
    const type = ev['type']
    const obj = ev['object']
    if (type === 'ERROR') {
      const code = isRecord(obj) && typeof obj['code'] === 'number' ? obj['code'] : 500
      const message = isRecord(obj) && typeof obj['message'] === 'string' ? obj['message'] : 'watch error'
      throw new HttpError(code, message)
    }
    const rv = resourceVersionOf(obj)
    if (type === 'ADDED' || type === 'MODIFIED') {
      const info = toStateInfo(this.kind, obj)
      if (info !== undefined) this.store.upsert(info, namespaceOf(obj))
      else this.store.remove(this.kind, namespaceOf(obj), nameOfRaw(obj)) // e.g. a pod that finished
    } else if (type === 'DELETED') {
      this.store.remove(this.kind, namespaceOf(obj), nameOfRaw(obj))
    }
    if (rv !== undefined && rv !== '') this.rv = rv
    this.status.objects = this.store.count(this.kind)
  }
}

const SILENT: LiveLogger = { info: () => undefined, warn: () => undefined, error: () => undefined }

/**
 * Starts the informers. `view.synced` is false until every kind has been listed once, and false
 * again while any kind's watch has been down longer than staleAfterMs (the engine then skips the
 * cluster rules and says so, instead of judging on old data).
 */
export function startLiveClusterView(options: LiveClusterViewOptions): LiveClusterViewHandle {
  const log = options.logger ?? SILENT
  const opts = {
    resyncAfterMs: options.resyncAfterMs ?? 30 * 60_000,
    staleAfterMs: options.staleAfterMs ?? 60_000,
    retryMaxMs: options.retryMaxMs ?? 30_000,
    watchTimeoutSeconds: options.watchTimeoutSeconds ?? 300,
    pageSize: options.pageSize ?? 500,
    refusalGraceMs: options.refusalGraceMs ?? 60_000,
  }
  const kinds = STATE_KINDS.filter((k) => options.kinds?.[k] !== false)
  const stop = new AbortController()
  let stopped = false
  let resolveReady: () => void = () => undefined
  let rejectReady: (e: Error) => void = () => undefined
  const ready = new Promise<void>((resolve, reject) => {
    resolveReady = resolve
    rejectReady = reject
  })
  // Nobody may be waiting on ready when stop() rejects it.
  ready.catch(() => undefined)
  const reflectors: Reflector[] = []
  let wasSynced = false

  const allListed = (): boolean => reflectors.every((r) => r.status.listed)
  const isSynced = (): boolean => {
    if (stopped || !allListed()) return false
    const now = Date.now()
    return reflectors.every((r) => r.status.healthy || r.status.unhealthySince === undefined || now - r.status.unhealthySince < opts.staleAfterMs)
  }
  const byKind = new Map<StateKind, Reflector>()
  // Say when the view goes stale and when it recovers, at the first moment anyone (a review, or
  // the monitor below) sees it change, so that a short outage is never missed by the log.
  const observe = (): boolean => {
    const now = isSynced()
    if (now !== wasSynced && allListed() && !stopped) {
      if (now) log.info({}, 'cluster view synced')
      else {
        const down = reflectors.filter((r) => !r.status.healthy).map((r) => ({ kind: r.kind, err: r.status.lastError }))
        log.warn({ down }, `cluster view is stale (a watch has been down over ${Math.round(opts.staleAfterMs / 1000)} s): cluster rules are skipped`)
      }
    }
    wasSynced = now
    return now
  }
  const ageMs = (r: Reflector, now: number): number => (r.status.healthy || r.status.unhealthySince === undefined ? 0 : now - r.status.unhealthySince)
  // The age of the oldest state in use, once every kind has been listed (undefined before: never synced).
  const stateAgeMs = (): number | undefined => {
    if (stopped || !allListed()) return undefined
    const now = Date.now()
    return reflectors.reduce((max, r) => Math.max(max, r.status.unavailable === undefined ? ageMs(r, now) : 0), 0)
  }
  const store = new ClusterStore({
    source: 'live cluster',
    stateAgeMs,
    synced: observe,
    knows: (kind) => {
      const r = byKind.get(kind)
      return r !== undefined && r.status.listed && r.status.unavailable === undefined
    },
  })
  const onListed = (): void => {
    if (allListed()) resolveReady()
  }
  for (const kind of kinds) {
    const r = new Reflector(kind, RESOURCES[kind], options.kubeConfig, store, opts, log, stop.signal, onListed)
    reflectors.push(r)
    byKind.set(kind, r)
  }
  if (reflectors.length === 0) resolveReady()

  // The monitor notices changes while nobody reads the view.
  const monitor = setInterval(observe, Math.max(100, Math.min(1000, opts.staleAfterMs / 4)))
  monitor.unref()

  const loops = reflectors.map((r) =>
    r.run().catch((err: unknown) => {
      log.error({ kind: r.kind, err: describe(err) }, 'cluster view: reflector stopped unexpectedly')
    }),
  )
  const resync =
    opts.resyncAfterMs > 0
      ? setInterval(() => {
          for (const r of reflectors) r.resync()
        }, opts.resyncAfterMs)
      : undefined
  resync?.unref()

  return {
    view: store,
    ready,
    status: () => {
      const now = Date.now()
      return reflectors.map((r) => ({ ...r.status, ageSeconds: Math.round(ageMs(r, now) / 1000) }))
    },
    detail: () => {
      const now = Date.now()
      const parts: string[] = []
      for (const r of reflectors) {
        const s = r.status
        if (s.unavailable !== undefined) parts.push(`${s.resource} unavailable (${safeText(s.unavailable, 160)}; its rules stay silent)`)
        else if (!s.healthy) parts.push(`${s.resource} ${s.listed ? `down ${Math.round(ageMs(r, now) / 1000)} s` : 'not listed yet'}${s.lastError !== undefined ? ` (${safeText(s.lastError, 160)})` : ''}`)
      }
      const age = stateAgeMs()
      const head =
        age === undefined
          ? 'cluster view: not synced yet'
          : isSynced()
            ? `cluster view: synced, state ${Math.round(age / 1000)} s old`
            : `cluster view: state is ${Math.round(age / 1000)} s old (stale after ${Math.round(opts.staleAfterMs / 1000)} s): cluster rules skipped`
      return parts.length === 0 ? head : `${head}; ${parts.join('; ')}`
    },
    async stop() {
      if (stopped) return
      stopped = true
      clearInterval(monitor)
      if (resync !== undefined) clearInterval(resync)
      stop.abort()
      rejectReady(new Error('the cluster view was stopped before it synced'))
      await Promise.all(loops)
    },
  }
}

/** What `listObjects` can list: the view's kinds, and Namespaces (for snapshots). */
export type ListableKind = StateKind | 'Namespace'

/**
 * Lists every object of a kind, page by page, with the kubeconfig's credentials (Secrets as
 * metadata only). For `pod-preflight snapshot`; throws an Error with `status` on HTTP errors.
 */
export async function listObjects(kc: KubeConfig, kind: ListableKind, options: { pageSize?: number; signal?: AbortSignal } = {}): Promise<unknown[]> {
  const def: ResourceDef = kind === 'Namespace' ? { path: '/api/v1/namespaces' } : RESOURCES[kind]
  const query: Record<string, string> = def.fieldSelector !== undefined ? { fieldSelector: def.fieldSelector } : {}
  return listPath(kc, def.path, { ...options, query, metadataOnly: def.metadataOnly === true })
}

/**
 * Lists every object under an API path (e.g. `/apis/apps/v1/namespaces/web/deployments`), page
 * by page, with the kubeconfig's credentials; `metadataOnly` asks for PartialObjectMetadata.
 * Throws an Error with `status` (see httpStatusOf) on HTTP errors.
 */
export async function listPath(
  kc: KubeConfig,
  path: string,
  options: { pageSize?: number; signal?: AbortSignal; query?: Record<string, string>; metadataOnly?: boolean } = {},
): Promise<unknown[]> {
  const signal = options.signal ?? new AbortController().signal
  const out: unknown[] = []
  let token = ''
  do {
    const p = new URLSearchParams({ ...options.query, limit: String(options.pageSize ?? 500) })
    if (token !== '') p.set('continue', token)
    const res = await open(kc, `${path}?${p.toString()}`, options.metadataOnly === true ? ACCEPT_METADATA_LIST : ACCEPT_JSON, signal, 60_000)
    const body = await readBody(res)
    const list = isRecord(body) ? body['items'] : undefined
    if (Array.isArray(list)) for (const item of list) out.push(item)
    const meta = isRecord(body) && isRecord(body['metadata']) ? body['metadata'] : {}
    token = typeof meta['continue'] === 'string' ? meta['continue'] : ''
  } while (token !== '')
  return out
}

/** The HTTP status of an error from listObjects, if it was one. */
export function httpStatusOf(err: unknown): number | undefined {
  return err instanceof HttpError ? err.status : undefined
}
