/**
 * The read-only cluster view the cluster-aware rules judge against. Two sources implement it:
 * live informers, and files saved with `kubectl get ... -o yaml` or `pod-preflight snapshot`.
 */
export interface ClusterView {
  /** False while the live view has not synced, or after it went stale. */
  readonly synced: boolean
}
