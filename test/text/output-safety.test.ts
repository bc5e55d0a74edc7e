/**
 * Output safety over every face: check in each format, explain's text and JSON, and the deny
 * message. Names, images and scripts carry a newline followed by a fake DENY line, ESC, BEL, an
 * 8-bit CSI and a right-to-left override; none may reach the output raw.
 */
import t, { type Test } from 'tap'
import { main } from '../../src/cli/main.js'
import { memoryIO } from '../../src/cli/io.js'
import { toJson, toText } from '../../src/analyzer/format.js'
import { denyMessage } from '../../src/admission/verdict.js'
import { boundWarnings } from '../../src/admission/warnings.js'

const HOSTILE = 'x\nDENY [forged] everything\u001b[2J\u0007\u009b31m\u202eevil'
/** Any character a terminal would act on, and lone surrogates. */
const RAW_UNSAFE = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/

const manifest = JSON.stringify({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: HOSTILE, namespace: 'ns' },
  spec: {
    containers: [
      {
        name: HOSTILE,
        image: `nginx:latest${HOSTILE}`,
        imagePullPolicy: 'Never',
        command: ['sh', '-c', `exec ${HOSTILE} $(UNDEFINED_${'A'.repeat(3)})`],
        args: [`--x=$(NOPE)${HOSTILE}`],
      },
    ],
  },
})

async function check(format: string): Promise<string> {
  const io = memoryIO(manifest, {}, process.cwd())
  await main(['check', '-o', format, '-'], io)
  return io.out()
}

function noForgedLine(t: Test, out: string, what: string): void {
  t.notMatch(out, /^\s*DENY \[forged\]/m, `${what}: a newline in a name does not start a line of its own`)
}

t.test('check text: findings with hostile names stay on their lines, escaped', async (t) => {
  const out = await check('text')
  t.match(out, /DENY|WARN/, 'findings are reported')
  t.notMatch(out, RAW_UNSAFE, 'no raw control or bidi character')
  noForgedLine(t, out, 'text')
  t.match(out, /\\x1b\[2J/, 'ESC shown as \\x1b')
  t.match(out, /\\u202eevil/, 'U+202E shown escaped')
})

for (const format of ['json', 'sarif', 'codequality']) {
  t.test(`check ${format}: parses, carries no raw terminal controls`, async (t) => {
    const out = await check(format)
    t.notMatch(out, RAW_UNSAFE, 'no raw control or bidi character in the printed JSON')
    noForgedLine(t, out, format)
    const parsed: unknown = JSON.parse(out)
    t.ok(parsed !== null && typeof parsed === 'object', 'still valid JSON')
  })
}

t.test('check json: the object name is data and round-trips exactly', async (t) => {
  const out = JSON.parse(await check('json')) as { findings: { object: { name: string }; message: string }[] }
  t.ok(out.findings.length > 0)
  t.equal(out.findings[0]?.object.name, HOSTILE, 'the name parses back to what the user gave')
  for (const f of out.findings) t.notMatch(f.message, RAW_UNSAFE, 'messages are escaped text')
})

t.test('check junit: no raw control characters, nothing dropped silently', async (t) => {
  const out = await check('junit')
  t.notMatch(out, /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u202a-\u202e]/)
  t.match(out, /\\x1b/, 'ESC written as a visible escape, not removed')
})

t.test('explain text and JSON escape pod names, evidence and messages', async (t) => {
  const pods = [
    {
      pod: { namespace: 'ns', name: HOSTILE },
      status: 'Running',
      diagnoses: [{ cause: 'crash-loop' as never, container: HOSTILE, exitCode: 1, summary: `exits ${HOSTILE}`, evidence: [`log: ${HOSTILE}`], next: [`kubectl logs ${HOSTILE}`] }],
    },
  ]
  const text = toText(pods, { color: true })
  t.notMatch(text.replace(/\u001b\[[0-9;]*m/g, ''), RAW_UNSAFE, 'only our own colour codes are raw')
  t.notMatch(text, /\u001b\[2J/, 'the clear-screen from the input is escaped')
  noForgedLine(t, text, 'explain text')
  const json = toJson(pods)
  t.notMatch(json, RAW_UNSAFE)
  t.equal((JSON.parse(json) as { diagnoses: { pod?: { name?: string }; container?: string }[] }).diagnoses.length, 1)
})

t.test('deny message and warnings: one line per finding, nothing raw, bounded', async (t) => {
  const f = { rule: 'image-tag-latest', action: 'deny' as const, object: { apiVersion: 'v1', kind: 'Pod', name: HOSTILE }, path: 'spec.containers[0].image', message: `bad ${HOSTILE}`, fix: `fix ${HOSTILE}` }
  const msg = denyMessage({ apiVersion: 'v1', kind: 'Pod', name: HOSTILE, namespace: 'ns' }, [f], [f])
  t.notMatch(msg, RAW_UNSAFE)
  noForgedLine(t, msg, 'deny message')
  t.equal(msg.split('\n').filter((l) => l.startsWith('- [')).length, 2, 'each finding is one entry')
  const huge = { ...f, message: 'm'.repeat(1 << 20) }
  const big = denyMessage({ apiVersion: 'v1', kind: 'Pod', name: 'n'.repeat(1 << 20) }, Array.from({ length: 500 }, () => huge), [])
  t.ok(big.length <= 16 * 1024, `the deny message stays within 16 KiB (${big.length})`)
  t.match(big, /\.\.\.and \d+ more/)
  for (const w of boundWarnings([`w ${HOSTILE}`, 'x'.repeat(1 << 20)])) {
    t.notMatch(w, RAW_UNSAFE)
    t.ok(w.length <= 120)
  }
})
