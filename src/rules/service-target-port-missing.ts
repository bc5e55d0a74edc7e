import { defineObjectRule, NO_PARAMS, type RuleFinding } from '../engine/rule.js'
import { serviceSelection } from '../cluster/services.js'
import type { PodView } from '../engine/types.js'

const DIGITS = /^\d+$/

interface PortSet {
  names: Set<string>
  numbers: Set<number>
  /** Every container that serves declares its ports, so an undeclared number is really not served. */
  complete: boolean
}

function templatePorts(p: PodView): PortSet {
  const set: PortSet = { names: new Set(), numbers: new Set(), complete: true }
  for (const c of p.containers) {
    if (c.kind === 'ephemeralContainer' || (c.kind === 'initContainer' && !c.longRunning)) continue
    const ports = c.spec.ports ?? []
    if (ports.length === 0) set.complete = false
    for (const port of ports) {
      if (port.name !== undefined) set.names.add(port.name)
      if (port.containerPort !== undefined) set.numbers.add(port.containerPort)
    }
  }
  return set
}

export const rule = defineObjectRule({
  id: 'service-target-port-missing',
  title: 'Service targetPort is not served by the selected pods',
  defaultAction: 'warn',
  scope: ['batch', 'cluster'],
  kinds: ['Service'],
  params: NO_PARAMS,
  docs: {
    summary: 'A Service targetPort is not a port of the pods it selects.',
    description:
      'For each port of a Service with a selector, looks at the selected pod templates of the run (or, at admission, the ' +
      'selected pods of the namespace). A named targetPort must be the name of a containerPort in every selected pod; a ' +
      'numeric one (targetPort defaults to port) is reported only when every serving container of the selected pods ' +
      'declares its ports and none declares that number, because declaring container ports is optional. When nothing is ' +
      'selected, service-selector-matches-nothing reports instead. It only ever warns.',
    failure: 'Traffic reaches the pods on a port nothing listens on: connection refused, or the endpoints stay without that port (a named port that no pod defines).',
    fix: 'Set targetPort to the containerPort (or its name) the application listens on, or declare that port in the container.',
  },
  checkObject(o, ctx) {
    const service = serviceSelection(o, ctx)
    if (service === undefined) return []
    const { spec, namespace: ns, selected: sel } = service
    const sets: { label: string; ports: PortSet }[] = [
      ...sel.templates.map((p) => ({ label: `${p.kind} "${p.object.name}"`, ports: templatePorts(p) })),
      ...sel.pods.map((p) => ({
        label: `pod "${p.name}"`,
        ports: { names: new Set(p.ports.flatMap((x) => (x.name === undefined ? [] : [x.name]))), numbers: new Set(p.ports.map((x) => x.containerPort)), complete: p.everyContainerDeclaresPorts },
      })),
    ]
    if (sets.length === 0) return []
    const who = [...new Set(sets.map((s) => s.label))].slice(0, 3).join(', ')
    const out: RuleFinding[] = []
    ;(spec.ports ?? []).forEach((port, i) => {
      const target = port.targetPort ?? port.port
      if (target === undefined) return
      const path = `spec.ports[${i}].${port.targetPort !== undefined ? 'targetPort' : 'port'}`
      if (typeof target === 'string' && !DIGITS.test(target)) {
        const missing = sets.filter((s) => !s.ports.names.has(target))
        if (missing.length === 0) return
        out.push({
          path,
          message: `Service "${o.object.name}" sends port ${port.port ?? '?'} to the named port "${target}", which ${missing.length === sets.length ? 'no' : 'not every'} selected pod defines (${missing.slice(0, 3).map((s) => s.label).join(', ')}): those pods get no endpoint for it and connections are refused`,
          fix: `name the container port "${target}" (ports: [{name: ${target}, containerPort: ...}]) or use the name or number the container declares`,
        })
        return
      }
      const n = typeof target === 'number' ? target : Number(target)
      if (!sets.every((s) => s.ports.complete)) return
      if (sets.some((s) => s.ports.numbers.has(n))) return
      const declared = [...new Set(sets.flatMap((s) => [...s.ports.numbers]))].sort((a, b) => a - b)
      out.push({
        path,
        message: `Service "${o.object.name}" sends port ${port.port ?? '?'} to container port ${n}${port.targetPort === undefined ? ' (targetPort defaults to port)' : ''}, but the selected pods (${who}) declare only ${declared.join(', ')}: connections to ${n} are refused`,
        fix: `set targetPort to the port the application listens on${declared.length > 0 ? ` (e.g. ${declared[0] ?? ''})` : ''}, or declare containerPort ${n} if it really listens there`,
      })
    })
    return out
  },
})
