import { defineObjectRule, NO_PARAMS } from '../engine/rule.js'
import { podTemplatesIn } from '../engine/related.js'
import { serviceSelection } from '../cluster/services.js'

export const rule = defineObjectRule({
  id: 'service-selector-matches-nothing',
  title: 'Service selector matches no pod',
  defaultAction: 'warn',
  scope: ['batch', 'cluster'],
  kinds: ['Service'],
  params: NO_PARAMS,
  docs: {
    summary: 'A Service\'s selector matches no pod template in the run and no pod in the namespace.',
    description:
      'In a CLI run, matches the Service selector against the pod template labels of the workloads in the same namespace ' +
      '(as kube-score does); it judges only when the run holds workloads in that namespace, or is declared complete. At ' +
      'admission, matches it against the pods of the namespace; a namespace without any pod yet is not judged, since Helm ' +
      'and kubectl apply often create the Service before its Deployment. Services without a selector (endpoints managed by ' +
      'hand) and ExternalName Services are skipped. It only ever warns.',
    failure: 'The Service has no endpoints: clients get connection refused or time out, and an Ingress in front answers 503.',
    fix: 'Make spec.selector equal to labels the pod template carries (spec.template.metadata.labels), or fix the template labels.',
  },
  checkObject(o, ctx) {
    const service = serviceSelection(o, ctx)
    if (service === undefined) return []
    const { selector, namespace: ns, selected: sel } = service
    if (!sel.judgeable || sel.templates.length > 0 || sel.pods.length > 0) return []
    const pairs = Object.entries(selector)
    let hint = ''
    if (ctx.related !== undefined) {
      let best = 0
      for (const p of podTemplatesIn(ctx.related, ns)) {
        const labels = p.podMeta.labels ?? {}
        const keys = pairs.filter(([k]) => k in labels).length
        if (keys > best) {
          best = keys
          const shown = pairs.map(([k]) => (k in labels ? `${k}=${labels[k] ?? ''}` : `no ${k}`)).join(', ')
          hint = `; closest: ${p.kind} "${p.object.name}" has ${shown}`
        }
      }
    }
    return [
      {
        path: 'spec.selector',
        message: `Service "${o.object.name}" selects ${pairs.map(([k, v]) => `${k}=${v}`).join(', ')}, but ${sel.lookedAt.join(' and ')} carries these labels${hint}: the Service has no endpoints and connections are refused`,
        fix: 'make spec.selector equal to labels of the pod template it should reach (spec.template.metadata.labels of the workload), or fix those labels',
      },
    ]
  },
})
