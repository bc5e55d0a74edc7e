/**
 * Seams for two pieces that join `serve` from their own modules:
 * - src/cluster/live.ts: the live cluster view (informers) for cluster-scoped rules (`--cluster`);
 * - src/analyzer/companion.ts: the post-failure companion that explains failed pods (`--companion`).
 *
 * Both are loaded with a dynamic import only when their flag is given: they bring in
 * @kubernetes/client-node, which a webhook without those flags never needs. The interfaces
 * below are what `serve` relies on; the loaders check at compile time that the real modules
 * fit them, and tests inject fakes through them.
 */
import type { KubeConfig } from '@kubernetes/client-node'
import type { Logger } from 'pino'
import type { ClusterView } from '../cluster/view.js'
import type { RelatedObjects } from '../engine/related.js'

export interface LiveClusterViewHandle {
  view: ClusterView
  /** Resolves when the informers have synced for the first time; /readyz waits for it. */
  ready: Promise<void>
  /** The namespace objects (Services, Ingresses...) for batch-and-cluster rules, when the view offers them. */
  related?: RelatedObjects
  /** A line for /readyz: synced, or which kinds are down or refused and for how long. */
  detail?(): string
  /** Per resource, the age of its state in seconds (`unavailable` when refused or not served). */
  status?(): readonly { resource: string; ageSeconds: number; unavailable: string | undefined }[]
  stop(): void | Promise<void>
}

export type StartLiveClusterView = (options: { kubeConfig: KubeConfig; logger: Logger }) => LiveClusterViewHandle | Promise<LiveClusterViewHandle>

export interface CompanionHandle {
  /** Resolves once the companion watches pods. */
  ready?: Promise<void>
  stop(): void | Promise<void>
}

export type StartCompanion = (options: {
  kubeConfig: KubeConfig
  logger: Logger
  /** Called for each failed pod explained, with the cause id (counted in /metrics). */
  onDiagnosis: (cause: string, detail?: unknown) => void
  /** Read the failed containers' previous logs too (needs get on pods/log). */
  readLogs?: boolean
}) => CompanionHandle | Promise<CompanionHandle>

/** A module that should be there but is not, or does not start as serve needs. */
export class SeamError extends Error {
  override readonly name = 'SeamError'
}

export async function loadLiveClusterView(): Promise<StartLiveClusterView> {
  const mod = await import('../cluster/live.js')
  const start: StartLiveClusterView = mod.startLiveClusterView
  return start
}

export async function loadCompanion(): Promise<StartCompanion> {
  const mod = await import('../analyzer/companion.js')
  const start: StartCompanion = mod.startCompanion
  return start
}

/**
 * The kubeconfig of the server: --kubeconfig, else KUBECONFIG, else the pod's service account
 * (in a pod), else ~/.kube/config; --context picks a context of the file. Without any of them
 * it says 'no kubeconfig found' and where it looked (a ClusterError), as the other commands do,
 * instead of client-node's last resort http://localhost:8080.
 */
export async function loadKubeConfig(o: { kubeconfig?: string | undefined; context?: string | undefined } = {}): Promise<KubeConfig> {
  const source = await import('../analyzer/cluster-source.js')
  return source.loadKubeConfig({
    ...(o.kubeconfig !== undefined ? { kubeconfig: o.kubeconfig } : {}),
    ...(o.context !== undefined ? { context: o.context } : {}),
    inClusterFirst: true,
  })
}

/** Checks a handle returned by the live module at run time (its types are not known when this builds). */
export function checkLiveHandle(h: unknown): LiveClusterViewHandle {
  const ok =
    typeof h === 'object' &&
    h !== null &&
    'view' in h &&
    typeof h.view === 'object' &&
    h.view !== null &&
    'ready' in h &&
    h.ready instanceof Promise &&
    'stop' in h &&
    typeof h.stop === 'function'
  if (!ok) throw new SeamError('--cluster: startLiveClusterView() did not return { view, ready, stop }')
  return h as LiveClusterViewHandle
}
