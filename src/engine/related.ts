/**
 * The other objects known in the same run: the manifests of a CLI run, so that a ConfigMap
 * next to its Deployment counts as existing. Cluster-aware rules read it through this interface.
 */
export interface RelatedObjects {
  /** True when the user declared the set complete (`--complete`): what is absent does not exist. */
  complete: boolean
  /** The objects of a kind in a namespace (namespace undefined: cluster-scoped kinds). */
  list(kind: string, namespace: string | undefined): readonly Record<string, unknown>[]
  get(kind: string, namespace: string | undefined, name: string): Record<string, unknown> | undefined
}
