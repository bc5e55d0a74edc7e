/**
 * The webhook as a Fastify app: POST /validate, GET /healthz, /readyz, /metrics.
 * buildApp() never listens; server.ts does (and tests use app.inject()).
 */
import type { Server as HttpsServer, ServerOptions as HttpsServerOptions } from 'node:https'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { constants as http2Constants, type Http2SecureServer, type Http2ServerRequest, type Http2ServerResponse, type ServerHttp2Stream } from 'node:http2'
import { fastify, LogController, type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify'
import type { Logger } from 'pino'
import type { PodRule } from '../engine/rule.js'
import { policyForNamespace, type Policy } from '../policy/policy.js'
import type { ClusterView } from '../cluster/view.js'
import type { RelatedObjects } from '../engine/related.js'
import { AdmissionHttpError, errorBody, httpError } from './errors.js'
import { parseJsonBody } from './json-body.js'
import { createMetrics, PROMETHEUS_CONTENT_TYPE, type WebhookMetrics } from './metrics.js'
import { parseAdmissionReview, reviewResponse, type AdmissionReviewResponse } from './review.js'
import { budgetedRules, createBudget } from './budget.js'
import { shorten } from '../text/sanitize.js'
import { judge, type JudgeOptions } from './verdict.js'
import { controllingWorkload } from './owners.js'
import { DEFAULT_MAX_WARNINGS, truncate } from './warnings.js'
import { DEFAULT_CACHE_ENTRIES, EvaluationCache } from './verdict-cache.js'

/** Where the app gets the policy in force; undefined until one is loaded. */
export interface PolicySource {
  current(): Policy | undefined
  /** A line for /readyz: the policy in force, and an edit that was refused. */
  detail?(): string | undefined
}

/** Something /readyz waits for. */
export interface ReadinessCheck {
  name: string
  ready(): boolean
  /** A line for /readyz even when ready (e.g. "the last policy edit was refused: ..."). */
  detail?(): string | undefined
}

/** The labels of namespaces, for policy bindings (an AdmissionReview carries none). */
export interface NamespaceLabelSource {
  /** The labels when known now. */
  labels(namespace: string): Readonly<Record<string, string>> | undefined
  /** Asks the API server once; undefined when it cannot be known within timeoutMs. */
  fetch(namespace: string, timeoutMs: number): Promise<Readonly<Record<string, string>> | undefined>
}

/** The longest a review waits to learn a namespace's labels. */
export const NAMESPACE_FETCH_MS = 1_000

export interface ClusterInputs {
  view: ClusterView
  related?: RelatedObjects
}

/**
 * Which reviews get their `review` log line: every one (`all`), or only those that were answered
 * with more than a plain yes (`warned`): a verdict other than allowed (warned, would deny,
 * denied, not fully judged, over the time budget), a rule skipped by annotation or exempted by
 * the policy, a skip annotation refused, or unknown namespace labels. The others (allowed with no
 * warning, and the operations not judged) are still counted in /metrics.
 */
export const REVIEW_LOGS = ['all', 'warned'] as const
export type ReviewLog = (typeof REVIEW_LOGS)[number]

export interface AppDeps {
  rules: readonly PodRule<unknown>[]
  policy: PolicySource
  logger: Logger
  metrics?: WebhookMetrics
  /** More checks for /readyz besides "a policy is loaded" (the cluster view, when enabled). */
  readiness?: readonly ReadinessCheck[]
  /** The live cluster state for cluster-scoped rules, when enabled. */
  cluster?: ClusterInputs
  /** Namespace labels for policy bindings; undefined (or answering undefined) when not running. */
  namespaces?: { current(): NamespaceLabelSource | undefined }
  /** Time from receiving a review to answering it, in ms, after which no further rule starts. */
  budgetMs?: number
  maxWarnings?: number
  /** Largest accepted body, in bytes. */
  bodyLimit?: number
  /** Deepest accepted JSON nesting. */
  maxDepth?: number
  /** How many evaluations of identical objects to remember (0: none). */
  cacheEntries?: number
  /** Serve GET /metrics on this app (true by default); false when metrics have a port of their own. */
  metricsRoute?: boolean
  /** Longest time a request may take to arrive, headers and body, in ms (DEFAULT_REQUEST_TIMEOUT_MS). */
  requestTimeoutMs?: number
  /** TLS options; null or absent builds a plain HTTP app (for inject() in tests). */
  https?: HttpsServerOptions | null
  /** With `https`: offer HTTP/2 (h2) in ALPN besides HTTP/1.1. */
  http2?: boolean
  /** Which reviews get a log line (REVIEW_LOGS; 'all' by default). */
  reviewLog?: ReviewLog
  /** The budget clock (performance.now() by default); tests pass a fake one. */
  now?: () => number
  /**
   * One worker of several (serve --workers): /readyz and /metrics answer for the whole pod, as
   * the primary process gathers them; `localReadiness` receives this process's own report.
   */
  pod?: {
    readiness(): Promise<ReadinessReport>
    metrics(): Promise<string>
    localReadiness(report: () => ReadinessReport): void
  }
}

/** What /readyz says: the checks not passed yet, and the lines shown even when ready. */
export interface ReadinessReport {
  missing: string[]
  details: string[]
}

/** A field of the request for the log: shortened (pino escapes controls in JSON itself). */
function logField(v: string | undefined, max: number): string | undefined {
  return v === undefined ? undefined : shorten(v, max)
}

export const DEFAULT_BUDGET_MS = 2_500
/** The API server caps request bodies at 3 MiB; an AdmissionReview holds up to two objects. */
export const DEFAULT_BODY_LIMIT = 7 * 1024 * 1024
export const DEFAULT_MAX_DEPTH = 100
/** The API server sends a review in one go; 30 s is the longest webhook timeoutSeconds it allows. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000

/**
 * Node's own timeouts, set from one value so that it is the one that holds: the TLS handshake,
 * the headers and the whole request each get `requestTimeoutMs`. Node checks running requests
 * only every `connectionsCheckingInterval` (30 s by default, so a 30 s timeout acted as 30-60 s,
 * and headers had their own 60 s); checking every tenth of the timeout (0.1 s to 1 s) cuts a
 * slow client within 10 % of the configured time.
 */
export function connectionTimeouts(requestTimeoutMs: number): { requestTimeout: number; headersTimeout: number; connectionsCheckingInterval: number; handshakeTimeout: number } {
  return {
    requestTimeout: requestTimeoutMs,
    headersTimeout: requestTimeoutMs,
    connectionsCheckingInterval: Math.min(1000, Math.max(100, Math.round(requestTimeoutMs / 10))),
    handshakeTimeout: requestTimeoutMs,
  }
}

/**
 * The same request timeout on a server that offers HTTP/2 besides HTTP/1.1. Node's HTTP/2
 * server takes none of the HTTP/1.1 timeout options (and Fastify sets none on it): its HTTP/1.1
 * connections get them as properties, read when it starts listening. HTTP/2 has no request
 * timeout at all: a stream whose body has not fully arrived within `requestTimeoutMs` is
 * answered 408, as Node answers a slow HTTP/1.1 request, and reset; its connection (with its
 * other streams) stays.
 */
function holdHttp2ToTimeouts<T extends { server: Http2SecureServer }>(app: T, requestTimeoutMs: number): T {
  const server = app.server as Http2SecureServer & { requestTimeout: number; headersTimeout: number; connectionsCheckingInterval: number }
  const t = connectionTimeouts(requestTimeoutMs)
  server.requestTimeout = t.requestTimeout
  server.headersTimeout = t.headersTimeout
  server.connectionsCheckingInterval = t.connectionsCheckingInterval
  const body = JSON.stringify(errorBody(httpError('TIMEOUT', `within ${requestTimeoutMs} ms`)))
  server.on('stream', (stream: ServerHttp2Stream) => {
    const timer = setTimeout(() => {
      if (stream.destroyed || stream.readableEnded) return
      // Answered already (a body over the limit is refused before it has all arrived): only the
      // upload is left to stop.
      if (stream.headersSent || stream.writableEnded) return void stream.close(http2Constants.NGHTTP2_NO_ERROR)
      stream.respond({ ':status': 408, 'content-type': 'application/json' })
      stream.end(body, () => stream.close(http2Constants.NGHTTP2_NO_ERROR))
    }, requestTimeoutMs)
    timer.unref()
    stream.once('close', () => clearTimeout(timer))
    stream.once('end', () => clearTimeout(timer))
  })
  return app
}

/**
 * The app; its server is HTTPS when `https` options were given (plain HTTP for inject() otherwise).
 * With `http2` it is Node's HTTP/2 server (a TLS server too), typed as the HTTPS one: the routes
 * and server.ts use only what both have (headers, `aborted`, `httpVersionMajor`; TLS server events).
 */
export type WebhookApp = FastifyInstance<HttpsServer, IncomingMessage, ServerResponse, Logger>

export async function buildApp(deps: AppDeps): Promise<WebhookApp> {
  const metrics = deps.metrics ?? createMetrics()
  const budgetMs = deps.budgetMs ?? DEFAULT_BUDGET_MS
  const maxWarnings = deps.maxWarnings ?? DEFAULT_MAX_WARNINGS
  const logEveryReview = (deps.reviewLog ?? 'all') === 'all'
  const bodyLimit = deps.bodyLimit ?? DEFAULT_BODY_LIMIT
  const maxDepth = deps.maxDepth ?? DEFAULT_MAX_DEPTH
  const requestTimeoutMs = deps.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS
  const budget = createBudget(deps.now)
  const rules = budgetedRules(deps.rules, budget)
  const log = deps.logger.child({ component: 'admission' })

  const common = {
    // One line per review is written by the route itself; no request/response lines, and no
    // per-request child logger to build.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit,
    // A slow client must not hold a connection forever; the API server sends a review in one go.
    requestTimeout: requestTimeoutMs,
    return503OnClosing: true,
  }
  const httpLog = deps.logger.child({ component: 'http' })
  const app: WebhookApp =
    deps.http2 === true && deps.https != null
      ? (holdHttp2ToTimeouts(
          fastify<Http2SecureServer, Http2ServerRequest, Http2ServerResponse, Logger>({
            ...common,
            loggerInstance: httpLog,
            childLoggerFactory: (logger) => logger,
            http2: true,
            https: { ...deps.https, allowHTTP1: true, ...connectionTimeouts(requestTimeoutMs) },
          }),
          requestTimeoutMs,
        ) as unknown as WebhookApp)
      : fastify<HttpsServer, IncomingMessage, ServerResponse, Logger>({
          ...common,
          loggerInstance: httpLog,
          childLoggerFactory: (logger) => logger,
          https: deps.https != null ? { ...deps.https, ...connectionTimeouts(requestTimeoutMs) } : null,
        })

  const policyCheck: ReadinessCheck = { name: 'policy', ready: () => deps.policy.current() !== undefined }
  const policyDetail = deps.policy.detail?.bind(deps.policy)
  if (policyDetail !== undefined) policyCheck.detail = policyDetail
  const checks: ReadinessCheck[] = [policyCheck, ...(deps.readiness ?? [])]
  const unready = (): string[] => checks.filter((c) => !c.ready()).map((c) => c.name)
  metrics.registry.onCollect(() => metrics.ready.set({}, unready().length === 0 ? 1 : 0))

  // Every body is read as text and parsed as JSON here, whatever its Content-Type says.
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit }, (_req, body, done) => {
    try {
      done(null, parseJsonBody(typeof body === 'string' ? Buffer.from(body) : body, maxDepth))
    } catch (err) {
      done(err instanceof Error ? err : new Error(String(err)), undefined)
    }
  })

  app.setErrorHandler((err: FastifyError | AdmissionHttpError, request: FastifyRequest, reply: FastifyReply) => {
    // The client closed the connection mid-body (a restart, a timeout on its side): nothing was
    // wrong with a review, and nobody is left to answer.
    if (request.raw.aborted || (hasCode(err) && (err.code === 'ECONNRESET' || err.code === 'ECONNABORTED'))) {
      if (request.routeOptions.url === '/validate') metrics.clientAborts.inc({})
      log.info({ reason: err.message.slice(0, 200) }, 'client closed the connection before the request was complete')
      if (!reply.raw.destroyed && !reply.sent) void reply.code(400).type('application/json').send(errorBody(httpError('NOT_REVIEW', 'the request was not complete')))
      return
    }
    // Fastify asks to close the connection after a bad body; HTTP/2 has no such header (Node
    // drops it with a warning on stderr) and resets the stream instead.
    if (request.raw.httpVersionMajor === 2) reply.removeHeader('connection')
    const e = toHttpError(err, bodyLimit)
    if (request.routeOptions.url === '/validate') metrics.badRequests.inc({ code: e.code })
    if (e.statusCode >= 500 && e.statusCode !== 503) log.error({ err, code: e.code }, 'request failed')
    else log.warn({ code: e.code, status: e.statusCode, reason: e.message }, 'request refused')
    void reply.code(e.statusCode).type('application/json').send(errorBody(e))
  })

  app.setNotFoundHandler((request, reply) => {
    const e = httpError('NOT_FOUND', `${request.method} ${request.url.split('?')[0] ?? ''}`.slice(0, 200))
    void reply.code(e.statusCode).send(errorBody(e))
  })

  // One cache per policy: a reloaded policy starts empty.
  const cacheEntries = deps.cacheEntries ?? DEFAULT_CACHE_ENTRIES
  let cache: { policy: Policy; cache: EvaluationCache } | undefined
  const cacheFor = (policy: Policy): EvaluationCache | undefined => {
    if (cacheEntries <= 0) return undefined
    if (cache?.policy !== policy) cache = { policy, cache: new EvaluationCache(cacheEntries) }
    return cache.cache
  }
  metrics.registry.onCollect(() => {
    if (cache === undefined) return
    metrics.cacheLookups.set({ result: 'hit' }, cache.cache.hits)
    metrics.cacheLookups.set({ result: 'miss' }, cache.cache.misses)
  })

  const judgeOptions = (root: Policy, policy: Policy): JudgeOptions => {
    const o: JudgeOptions = { policy, rules, budget, budgetMs, maxWarnings }
    const c = cacheFor(root)
    if (c !== undefined) o.cache = c
    if (deps.cluster !== undefined) {
      o.cluster = deps.cluster.view
      if (deps.cluster.related !== undefined) o.related = deps.cluster.related
    }
    return o
  }

  // A body sent without a Content-Type is still an AdmissionReview to read, not a 415.
  const defaultContentType = async (request: FastifyRequest): Promise<void> => {
    const ct = request.headers['content-type']
    if (ct === undefined || ct === '') request.headers['content-type'] = 'application/json'
  }

  /**
   * The policy for the review's namespace: the first binding matching its labels. Labels come
   * from the namespace watch, or from one bounded request when the watch has not seen it yet.
   * When they cannot be known, the policy itself applies and the answer says so.
   */
  const policyFor = async (root: Policy, namespace: string | undefined, elapsedMs: number): Promise<{ policy: Policy; unknown?: string }> => {
    if (root.bindings.length === 0 || namespace === undefined) return { policy: root }
    const source = deps.namespaces?.current()
    let labels = source?.labels(namespace)
    if (labels === undefined && source !== undefined) {
      const wait = Math.min(NAMESPACE_FETCH_MS, Math.max(0, budgetMs / 2 - elapsedMs))
      if (wait > 0) labels = await source.fetch(namespace, wait)
    }
    if (labels !== undefined) return { policy: policyForNamespace(root, namespace, labels) }
    metrics.namespaceLabelsUnknown.inc({})
    return {
      policy: root,
      unknown: `pod-preflight could not learn the labels of namespace ${truncate(namespace, 63)}; the policy's ${root.mode} mode applied, not its bindings`,
    }
  }

  app.post('/validate', { onRequest: defaultContentType }, async (request, reply): Promise<AdmissionReviewResponse> => {
    const root = deps.policy.current()
    if (root === undefined) throw httpError('NOT_READY', 'no policy loaded yet')
    const review = parseAdmissionReview(request.body)
    const judged = review.object !== undefined && (review.operation === 'CREATE' || review.operation === 'UPDATE') && review.subResource === undefined
    // What a workload controller made is never refused (its template was judged when the
    // workload was applied); under `ownedObjects: skip` it is not judged either: answered at
    // once, counted, not logged, as if the API server had not called (the matchConditions way).
    if (judged && root.ownedObjects === 'skip' && review.object !== undefined && controllingWorkload(review.object) !== undefined) {
      metrics.countReview(review.kind.kind, review.operation, 'skipped_owned')
      metrics.duration.observe({}, reply.elapsedTime / 1000)
      return reviewResponse({ uid: review.uid, allowed: true })
    }
    const { policy, unknown } = judged ? await policyFor(root, review.namespace, reply.elapsedTime) : { policy: root, unknown: undefined }
    // The budget counts from the moment the request arrived: time spent queued and parsing is spent.
    const deadline = budget.now() + (budgetMs - reply.elapsedTime)
    const options = judgeOptions(root, policy)
    if (unknown !== undefined) options.labelsUnknown = unknown
    const j = judge(review, deadline, options)
    const elapsed = reply.elapsedTime
    metrics.countReview(review.kind.kind, review.operation, j.verdict)
    metrics.duration.observe({}, elapsed / 1000)
    if (j.verdict === 'over_budget') metrics.budgetExceeded.inc({})
    const ruleIds: string[] = []
    const denied: string[] = []
    for (const f of j.findings) {
      metrics.findings.inc({ rule: f.rule, action: f.action })
      if (f.downgraded === 'audit') metrics.wouldDeny.inc({ rule: f.rule })
      if (!ruleIds.includes(f.rule)) ruleIds.push(f.rule)
      if (f.action === 'deny' && !denied.includes(f.rule)) denied.push(f.rule)
    }
    const wouldDeny = [...new Set(j.findings.filter((f) => f.downgraded === 'audit').map((f) => f.rule))]
    for (const rule of j.skipped.annotation) metrics.skips.inc({ rule, by: 'annotation' })
    for (const rule of j.skipped.exemption) metrics.skips.inc({ rule, by: 'exemption' })
    if (j.skipRefused) metrics.skipsRefused.inc({})
    const quiet =
      !logEveryReview &&
      (j.verdict === 'allowed' || j.verdict === 'not_applicable') &&
      j.skipped.annotation.length === 0 &&
      j.skipped.exemption.length === 0 &&
      !j.skipRefused &&
      unknown === undefined
    if (quiet) return reviewResponse(j.response)
    // One line per review (with --review-log warned, per review answered with more than a yes); never
    // the object itself (env values, annotations, Secret data).
    log.info(
      {
        // Fields from the request are shortened: a 3 MB name must not make a 3 MB log line.
        uid: logField(review.uid, 64),
        kind: logField(j.object.kind || review.kind.kind, 63),
        namespace: logField(j.object.namespace ?? review.namespace, 63),
        name: logField(j.object.name || review.name, 253),
        operation: logField(review.operation, 16),
        dryRun: review.dryRun,
        user: logField(review.username, 253),
        verdict: j.verdict,
        rules: ruleIds,
        denied,
        wouldDeny,
        mode: policy.mode,
        binding: policy.binding,
        labelsUnknown: unknown !== undefined ? true : undefined,
        skipped: j.skipped.annotation.length > 0 ? j.skipped.annotation : undefined,
        exempted: j.skipped.exemption.length > 0 ? j.skipped.exemption : undefined,
        skipRefused: j.skipRefused ? true : undefined,
        owner: logField(j.owner, 320),
        durationMs: Math.round(elapsed * 1000) / 1000,
      },
      'review',
    )
    return reviewResponse(j.response)
  })

  app.get('/healthz', async (_request, reply) => {
    return reply.type('text/plain').send('ok\n')
  })

  const localReport = (): ReadinessReport => ({
    missing: unready(),
    details: checks.map((c) => c.detail?.()).filter((d): d is string => d !== undefined && d !== ''),
  })
  deps.pod?.localReadiness(localReport)
  app.get('/readyz', async (_request, reply) => {
    const { missing, details } = deps.pod !== undefined ? await deps.pod.readiness() : localReport()
    const tail = details.map((d) => `${d}\n`).join('')
    if (missing.length === 0) return reply.type('text/plain').send(`ok\n${tail}`)
    return reply.code(503).type('text/plain').send(`not ready: waiting for ${missing.join(', ')}\n${tail}`)
  })

  if (deps.metricsRoute !== false) {
    app.get('/metrics', async (_request, reply) => {
      return reply.type(PROMETHEUS_CONTENT_TYPE).send(deps.pod !== undefined ? await deps.pod.metrics() : metrics.registry.render())
    })
  }

  return app
}

function hasCode(err: unknown): err is { code: string; statusCode?: number; message: string } {
  return typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string' && 'message' in err
}

/** Maps anything thrown while handling a request to an entry of the error table. */
function toHttpError(err: unknown, bodyLimit: number): AdmissionHttpError {
  if (err instanceof AdmissionHttpError) return err
  if (hasCode(err)) {
    switch (err.code) {
      case 'FST_ERR_CTP_BODY_TOO_LARGE':
        return httpError('BODY_TOO_LARGE', String(bodyLimit))
      case 'FST_ERR_CTP_EMPTY_JSON_BODY':
        return httpError('EMPTY_BODY')
      case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
        return httpError('NOT_JSON', 'the Content-Length does not match the body')
      case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
        return httpError('NOT_JSON', 'unsupported Content-Type; send application/json')
      case 'FST_ERR_REQUEST_TIMEOUT':
        return httpError('TIMEOUT')
      default:
        if (typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500) {
          return httpError('NOT_REVIEW', err.message.slice(0, 200))
        }
    }
  }
  return httpError('INTERNAL', err instanceof Error ? err.message.slice(0, 200) : 'unknown')
}
