import { extractPod } from '../../src/engine/workload.js'
import type { PodView } from '../../src/engine/types.js'
import { clusterViewFromObjects } from '../../src/cluster/files.js'

export function pod(obj: Record<string, unknown>): PodView {
  const { pod, problems } = extractPod(obj)
  if (pod === undefined || problems.length > 0) throw new Error(problems.map((p) => p.message).join('; '))
  if (pod.object.namespace === undefined) pod.object = { ...pod.object, namespace: 'default' }
  return pod
}

export function bare(spec: Record<string, unknown>, meta: Record<string, unknown> = {}): PodView {
  return pod({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'default', ...meta }, spec })
}

export function node(name: string, opts: { labels?: Record<string, string>; taints?: unknown[]; cpu?: string; memory?: string; ready?: string; unschedulable?: boolean; extra?: Record<string, string> } = {}): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels: { 'kubernetes.io/hostname': name, ...(opts.labels ?? {}) } },
    spec: { taints: opts.taints ?? [], unschedulable: opts.unschedulable ?? false },
    status: {
      allocatable: { cpu: opts.cpu ?? '4', memory: opts.memory ?? '16Gi', pods: '110', ...(opts.extra ?? {}) },
      conditions: [{ type: 'Ready', status: opts.ready ?? 'True' }],
    },
  }
}

export function view(objects: unknown[]) {
  return clusterViewFromObjects(objects, 'test')
}
