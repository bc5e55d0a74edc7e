/**
 * The bash completion script as bash runs it: sourced, then the completion function called with
 * COMP_WORDS/COMP_CWORD set as bash sets them on Tab, and COMPREPLY read back. One bash process
 * for every case, killed if it outlives its deadline.
 */
import t from 'tap'
import { spawnSync } from 'node:child_process'
import { main, COMMANDS } from '../../src/cli/main.js'
import { memoryIO } from '../../src/cli/io.js'
import { RULES } from '../../src/rules/index.js'

async function script(shell: string): Promise<string> {
  const io = memoryIO()
  t.equal(await main(['completion', shell], io), 0, io.err())
  return io.out()
}

/** Completes each line (words as typed, the last one being completed); returns COMPREPLY per line. */
function complete(bashScript: string, lines: string[][]): string[][] {
  const calls = lines
    .map((words) => {
      const arr = words.map((w) => `'${w.replace(/'/g, `'\\''`)}'`).join(' ')
      return `COMP_WORDS=(${arr}); COMP_CWORD=${words.length - 1}; COMP_LINE=${JSON.stringify(words.join(' '))}; COMPREPLY=(); _pod_preflight; echo "REPLY:$(printf '%s ' "\${COMPREPLY[@]}")"`
    })
    .join('\n')
  const r = spawnSync('bash', ['--norc', '--noprofile', '-c', `${bashScript}\ncomplete -p pod-preflight kubectl-preflight\n${calls}`], { encoding: 'utf8', timeout: 30_000, killSignal: 'SIGKILL', cwd: new URL('../../examples/', import.meta.url).pathname })
  t.equal(r.status, 0, `bash ran (${r.stderr})`)
  t.equal(r.stderr, '')
  t.match(r.stdout, /^complete -o default -F _pod_preflight pod-preflight\ncomplete -o default -F _pod_preflight kubectl-preflight\n/, 'registered for both names')
  return r.stdout.split('\n').filter((l) => l.startsWith('REPLY:')).map((l) => l.slice('REPLY:'.length).trim().split(' ').filter((w) => w !== ''))
}

t.test('bash: subcommands, rule ids, option values, options and files', async (t) => {
  const bash = await script('bash')
  const ids = RULES.map((r) => r.id)
  const memory = ids.filter((id) => id.startsWith('memory-'))
  t.ok(memory.length >= 2, 'more than one rule starts with memory-')
  const [all, ch, rules, mem, out, auditOut, color, flags, files, installOperand, none] = complete(bash, [
    ['pod-preflight', ''],
    ['pod-preflight', 'ch'],
    ['pod-preflight', 'rules', ''],
    ['pod-preflight', 'rules', 'memory-'],
    ['pod-preflight', 'check', '-o', ''],
    ['pod-preflight', 'audit', '--output', ''],
    ['pod-preflight', 'check', '--color', 'a'],
    ['pod-preflight', 'explain', '--all-n'],
    ['pod-preflight', 'check', 'broken-'],
    ['pod-preflight', 'install', ''],
    ['pod-preflight', 'rules', 'no-such-'],
  ])
  t.same(all, [...COMMANDS.map((c) => c.name), 'help', '--help', '--version'], 'every subcommand')
  t.same(ch, ['check'])
  t.same(rules, ids, 'every rule id')
  t.same(mem, memory, 'rule ids by prefix')
  t.same(out, ['text', 'json', 'yaml', 'sarif', 'junit', 'codequality', 'github'], "check's formats")
  t.same(auditOut, ['text', 'json', 'sarif', 'html'], "audit's formats")
  t.same(color, ['auto', 'always'])
  t.same(flags, ['--all-namespaces'], 'options of explain')
  t.same(files, ['broken-pod.yaml'], 'check completes file names')
  t.same(installOperand, [], 'install takes no operands: nothing offered')
  t.same(none, [], 'a prefix of no rule: nothing')
})

t.test('zsh loads the same function through bashcompinit; fish lists subcommands and rule ids', async (t) => {
  const bash = await script('bash')
  const zsh = await script('zsh')
  t.match(zsh, /^#compdef pod-preflight kubectl-preflight\n/)
  t.ok(zsh.endsWith(bash), 'the bash function inside')
  const fish = await script('fish')
  for (const c of COMMANDS) t.match(fish, `-a ${c.name} -d`, c.name)
  t.match(fish, `__fish_seen_subcommand_from rules" -a '${RULES.map((r) => r.id).join(' ')}'`)
})

t.test('values recorded on an option complete: --fail-on of check and audit, --certificates of install', async (t) => {
  const bash = await script('bash')
  const [checkFail, auditFail, certs] = complete(bash, [
    ['pod-preflight', 'check', '--fail-on', ''],
    ['pod-preflight', 'audit', '--fail-on', 'n'],
    ['pod-preflight', 'install', '--certificates', ''],
  ])
  t.same(checkFail, ['deny', 'warn', 'info', 'never'])
  t.same(auditFail, ['never'])
  t.same(certs, ['self-managed', 'cert-manager', 'provided'])
})

t.test('serve completes --http2', async (t) => {
  const [http] = complete(await script('bash'), [['pod-preflight', 'serve', '--http']])
  t.same(http, ['--http2'])
})
