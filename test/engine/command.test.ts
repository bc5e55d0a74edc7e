import t from 'tap'
import {
  argPath,
  basename,
  endlessLoop,
  execArgvs,
  foreverCommand,
  imageMatches,
  imageRepository,
  isBackgrounded,
  isServiceLinkName,
  kubeRefs,
  lastCommand,
  mainPath,
  parseScript,
  processArgv,
  programIndex,
  shellInvocation,
  sleepOf,
  sleepSeconds,
} from '../../src/engine/command.js'
import type { Container } from '../../src/engine/k8s.js'
import type { ContainerView } from '../../src/engine/types.js'

function view(spec: Container, path = 'spec.containers[0]'): ContainerView {
  return { name: spec.name ?? 'c', kind: 'container', index: 0, path, spec, longRunning: true }
}

const words = (script: string): string[] => parseScript(script).map((c) => c.words.join(' '))

t.test('execArgvs lists the process, exec probes and exec hooks with their paths', async (t) => {
  const c = view({
    name: 'app',
    command: ['/bin/sh', '-c'],
    args: ['exec ./server --port $(PORT)'],
    env: [{ name: 'PORT', value: '8080' }],
    livenessProbe: { exec: { command: ['cat', '$(PORT)'] } },
    readinessProbe: { httpGet: { path: '/ready', port: 8080 } },
    lifecycle: { preStop: { exec: { command: ['sleep', '$(PORT)'] } }, postStart: { sleep: { seconds: 1 } } },
  })
  const all = execArgvs(c)
  t.same(
    all.map((e) => [e.site, e.path, e.expansion]),
    [
      ['process', 'spec.containers[0].command', 'full'],
      ['livenessProbe', 'spec.containers[0].livenessProbe.exec.command', 'static'],
      ['preStop', 'spec.containers[0].lifecycle.preStop.exec.command', 'none'],
    ],
  )
  const proc = processArgv(c)
  t.same(
    [0, 1, 2, 3].map((i) => (proc === undefined ? '' : argPath(proc, i))),
    ['spec.containers[0].command[0]', 'spec.containers[0].command[1]', 'spec.containers[0].args[0]', 'spec.containers[0].command'],
  )
  const probe = all[1]
  t.equal(probe === undefined ? '' : argPath(probe, 1), 'spec.containers[0].livenessProbe.exec.command[1]')
  t.same(proc?.expanded, ['/bin/sh', '-c', 'exec ./server --port 8080'])
  t.same(all[1]?.expanded, ['cat', '8080'], 'probes expand literal env values')
  t.same(all[2]?.expanded, ['sleep', '$(PORT)'], 'hooks are not expanded')
  t.equal(execArgvs(c), all, 'cached per container spec')
})

t.test('a process with args only, and with neither', async (t) => {
  const onlyArgs = processArgv(view({ name: 'a', args: ['--verbose'] }))
  t.equal(onlyArgs?.hasCommand, false)
  t.equal(onlyArgs?.path, 'spec.containers[0].args')
  t.equal(processArgv(view({ name: 'b', command: [], args: [] })), undefined, 'empty lists mean the image default')
})

t.test('exec probes: valueFrom expands to empty, envFrom is not read', async (t) => {
  const c = view({
    name: 'a',
    env: [{ name: 'IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } }],
    envFrom: [{ configMapRef: { name: 'cfg' } }],
    startupProbe: { exec: { command: ['check', '$(IP)', '$(FROM_CM)'] } },
  })
  t.same(execArgvs(c)[0]?.expanded, ['check', '', '$(FROM_CM)'])
})

t.test('kubeRefs reads $(NAME) as the kubelet does', async (t) => {
  t.same(kubeRefs('a $(A) $$(B) $(C'), [{ name: 'A', start: 2, end: 6 }])
  t.same(kubeRefs('$$$(X)').map((r) => r.name), ['X'], '`$$` then a reference')
  t.same(kubeRefs('$x$(Y)').map((r) => r.name), ['Y'])
  t.same(kubeRefs('no refs here'), [])
})

t.test('service link names', async (t) => {
  for (const n of ['KUBERNETES_SERVICE_HOST', 'DB_SERVICE_PORT', 'DB_SERVICE_PORT_HTTP', 'DB_PORT', 'DB_PORT_5432_TCP_ADDR']) t.ok(isServiceLinkName(n), n)
  for (const n of ['DB_HOST', 'PORT', 'SERVICE_HOST_NAME']) t.notOk(isServiceLinkName(n), n)
})

t.test('programIndex sees through wrappers', async (t) => {
  t.equal(programIndex(['env', '-i', 'A=1', 'B=2', 'sh', '-c', 'x']), 4)
  t.equal(programIndex(['/usr/bin/env', 'bash']), 1)
  t.equal(programIndex(['tini', '-g', '--', 'app']), 3)
  t.equal(programIndex(['dumb-init', '--rewrite', '15:3', 'app']), 3)
  t.equal(programIndex(['nohup', 'java', '-jar', 'x.jar']), 1)
  t.equal(programIndex(['exec', 'sleep', 'infinity']), 1)
  t.equal(programIndex(['gosu', 'app', 'server']), 2)
  t.equal(programIndex(['busybox', 'sh']), 1)
  t.equal(programIndex(['env']), -1)
  t.equal(basename('/usr/local/bin/python3'), 'python3')
})

t.test('shellInvocation finds -c wherever it is', async (t) => {
  const cases: [string[], string | undefined, number][] = [
    [['sh', '-c', 'x'], 'command', 2],
    [['/bin/sh', '-ec', 'x'], 'command', 2],
    [['bash', '-xc', 'x'], 'command', 2],
    [['bash', '-e', '-o', 'pipefail', '-c', 'x'], 'command', 5],
    [['bash', '-c', '-x', 'x'], 'command', 3],
    [['bash', '--login', '-c', 'x'], 'command', 3],
    [['/bin/ash', '-c', 'x'], 'command', 2],
    [['dash', '-c', 'x'], 'command', 2],
    [['zsh', '-c', 'x'], 'command', 2],
    [['busybox', 'sh', '-c', 'x'], 'command', 3],
    [['env', 'A=1', 'sh', '-c', 'x'], 'command', 4],
    [['sh', '-c'], 'command', -1],
    [['sh', '/start.sh', 'arg'], 'file', 1],
    [['bash'], 'stdin', -1],
  ]
  for (const [argv, mode, idx] of cases) {
    const sh = shellInvocation(argv)
    t.equal(sh?.mode, mode, argv.join(' '))
    t.equal(sh?.scriptIndex, idx, `${argv.join(' ')}: script index`)
  }
  t.equal(shellInvocation(['python', '-c', 'print(1)']), undefined)
  t.equal(shellInvocation(['/bin/shellcheck', '-c']), undefined)
})

t.test('parseScript: quotes, operators, redirections', async (t) => {
  t.same(words(`echo 'a & b' "c; d" e\\&f && run`), ['echo a & b c; d e&f', 'run'])
  t.same(
    parseScript('a && b || c | d; e & f').map((c) => [c.words[0], c.before, c.after]),
    [
      ['a', '', '&&'],
      ['b', '&&', '||'],
      ['c', '||', '|'],
      ['d', '|', ';'],
      ['e', ';', '&'],
      ['f', '&', ''],
    ],
  )
  t.same(words('java -jar app.jar > /var/log/app.log 2>&1 &'), ['java -jar app.jar'], 'redirections are not words')
  t.same(words('run &> /dev/null'), ['run'], '&> is a redirection, not a background')
  t.equal(parseScript('run &> /dev/null')[0]?.after, '')
  t.same(words('echo $(date +%s) ${HOME:-/root} `id -u`'), ['echo $(date +%s) ${HOME:-/root} `id -u`'])
  t.same(words('echo "$(printf "%s" "a & b")" # a comment & more\nnext'), ['echo $(printf "%s" "a & b")', 'next'])
  t.same(words('line one \\\n continued'), ['line one continued'])
  t.same(words('cat <<EOF > /x\nhello & bye\nEOF\nexec server'), ['cat', 'exec server'], 'heredoc bodies are skipped')
  t.same(words('cat <<-"END"\n\tx &\n\tEND\ndone-here'), ['cat', 'done-here'])
  t.same(parseScript('A=1 B=2 exec app')[0]?.assignments, ['A=1', 'B=2'])
})

t.test('parseScript: nesting depth and reserved words', async (t) => {
  const cmds = parseScript('if [ -f x ]; then run; else sleep 1; fi; while true; do work; done; { a; }; (b) & wait')
  t.same(
    cmds.map((c) => [c.reserved.join(' '), c.words.join(' '), c.depth]),
    [
      ['if', '[ -f x ]', 1],
      ['then', 'run', 1],
      ['else', 'sleep 1', 1],
      ['fi', '', 0],
      ['while', 'true', 1],
      ['do', 'work', 1],
      ['done', '', 0],
      ['{', 'a', 1],
      ['}', '', 0],
      ['(', 'b', 1],
      [')', '', 0],
      ['', 'wait', 0],
    ],
  )
  const forLoop = parseScript('for f in a b c; do cp $f /d; done')
  t.equal(forLoop[0]?.header, true, 'a for header is not a command')
  t.same(mainPath(forLoop), [])
  const cs = parseScript('case "$1" in start) run;; *) echo no;; esac; final')
  t.same(mainPath(cs).map((m) => m.cmd.words.join(' ')), ['final'])
  t.same(mainPath(parseScript('f() { sleep infinity; }; run')).map((m) => m.cmd.words.join(' ')), ['run'], 'a function body is not the main path')
})

t.test('mainPath, isBackgrounded, lastCommand', async (t) => {
  const cmds = parseScript('migrate || sleep infinity; tail -f x | grep y & exec server')
  t.same(mainPath(cmds).map((m) => m.cmd.words[0]), ['migrate', 'exec'])
  t.ok(isBackgrounded(cmds, 2), 'a pipeline ending in & is in the background')
  t.equal(lastCommand(parseScript('run &\n\n# trailing comment\n'))?.after, '&')
  t.equal(lastCommand(parseScript('run & wait'))?.words[0], 'wait')
  t.equal(lastCommand(parseScript('')), undefined)
})

t.test('sleeps and forever commands', async (t) => {
  t.equal(sleepSeconds(['30']), 30)
  t.equal(sleepSeconds(['1m', '30s']), 90)
  t.equal(sleepSeconds(['1.5h']), 5400)
  t.equal(sleepSeconds(['2d']), 172800)
  t.equal(sleepSeconds(['infinity']), Infinity)
  t.equal(sleepSeconds(['$(SLEEP)']), undefined)
  t.equal(sleepSeconds([]), undefined)
  t.equal(sleepOf(['/bin/sleep', '5']), 5)
  t.equal(sleepOf(['exec', 'sleep', '5']), 5)
  t.equal(sleepOf(['echo', '5']), undefined)
  t.equal(foreverCommand(['sleep', 'infinity'], 86400), 'sleep infinity')
  t.equal(foreverCommand(['sleep', '86400'], 86400), 'sleep 86400')
  t.equal(foreverCommand(['sleep', '3600'], 86400), undefined)
  t.equal(foreverCommand(['tail', '-f', '/dev/null'], 86400), 'tail -f /dev/null')
  t.equal(foreverCommand(['tail', '-n', '100', '-F', 'x.log'], 86400), 'tail -n 100 -F x.log')
  t.equal(foreverCommand(['tail', '--follow=name', 'x.log'], 86400), 'tail --follow=name x.log')
  t.equal(foreverCommand(['tail', '-n', '5', 'x.log'], 86400), undefined)
})

t.test('endlessLoop', async (t) => {
  t.equal(endlessLoop(parseScript('while true; do sleep 1; done')), 'while true')
  t.equal(endlessLoop(parseScript('while :\ndo\n  sync\n  sleep 5\ndone')), 'while :')
  t.equal(endlessLoop(parseScript('until false; do x; done')), 'until false')
  t.equal(endlessLoop(parseScript('while true; do [ -f x ] && break; sleep 1; done')), undefined, 'break')
  t.equal(endlessLoop(parseScript('while true; do check || exit 1; done')), undefined, 'exit')
  t.equal(endlessLoop(parseScript('while true; do x; done &')), undefined, 'backgrounded')
  t.equal(endlessLoop(parseScript('while ! nc -z db 5432; do sleep 1; done')), undefined, 'a condition')
  t.equal(endlessLoop(parseScript('if x; then while true; do y; done; fi')), undefined, 'nested in if')
  t.equal(endlessLoop(parseScript('run || while true; do sleep 1; done')), undefined, 'only on failure')
})

t.test('image repository and matching', async (t) => {
  t.equal(imageRepository('docker.io/library/Alpine:3.20@sha256:abc'), 'docker.io/library/alpine')
  t.equal(imageRepository('localhost:5000/team/app'), 'localhost:5000/team/app')
  t.equal(imageRepository('localhost:5000/team/app:1.0'), 'localhost:5000/team/app')
  const base = ['busybox', 'alpine', 'opensuse/leap', 'distroless/static*']
  t.equal(imageMatches('alpine', base), 'alpine')
  t.equal(imageMatches('alpine:3.20', base), 'alpine')
  t.equal(imageMatches('mirror.example.com:5000/library/busybox:1.36', base), 'busybox')
  t.equal(imageMatches('registry.opensuse.org/opensuse/leap:15.6', base), 'opensuse/leap')
  t.equal(imageMatches('gcr.io/distroless/static-debian12:nonroot', base), 'distroless/static*')
  t.equal(imageMatches('gcr.io/distroless/static', base), 'distroless/static*')
  t.equal(imageMatches('myorg/alpine-nginx:1', base), undefined)
  t.equal(imageMatches('nginx:1.27-alpine', base), undefined)
  t.equal(imageMatches('alpine/git', base), undefined)
  t.equal(imageMatches('leap', base), undefined, 'a multi-part pattern needs every part')
  t.equal(imageMatches('gcr.io/distroless/base', base), undefined)
})

t.test('a script longer than any object etcd stores is refused with a reason, not parsed', async (t) => {
  const { parseScript, MAX_SCRIPT_LENGTH } = await import('../../src/engine/command.js')
  t.throws(() => parseScript('x '.repeat(MAX_SCRIPT_LENGTH)), /longer than pod-preflight analyses/)
  t.equal(parseScript('echo a; sleep 1').length, 2, 'ordinary scripts still parse')
})
