// Renders the krew plugin manifest (plugins/preflight.yaml) for a release: the version, and for
// each platform the archive's download URL and its SHA-256, computed from the built archive.
//
//   node scripts/krew-manifest.mjs [--version v0.1.0] [--base-url URL] [--archive linux/amd64=FILE] [-o FILE]
//
// Defaults: the version in package.json; the archives npm run build:sea writes to release/; the
// URL of the GitHub release of that version. The manifest goes to standard output, or to -o FILE.
import { createHash } from 'node:crypto'
import { createReadStream, readFileSync, statSync, writeFileSync } from 'node:fs'
import { basename, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'

const root = fileURLToPath(new URL('../', import.meta.url))
const TEMPLATE = join(root, 'plugins/preflight.yaml')
/** krew's platform (os/arch) to the name build:sea gives the archive (Node's process.arch). */
const PLATFORMS = { 'linux/amd64': 'linux-x64' }

export function sha256File(file) {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256')
    createReadStream(file).on('data', (c) => h.update(c)).on('end', () => resolve(h.digest('hex'))).on('error', reject)
  })
}

/**
 * The template with its placeholders filled. archives maps a krew platform to a file; every
 * platform the template names needs one, and no placeholder may be left.
 */
export async function renderManifest(template, { version, baseUrl, archives }) {
  if (!/^v\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/.test(version)) throw new Error(`version ${JSON.stringify(version)}: krew wants a semantic version with a v, like v0.1.0`)
  const digests = new Map()
  for (const [platform, file] of Object.entries(archives)) {
    if (statSync(file, { throwIfNoEntry: false })?.isFile() !== true) throw new Error(`${platform}: no archive at ${file} (npm run build:sea builds it)`)
    digests.set(platform, { name: basename(file), sha256: await sha256File(file) })
  }
  const need = (platform) => {
    const d = digests.get(platform)
    if (d === undefined) throw new Error(`the template names ${platform}, but no archive was given for it (--archive ${platform}=FILE)`)
    return d
  }
  // The template's own header comment (how to fill it) does not belong in a release's manifest.
  const body = template.replace(/^(#[^\n]*\n)+/, '')
  const out = body
    .replace(/\{\{version\}\}/g, version)
    .replace(/\{\{uri ([a-z0-9]+\/[a-z0-9]+)\}\}/g, (_, p) => `${baseUrl.replace(/\/+$/, '')}/${need(p).name}`)
    .replace(/\{\{sha256 ([a-z0-9]+\/[a-z0-9]+)\}\}/g, (_, p) => need(p).sha256)
  const left = /\{\{[^}]*\}\}/.exec(out)
  if (left !== null) throw new Error(`placeholder ${left[0]} is not filled`)
  return out
}

async function main() {
  const { values } = parseArgs({
    options: {
      version: { type: 'string' },
      'base-url': { type: 'string' },
      archive: { type: 'string', multiple: true },
      output: { type: 'string', short: 'o' },
    },
  })
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))
  const version = values.version ?? `v${pkg.version}`
  const baseUrl = values['base-url'] ?? `https://github.com/pod-preflight/pod-preflight/releases/download/${version}`
  const archives = Object.fromEntries(Object.entries(PLATFORMS).map(([p, n]) => [p, join(root, `release/kubectl-preflight-${n}.tar.gz`)]))
  for (const a of values.archive ?? []) {
    const eq = a.indexOf('=')
    if (eq < 0) throw new Error(`--archive ${a}: write it as OS/ARCH=FILE, e.g. linux/amd64=release/kubectl-preflight-linux-x64.tar.gz`)
    archives[a.slice(0, eq)] = a.slice(eq + 1)
  }
  const manifest = await renderManifest(readFileSync(TEMPLATE, 'utf8'), { version, baseUrl, archives })
  if (values.output !== undefined) writeFileSync(values.output, manifest)
  else process.stdout.write(manifest)
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((err) => {
    process.stderr.write(`krew-manifest: ${err instanceof Error ? err.message : String(err)}\n`)
    process.exit(1)
  })
}
