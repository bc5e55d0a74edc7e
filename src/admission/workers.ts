/**
 * `serve --workers N`: N worker processes (node:cluster) share the webhook port; the primary
 * process does what must happen once per pod.
 *
 * - The primary reads the certificate (files, or the self-managed Secret and caBundle) and the
 *   policy file, watches both, runs the audit scan and the companion behind their Leases, and
 *   serves --metrics-port. It hands every certificate and every policy text it put in force to
 *   each worker (a broken edit is refused once, by the primary, and never reaches a worker); a
 *   worker started later gets the current ones first.
 * - Each worker serves POST /validate with its own evaluation cache, its own cluster view
 *   (--cluster) and namespace-label watch (the rules read them synchronously per review).
 * - /metrics and /readyz on the webhook port answer for the pod: the worker that gets the
 *   request asks the primary, which asks every worker for its metrics and readiness and adds
 *   them up (counters and histograms summed, gauges as each declares). The totals of a worker
 *   that died stay counted from its last report.
 * - A worker that exits unexpectedly is logged and started again after a backoff (0.1 s doubling
 *   to 10 s; back to 0.1 s once one has run for 30 s).
 * - SIGTERM to the primary: /readyz answers 503 for --shutdown-delay, then every worker closes
 *   within --shutdown-timeout (a worker still running a second after that is killed).
 *
 * The pool and the worker side talk through the small interfaces below, so tests can drive
 * them without forking.
 */
import cluster from 'node:cluster'
import type { Server as HttpServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Logger } from 'pino'
import type { ReadinessReport } from './app.js'
import { DEFAULT_REQUEST_TIMEOUT_MS } from './app.js'
import type { FileWatch } from './file-watch.js'
import { createMetrics, cumulativeOnly, mergeSnapshots, renderSnapshot, type RegistrySnapshot, type WebhookMetrics } from './metrics.js'
import { loadPolicy, PolicyStore, readPolicyText, startPolicyReloader } from './policy-store.js'
import { builtinPolicyName, parsePolicy, type Policy } from '../policy/policy.js'
import type { PodRule } from '../engine/rule.js'
import {
  closeMetrics,
  DEFAULT_RELOAD_INTERVAL_MS,
  DEFAULT_SHUTDOWN_TIMEOUT_MS,
  listenMetrics,
  startBackground,
  startCertificates,
  startServer,
  watchCertificates,
  type ServerOptions,
} from './server.js'
import type { TlsMaterial } from './tls.js'

export { MAX_WORKERS } from './worker-count.js'

/** How the primary gives a worker its policy: a text it has checked, or a shipped policy to load. */
export type PolicyMessage = { text: string; source: string } | { load: string | undefined }

/** Primary to worker. */
export type ToWorker =
  | { t: 'tls'; cert: string; key: string }
  | { t: 'policy'; policy: PolicyMessage }
  | { t: 'report'; id: number }
  | { t: 'answer'; id: number; text?: string; readiness?: ReadinessReport }
  | { t: 'shutdown' }

/** Worker to primary. */
export type FromWorker =
  | { t: 'hello' }
  | { t: 'listening'; port: number }
  | { t: 'failed'; message: string; code?: string }
  | { t: 'report'; id: number; snapshot: RegistrySnapshot; readiness: ReadinessReport }
  | { t: 'ask'; id: number; what: 'metrics' | 'readiness' }

/** One worker process as the pool sees it (a node:cluster Worker in production). */
export interface WorkerProcess {
  readonly pid: number | undefined
  send(message: ToWorker): void
  kill(signal: NodeJS.Signals): void
  onMessage(listener: (message: FromWorker) => void): void
  onExit(listener: (code: number | null, signal: string | null) => void): void
}

export interface Backoff {
  initialMs: number
  maxMs: number
  /** A worker that ran this long before exiting restarts after initialMs again. */
  resetAfterMs: number
}

export const DEFAULT_BACKOFF: Backoff = { initialMs: 100, maxMs: 10_000, resetAfterMs: 30_000 }

export interface PoolOptions {
  count: number
  fork(): WorkerProcess
  logger: Logger
  /** What a new worker gets first: the certificate and the policy in force. */
  state(): { tls: TlsMaterial; policy: PolicyMessage }
  /** The primary's own metrics (certificate, policy reloads, audit, companion, process). */
  metrics: WebhookMetrics
  /** The primary's own readiness (shutting down; the policy line). */
  readiness(): ReadinessReport
  backoff?: Backoff
  /** How long a scrape or /readyz waits for a worker's report. */
  reportTimeoutMs?: number
  now?: () => number
}

interface Slot {
  index: number
  worker: WorkerProcess | undefined
  startedAt: number
  /** Consecutive short-lived runs, for the backoff. */
  failures: number
  listening: boolean
  last: RegistrySnapshot | undefined
  restart: NodeJS.Timeout | undefined
  exited: Promise<void>
  markExited: () => void
}

export class WorkerStartError extends Error {
  override readonly name = 'WorkerStartError'
  constructor(
    message: string,
    readonly code: string | undefined,
  ) {
    super(message)
  }
}

/** The primary's side: N slots, each holding a running worker or one waiting to be restarted. */
export class WorkerPool {
  private readonly slots: Slot[] = []
  private readonly log: Logger
  private readonly backoff: Backoff
  private readonly now: () => number
  /** Counters and histograms of workers that have exited. */
  private retired: RegistrySnapshot = []
  private nextId = 1
  private readonly pending = new Map<number, { slot: Slot; resolve: (r: { snapshot: RegistrySnapshot; readiness: ReadinessReport } | undefined) => void }>()
  private stopping = false
  private port: number | undefined
  private readonly startWaiters: { resolve: (port: number) => void; reject: (err: Error) => void }[] = []
  private readonly restarts
  private readonly alive

  constructor(private readonly o: PoolOptions) {
    this.log = o.logger.child({ component: 'workers' })
    this.backoff = o.backoff ?? DEFAULT_BACKOFF
    this.now = o.now ?? Date.now
    this.restarts = o.metrics.registry.counter('pod_preflight_worker_restarts_total', 'Worker processes (serve --workers) started again after one exited unexpectedly.')
    this.restarts.touch({})
    this.alive = o.metrics.registry.gauge('pod_preflight_workers', 'Worker processes running (serve --workers).')
    o.metrics.registry.onCollect(() => this.alive.set({}, this.slots.filter((s) => s.worker !== undefined).length))
  }

  /** Forks every worker; resolves with the port once all listen, rejects if one fails to start. */
  start(): Promise<number> {
    for (let i = 0; i < this.o.count; i++) {
      let markExited = (): void => undefined
      const exited = new Promise<void>((resolve) => (markExited = resolve))
      const slot: Slot = { index: i + 1, worker: undefined, startedAt: 0, failures: 0, listening: false, last: undefined, restart: undefined, exited, markExited }
      markExited()
      this.slots.push(slot)
      this.spawn(slot)
    }
    return new Promise((resolve, reject) => this.startWaiters.push({ resolve, reject }))
  }

  /** Sends to every running worker (a certificate or policy now in force). */
  broadcast(message: ToWorker): void {
    for (const s of this.slots) if (s.worker !== undefined) this.sendTo(s, message)
  }

  /** The pod's metrics: the primary's, the workers' (fresh, or their last report) and those of workers gone. */
  async metricsText(): Promise<string> {
    const reports = await this.gather()
    const readiness = this.combine(reports)
    this.o.metrics.ready.set({}, readiness.missing.length === 0 ? 1 : 0)
    const own = this.o.metrics.registry.snapshot()
    const workers = this.slots.map((s) => s.last).filter((x): x is RegistrySnapshot => x !== undefined)
    return renderSnapshot(mergeSnapshots([own, ...workers, this.retired]))
  }

  /** Ready when the primary is and every worker runs and is ready. */
  async readiness(): Promise<ReadinessReport> {
    return this.combine(await this.gather())
  }

  /** How many workers were started again after an unexpected exit. */
  restartCount(): number {
    return this.restarts.value({})
  }

  /** The process ids of the running workers, by slot (undefined: waiting to be restarted). */
  pids(): (number | undefined)[] {
    return this.slots.map((s) => s.worker?.pid)
  }

  /** Asks every worker to close (each within its --shutdown-timeout); kills those still running after `timeoutMs`. */
  async shutdown(timeoutMs: number): Promise<void> {
    this.stopping = true
    for (const s of this.slots) {
      if (s.restart !== undefined) clearTimeout(s.restart)
      s.restart = undefined
    }
    this.broadcast({ t: 'shutdown' })
    const all = Promise.all(this.slots.map((s) => s.exited))
    let timer: NodeJS.Timeout | undefined
    const late = await Promise.race([all.then(() => false), new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), timeoutMs)))])
    clearTimeout(timer)
    if (late) {
      const left = this.slots.filter((s) => s.worker !== undefined)
      this.log.warn({ slots: left.map((s) => s.index), timeoutMs }, 'workers still running at the shutdown deadline; killing them')
      for (const s of left) s.worker?.kill('SIGKILL')
      await all
    }
    for (const p of this.pending.values()) p.resolve(undefined)
    this.pending.clear()
  }

  private spawn(slot: Slot): void {
    slot.restart = undefined
    slot.listening = false
    const w = this.o.fork()
    slot.worker = w
    slot.startedAt = this.now()
    let markExited = (): void => undefined
    slot.exited = new Promise<void>((resolve) => (markExited = resolve))
    slot.markExited = markExited
    w.onMessage((m) => this.onMessage(slot, w, m))
    w.onExit((code, signal) => this.onExit(slot, w, code, signal))
  }

  private sendTo(slot: Slot, message: ToWorker): void {
    try {
      slot.worker?.send(message)
    } catch (err) {
      // A worker that is exiting has closed its channel; its exit is handled on its own.
      this.log.debug({ slot: slot.index, reason: err instanceof Error ? err.message : String(err) }, 'message to a worker not sent')
    }
  }

  private onMessage(slot: Slot, w: WorkerProcess, m: FromWorker): void {
    if (slot.worker !== w || typeof m !== 'object' || m === null) return
    switch (m.t) {
      case 'hello': {
        const st = this.o.state()
        this.sendTo(slot, { t: 'tls', cert: st.tls.cert.toString('utf8'), key: st.tls.key.toString('utf8') })
        this.sendTo(slot, { t: 'policy', policy: st.policy })
        return
      }
      case 'listening':
        slot.listening = true
        this.port ??= m.port
        if (this.slots.every((s) => s.listening)) {
          for (const waiter of this.startWaiters.splice(0)) waiter.resolve(this.port)
        }
        return
      case 'failed':
        if (this.startWaiters.length > 0) {
          for (const waiter of this.startWaiters.splice(0)) waiter.reject(new WorkerStartError(m.message, m.code))
        } else {
          this.log.error({ slot: slot.index, reason: m.message }, 'worker failed to start')
        }
        return
      case 'report': {
        const p = this.pending.get(m.id)
        if (p === undefined || p.slot !== slot) return
        this.pending.delete(m.id)
        slot.last = m.snapshot
        p.resolve({ snapshot: m.snapshot, readiness: m.readiness })
        return
      }
      case 'ask': {
        const reply = (answer: ToWorker): void => {
          if (slot.worker === w) this.sendTo(slot, answer)
        }
        if (m.what === 'metrics') {
          this.metricsText().then(
            (text) => reply({ t: 'answer', id: m.id, text }),
            (err: unknown) => {
              this.log.error({ reason: err instanceof Error ? err.message : String(err) }, 'metrics not gathered')
              reply({ t: 'answer', id: m.id })
            },
          )
        } else {
          this.readiness().then(
            (readiness) => reply({ t: 'answer', id: m.id, readiness }),
            () => reply({ t: 'answer', id: m.id, readiness: { missing: ['workers'], details: [] } }),
          )
        }
        return
      }
    }
  }

  private onExit(slot: Slot, w: WorkerProcess, code: number | null, signal: string | null): void {
    if (slot.worker !== w) return
    slot.worker = undefined
    slot.listening = false
    // What this worker counted stays counted; its gauges (memory, cache) went with it.
    if (slot.last !== undefined) this.retired = mergeSnapshots([this.retired, cumulativeOnly(slot.last)])
    slot.last = undefined
    for (const [id, p] of this.pending) {
      if (p.slot === slot) {
        this.pending.delete(id)
        p.resolve(undefined)
      }
    }
    slot.markExited()
    if (this.stopping) {
      this.log.info({ slot: slot.index, pid: w.pid, code, signal }, 'worker stopped')
      return
    }
    if (this.startWaiters.length > 0) {
      for (const waiter of this.startWaiters.splice(0)) waiter.reject(new WorkerStartError(`worker ${slot.index} exited while starting (${signal ?? `status ${code}`})`, undefined))
      return
    }
    const ranMs = this.now() - slot.startedAt
    slot.failures = ranMs >= this.backoff.resetAfterMs ? 0 : slot.failures + 1
    const delayMs = Math.min(this.backoff.maxMs, this.backoff.initialMs * 2 ** Math.max(0, slot.failures - 1))
    this.log.error({ slot: slot.index, pid: w.pid, code, signal, ranMs, restartInMs: delayMs }, 'worker exited unexpectedly; starting another')
    slot.restart = setTimeout(() => {
      if (this.stopping) return
      this.restarts.inc({})
      this.spawn(slot)
    }, delayMs)
  }

  private gather(): Promise<({ snapshot: RegistrySnapshot; readiness: ReadinessReport } | undefined)[]> {
    const timeoutMs = this.o.reportTimeoutMs ?? 2_000
    return Promise.all(
      this.slots.map((slot) => {
        if (slot.worker === undefined) return Promise.resolve(undefined)
        const id = this.nextId++
        return new Promise<{ snapshot: RegistrySnapshot; readiness: ReadinessReport } | undefined>((resolve) => {
          const timer = setTimeout(() => {
            this.pending.delete(id)
            resolve(undefined)
          }, timeoutMs)
          this.pending.set(id, {
            slot,
            resolve: (r) => {
              clearTimeout(timer)
              resolve(r)
            },
          })
          this.sendTo(slot, { t: 'report', id })
        })
      }),
    )
  }

  private combine(reports: readonly ({ readiness: ReadinessReport } | undefined)[]): ReadinessReport {
    const own = this.o.readiness()
    const missing = [...own.missing]
    const details = [...own.details]
    reports.forEach((r, i) => {
      const slot = this.slots[i]
      if (slot === undefined) return
      if (r === undefined) {
        missing.push(`worker ${slot.index} (${slot.worker === undefined ? 'restarting' : 'not answering'})`)
        return
      }
      for (const m of r.readiness.missing) missing.push(`worker ${slot.index}: ${m}`)
      for (const d of r.readiness.details) if (!details.includes(d)) details.push(d)
    })
    return { missing, details }
  }
}

/** A node:cluster worker as a WorkerProcess. */
function clusterFork(): WorkerProcess {
  const w = cluster.fork()
  // A send to a worker that just died fails on its channel; the exit event tells the pool.
  w.process.on('error', () => undefined)
  return {
    get pid() {
      return w.process.pid
    },
    send: (m) => {
      if (w.isConnected()) w.send(m)
    },
    kill: (signal) => {
      w.process.kill(signal)
    },
    onMessage: (listener) => w.on('message', listener),
    onExit: (listener) => w.on('exit', listener),
  }
}

export interface RunningPod {
  port: number
  url: string
  metricsUrl?: string
  pool: WorkerPool
  /** Check the certificate and policy files now. */
  reloadNow(): Promise<void>
  drain(): void
  close(): Promise<void>
}

/** The primary process of `serve --workers N` (N ≥ 2). */
export async function startPrimary(o: ServerOptions & { workers: number }, fork: () => WorkerProcess = clusterFork): Promise<RunningPod> {
  const log = o.logger.child({ component: 'server' })
  const metrics = createMetrics()
  const interval = o.reloadIntervalMs ?? DEFAULT_RELOAD_INTERVAL_MS
  const shutdownTimeoutMs = o.shutdownTimeoutMs ?? DEFAULT_SHUTDOWN_TIMEOUT_MS
  const source = await startCertificates(o, metrics)
  let tls = source.tls
  const watches: FileWatch[] = []
  let background: { stop(): Promise<void> } | undefined
  let metricsServer: HttpServer | undefined
  let draining = false

  const store = new PolicyStore()
  let policyMessage: PolicyMessage
  let policyText: Buffer | undefined
  const file = o.policyFile
  if (file !== undefined && builtinPolicyName(file) === undefined) {
    const read = await readPolicyText(file, o.rules)
    policyText = read.text
    store.set(read.policy)
    policyMessage = { text: read.text.toString('utf8'), source: file }
  } else {
    store.set(await loadPolicy(file, o.rules))
    policyMessage = { load: file }
  }
  const policy = store.current()
  if (policy !== undefined) log.info({ policy: policy.name, mode: policy.mode, bindings: policy.bindings.map((b) => b.name), source: policy.source, rules: o.rules.length }, 'policy loaded')

  const pool = new WorkerPool({
    count: o.workers,
    fork,
    logger: o.logger,
    metrics,
    state: () => ({ tls, policy: policyMessage }),
    readiness: () => {
      const missing = draining ? ['shutdown'] : []
      const d = store.detail()
      return { missing, details: d !== undefined ? [d] : [] }
    },
  })
  const stopAll = async (): Promise<void> => {
    for (const w of watches) w.stop()
    await pool.shutdown(shutdownTimeoutMs + 1_000)
    await Promise.allSettled([background?.stop(), metricsServer !== undefined ? closeMetrics(metricsServer) : undefined])
  }

  let port: number
  try {
    port = await pool.start()
    const certWatch = watchCertificates(
      o,
      source,
      {
        setSecureContext: (ctx) => {
          const c = ctx as { cert: Buffer; key: Buffer }
          tls = { cert: c.cert, key: c.key }
          pool.broadcast({ t: 'tls', cert: tls.cert.toString('utf8'), key: tls.key.toString('utf8') })
        },
      },
      metrics,
    )
    if (certWatch !== undefined) watches.push(certWatch)
    if (file !== undefined && policyText !== undefined) {
      watches.push(
        await startPolicyReloader({
          file,
          rules: o.rules,
          store,
          intervalMs: interval,
          logger: o.logger,
          metrics,
          initial: policyText,
          onLoaded: (text) => {
            policyMessage = { text, source: file }
            pool.broadcast({ t: 'policy', policy: policyMessage })
          },
        }),
      )
    }
    if (o.metricsPort !== undefined) metricsServer = await listenMetrics(o.host, o.metricsPort, () => pool.metricsText(), o.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS)
    background = await startBackground(o, store, metrics)
  } catch (err) {
    await stopAll().catch(() => undefined)
    throw err
  }

  const host = o.host.includes(':') ? `[${o.host}]` : o.host
  const metricsAddress = metricsServer?.address() as AddressInfo | undefined
  log.info({ port, metricsPort: metricsAddress?.port, workers: o.workers, pids: pool.pids() }, 'listening')
  let closed: Promise<void> | undefined
  return {
    port,
    url: `https://${host}:${port}`,
    ...(metricsAddress !== undefined ? { metricsUrl: `http://${host}:${metricsAddress.port}/metrics` } : {}),
    pool,
    reloadNow: async () => {
      await Promise.all(watches.map((w) => w.check()))
    },
    drain: () => {
      draining = true
    },
    close: () => {
      draining = true
      closed ??= stopAll()
      return closed
    },
  }
}

/** The worker's link to its primary (process.send / process.on('message') in production). */
export interface PrimaryChannel {
  send(message: FromWorker): void
  onMessage(listener: (message: ToWorker) => void): void
  /** The primary went away (its IPC channel closed). */
  onDisconnect(listener: () => void): void
}

export function processChannel(): PrimaryChannel {
  // The primary gone while this worker still talks to it (a SIGTERM during start-up, while the
  // worker asks for its listening socket): the channel's write fails with EPIPE, which Node
  // emits on the worker object and would throw as unhandled. The 'disconnect' that follows
  // closes the worker.
  cluster.worker?.on('error', () => undefined)
  return {
    send: (m) => {
      if (process.connected) process.send?.(m)
    },
    onMessage: (listener) => process.on('message', (m: ToWorker) => listener(m)),
    onDisconnect: (listener) => process.on('disconnect', listener),
  }
}

/** Applies the primary's policy message: the text it checked, parsed here, or a shipped policy loaded. */
async function policyFrom(message: PolicyMessage, rules: readonly PodRule<unknown>[]): Promise<Policy> {
  return 'text' in message ? parsePolicy(message.text, message.source, rules) : loadPolicy(message.load, rules)
}

/**
 * One worker process: waits for the primary's certificate and policy, serves the webhook port,
 * follows the primary's later certificates and policies, reports metrics and readiness when
 * asked, and closes when told to or when the primary is gone. Resolves with the exit status.
 */
export async function runWorker(o: ServerOptions, channel: PrimaryChannel = processChannel(), askTimeoutMs = 5_000): Promise<number> {
  const log = o.logger.child({ component: 'worker' })
  const store = new PolicyStore()
  const tlsListeners: ((m: TlsMaterial) => void)[] = []
  let tls: TlsMaterial | undefined
  let localReadiness: (() => ReadinessReport) | undefined
  let server: Awaited<ReturnType<typeof startServer>> | undefined
  let nextAsk = 1
  const asks = new Map<number, (answer: { text?: string; readiness?: ReadinessReport }) => void>()
  let policyChain = Promise.resolve()
  let finish: (code: number) => void = () => undefined
  const finished = new Promise<number>((resolve) => (finish = resolve))
  let gotState: () => void = () => undefined
  const stateArrived = new Promise<void>((resolve) => (gotState = resolve))
  let stopping = false

  const stop = (why: string): void => {
    if (stopping) return
    stopping = true
    log.info({ why }, 'worker closing')
    const s = server
    if (s === undefined) {
      // Not serving yet: nothing to close, and no need to wait for the primary's state.
      finish(0)
      gotState()
      return
    }
    s.close().then(
      () => finish(0),
      (err: unknown) => {
        log.error({ reason: err instanceof Error ? err.message : String(err) }, 'worker shutdown failed')
        finish(1)
      },
    )
  }

  const ask = (what: 'metrics' | 'readiness'): Promise<{ text?: string; readiness?: ReadinessReport }> =>
    new Promise((resolve) => {
      const id = nextAsk++
      const timer = setTimeout(() => {
        asks.delete(id)
        resolve({})
      }, askTimeoutMs)
      asks.set(id, (a) => {
        clearTimeout(timer)
        resolve(a)
      })
      channel.send({ t: 'ask', id, what })
    })

  channel.onMessage((m) => {
    if (typeof m !== 'object' || m === null) return
    switch (m.t) {
      case 'tls': {
        tls = { cert: Buffer.from(m.cert, 'utf8'), key: Buffer.from(m.key, 'utf8') }
        for (const l of tlsListeners) l(tls)
        if (store.current() !== undefined) gotState()
        return
      }
      case 'policy': {
        const message = m.policy
        policyChain = policyChain.then(async () => {
          try {
            store.set(await policyFrom(message, o.rules))
            if (tls !== undefined) gotState()
          } catch (err) {
            // The primary checked this text with the same rules; a failure here is a defect, and the policy in force stays.
            log.error({ reason: err instanceof Error ? err.message : String(err) }, "the primary's policy could not be loaded; the policy in force stays")
          }
        })
        return
      }
      case 'report': {
        const readiness = localReadiness?.() ?? { missing: ['starting'], details: [] }
        const snapshot = server?.metrics.registry.snapshot() ?? []
        channel.send({ t: 'report', id: m.id, snapshot, readiness })
        return
      }
      case 'answer': {
        const a = asks.get(m.id)
        asks.delete(m.id)
        a?.({ ...(m.text !== undefined ? { text: m.text } : {}), ...(m.readiness !== undefined ? { readiness: m.readiness } : {}) })
        return
      }
      case 'shutdown':
        stop('asked by the primary')
        return
    }
  })
  channel.onDisconnect(() => stop('the primary process is gone'))
  channel.send({ t: 'hello' })
  await stateArrived
  if (stopping) return finished
  if (tls === undefined) throw new Error('no certificate from the primary')

  try {
    server = await startServer({
      ...o,
      worker: {
        tls,
        onTls: (l) => tlsListeners.push(l),
        store,
        pod: {
          readiness: async () => (await ask('readiness')).readiness ?? { missing: ['the primary process (not answering)'], details: [] },
          metrics: async () => {
            const a = await ask('metrics')
            if (a.text === undefined) throw new Error('the primary process did not answer')
            return a.text
          },
          localReadiness: (report) => (localReadiness = report),
        },
      },
    })
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    channel.send({ t: 'failed', message: err instanceof Error ? err.message : String(err), ...(code !== undefined ? { code } : {}) })
    return 2
  }
  if (stopping) {
    await server.close()
    return 0
  }
  channel.send({ t: 'listening', port: server.port })
  return finished
}
