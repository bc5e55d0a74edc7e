/**
 * The renderer runner is bounded: a deadline, a cap on output, stderr on one line. Real child
 * processes (sh), since the bounds are about what real processes do.
 */
import t from 'tap'
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { findOnPath, runRenderer } from '../../src/input/render.js'

const env = { PATH: process.env['PATH'] ?? '' }
const cwd = tmpdir()

t.test('output is returned as text on success', async (t) => {
  const r = await runRenderer('/bin/sh', ['-c', 'printf "apiVersion: v1\\nkind: List\\n"'], 'sh', { cwd, env, timeoutMs: 10_000, maxBytes: 1024 })
  t.same(r, { ok: true, text: 'apiVersion: v1\nkind: List\n' })
})

t.test('a tool that does not finish in time is stopped', async (t) => {
  const started = Date.now()
  const r = await runRenderer('/bin/sh', ['-c', 'exec sleep 30'], 'kubectl kustomize x', { cwd, env, timeoutMs: 300, maxBytes: 1024 })
  t.same(r, { ok: false, message: 'kubectl kustomize x did not finish within 300 ms and was stopped' })
  t.ok(Date.now() - started < 10_000, 'well before the tool would have ended')
})

t.test('a tool that prints without end is stopped at the cap', async (t) => {
  const r = await runRenderer('/bin/sh', ['-c', 'exec yes'], 'helm template c', { cwd, env, timeoutMs: 20_000, maxBytes: 64 * 1024 })
  t.equal(r.ok, false)
  t.match(!r.ok ? r.message : '', /^helm template c printed more than 0\.1 MiB \(--max-file-size\) and was stopped$/)
})

t.test('a failure carries the end of stderr on one line, escaped and shortened', async (t) => {
  const script = `i=0; while [ $i -lt 2000 ]; do echo "noise $i" >&2; i=$((i+1)); done; printf 'Error: accumulating resources: \\033[31mmissing.yaml\\033[0m\\n' >&2; exit 3`
  const r = await runRenderer('/bin/sh', ['-c', script], 'kubectl kustomize k', { cwd, env, timeoutMs: 20_000, maxBytes: 1024 })
  t.equal(r.ok, false)
  const m = !r.ok ? r.message : ''
  t.match(m, /^kubectl kustomize k failed \(exit status 3\): noise 1998 \| noise 1999 \| Error: accumulating resources: \\x1b\[31mmissing\.yaml\\x1b\[0m$/)
  t.notMatch(m, /[\n\u001b]/, 'no newline and no raw escape reaches a terminal')
  t.ok(m.length < 700)
})

t.test('a program that cannot be started is a message, not a throw', async (t) => {
  const r = await runRenderer('/nonexistent/kubectl', ['kustomize', '.'], 'kubectl kustomize .', { cwd, env, timeoutMs: 1000, maxBytes: 1024 })
  t.same(r, { ok: false, message: 'cannot run kubectl kustomize .: ENOENT' })
})

t.test('findOnPath: the first executable file on PATH; directories and plain files do not count', async (t) => {
  const a = mkdtempSync(join(tmpdir(), 'ppf-path-a-'))
  const b = mkdtempSync(join(tmpdir(), 'ppf-path-b-'))
  writeFileSync(join(a, 'helm'), 'not executable')
  writeFileSync(join(b, 'helm'), '#!/bin/sh\n')
  chmodSync(join(b, 'helm'), 0o755)
  t.equal(findOnPath('helm', { PATH: `${a}:relative/dir:${b}` }), join(b, 'helm'))
  t.equal(findOnPath('helm', { PATH: a }), undefined)
  t.equal(findOnPath('helm', {}), undefined)
})
