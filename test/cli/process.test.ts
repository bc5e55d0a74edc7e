/**
 * The CLI as a real process (src/cli/bin.ts through tsx): output into a pipe closed early and
 * Ctrl-C during a long run end with one line at most and the documented status, never a stack
 * trace. Processes one at a time; each is killed if it outlives its deadline, so the test cannot hang.
 */
import t from 'tap'
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'

const root = resolve(import.meta.dirname, '../..')
const BIN = [process.execPath, '--import', 'tsx', join(root, 'src/cli/bin.ts')]
const DEADLINE_MS = 60_000
const STACK = /^\s+at .+:\d+:\d+\)?$/m

interface Ended {
  status: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
  killed: boolean
}

interface Spawned {
  ended: Promise<Ended>
  child: ReturnType<typeof spawn>
}

/** Starts `file args` with a deadline: past it the process is killed and `killed` says so. */
function start(file: string, args: readonly string[], opts: { closeStdout?: boolean; cwd?: string } = {}): Spawned {
  // Without the test runner's NODE_OPTIONS: its hooks (and their signal handlers) are not the CLI's.
  const { NODE_OPTIONS: _, ...env } = process.env
  const child = spawn(file, args, { cwd: opts.cwd ?? root, stdio: ['pipe', 'pipe', 'pipe'], env: { ...env, NO_COLOR: '1', HOME: '/nonexistent', KUBECONFIG: '' } })
  let stdout = ''
  let stderr = ''
  let killed = false
  const timer = setTimeout(() => {
    killed = true
    child.kill('SIGKILL')
  }, DEADLINE_MS)
  // Closing our end of the pipe before the child has written a byte: every write it makes gets EPIPE.
  if (opts.closeStdout === true) child.stdout.destroy()
  else child.stdout.on('data', (d: Buffer) => { stdout += d.toString() })
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
  const ended = new Promise<Ended>((done) => {
    child.on('close', (status, signal) => {
      clearTimeout(timer)
      done({ status, signal, stdout, stderr, killed })
    })
  })
  return { child, ended }
}

const tmp = mkdtempSync(join(tmpdir(), 'pp-process-'))
t.teardown(() => rmSync(tmp, { recursive: true, force: true }))

t.test('check … | head -1: the rest of the output is dropped quietly, the status stays 1', async (t) => {
  // 400 pods give far more findings than a pipe buffer (64 KiB) holds: head exits mid-write.
  const pod = (i: number): string => `apiVersion: v1\nkind: Pod\nmetadata: {name: p${i}}\nspec:\n  containers:\n  - name: c\n    image: nginx:latest\n`
  const file = join(tmp, 'pods.yaml')
  writeFileSync(file, Array.from({ length: 400 }, (_, i) => pod(i)).join('---\n'))
  const quoted = [...BIN, 'check', '--fail-on', 'warn', file].map((s) => `'${s.replace(/'/g, `'\\''`)}'`).join(' ')
  const r = await start('bash', ['-c', `${quoted} 2>"$0" | head -1; echo "status=\${PIPESTATUS[0]}"; wc -c < "$0"`, join(tmp, 'err')]).ended
  t.notOk(r.killed, 'ended before the deadline')
  const [first, status, errBytes] = r.stdout.trimEnd().split('\n')
  t.match(first, /p\d+|nginx|Pod/, 'head printed the first line of the findings')
  t.equal(status, 'status=1', 'check keeps status 1 (findings), not an error status')
  t.equal(errBytes?.trim(), '0', 'nothing on stderr')
})

t.test('rules with its standard output closed before it writes: status 0, nothing on stderr', async (t) => {
  const r = await start(BIN[0] ?? '', [...BIN.slice(1), 'rules'], { closeStdout: true }).ended
  t.notOk(r.killed, 'ended before the deadline')
  t.equal(r.status, 0)
  t.equal(r.stderr, '')
})

t.test('Ctrl-C while waiting on the cluster: status 130, one line, no stack trace', async (t) => {
  // An API server that accepts the connection and never answers: explain waits on it until interrupted.
  const sockets: Socket[] = []
  const server = createServer((s) => sockets.push(s))
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  t.teardown(() => {
    for (const s of sockets) s.destroy()
    server.close()
  })
  const address = server.address()
  const port = typeof address === 'object' && address !== null ? address.port : 0
  const kubeconfig = join(tmp, 'kubeconfig')
  writeFileSync(
    kubeconfig,
    `apiVersion: v1\nkind: Config\ncurrent-context: c\nclusters:\n- name: k\n  cluster: {server: 'https://127.0.0.1:${port}', insecure-skip-tls-verify: true}\n` +
      `users:\n- name: u\n  user: {token: t}\ncontexts:\n- name: c\n  context: {cluster: k, user: u, namespace: default}\n`,
  )
  const connected = new Promise<void>((r) => server.once('connection', () => r()))
  const run = start(BIN[0] ?? '', [...BIN.slice(1), 'explain', 'web-0', '--kubeconfig', kubeconfig])
  // The connection proves the command is running (its handlers are in place) and waiting.
  const first = await Promise.race([connected.then(() => 'connected'), run.ended.then(() => 'ended')])
  t.equal(first, 'connected', 'explain reached the API server and waits on it')
  run.child.kill('SIGINT')
  const r = await run.ended
  t.notOk(r.killed, 'ended before the deadline')
  t.equal(r.signal, null, 'not killed by the signal: it exited')
  t.equal(r.status, 130)
  t.equal(r.stderr, 'pod-preflight: interrupted\n')
  t.notMatch(r.stderr, STACK)
  t.equal(r.stdout, '')
})

t.test('a bad flag through the real executable: one line, status 2, no stack trace', async (t) => {
  const r = await start(BIN[0] ?? '', [...BIN.slice(1), 'check', '--no-such-flag', 'x.yaml']).ended
  t.notOk(r.killed, 'ended before the deadline')
  t.equal(r.status, 2)
  t.match(r.stderr, /^pod-preflight check: unknown option '--no-such-flag'\n/)
  t.notMatch(r.stderr, STACK)
})

t.test('standard output on a full disk (/dev/full): one line naming it, status 2, no stack trace', async (t) => {
  // /dev/full fails every write with ENOSPC, as a full disk does; a pipe closed early (EPIPE) stays quiet (above).
  const runs = [
    ['rules'],
    ['check', '--fail-on', 'never', 'examples/broken-pod.yaml'],
    ['version', '-o', 'json'],
  ]
  for (const args of runs) {
    const quoted = [...BIN, ...args].map((s) => `'${s.replace(/'/g, `'\\''`)}'`).join(' ')
    const r = await start('bash', ['-c', `${quoted} >/dev/full; echo "status=$?" >&2`]).ended
    t.notOk(r.killed, `${args[0]}: ended before the deadline`)
    t.equal(r.stderr, `pod-preflight: cannot write to standard output: ENOSPC: no space left on device\nstatus=2\n`, `${args.join(' ')}: one line, status 2`)
    t.notMatch(r.stderr, STACK)
  }
  // --output-file on the full device: the command names the file.
  const r = await start(BIN[0] ?? '', [...BIN.slice(1), 'install', '--kube-version', '1.29', '--output-file', '/dev/full']).ended
  t.notOk(r.killed)
  t.equal(r.status, 2)
  t.equal(r.stderr, 'pod-preflight install: cannot write /dev/full: ENOSPC: no space left on device\n')
  t.equal(r.stdout, '', 'nothing went to standard output instead')
})
