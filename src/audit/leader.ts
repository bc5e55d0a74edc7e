/**
 * Leader election on a coordination.k8s.io/v1 Lease, as client-go's leaderelection does it:
 * every retry period, read the Lease; take it when nobody holds it or when its holder has not
 * renewed it for a lease duration (measured on our own clock, from when we last saw the record
 * change, so clocks that disagree do not matter); renew it while we hold it; give it up when
 * a renewal has not succeeded for the renew deadline. Updates carry the resourceVersion read,
 * so of two replicas racing for an expired Lease exactly one wins (the other gets 409).
 * On stop the Lease is released (holder cleared) so that another replica takes over at once.
 *
 * client-node has no leader election of its own; this is the algorithm of client-go's
 * LeaseLock, with the same defaults (15 s lease, 10 s renew deadline, 2 s retry).
 *
 * RBAC: leases get, create and update in the Lease's namespace.
 */
import type { KubeConfig } from '@kubernetes/client-node'
import { hostname } from 'node:os'
import { randomBytes } from 'node:crypto'
import { kubeRest, statusMessage } from '../kube/rest.js'

export interface LeaderLogger {
  info(obj: object, msg: string): void
  warn(obj: object, msg: string): void
}

export interface LeaderElectionOptions {
  kubeConfig: KubeConfig
  namespace: string
  name: string
  /** Who we are in holderIdentity (default: host name plus a random suffix). */
  identity?: string
  leaseDurationMs?: number
  renewDeadlineMs?: number
  retryPeriodMs?: number
  logger: LeaderLogger
  onStartedLeading: () => void
  onStoppedLeading: () => void
}

export interface LeaderElection {
  readonly identity: string
  isLeader(): boolean
  /** Stops trying; releases the Lease if held (onStoppedLeading is called), unless `release` is false. */
  stop(options?: { release?: boolean }): Promise<void>
}

interface LeaseSpec {
  holderIdentity?: string
  leaseDurationSeconds?: number
  acquireTime?: string
  renewTime?: string
  leaseTransitions?: number
}

interface Lease {
  apiVersion: 'coordination.k8s.io/v1'
  kind: 'Lease'
  metadata: { name: string; namespace: string; resourceVersion?: string }
  spec: LeaseSpec
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/** Lease times are MicroTime: RFC 3339 with microseconds. */
function microTime(d: Date): string {
  return d.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z')
}

export function startLeaderElection(o: LeaderElectionOptions): LeaderElection {
  const identity = o.identity ?? `${hostname()}_${randomBytes(4).toString('hex')}`
  const leaseMs = o.leaseDurationMs ?? 15_000
  const renewDeadlineMs = o.renewDeadlineMs ?? 10_000
  const retryMs = o.retryPeriodMs ?? 2_000
  const path = `/apis/coordination.k8s.io/v1/namespaces/${encodeURIComponent(o.namespace)}/leases`
  const url = `${path}/${encodeURIComponent(o.name)}`
  let leader = false
  let stopped = false
  let lastRenew = 0
  /** The record we last saw, and when (our clock) it last changed. */
  let observed: { key: string; at: number } | undefined
  let timer: NodeJS.Timeout | undefined
  let loop: Promise<void> = Promise.resolve()
  let lastError = ''

  const become = (now: boolean): void => {
    if (now === leader) return
    leader = now
    o.logger.info({ lease: `${o.namespace}/${o.name}`, identity }, now ? 'became the leader' : 'no longer the leader')
    if (now) o.onStartedLeading()
    else o.onStoppedLeading()
  }

  const spec = (current: LeaseSpec | undefined, nowDate: Date): LeaseSpec => {
    const mine = current?.holderIdentity === identity
    return {
      holderIdentity: identity,
      leaseDurationSeconds: Math.max(1, Math.round(leaseMs / 1000)),
      acquireTime: mine && current?.acquireTime !== undefined ? current.acquireTime : microTime(nowDate),
      renewTime: microTime(nowDate),
      leaseTransitions: (current?.leaseTransitions ?? 0) + (mine || current?.holderIdentity === undefined || current.holderIdentity === '' ? 0 : 1),
    }
  }

  const rest = kubeRest(o.kubeConfig)
  const attempt = async (): Promise<void> => {
    const now = Date.now()
    const got = await rest.request({ method: 'GET', path: url, timeoutMs: retryMs * 2 + 1000 })
    if (got.status === 404) {
      const body: Lease = { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: o.name, namespace: o.namespace }, spec: spec(undefined, new Date(now)) }
      const created = await rest.request({ method: 'POST', path, body })
      if (created.status === 201 || created.status === 200) {
        lastRenew = now
        become(true)
        return
      }
      if (created.status !== 409) throw new Error(`cannot create Lease ${o.namespace}/${o.name}: ${statusMessage(created)}`)
      return
    }
    if (got.status !== 200 || !isRecord(got.body)) throw new Error(`cannot read Lease ${o.namespace}/${o.name}: ${statusMessage(got)}`)
    const meta = isRecord(got.body['metadata']) ? got.body['metadata'] : {}
    const current = (isRecord(got.body['spec']) ? got.body['spec'] : {}) as LeaseSpec
    const rv = typeof meta['resourceVersion'] === 'string' ? meta['resourceVersion'] : undefined
    const key = `${current.holderIdentity ?? ''}|${current.renewTime ?? ''}|${rv ?? ''}`
    if (observed === undefined || observed.key !== key) observed = { key, at: now }
    const holder = current.holderIdentity ?? ''
    const duration = (current.leaseDurationSeconds ?? Math.round(leaseMs / 1000)) * 1000
    if (holder !== identity && holder !== '' && now - observed.at < duration) {
      become(false) // someone else holds a live lease
      return
    }
    const body: Lease = { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: o.name, namespace: o.namespace, ...(rv !== undefined ? { resourceVersion: rv } : {}) }, spec: spec(current, new Date(now)) }
    const put = await rest.request({ method: 'PUT', path: url, body })
    if (put.status === 200) {
      lastRenew = now
      observed = undefined
      become(true)
      return
    }
    if (put.status === 409) {
      become(false) // another replica updated it first
      return
    }
    throw new Error(`cannot update Lease ${o.namespace}/${o.name}: ${statusMessage(put)}`)
  }

  const tick = (): void => {
    if (stopped) return
    loop = attempt()
      .then(() => {
        lastError = ''
      })
      .catch((err: unknown) => {
        const text = err instanceof Error ? err.message : String(err)
        if (text !== lastError) o.logger.warn({ lease: `${o.namespace}/${o.name}`, err: text }, 'leader election: cannot reach the Lease; retrying')
        lastError = text
      })
      .then(() => {
        // A leader that could not renew within the deadline steps down before another can take over.
        if (leader && Date.now() - lastRenew > renewDeadlineMs) become(false)
        if (!stopped) timer = setTimeout(tick, retryMs)
      })
  }
  tick()

  return {
    identity,
    isLeader: () => leader,
    async stop(options = {}) {
      if (stopped) return
      stopped = true
      if (timer !== undefined) clearTimeout(timer)
      await loop
      if (!leader) return
      become(false)
      if (options.release === false) return
      // Release: clear the holder so that another replica need not wait for the lease to expire.
      try {
        const got = await rest.request({ method: 'GET', path: url, timeoutMs: 5000 })
        if (got.status === 200 && isRecord(got.body) && isRecord(got.body['spec']) && got.body['spec']['holderIdentity'] === identity) {
          const meta = isRecord(got.body['metadata']) ? got.body['metadata'] : {}
          const body = { ...got.body, metadata: { ...meta }, spec: { ...got.body['spec'], holderIdentity: '', leaseDurationSeconds: 1, renewTime: microTime(new Date()) } }
          await rest.request({ method: 'PUT', path: url, body, timeoutMs: 5000 })
        }
      } catch {
        // the lease expires on its own
      }
    },
  }
}
