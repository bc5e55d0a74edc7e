/**
 * The wg-policy PolicyReport and ClusterPolicyReport CRDs (wgpolicyk8s.io/v1alpha2) that
 * `serve --audit` writes: what `install --audit` renders and manifests/audit/ is generated from.
 * apiextensions.k8s.io/v1 (Kubernetes 1.16 and later). The schema is the wg-policy API's; when
 * Kyverno or Policy Reporter already installed these CRDs, applying ours changes nothing they
 * read.
 */
import { REPORT_GROUP, REPORT_VERSION } from '../audit/policy-report.js'
import type { KubeObject } from './render.js'

const int = { type: 'integer' }
const str = { type: 'string' }
const open = { type: 'object', 'x-kubernetes-preserve-unknown-fields': true }

function schema(kind: string): Record<string, unknown> {
  return {
    type: 'object',
    description: `${kind} holds the results of policy checks of the resources in its scope.`,
    properties: {
      apiVersion: str,
      kind: str,
      metadata: { type: 'object' },
      scope: open,
      scopeSelector: open,
      summary: { type: 'object', properties: { pass: int, fail: int, warn: int, error: int, skip: int } },
      results: {
        type: 'array',
        items: {
          type: 'object',
          required: ['policy'],
          properties: {
            policy: { type: 'string', description: 'The policy the result is for (pod-preflight).' },
            rule: { type: 'string', description: 'The rule id.' },
            category: str,
            severity: { type: 'string', enum: ['critical', 'high', 'low', 'medium', 'info'] },
            timestamp: { type: 'object', properties: { seconds: { type: 'integer', format: 'int64' }, nanos: { type: 'integer', format: 'int32' } } },
            result: { type: 'string', enum: ['pass', 'fail', 'warn', 'error', 'skip'] },
            scored: { type: 'boolean' },
            source: str,
            message: str,
            properties: { type: 'object', additionalProperties: str },
            resources: {
              type: 'array',
              items: {
                type: 'object',
                properties: { apiVersion: str, kind: str, namespace: str, name: str, uid: str, resourceVersion: str, fieldPath: str },
                'x-kubernetes-map-type': 'atomic',
              },
            },
            resourceSelector: open,
          },
        },
      },
    },
  }
}

function crd(kind: string, plural: string, shortName: string, scope: 'Namespaced' | 'Cluster'): KubeObject {
  const column = (name: string) => ({ name, type: 'integer', jsonPath: `.summary.${name.toLowerCase()}` })
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: {
      name: `${plural}.${REPORT_GROUP}`,
      labels: { 'app.kubernetes.io/part-of': 'pod-preflight' },
      annotations: { 'pod-preflight/report-api': `${REPORT_GROUP}/${REPORT_VERSION}` },
    },
    spec: {
      group: REPORT_GROUP,
      names: { kind, listKind: `${kind}List`, plural, singular: kind.toLowerCase(), shortNames: [shortName] },
      scope,
      versions: [
        {
          name: REPORT_VERSION,
          served: true,
          storage: true,
          additionalPrinterColumns: [...['Pass', 'Fail', 'Warn', 'Error', 'Skip'].map(column), { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' }],
          schema: { openAPIV3Schema: schema(kind) },
        },
      ],
    },
  }
}

/** Both report CRDs, the namespaced one first. */
export function policyReportCrds(): KubeObject[] {
  return [crd('PolicyReport', 'policyreports', 'polr', 'Namespaced'), crd('ClusterPolicyReport', 'clusterpolicyreports', 'cpolr', 'Cluster')]
}
