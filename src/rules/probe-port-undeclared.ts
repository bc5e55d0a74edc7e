import { defineRule, type RuleFinding } from '../engine/rule.js'
import type { Container } from '../engine/k8s.js'
import { PROBE_KINDS, type ProbeKind } from '../engine/probe.js'
import type { ReportAction } from '../engine/types.js'

interface Params {
  numericPortAction: ReportAction
}

interface PortRef {
  /** Field path below the container, e.g. `livenessProbe.httpGet.port`. */
  field: string
  port: number | string
  /** Set when the check goes to another host than the pod: a number then says nothing about this pod. */
  host: string | undefined
  /** What a check that can never resolve its port does at run time. */
  unresolved: string
  /** What a check that reaches a port nothing listens on does at run time. */
  refused: string
}

const UNRESOLVED: Record<ProbeKind, string> = {
  readinessProbe: 'every check errors and the container never becomes Ready (no traffic, the rollout stalls)',
  startupProbe: 'every check errors and the container never counts as started or becomes Ready',
  livenessProbe: 'every check errors and is ignored: the probe never restarts a stuck container',
}

const REFUSED: Record<ProbeKind, string> = {
  readinessProbe: 'if nothing listens there, every check fails and the container never becomes Ready',
  startupProbe: 'if nothing listens there, every check fails and the container is killed (exit 137) into CrashLoopBackOff',
  livenessProbe: 'if nothing listens there, every check fails and the container is killed (exit 137) into CrashLoopBackOff',
}

const HOOK_UNRESOLVED = {
  postStart: 'the hook fails and the container is killed (PostStartHookError, then CrashLoopBackOff)',
  preStop: 'the hook fails (FailedPreStopHook) and the graceful-shutdown step never runs',
} as const

const HOOK_REFUSED = {
  postStart: 'if nothing listens there, the hook fails and the container is killed (PostStartHookError)',
  preStop: 'if nothing listens there, the hook fails (FailedPreStopHook) and the shutdown step is skipped',
} as const

function portRefs(c: Container): PortRef[] {
  const refs: PortRef[] = []
  for (const kind of PROBE_KINDS) {
    const p = c[kind]
    if (p === undefined) continue
    if (p.httpGet?.port !== undefined) {
      refs.push({ field: `${kind}.httpGet.port`, port: p.httpGet.port, host: p.httpGet.host, unresolved: UNRESOLVED[kind], refused: REFUSED[kind] })
    }
    if (p.tcpSocket?.port !== undefined) {
      refs.push({ field: `${kind}.tcpSocket.port`, port: p.tcpSocket.port, host: p.tcpSocket.host, unresolved: UNRESOLVED[kind], refused: REFUSED[kind] })
    }
    if (p.grpc?.port !== undefined) {
      refs.push({ field: `${kind}.grpc.port`, port: p.grpc.port, host: undefined, unresolved: UNRESOLVED[kind], refused: REFUSED[kind] })
    }
  }
  // Hook httpGet ports are resolved the same way. tcpSocket hooks are not run by the kubelet at
  // all, so their port does not matter.
  for (const hook of ['postStart', 'preStop'] as const) {
    const h = c.lifecycle?.[hook]?.httpGet
    if (h?.port !== undefined) {
      refs.push({ field: `lifecycle.${hook}.httpGet.port`, port: h.port, host: h.host, unresolved: HOOK_UNRESOLVED[hook], refused: HOOK_REFUSED[hook] })
    }
  }
  return refs
}

const DIGITS = /^[0-9]+$/

function listNames(names: string[]): string {
  return names.length === 0 ? 'it has none' : names.join(', ')
}

export const rule = defineRule<Params>({
  id: 'probe-port-undeclared',
  title: 'Probe port is not a port of the container',
  defaultAction: 'deny',
  scope: ['static'],
  params: {
    type: 'object',
    additionalProperties: false,
    properties: {
      numericPortAction: {
        type: 'string',
        enum: ['deny', 'warn', 'info'],
        default: 'warn',
        description:
          'Action for a numeric port that the container does not declare while it declares others (a named port that does not exist always gets the rule action).',
      },
    },
  },
  docs: {
    summary: 'A probe names a port the container does not define, or a number none of its ports has.',
    description:
      'Checks the ports of httpGet, tcpSocket and grpc probes (liveness, readiness, startup) and of httpGet lifecycle ' +
      'hooks. A port name must be defined in the ports of the same container: the kubelet looks it up there and ' +
      'nowhere else. A number is reported (as a warning by default) only when no container of the pod declares it ' +
      'while the probed container declares some ports, since declared ports are informational; checks sent to ' +
      'another host are not judged by number.',
    failure:
      'A name the kubelet cannot resolve makes every check error: a readiness or startup probe never succeeds, so the ' +
      'pod never becomes Ready, and a liveness probe never checks anything. A number nothing listens on fails every ' +
      'check: Unhealthy events, restarts (exit 137) and CrashLoopBackOff, or a pod that is never Ready.',
    fix: 'Use a port name from the container\'s ports (or add the port there), or the number the application actually listens on.',
  },
  check(pod, ctx) {
    const findings: RuleFinding[] = []
    let podPorts: Set<number> | undefined
    const declaredInPod = (port: number): boolean => {
      if (podPorts === undefined) {
        podPorts = new Set()
        for (const c of pod.containers) for (const p of c.spec.ports ?? []) if (p.containerPort !== undefined) podPorts.add(p.containerPort)
      }
      return podPorts.has(port)
    }
    for (const c of pod.containers) {
      const refs = portRefs(c.spec)
      if (refs.length === 0) continue
      const declared = c.spec.ports ?? []
      const names = declared.map((p) => p.name).filter((n): n is string => n !== undefined && n !== '')
      for (const ref of refs) {
        const path = `${c.path}.${ref.field}`
        if (typeof ref.port === 'string') {
          if (names.includes(ref.port)) continue
          if (DIGITS.test(ref.port)) {
            findings.push({
              path,
              container: c.name,
              message: `container "${c.name}": ${ref.field} is the string "${ref.port}", read as a port name; names need a letter, so the API server rejects it`,
              fix: `write the port as a number (${ref.field}: ${ref.port}) without quotes`,
            })
            continue
          }
          const elsewhere = pod.containers.find((o) => o !== c && (o.spec.ports ?? []).some((p) => p.name === ref.port))
          findings.push({
            path,
            container: c.name,
            message:
              `container "${c.name}": ${ref.field} "${ref.port}" is not one of its port names (${listNames(names)}` +
              `${elsewhere === undefined ? '' : `; it is container "${elsewhere.name}"'s, and names are per container`}): ` +
              `the kubelet cannot resolve it, so ${ref.unresolved}`,
            fix: `add a port named "${ref.port}" to the ports of container "${c.name}", or use one of its port names or the port number`,
          })
          continue
        }
        if (ref.host !== undefined && ref.host !== '') continue
        if (declared.length === 0) continue
        if (declaredInPod(ref.port)) continue
        const numbers = declared.map((p) => p.containerPort).filter((n): n is number => n !== undefined)
        findings.push({
          path,
          container: c.name,
          action: ctx.params.numericPortAction,
          message:
            `container "${c.name}": ${ref.field} ${ref.port} is not a declared port (${numbers.join(', ')}): ${ref.refused}`,
          fix: `use the port the application listens on (declared: ${numbers.join(', ')}), or add containerPort ${ref.port} to the ports of container "${c.name}" if it really listens there`,
        })
      }
    }
    return findings
  },
})
