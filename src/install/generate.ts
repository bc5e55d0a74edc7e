/**
 * The whole of manifests/ (paths relative to it): the base from `install`'s defaults and one
 * overlay per entry of OVERLAYS. `npm run manifests` writes it; a test compares it with the disk.
 */
import { memoryIO } from '../cli/io.js'
import { version } from '../version.js'
import { defaultInstallOptions, installOptions, type InstallCommandOptions } from './command.js'
import { DEFAULT_KUBE_VERSION, type KubeVersion } from './kube-version.js'
import { baseFiles, overlayFiles, type ManifestFile } from './manifests.js'
import { describeInstall, renderInstall, type KubeObject } from './render.js'

export interface Overlay {
  name: string
  /** The install flags giving the same objects. */
  flags: string[]
  options: Partial<InstallCommandOptions>
  kubeVersion?: KubeVersion
}

export const OVERLAYS: readonly Overlay[] = [
  { name: 'audit-mode', flags: ['--mode=audit'], options: { mode: 'audit' } },
  { name: 'cert-manager', flags: ['--certificates=cert-manager'], options: { certificates: 'cert-manager' } },
  { name: 'kubernetes-1.20', flags: ['--kube-version=1.20'], options: {}, kubeVersion: { major: 1, minor: 20 } },
]

/** What `install` renders with the defaults plus `options`, for `kubeVersion`. */
export async function renderWith(options: Partial<InstallCommandOptions>, kubeVersion: KubeVersion = DEFAULT_KUBE_VERSION): Promise<{ objects: KubeObject[]; describe: string }> {
  const io = memoryIO()
  const { options: rendered } = await installOptions({ ...defaultInstallOptions(), ...options }, io, kubeVersion)
  return { objects: renderInstall(rendered), describe: describeInstall(rendered, version) }
}

export async function manifestTree(): Promise<ManifestFile[]> {
  const base = await renderWith({})
  const files = baseFiles(base.objects, base.describe)
  for (const overlay of OVERLAYS) {
    const wanted = await renderWith(overlay.options, overlay.kubeVersion)
    const command = `pod-preflight install ${overlay.flags.join(' ')}`
    for (const f of overlayFiles(base.objects, wanted.objects, wanted.describe, command)) {
      files.push({ path: `overlays/${overlay.name}/${f.path}`, text: f.text })
    }
  }
  return files
}
