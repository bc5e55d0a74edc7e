/**
 * Probes as the kubelet runs them: the API server's defaults applied, and a canonical form of
 * the check itself, so that two probes written differently but doing the same thing compare
 * equal (`port: http` vs `port: 8080`, `path: ready` vs `/ready`, `scheme` left out vs `HTTP`).
 */
import type { Container, Probe } from './k8s.js'
import { byCodeUnits } from '../text/order.js'

/** The values the API server fills in (SetDefaults_Probe); a 0 is defaulted the same way. */
export const PROBE_DEFAULTS = {
  initialDelaySeconds: 0,
  timeoutSeconds: 1,
  periodSeconds: 10,
  successThreshold: 1,
  failureThreshold: 3,
} as const

export type ProbeKind = 'livenessProbe' | 'readinessProbe' | 'startupProbe'
export const PROBE_KINDS: readonly ProbeKind[] = ['livenessProbe', 'readinessProbe', 'startupProbe']

export interface ProbeTiming {
  initialDelaySeconds: number
  timeoutSeconds: number
  periodSeconds: number
  successThreshold: number
  failureThreshold: number
}

function positiveOr(value: number | undefined, fallback: number): number {
  return value !== undefined && value > 0 ? value : fallback
}

/** The probe's timing with the defaults applied. */
export function probeTiming(probe: Probe): ProbeTiming {
  return {
    initialDelaySeconds: Math.max(0, probe.initialDelaySeconds ?? PROBE_DEFAULTS.initialDelaySeconds),
    timeoutSeconds: positiveOr(probe.timeoutSeconds, PROBE_DEFAULTS.timeoutSeconds),
    periodSeconds: positiveOr(probe.periodSeconds, PROBE_DEFAULTS.periodSeconds),
    successThreshold: positiveOr(probe.successThreshold, PROBE_DEFAULTS.successThreshold),
    failureThreshold: positiveOr(probe.failureThreshold, PROBE_DEFAULTS.failureThreshold),
  }
}

/** How long a check may keep failing before the kubelet acts: periodSeconds × failureThreshold. */
export function failureWindowSeconds(t: ProbeTiming): number {
  return t.periodSeconds * t.failureThreshold
}

/** How long after the container starts a probe that never succeeds takes to act. */
export function startWindowSeconds(t: ProbeTiming): number {
  return t.initialDelaySeconds + failureWindowSeconds(t)
}

export type ProbeHandler =
  | { type: 'exec'; command: string[] }
  | { type: 'httpGet'; scheme: string; host: string; port: number | string; path: string; headers: [string, string][] }
  | { type: 'tcpSocket'; host: string; port: number | string }
  | { type: 'grpc'; port: number; service: string }

/**
 * A port as the kubelet resolves it for this container: a name becomes the number of the
 * container's port of that name (names are looked up in the same container only); a name the
 * container does not define stays a string.
 */
export function resolvePort(port: number | string, container: Container | undefined): number | string {
  if (typeof port === 'number') return port
  const found = container?.ports?.find((p) => p.name === port)
  return found?.containerPort ?? port
}

/**
 * The check a probe runs, in canonical form: defaults applied (scheme HTTP, path `/`, host the
 * pod IP, gRPC service ''), header names lower-cased and sorted, and named ports resolved
 * against `container` when it is given. Undefined when the probe has no handler.
 */
export function probeHandler(probe: Probe, container?: Container): ProbeHandler | undefined {
  if (probe.exec !== undefined) return { type: 'exec', command: probe.exec.command ?? [] }
  if (probe.httpGet !== undefined) {
    const h = probe.httpGet
    const raw = h.path ?? ''
    const headers: [string, string][] = (h.httpHeaders ?? []).map((x) => [(x.name ?? '').toLowerCase(), x.value ?? ''])
    headers.sort((a, b) => byCodeUnits(a[0], b[0]) || byCodeUnits(a[1], b[1]))
    return {
      type: 'httpGet',
      scheme: (h.scheme ?? 'HTTP').toUpperCase(),
      host: h.host ?? '',
      port: resolvePort(h.port ?? 0, container),
      // The kubelet builds the URL from host, port and path: an empty path asks for `/`, and a
      // path without its leading slash gets one.
      path: raw.startsWith('/') ? raw : `/${raw}`,
      headers,
    }
  }
  if (probe.tcpSocket !== undefined) {
    return { type: 'tcpSocket', host: probe.tcpSocket.host ?? '', port: resolvePort(probe.tcpSocket.port ?? 0, container) }
  }
  if (probe.grpc !== undefined) return { type: 'grpc', port: probe.grpc.port ?? 0, service: probe.grpc.service ?? '' }
  return undefined
}

/** A string that is equal for two handlers exactly when they run the same check. */
export function handlerKey(h: ProbeHandler): string {
  return JSON.stringify(h)
}

/** A string that is equal for two probes exactly when they run the same check with the same timing. */
export function canonicalProbe(probe: Probe, container?: Container): string {
  const h = probeHandler(probe, container)
  const t = probeTiming(probe)
  return JSON.stringify([h ?? null, t.initialDelaySeconds, t.timeoutSeconds, t.periodSeconds, t.successThreshold, t.failureThreshold])
}

/** True when both probes run the same check (timing aside). */
export function sameCheck(a: Probe, b: Probe, container?: Container): boolean {
  const ha = probeHandler(a, container)
  const hb = probeHandler(b, container)
  return ha !== undefined && hb !== undefined && handlerKey(ha) === handlerKey(hb)
}

/** True when the timing fields are equal after defaults. */
export function sameTiming(a: Probe, b: Probe): boolean {
  const ta = probeTiming(a)
  const tb = probeTiming(b)
  return (
    ta.initialDelaySeconds === tb.initialDelaySeconds &&
    ta.timeoutSeconds === tb.timeoutSeconds &&
    ta.periodSeconds === tb.periodSeconds &&
    ta.successThreshold === tb.successThreshold &&
    ta.failureThreshold === tb.failureThreshold
  )
}

const MAX_DESCRIBED = 60

/** A short human description of a check, for messages: `HTTP GET :8080/ready`, `exec cat /tmp/ok`. */
export function describeHandler(h: ProbeHandler): string {
  let text: string
  switch (h.type) {
    case 'exec':
      text = `exec ${h.command.join(' ')}`
      break
    case 'httpGet':
      text = `${h.scheme} GET ${h.host}:${h.port}${h.path}`
      break
    case 'tcpSocket':
      text = `TCP ${h.host}:${h.port}`
      break
    case 'grpc':
      text = `gRPC :${h.port}${h.service === '' ? '' : ` ${h.service}`}`
      break
  }
  return text.length > MAX_DESCRIBED ? `${text.slice(0, MAX_DESCRIBED - 1)}…` : text
}
