import t from 'tap'
import { analyze } from '../../src/analyzer/analyze.js'
import { normalizeExitCode, signalName, signalOfExit } from '../../src/analyzer/exit-codes.js'
import { crashLoop, event, jobExit } from './build.js'

const NOW = new Date('2024-05-13T10:40:00Z')

function diagnose(pod: unknown, events: unknown[] = []) {
  const a = analyze({ pod, events, now: NOW })
  if (!a.ok) throw new Error(a.error)
  return a.diagnoses
}

t.test('signal names follow Linux numbering', async (t) => {
  const names = ['SIGHUP', 'SIGINT', 'SIGQUIT', 'SIGILL', 'SIGTRAP', 'SIGABRT', 'SIGBUS', 'SIGFPE', 'SIGKILL', 'SIGUSR1', 'SIGSEGV', 'SIGUSR2', 'SIGPIPE', 'SIGALRM', 'SIGTERM', 'SIGSTKFLT', 'SIGCHLD', 'SIGCONT', 'SIGSTOP', 'SIGTSTP', 'SIGTTIN', 'SIGTTOU', 'SIGURG', 'SIGXCPU', 'SIGXFSZ', 'SIGVTALRM', 'SIGPROF', 'SIGWINCH', 'SIGIO', 'SIGPWR', 'SIGSYS']
  names.forEach((n, i) => t.equal(signalName(i + 1), n, `signal ${i + 1}`))
  t.equal(signalName(34), 'SIGRTMIN')
  t.equal(signalName(40), 'SIGRTMIN+6')
  t.equal(signalName(64), 'SIGRTMAX')
  t.equal(signalName(32), undefined, 'glibc-internal signals have no name')
  t.same(signalOfExit(137), { number: 9, name: 'SIGKILL' })
  t.same(signalOfExit(129), { number: 1, name: 'SIGHUP' })
  t.same(signalOfExit(159), { number: 31, name: 'SIGSYS' })
  t.equal(signalOfExit(128), undefined)
  t.equal(signalOfExit(200), undefined)
})

t.test('codes outside 0-255 are converted as the shell sees them', async (t) => {
  t.equal(normalizeExitCode(-1), 255, 'exit(-1) → 256 − 1')
  t.equal(normalizeExitCode(-2), 254)
  t.equal(normalizeExitCode(-256), 0)
  t.equal(normalizeExitCode(-257), 255)
  t.equal(normalizeExitCode(256), 0)
  t.equal(normalizeExitCode(257), 1)
  t.equal(normalizeExitCode(3221225477), 5, 'a Windows NTSTATUS mod 256')
  for (let c = 0; c <= 255; c++) t.equal(normalizeExitCode(c), c)
})

t.test('every exit code 0-255 of a Job pod is explained', async (t) => {
  const expected = (code: number): string => {
    if (code === 0) return 'completed'
    if (code === 2) return 'shell-misuse'
    if (code === 125) return 'container-runtime-failed'
    if (code === 126) return 'command-not-executable'
    if (code === 127) return 'command-not-found'
    if (code === 128) return 'invalid-exit-code'
    if (code === 134) return 'aborted'
    if (code === 137) return 'killed'
    if (code === 139) return 'segfault'
    if (code === 143) return 'terminated'
    if (code === 255) return 'exit-out-of-range'
    if (code > 128 && signalName(code - 128) !== undefined) return 'signal'
    return 'app-error'
  }
  for (let code = 0; code <= 255; code++) {
    const ds = diagnose(jobExit(code))
    t.equal(ds.length, 1, `exit ${code}: one diagnosis`)
    const d = ds[0]
    t.equal(d?.cause, expected(code), `exit ${code}`)
    t.equal(d?.exitCode, code)
    const sig = code > 128 ? signalName(code - 128) : undefined
    t.equal(d?.signal, sig, `exit ${code}: signal`)
    if (sig) t.match(d?.summary ?? '', sig, `exit ${code}: the summary names ${sig}`)
  }
})

t.test('codes the runtime reports outside 0-255', async (t) => {
  const minus1 = diagnose(jobExit(-1))[0]
  t.equal(minus1?.cause, 'exit-out-of-range')
  t.equal(minus1?.exitCode, 255)
  t.match(minus1?.summary ?? '', /reported -1/)
  t.match(minus1?.evidence.join('\n') ?? '', /exitCode: -1 \(as an exit status: 255\)/)
  t.equal(diagnose(jobExit(257))[0]?.cause, 'app-error', '257 → 1')
  t.equal(diagnose(jobExit(-119))[0]?.cause, 'killed', '-119 → 256 − 119 = 137, SIGKILL')
})

t.test('exit 0: no foreground process in long-running pods, completed in Jobs', async (t) => {
  const loop = diagnose(crashLoop(0))[0]
  t.equal(loop?.cause, 'exit-no-foreground-process', 'a bare pod with restartPolicy Always')
  const owned = diagnose(crashLoop(0, {}, { owner: { kind: 'ReplicaSet', name: 'app-5d9' }, restartPolicy: 'Always' }))[0]
  t.equal(owned?.cause, 'exit-no-foreground-process', 'a ReplicaSet pod')
  t.match(owned?.summary ?? '', /owned by ReplicaSet app-5d9/)
  t.equal(diagnose(jobExit(0))[0]?.cause, 'completed', 'a Job pod')
  const never = diagnose(crashLoop(0, {}, { restartPolicy: 'OnFailure', owner: { kind: 'Job', name: 'j' } }))[0]
  t.equal(never?.cause, 'completed', 'a Job pod even if its status reads like a restart')
})

t.test('137 is split by its evidence', async (t) => {
  t.equal(diagnose(crashLoop(137, { reason: 'OOMKilled' }))[0]?.cause, 'oom-killed')
  t.equal(diagnose(crashLoop(137))[0]?.cause, 'killed', 'no events: killed')
  const liveness = [event('Unhealthy', 'Liveness probe failed: HTTP probe failed with statuscode: 500'), event('Killing', 'Container main failed liveness probe, will be restarted', { type: 'Normal' })]
  t.equal(diagnose(crashLoop(137), liveness)[0]?.cause, 'liveness-probe-killed')
  t.equal(diagnose(crashLoop(143), liveness)[0]?.cause, 'liveness-probe-killed', '143 after liveness failures too')
  t.equal(diagnose(crashLoop(143))[0]?.cause, 'terminated')
  const stopping = [event('Killing', 'Stopping container main', { type: 'Normal' })]
  t.equal(diagnose(crashLoop(137), stopping)[0]?.cause, 'grace-period-exceeded')
  t.equal(diagnose(crashLoop(1, { reason: 'OOMKilled' }))[0]?.cause, 'oom-killed', 'OOMKilled wins over the code')
})

t.test('start errors at exit 128 are command problems, not invalid exit codes', async (t) => {
  const notFound = diagnose(crashLoop(128, { reason: 'StartError', message: 'failed to create containerd task: failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process: exec: "/app/serve": stat /app/serve: no such file or directory: unknown' }, { container: { command: ['/app/serve'] } }))[0]
  t.equal(notFound?.cause, 'command-not-found')
  t.match(notFound?.summary ?? '', '"/app/serve"')
  const denied = diagnose(crashLoop(128, { reason: 'StartError', message: 'exec: "/start.sh": permission denied: unknown' }))[0]
  t.equal(denied?.cause, 'command-not-executable')
  const other = diagnose(crashLoop(128, { reason: 'StartError', message: 'failed to create containerd task: OCI runtime create failed: unable to apply cgroup configuration' }))[0]
  t.equal(other?.cause, 'container-create-failed')
  const docker = diagnose(crashLoop(127, { reason: 'ContainerCannotRun', message: 'OCI runtime create failed: container_linux.go:349: starting container process caused "exec: \\"gunicorn\\": executable file not found in $PATH": unknown' }))[0]
  t.equal(docker?.cause, 'command-not-found', 'the docker wording')
  t.match(docker?.summary ?? '', '"gunicorn"')
})
