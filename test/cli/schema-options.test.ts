/** check --kubernetes-version and --crd: what they change, and how bad values are refused. */
import t from 'tap'
import { main } from '../../src/cli/main.js'
import { memoryIO } from '../../src/cli/io.js'

const dir = new URL('../fixtures/rules/schema-invalid/', import.meta.url).pathname

async function check(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const io = memoryIO('', {}, dir)
  const code = await main(['check', ...args], io)
  return { code, out: io.out(), err: io.err() }
}

interface Report {
  findings: { rule: string; path: string; message: string }[]
  errors: { file: string; line?: number; message: string }[]
}
const schemaPaths = (r: Report): string[] => r.findings.filter((f) => f.rule === 'schema-invalid').map((f) => f.path).sort()

t.test('--kubernetes-version: a field newer than the version chosen is unknown there', async (t) => {
  const newest = await check(['-o', 'json', 'silent.field-newer-than-version.yaml'])
  t.same(schemaPaths(JSON.parse(newest.out) as Report), [], 'the default, the newest shipped, knows restartPolicyRules')
  for (const v of ['1.33', 'v1.33.4']) {
    const old = await check(['-o', 'json', '--kubernetes-version', v, 'silent.field-newer-than-version.yaml'])
    t.equal(old.code, 1, `${v}: denied`)
    const report = JSON.parse(old.out) as Report
    t.same(schemaPaths(report), ['spec.containers[0].restartPolicyRules'])
    t.match(report.findings.find((f) => f.rule === 'schema-invalid')?.message ?? '', /Kubernetes 1\.33/, 'the message names the version')
  }
})

t.test('--kubernetes-version: a version not shipped is a usage error naming the shipped ones', async (t) => {
  for (const v of ['1.35', 'latest', '']) {
    const r = await check(['--kubernetes-version', v, 'fire.service-typo.yaml'])
    t.equal(r.code, 2, `'${v}'`)
    t.match(r.err, /--kubernetes-version: no schemas are shipped for .*shipped: 1\.33, 1\.34, 1\.36/)
    t.notMatch(r.err, /\n\s+at /, 'no stack trace')
  }
})

t.test('--crd: custom resources are checked only with their CRD', async (t) => {
  const without = await check(['-o', 'json', 'fire.crd.yaml'])
  t.equal(without.code, 0, 'without --crd the custom resource is not judged')
  t.same(schemaPaths(JSON.parse(without.out) as Report), [])
  const withCrd = await check(['-o', 'json', '--crd', 'crd.widgets.yaml', 'fire.crd.yaml', 'silent.crd.yaml'])
  t.equal(withCrd.code, 1)
  t.same(schemaPaths(JSON.parse(withCrd.out) as Report), ['spec.sise', 'spec.size'])
})

t.test('--crd: a file that is not a CRD, or is missing, is an input error naming it', async (t) => {
  const notCrd = await check(['-o', 'json', '--crd', 'fire.service-typo.yaml', 'fire.crd.yaml'])
  t.equal(notCrd.code, 2)
  const errors = (JSON.parse(notCrd.out) as Report).errors
  t.match(errors, [{ file: /fire\.service-typo\.yaml$/, line: 4, message: /not a CustomResourceDefinition \(kind "Service"\)/ }])
  const missing = await check(['--crd', 'no-such-crd.yaml', 'fire.crd.yaml'])
  t.equal(missing.code, 2)
  t.match(missing.out, /no-such-crd\.yaml: no such file or directory/)
})
