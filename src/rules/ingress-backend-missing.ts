import { defineObjectRule, NO_PARAMS, type RuleContext, type RuleFinding } from '../engine/rule.js'
import { podTemplatesIn } from '../engine/related.js'
import { object, list, str, int, intOrString } from '../engine/shape.js'
import { serviceInfo } from '../cluster/objects.js'
import { namespaceOfObject } from '../cluster/services.js'
import type { ServiceInfo } from '../cluster/view.js'

/** networking.k8s.io/v1 (service.name, service.port) and v1beta1 (serviceName, servicePort) in one shape. */
const backendShape = object({
  service: object({ name: str, port: object({ number: int, name: str }) }),
  serviceName: str,
  servicePort: intOrString,
})
const ingressSpec = object({
  defaultBackend: backendShape,
  backend: backendShape,
  rules: list(object({ host: str, http: object({ paths: list(object({ path: str, backend: backendShape })) }) })),
})

interface Backend {
  service: string
  /** True for the v1beta1 fields (serviceName, servicePort). */
  legacy: boolean
  /** Path of the service name field. */
  namePath: string
  port: number | string | undefined
  portPath: string
  where: string
}

function backendsOf(spec: ReturnType<typeof ingressSpec.check>): Backend[] {
  const out: Backend[] = []
  const add = (b: { service?: { name?: string; port?: { number?: number; name?: string } }; serviceName?: string; servicePort?: number | string } | undefined, base: string, where: string): void => {
    if (b === undefined) return
    if (b.service?.name !== undefined && b.service.name !== '') {
      const p = b.service.port
      out.push({
        legacy: false,
        service: b.service.name,
        namePath: `${base}.service.name`,
        port: p?.number ?? p?.name,
        portPath: p?.number !== undefined ? `${base}.service.port.number` : `${base}.service.port.name`,
        where,
      })
    } else if (b.serviceName !== undefined && b.serviceName !== '') {
      out.push({ legacy: true, service: b.serviceName, namePath: `${base}.serviceName`, port: b.servicePort, portPath: `${base}.servicePort`, where })
    }
  }
  add(spec?.defaultBackend, 'spec.defaultBackend', 'the default backend')
  add(spec?.backend, 'spec.backend', 'the default backend')
  ;(spec?.rules ?? []).forEach((r, i) => {
    ;(r.http?.paths ?? []).forEach((p, j) => {
      add(p.backend, `spec.rules[${i}].http.paths[${j}].backend`, `${r.host ?? '*'}${p.path ?? '/'}`)
    })
  })
  return out
}

type Found = { state: 'found'; service: ServiceInfo } | { state: 'missing'; where: string } | { state: 'unknown' }

function findService(ns: string, name: string, ctx: RuleContext<unknown>): Found {
  const inRun = ctx.related?.get('Service', ns, name)
  if (inRun !== undefined) {
    const s = serviceInfo(inRun)
    return s === undefined ? { state: 'unknown' } : { state: 'found', service: s }
  }
  const view = ctx.cluster
  if (view !== undefined && view.knows('Service', ns)) {
    const s = view.service(ns, name)
    if (s !== undefined) return { state: 'found', service: s }
    return { state: 'missing', where: ctx.related !== undefined ? 'in this run or in the cluster' : 'in the cluster' }
  }
  const related = ctx.related
  if (related !== undefined && (related.complete || related.list('Service', ns).length > 0 || podTemplatesIn(related, ns).length > 0)) {
    return { state: 'missing', where: 'in this run' }
  }
  return { state: 'unknown' }
}

export const rule = defineObjectRule({
  id: 'ingress-backend-missing',
  title: 'Ingress backend Service or port does not exist',
  defaultAction: 'warn',
  scope: ['batch', 'cluster'],
  kinds: ['networking.k8s.io/Ingress', 'extensions/Ingress'],
  params: NO_PARAMS,
  docs: {
    summary: 'An Ingress backend names a Service, or a Service port, that does not exist.',
    description:
      'Checks the default backend and every rule path of an Ingress (networking.k8s.io/v1 service.name/port, and the older ' +
      'serviceName/servicePort). In a CLI run the Service must be in the same run when the run holds the application ' +
      '(other Services or workloads in the namespace) or is declared complete; at admission it must exist in the namespace. ' +
      'When the Service is found, the port number must be one of its ports, or the port name one of its port names. ' +
      'Resource backends are not checked. It only ever warns.',
    failure: 'The ingress controller has no endpoints for that path: requests get 503 Service Unavailable (or 404 from the default backend).',
    fix: 'Point the backend at an existing Service in the same namespace and at one of its ports (by number or name), or create the Service.',
  },
  checkObject(o, ctx) {
    const spec = ingressSpec.check(o.raw['spec'], ['spec'], [])
    const ns = namespaceOfObject(o)
    const out: RuleFinding[] = []
    const v1 = o.object.apiVersion === 'networking.k8s.io/v1'
    for (const b of backendsOf(spec)) {
      if (v1 && b.legacy) {
        // networking.k8s.io/v1 has no serviceName/servicePort: the path has no backend at all.
        out.push({
          path: b.namePath,
          message: `Ingress "${o.object.name}" names Service "${b.service}" for ${b.where} with serviceName/servicePort, fields of the old extensions/v1beta1 API that networking.k8s.io/v1 does not have: kubectl apply refuses the unknown fields, and without them the path has no backend (404 or 503)`,
          fix: `write the backend as service: { name: ${b.service}, port: { ${typeof b.port === 'number' ? `number: ${b.port}` : `name: ${b.port ?? '<port name>'}`} } }`,
        })
        continue
      }
      const f = findService(ns, b.service, ctx)
      if (f.state === 'missing') {
        out.push({
          path: b.namePath,
          message: `Ingress "${o.object.name}" sends ${b.where} to Service "${b.service}", which does not exist in namespace "${ns}" ${f.where}: requests get 503 Service Unavailable`,
          fix: `create Service "${b.service}" in namespace "${ns}", or point the backend at the Service that fronts the application`,
        })
        continue
      }
      if (f.state !== 'found' || b.port === undefined) continue
      const ports = f.service.ports
      const ok = typeof b.port === 'number' ? ports.some((p) => p.port === b.port) : ports.some((p) => p.name === b.port || String(p.port) === b.port)
      if (ok) continue
      const offered = ports.map((p) => (p.name !== undefined ? `${p.port} (${p.name})` : String(p.port))).join(', ')
      out.push({
        path: b.portPath,
        message: `Ingress "${o.object.name}" sends ${b.where} to port ${typeof b.port === 'number' ? b.port : `"${b.port}"`} of Service "${b.service}", which offers only ${offered === '' ? 'no port' : offered}: requests get 503 Service Unavailable`,
        fix: `use one of the Service's ports (${offered === '' ? 'add one to the Service' : offered}) by number or by name`,
      })
    }
    return out
  },
})
