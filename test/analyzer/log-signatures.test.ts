import t from 'tap'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { stringify } from 'yaml'
import { analyze } from '../../src/analyzer/analyze.js'
import { applyLog, scanLog, SIGNATURE_IDS, type SignatureId } from '../../src/analyzer/log-signatures.js'
import type { Diagnosis } from '../../src/analyzer/types.js'
import { main } from '../../src/cli/main.js'
import { memoryIO } from '../../src/cli/io.js'
import { crashLoop, jobExit } from './build.js'
import { NOW } from './fixtures.js'

const ts = '2024-05-13T10:30:59.123Z'

/** Each signature: a realistic log tail that must fire (with what it names) and near-misses that must stay silent. */
const CASES: Record<SignatureId, { fire: string; subject?: string; silent: string[] }> = {
  'exec-format-error': {
    fire: 'exec /usr/local/bin/server: exec format error\n',
    subject: '/usr/local/bin/server',
    silent: [`${ts} ERROR plugin loader: fork/exec /plugins/x.so: exec format error, skipping plugin\n`],
  },
  'entrypoint-not-found': {
    fire: 'exec /docker-entrypoint.sh: no such file or directory\n',
    subject: '/docker-entrypoint.sh',
    silent: [`${ts} ERROR open /var/cache/app/index.bin: no such file or directory\n`],
  },
  'entrypoint-permission-denied': {
    fire: 'standard_init_linux.go:228: exec user process caused: permission denied\n',
    silent: [`${ts} WARN request GET /admin: permission denied for user bob\n`],
  },
  'jvm-heap': {
    fire: `${ts} ERROR [main] o.s.boot.SpringApplication - Application run failed\njava.lang.OutOfMemoryError: Java heap space\n\tat java.base/java.util.Arrays.copyOf(Arrays.java:3537)\n\tat com.example.Loader.load(Loader.java:42)\n`,
    subject: 'Java heap space',
    silent: [
      `${ts} INFO  [main] c.e.Config - heap dumps enabled: -XX:+HeapDumpOnOutOfMemoryError, on java.lang.OutOfMemoryError the JVM exits\n`,
      `${ts} WARN  [pool-1] c.e.Cache - cache load failed, evicting and retrying: java.lang.OutOfMemoryError: Java heap space (handled)\n`,
    ],
  },
  'jvm-metaspace': {
    fire: 'Exception in thread "main" java.lang.OutOfMemoryError: Metaspace\n\tat java.base/java.lang.ClassLoader.defineClass1(Native Method)\n',
    subject: 'Metaspace',
    silent: [`${ts} DEBUG c.e.Jvm - limits: -XX:MaxMetaspaceSize=128m, java.lang.OutOfMemoryError: Metaspace if exceeded\n`],
  },
  'jvm-native-thread': {
    fire: 'Exception in thread "http-nio-8080-Acceptor" java.lang.OutOfMemoryError: unable to create native thread: possibly out of memory or process/resource limits reached\n',
    silent: [`${ts} ERROR c.e.Pool - worker died: java.lang.OutOfMemoryError: unable to create native thread\n`],
  },
  'jvm-direct-memory': {
    fire: 'Caused by: java.lang.OutOfMemoryError: Direct buffer memory\n\tat java.base/java.nio.Bits.reserveMemory(Bits.java:175)\n',
    subject: 'Direct buffer memory',
    silent: ['# -XX:MaxDirectMemorySize=64m guards against java.lang.OutOfMemoryError: Direct buffer memory\n'],
  },
  'jvm-out-of-memory': {
    fire: 'Terminating due to java.lang.OutOfMemoryError: Requested array size is too large\n',
    silent: ['Picked up JAVA_TOOL_OPTIONS: -XX:+ExitOnOutOfMemoryError\n'],
  },
  'go-panic': {
    fire: 'panic: runtime error: invalid memory address or nil pointer dereference\n[signal SIGSEGV: segmentation violation code=0x1 addr=0x0 pc=0x6b8f2a]\n\ngoroutine 1 [running]:\nmain.main()\n\t/src/main.go:27 +0x2a\n',
    subject: 'runtime error: invalid memory address or nil pointer dereference',
    silent: [
      'level=error msg="recovered from panic: nil map" handler=/api\n',
      // "panic:" at a line start without the runtime's goroutine dump is the program's own text.
      'panic: configuration says mode=panic, which is not a mode\nexiting\n',
    ],
  },
  'python-module-not-found': {
    fire: 'Traceback (most recent call last):\n  File "/app/main.py", line 3, in <module>\n    import flask\nModuleNotFoundError: No module named \'flask\'\n',
    subject: 'flask',
    silent: [`${ts} WARNING optional speedups unavailable (ModuleNotFoundError: No module named 'ujson'), using json\n`],
  },
  'node-module-not-found': {
    fire: "node:internal/modules/cjs/loader:1147\n  throw err;\n  ^\n\nError: Cannot find module 'express'\nRequire stack:\n- /app/server.js\n",
    subject: 'express',
    silent: [`${ts} warn: plugins: Error: Cannot find module 'optional-plugin', skipping\n`],
  },
  'config-file-missing': {
    fire: `${ts} FATAL failed to load config: open /etc/app/config.yaml: no such file or directory\n`,
    subject: '/etc/app/config.yaml',
    silent: [`${ts} ERROR open /tmp/cache/chunk-0001.bin: no such file or directory\n`, `${ts} INFO no override file: open /etc/app/override.yaml: no such file or directory, using defaults\n`],
  },
  'file-permission-denied': {
    fire: 'Traceback (most recent call last):\n  File "/app/main.py", line 9, in <module>\nPermissionError: [Errno 13] Permission denied: \'/data/db.sqlite\'\n',
    subject: '/data/db.sqlite',
    silent: [`${ts} 10.0.0.7 "GET /admin HTTP/1.1" 403 - permission denied\n`],
  },
  'address-in-use': {
    fire: `${ts} FATAL listen tcp :8080: bind: address already in use\n`,
    subject: ':8080',
    silent: [`${ts} INFO SO_REUSEADDR on; EADDRINUSE will be retried\n`, `${ts} ERROR port 8080 was already in use by an older release, now free\n`],
  },
  'dns-failure': {
    fire: `${ts} ERROR cannot connect to database: dial tcp: lookup postgres.db on 10.96.0.10:53: no such host\n`,
    subject: 'postgres.db',
    silent: [`${ts} DEBUG resolver: lookup postgres.db on 10.96.0.10:53: no such host (cached negative answer, retrying)\n`],
  },
  'connection-refused': {
    fire: "Error: connect ECONNREFUSED 10.96.12.4:6379\n    at TCPConnectWrap.afterConnect [as oncomplete] (node:net:1555:16)\n",
    subject: '10.96.12.4:6379',
    silent: [`${ts} INFO redis: connection refused retries left: 5\n`],
  },
}

t.test('every signature has a firing fixture and near-misses', async (t) => {
  t.same(Object.keys(CASES).sort(), [...SIGNATURE_IDS].sort())
  for (const id of SIGNATURE_IDS) {
    const c = CASES[id]
    const scan = scanLog(c.fire)
    t.equal(scan.findings[0]?.signature, id, `${id} fires`)
    if (c.subject !== undefined) t.equal(scan.findings[0]?.subject, c.subject, `${id} names what it is about`)
    for (const s of c.silent) t.same(scanLog(s).findings.map((f) => f.signature).filter((x) => x === id), [], `${id} stays silent on: ${s.trim().slice(0, 80)}`)
  }
})

t.test('kubectl logs --timestamps: the kubelet time before a line does not hide a signature', async (t) => {
  const stamped = CASES['python-module-not-found'].fire.split('\n').filter((l) => l !== '').map((l) => `2024-05-13T10:30:59.123456789Z ${l}`).join('\n')
  t.same(scanLog(stamped).findings.map((f) => [f.signature, f.subject]), [['python-module-not-found', 'flask']])
  t.same(scanLog(`2024-05-13T10:30:59.1Z ${CASES['python-module-not-found'].silent[0] ?? ''}`).findings, [], 'the near-miss stays silent too')
})

t.test('a log that says nothing known finds nothing', async (t) => {
  const scan = scanLog(`${ts} INFO starting\n${ts} ERROR something went wrong\n${ts} INFO shutting down\n`)
  t.same(scan.findings, [])
  t.equal(scan.linesRead, 3)
  t.equal(scan.cut, false)
})

t.test('the quoted line is escaped and shortened', async (t) => {
  const scan = scanLog(`exec /bin/\u001b[31mserver${'x'.repeat(400)}: exec format error\n`)
  const f = scan.findings[0]
  t.equal(f?.signature, 'exec-format-error')
  t.notMatch(f?.text ?? '', /\u001b/)
  t.match(f?.text ?? '', /\\x1b\[31m/)
  t.ok((f?.text.length ?? 999) <= 200)
})

t.test('bounded: only the end of a long log is read', async (t) => {
  const noise = `${ts} ERROR open /etc/app/app.yaml: no such file or directory\n` + `${ts} ERROR retry\n`.repeat(30_000)
  const scan = scanLog(noise + 'exec /app: exec format error\n')
  t.equal(scan.cut, true)
  t.ok(scan.linesRead <= 5_000)
  t.same(scan.findings.map((f) => f.signature), ['exec-format-error'], 'the early line was beyond the bound')
  const started = process.hrtime.bigint()
  scanLog('a'.repeat(5_000_000))
  t.ok(Number(process.hrtime.bigint() - started) / 1e6 < 2_000, 'a 5 MB single line is scanned quickly')
})

function diagnose(pod: unknown): Diagnosis[] {
  const a = analyze({ pod, events: [], now: NOW })
  if (!a.ok) throw new Error(a.error)
  return a.diagnoses
}

t.test('the runtime start failure in the log replaces the reading of a bare exit code', async (t) => {
  const ds = diagnose(crashLoop(1))
  t.equal(ds[0]?.cause, 'app-error')
  const r = applyLog(ds, 'main', scanLog(CASES['exec-format-error'].fire), 'log of main (app.log)')
  const d = r.diagnoses[0]
  t.equal(d?.cause, 'command-not-executable')
  t.equal(d?.exitCode, 1)
  t.match(d?.summary ?? '', /architecture/)
  t.ok(d?.evidence.includes('log line 1 (exec-format-error): exec /usr/local/bin/server: exec format error'))
  t.ok(d?.evidence.includes('log of main (app.log): 1 line read'))
  t.match(d?.next.at(-1) ?? '', /--platform/)
})

t.test('a Go panic makes exit 2 the program\'s, not a shell misuse', async (t) => {
  const ds = diagnose(crashLoop(2))
  t.equal(ds[0]?.cause, 'shell-misuse')
  const d = applyLog(ds, 'main', scanLog(CASES['go-panic'].fire), 'log').diagnoses[0]
  t.equal(d?.cause, 'app-error')
  t.match(d?.summary ?? '', /Go panic \(runtime error: invalid memory address/)
})

t.test('other signatures refine the summary and keep the cause', async (t) => {
  const ds = diagnose(jobExit(1))
  const d = applyLog(ds, 'main', scanLog(CASES['jvm-heap'].fire), 'log').diagnoses[0]
  t.equal(d?.cause, 'app-error')
  t.match(d?.summary ?? '', /Java heap space.*not the kernel's OOM kill/)
  t.ok(d?.evidence.some((e) => e === 'log line 2 (jvm-heap): java.lang.OutOfMemoryError: Java heap space'))
  const oom = diagnose(crashLoop(137, { reason: 'OOMKilled' }))
  t.equal(oom[0]?.cause, 'oom-killed')
  t.equal(applyLog(oom, 'main', scanLog(CASES['jvm-heap'].fire), 'log').diagnoses[0]?.cause, 'oom-killed', 'the kernel kill stays the cause')
  // A start failure line does not overrule an OOM kill.
  t.equal(applyLog(oom, 'main', scanLog(CASES['exec-format-error'].fire), 'log').diagnoses[0]?.cause, 'oom-killed')
})

t.test('nothing is guessed when the log says nothing, and other containers are left alone', async (t) => {
  const ds = diagnose(crashLoop(1))
  const quiet = applyLog(ds, 'main', scanLog(`${ts} INFO bye\n`), 'log of main (app.log)')
  t.equal(quiet.diagnoses[0]?.cause, 'app-error')
  t.equal(quiet.diagnoses[0]?.summary, ds[0]?.summary)
  t.equal(quiet.diagnoses[0]?.evidence.at(-1), 'log of main (app.log): 1 line read, no known failure signature')
  const other = applyLog(ds, 'sidecar', scanLog(CASES['exec-format-error'].fire), 'log')
  t.same(other.diagnoses, ds)
  t.equal(other.unused, true)
})

async function cli(args: string[], files: Record<string, string>, stdin = '') {
  const dir = mkdtempSync(join(tmpdir(), 'pp-logs-'))
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text)
  const io = memoryIO(stdin, {}, dir)
  const code = await main(['explain', '--now', '2024-05-13T10:40:00Z', ...args], io)
  return { code, out: io.out(), err: io.err() }
}

t.test('explain --logs FILE reads the log into the diagnosis', async (t) => {
  const pod = stringify(crashLoop(1))
  const r = await cli(['-f', 'pod.yaml', '--logs', 'app.log', '-o', 'json'], { 'pod.yaml': pod, 'app.log': CASES['python-module-not-found'].fire })
  t.equal(r.code, 0, r.err)
  const d = (JSON.parse(r.out) as { diagnoses: Diagnosis[] }).diagnoses[0]
  t.equal(d?.cause, 'app-error')
  t.match(d?.summary ?? '', /could not import the module "flask"/)
  t.ok(d?.evidence.includes("log line 4 (python-module-not-found): ModuleNotFoundError: No module named 'flask'"))
  t.ok(d?.evidence.includes('log of main (app.log): 4 lines read'))

  const text = await cli(['-f', 'pod.yaml', '--logs', 'app.log', '-c', 'main'], { 'pod.yaml': pod, 'app.log': CASES['exec-format-error'].fire })
  t.equal(text.code, 0, text.err)
  t.match(text.out, /\[command-not-executable\]/)

  const big = await cli(['-f', 'pod.yaml', '--logs', 'big.log', '-o', 'json'], { 'pod.yaml': pod, 'big.log': `${ts} ERROR x\n`.repeat(40_000) + CASES['address-in-use'].fire })
  t.equal(big.code, 0, big.err)
  const bd = (JSON.parse(big.out) as { diagnoses: Diagnosis[] }).diagnoses[0]
  t.ok(bd?.evidence.some((e) => /the end of the log only/.test(e)), 'a long file is read from its end')
  t.match(bd?.summary ?? '', /address ":8080" is already in use/)
})

t.test('explain --logs: clear errors for logs that cannot be placed', async (t) => {
  const pod = stringify(crashLoop(1))
  for (const [args, files, message] of [
    [['-f', 'pod.yaml', '--logs', 'missing.log'], {}, /--logs missing\.log: no such file or directory/],
    [['-f', 'pod.yaml', '--logs', 'app.log', '-c', 'web'], { 'app.log': 'x\n' }, /no container "web" in the pod \(containers: main\)/],
    [['--logs', 'app.log', 'web-0'], { 'app.log': 'x\n' }, /--logs goes with -f FILE/],
    [['-f', 'pod.yaml', '-c', 'main'], {}, /give --logs FILE too/],
    [['-f', 'pod.yaml', '--previous-logs'], {}, /--previous-logs reads from the live cluster/],
    [['-f', 'two.yaml', '--logs', 'app.log'], { 'two.yaml': `${pod}---\n${stringify(crashLoop(2, {}, { name: 'app-2' }))}`, 'app.log': 'x\n' }, /--logs belongs to one pod, and the input holds 2/],
  ] as const) {
    const r = await cli([...args], { 'pod.yaml': pod, ...files })
    t.equal(r.code, 2, args.join(' '))
    t.match(r.err, message)
    t.notMatch(r.err, /\n\s+at /, 'no stack trace')
  }
  const healthy = await cli(['-f', 'pod.yaml', '--logs', 'app.log'], { 'pod.yaml': stringify(jobExit(0)), 'app.log': CASES['jvm-heap'].fire })
  t.equal(healthy.code, 0)
  t.match(healthy.err, /warning: app\.log: read, but container main has no failed exit for a log to explain/)
})
