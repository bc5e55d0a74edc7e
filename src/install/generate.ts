/**
 * The whole of manifests/ (paths relative to it): the base from `install`'s defaults and one
 * overlay per entry of OVERLAYS. `npm run manifests` writes it; a test compares it with the disk.
 */
import { memoryIO } from '../cli/io.js'
import { version } from '../version.js'
import { defaultInstallOptions, installOptions, type InstallCommandOptions } from './command.js'
import { DEFAULT_KUBE_VERSION, type KubeVersion } from './kube-version.js'
import { addOnFiles, baseFiles, overlayFiles, type ManifestFile } from './manifests.js'
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
  { name: 'background-audit', flags: ['--audit'], options: { audit: true } },
  { name: 'cert-manager', flags: ['--certificates=cert-manager'], options: { certificates: 'cert-manager' } },
  { name: 'kubernetes-1.20', flags: ['--kube-version=1.20'], options: {}, kubeVersion: { major: 1, minor: 20 } },
  { name: 'workers', flags: ['--workers=2', '--hpa=6', '--kube-version=1.23'], options: { workers: 2, hpaMaxReplicas: 6 }, kubeVersion: { major: 1, minor: 23 } },
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
  // manifests/audit/: the background audit's CRDs and RBAC alone, to add to an installation.
  const audit = await renderWith({ audit: true })
  for (const f of addOnFiles(base.objects, audit.objects, [
    'What `pod-preflight install --audit` adds to an installation: apply these files, then add',
    '--audit to the Deployment\'s args; or apply -k manifests/overlays/background-audit, which does both.',
  ])) files.push({ path: `audit/${f.path}`, text: f.text })
  return files
}
