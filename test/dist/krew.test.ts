/**
 * plugins/preflight.yaml, the krew plugin manifest template, has the shape krew reads, and
 * scripts/krew-manifest.mjs fills its version, uri and sha256 from a built archive, refusing a
 * version krew would refuse and a platform without an archive.
 */
import t, { type Test } from 'tap'
import { createHash } from 'node:crypto'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parse } from 'yaml'
import { REPOSITORY_URL } from '../../src/rules/_doc-url.js'
import { root, run } from './helpers.js'

interface Platform {
  selector?: { matchLabels?: Record<string, string> }
  uri?: string
  sha256?: string
  bin?: string
}
interface Manifest {
  apiVersion?: string
  kind?: string
  metadata?: { name?: string }
  spec?: { version?: string; homepage?: string; shortDescription?: string; description?: string; platforms?: Platform[] }
}

const TEMPLATE = join(root, 'plugins/preflight.yaml')
const SCRIPT = join(root, 'scripts/krew-manifest.mjs')
const tmp = mkdtempSync(join(tmpdir(), 'pp-krew-'))
t.teardown(() => rmSync(tmp, { recursive: true, force: true }))

function checkShape(t: Test, m: Manifest): void {
  t.equal(m.apiVersion, 'krew.googlecontainertools.github.com/v1alpha2')
  t.equal(m.kind, 'Plugin')
  t.equal(m.metadata?.name, 'preflight', 'the name is the file name, as krew requires')
  t.equal(m.spec?.homepage, REPOSITORY_URL)
  t.ok((m.spec?.shortDescription ?? '').length > 0 && (m.spec?.shortDescription ?? '').length <= 50, 'a short description, one line')
  t.notMatch(m.spec?.shortDescription ?? '', /\n/)
  t.match(m.spec?.description ?? '', /kubectl preflight check/, 'the description shows the plugin as kubectl runs it')
  t.notMatch(m.spec?.description ?? '', /pod-preflight (check|explain|audit|install)/, 'not under its npm name')
  const platforms = m.spec?.platforms ?? []
  t.equal(platforms.length, 1, 'one platform: the one the single executable is built and tested for')
  const p = platforms[0]
  t.same(p?.selector?.matchLabels, { os: 'linux', arch: 'amd64' })
  t.equal(p?.bin, 'kubectl-preflight', 'bin is the executable named as kubectl finds plugins')
}

t.test('the template: a krew Plugin with placeholders for version, uri and sha256', async (t) => {
  const text = readFileSync(TEMPLATE, 'utf8')
  const m = parse(text) as Manifest
  checkShape(t, m)
  t.equal(m.spec?.version, '{{version}}')
  t.equal(m.spec?.platforms?.[0]?.uri, '{{uri linux/amd64}}')
  t.equal(m.spec?.platforms?.[0]?.sha256, '{{sha256 linux/amd64}}')
})

t.test('the render script fills uri and sha256 from the archive it is given', async (t) => {
  // A built archive as build:sea lays it out: kubectl-preflight at its top.
  const stage = join(tmp, 'stage')
  mkdirSync(stage)
  writeFileSync(join(stage, 'kubectl-preflight'), '#!/bin/sh\necho preflight\n', { mode: 0o755 })
  const archive = join(tmp, 'kubectl-preflight-linux-x64.tar.gz')
  const tar = await run('tar', ['-czf', archive, '-C', stage, 'kubectl-preflight'], { cwd: tmp })
  t.equal(tar.status, 0)
  const digest = createHash('sha256').update(readFileSync(archive)).digest('hex')

  const out = join(tmp, 'preflight.yaml')
  const r = await run(process.execPath, [SCRIPT, '--version', 'v1.2.3', '--base-url', 'https://example.com/dl/v1.2.3/', '--archive', `linux/amd64=${archive}`, '-o', out], { cwd: tmp })
  t.equal(r.status, 0, 'rendered', { stderr: r.stderr })
  const text = readFileSync(out, 'utf8')
  t.notMatch(text, /\{\{|\}\}/, 'no placeholder left')
  t.notMatch(text, /^#/m, "the template's header comment is dropped")
  const m = parse(text) as Manifest
  checkShape(t, m)
  t.equal(m.spec?.version, 'v1.2.3')
  t.equal(m.spec?.platforms?.[0]?.uri, 'https://example.com/dl/v1.2.3/kubectl-preflight-linux-x64.tar.gz')
  t.equal(m.spec?.platforms?.[0]?.sha256, digest, "sha256 is the archive's")

  // Another archive, another digest: the value is computed, not carried over.
  writeFileSync(join(stage, 'kubectl-preflight'), '#!/bin/sh\necho other\n', { mode: 0o755 })
  await run('tar', ['-czf', archive, '-C', stage, 'kubectl-preflight'], { cwd: tmp })
  const again = await run(process.execPath, [SCRIPT, '--version', 'v1.2.3', '--archive', `linux/amd64=${archive}`], { cwd: tmp })
  const m2 = parse(again.stdout) as Manifest
  t.not(m2.spec?.platforms?.[0]?.sha256, digest)
  t.equal(m2.spec?.platforms?.[0]?.sha256, createHash('sha256').update(readFileSync(archive)).digest('hex'))
  t.equal(m2.spec?.platforms?.[0]?.uri, 'https://github.com/pod-preflight/pod-preflight/releases/download/v1.2.3/kubectl-preflight-linux-x64.tar.gz', 'by default the GitHub release of that version')
})

t.test('the render script refuses what krew would refuse, naming it', async (t) => {
  const archive = join(tmp, 'a.tar.gz')
  writeFileSync(archive, 'x')
  const noV = await run(process.execPath, [SCRIPT, '--version', '1.2.3', '--archive', `linux/amd64=${archive}`], { cwd: tmp })
  t.equal(noV.status, 1)
  t.match(noV.stderr, /^krew-manifest: version "1\.2\.3": krew wants a semantic version with a v/)
  const missing = await run(process.execPath, [SCRIPT, '--version', 'v1.2.3', '--archive', `linux/amd64=${join(tmp, 'nope.tar.gz')}`], { cwd: tmp })
  t.equal(missing.status, 1)
  t.match(missing.stderr, /linux\/amd64: no archive at .*nope\.tar\.gz \(npm run build:sea builds it\)/)
  t.equal(missing.stdout, '', 'no half-filled manifest')
  const badArg = await run(process.execPath, [SCRIPT, '--archive', archive], { cwd: tmp })
  t.equal(badArg.status, 1)
  t.match(badArg.stderr, /write it as OS\/ARCH=FILE/)
})
