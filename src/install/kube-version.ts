/**
 * Which Kubernetes version `install` renders for: given with --kube-version, or read from the
 * API server's discovery endpoint `/version` through the kubeconfig kubectl would use.
 */
import { existsSync } from 'node:fs'
import { homedir } from 'node:os'
import { join } from 'node:path'

export interface KubeVersion {
  major: number
  minor: number
}

/**
 * The oldest API server the rendered objects are made for: admission warnings (how audit mode
 * and every `warn` finding reach kubectl) exist from 1.19 on; older servers drop them.
 */
export const MIN_KUBE_VERSION: KubeVersion = { major: 1, minor: 19 }

/** What `install` renders for when it cannot ask a cluster: any current server (1.21 and later). */
export const DEFAULT_KUBE_VERSION: KubeVersion = { major: 1, minor: 21 }

export class KubeVersionError extends Error {
  override readonly name = 'KubeVersionError'
}

export function formatKubeVersion(v: KubeVersion): string {
  return `${v.major}.${v.minor}`
}

export function atLeast(v: KubeVersion, major: number, minor: number): boolean {
  return v.major > major || (v.major === major && v.minor >= minor)
}

/**
 * Reads "1.20", "v1.20.2", "1.27.3-gke.100" or the `minor` of /version ("20+" on some managed
 * clusters). Throws KubeVersionError naming the text when it is not a version.
 */
export function parseKubeVersion(text: string, where = '--kube-version'): KubeVersion {
  const m = /^v?(\d{1,3})\.(\d{1,3})\+?(?:\.\d+)?(?:[-+][0-9A-Za-z.+-]*)?$/.exec(text.trim())
  if (m === null) {
    const shown = JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}…` : text)
    throw new KubeVersionError(`${where}: ${shown} is not a Kubernetes version; write e.g. 1.29 or v1.29.3`)
  }
  return { major: Number(m[1]), minor: Number(m[2]) }
}

/** Refuses servers older than MIN_KUBE_VERSION, saying what is missing there. */
export function checkSupported(v: KubeVersion, where: string): void {
  if (!atLeast(v, MIN_KUBE_VERSION.major, MIN_KUBE_VERSION.minor)) {
    throw new KubeVersionError(
      `${where}: Kubernetes ${formatKubeVersion(v)} is older than the oldest supported version, ${formatKubeVersion(MIN_KUBE_VERSION)}: ` +
        'its API server drops admission warnings, so warn findings and audit mode would show nothing. Upgrade the cluster first.',
    )
  }
}

export interface DetectOptions {
  kubeconfig?: string
  context?: string
  env: Record<string, string | undefined>
  /** How long to wait for /version (default 10 s). */
  timeoutMs?: number
}

/** True when kubectl would find a cluster to talk to: a kubeconfig file or the in-cluster service account. */
export function kubeconfigConfigured(o: DetectOptions): boolean {
  if (o.kubeconfig !== undefined || o.context !== undefined) return true
  const fromEnv = (o.env['KUBECONFIG'] ?? '').split(':').filter((f) => f !== '')
  if (fromEnv.length > 0) return true
  const home = o.env['HOME'] ?? homedir()
  if (existsSync(join(home, '.kube', 'config'))) return true
  return o.env['KUBERNETES_SERVICE_HOST'] !== undefined && o.env['KUBERNETES_SERVICE_HOST'] !== ''
}

/**
 * Asks the API server of the current context for its version (GET /version, which every
 * authenticated and even anonymous client may read). Throws KubeVersionError with the server
 * and the reason when it cannot.
 */
export async function detectKubeVersion(o: DetectOptions): Promise<{ version: KubeVersion; gitVersion: string; server: string }> {
  const { loadKubeConfig, apiErrorMessage } = await import('../analyzer/cluster-source.js')
  const { VersionApi } = await import('@kubernetes/client-node')
  let kc
  try {
    kc = loadKubeConfig({ ...(o.kubeconfig !== undefined ? { kubeconfig: o.kubeconfig } : {}), ...(o.context !== undefined ? { context: o.context } : {}), env: o.env })
  } catch (err) {
    throw new KubeVersionError(err instanceof Error ? err.message : String(err))
  }
  const server = kc.getCurrentCluster()?.server ?? '(no server)'
  const timeoutMs = o.timeoutMs ?? 10_000
  let timer: NodeJS.Timeout | undefined
  try {
    const info = await Promise.race([
      kc.makeApiClient(VersionApi).getCode(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs / 1000} s`)), timeoutMs)
        timer.unref()
      }),
    ])
    const gitVersion = typeof info.gitVersion === 'string' ? info.gitVersion : ''
    let version: KubeVersion
    try {
      version = parseKubeVersion(gitVersion, `${server}/version gitVersion`)
    } catch {
      version = parseKubeVersion(`${info.major}.${info.minor}`, `${server}/version major.minor`)
    }
    return { version, gitVersion, server }
  } catch (err) {
    if (err instanceof KubeVersionError) throw err
    throw new KubeVersionError(`cannot read the version of ${server}: ${apiErrorMessage(err)}`)
  } finally {
    if (timer !== undefined) clearTimeout(timer)
  }
}
