/**
 * Trims API objects to what the cluster view reads, for `pod-preflight snapshot`: the result
 * is still a valid Kubernetes object of its kind (kubectl and the files source read it), but a
 * Node loses its image list, a ConfigMap its values (keys stay, values become ""), a Secret
 * everything but its name, and a Pod everything but labels, node, ports and resources.
 */
import type { ListableKind } from './live.js'

type Obj = Record<string, unknown>

function isRecord(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

function pick(o: unknown, keys: readonly string[]): Obj | undefined {
  if (!isRecord(o)) return undefined
  const out: Obj = {}
  for (const k of keys) if (o[k] !== undefined && o[k] !== null) out[k] = o[k]
  return Object.keys(out).length === 0 ? undefined : out
}

function meta(o: Obj, withLabels = true): Obj {
  return pick(o['metadata'], withLabels ? ['name', 'namespace', 'labels'] : ['name', 'namespace']) ?? {}
}

function blankValues(v: unknown): Obj | undefined {
  if (!isRecord(v)) return undefined
  return Object.fromEntries(Object.keys(v).map((k) => [k, '']))
}

function container(c: unknown): Obj | undefined {
  return pick(c, ['name', 'image', 'restartPolicy', 'ports', 'resources'])
}

function compact(o: Obj): Obj {
  for (const [k, v] of Object.entries(o)) if (v === undefined) delete o[k]
  return o
}

export function trimObject(kind: ListableKind, raw: unknown): Obj | undefined {
  if (!isRecord(raw)) return undefined
  const head = { apiVersion: 'v1', kind }
  switch (kind) {
    case 'Node': {
      const status = isRecord(raw['status']) ? raw['status'] : {}
      const conditions = Array.isArray(status['conditions']) ? status['conditions'].map((c) => pick(c, ['type', 'status'])).filter((c) => c !== undefined) : undefined
      return compact({
        ...head,
        metadata: meta(raw),
        spec: pick(raw['spec'], ['unschedulable', 'taints']),
        status: compact({ allocatable: status['allocatable'], capacity: status['capacity'], conditions }),
      })
    }
    case 'Namespace':
      return { ...head, metadata: meta(raw) }
    case 'ResourceQuota':
    case 'LimitRange':
    case 'PersistentVolumeClaim':
    case 'Service':
      return compact({ ...head, metadata: meta(raw), spec: raw['spec'], status: kind === 'ResourceQuota' || kind === 'PersistentVolumeClaim' ? raw['status'] : undefined })
    case 'ServiceAccount':
      return compact({ ...head, metadata: meta(raw), imagePullSecrets: raw['imagePullSecrets'] })
    case 'ConfigMap':
      return compact({ ...head, metadata: meta(raw), data: blankValues(raw['data']), binaryData: blankValues(raw['binaryData']) })
    case 'Secret':
      // Listed as PartialObjectMetadata: there is nothing else to keep, and nothing else was read.
      return { ...head, metadata: meta(raw, false) }
    case 'Pod': {
      const spec = isRecord(raw['spec']) ? raw['spec'] : {}
      const list = (v: unknown): Obj[] | undefined => (Array.isArray(v) ? v.map(container).filter((c): c is Obj => c !== undefined) : undefined)
      return compact({
        ...head,
        metadata: meta(raw),
        spec: compact({
          nodeName: spec['nodeName'],
          priorityClassName: spec['priorityClassName'],
          activeDeadlineSeconds: spec['activeDeadlineSeconds'],
          overhead: spec['overhead'],
          initContainers: list(spec['initContainers']),
          containers: list(spec['containers']),
        }),
        status: pick(raw['status'], ['phase']),
      })
    }
  }
}
